package dbadmin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

const otherOwner = "5e0f3b11-77aa-4c2d-9e61-test00000002"

// Two services whose names collide, created at the same moment: of two concurrent
// EnsureDatabase calls for one database and role with different owners, exactly one wins and
// the other gets ErrConflict, round after round. The loser's password is never set.
func TestConcurrentClaimsOneWinner(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := testCtx(t)
		a, b := e.admin(t), e.admin(t)
		for round := range 15 {
			db, role := e.names("race")
			owners := [2]string{testOwner, otherOwner}
			passwords := [2]string{fmt.Sprintf("pw-a-%d", round), fmt.Sprintf("pw-b-%d", round)}
			var errs [2]error
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, admin := range []Admin{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					errs[i] = admin.EnsureDatabase(ctx, db, role, passwords[i], owners[i])
				}()
			}
			close(start)
			wg.Wait()
			winner := -1
			for i, err := range errs {
				switch {
				case err == nil && winner < 0:
					winner = i
				case err == nil:
					t.Fatalf("round %d: both owners won", round)
				case !errors.Is(err, ErrConflict):
					t.Fatalf("round %d: owner %d: %v, want nil or ErrConflict", round, i, err)
				}
			}
			if winner < 0 {
				t.Fatalf("round %d: nobody won: %v", round, errs)
			}
			if err := e.writeAndRead(ctx, t, db, role, passwords[winner]); err != nil {
				t.Fatalf("round %d: the winner cannot use its database: %v", round, err)
			}
			loser := 1 - winner
			if err := a.DropDatabase(ctx, db, role, owners[loser]); !errors.Is(err, ErrConflict) {
				t.Fatalf("round %d: the loser's DropDatabase: %v, want ErrConflict", round, err)
			}
			if err := e.writeAndRead(ctx, t, db, role, passwords[winner]); err != nil {
				t.Fatalf("round %d: after the loser's drop: %v", round, err)
			}
			if err := a.DropDatabase(ctx, db, role, owners[winner]); err != nil {
				t.Fatalf("round %d: the winner's DropDatabase: %v", round, err)
			}
		}
	})
}

// A role (user) and database made by someone else, with the names kubeship would use: not
// taken over, their password stays, and they are not dropped.
func TestRefusesUnmarkedRoleAndDatabase(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := testCtx(t)
		a := e.admin(t)
		db, role := e.names("premade")
		create := []string{
			"CREATE ROLE " + pgIdent(role) + " LOGIN PASSWORD 'their-password'",
			"CREATE DATABASE " + pgIdent(db) + " OWNER " + pgIdent(role),
		}
		if e.engine == EngineMySQL {
			create = []string{
				"CREATE USER '" + role + "'@'%' IDENTIFIED BY 'their-password'",
				"CREATE DATABASE " + myIdent(db),
				"GRANT ALL ON " + myGrantDB(db) + ".* TO '" + role + "'@'%'",
			}
		}
		for _, q := range create {
			if _, err := rawDB(a).ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() {
			drop := []string{"DROP DATABASE " + pgIdent(db), "DROP ROLE " + pgIdent(role)}
			if e.engine == EngineMySQL {
				drop = []string{"DROP DATABASE " + myIdent(db), "DROP USER '" + role + "'@'%'"}
			}
			for _, q := range drop {
				_, err := rawDB(a).ExecContext(context.Background(), q)
				logCleanup(t, err)
			}
		})
		if err := e.writeAndRead(ctx, t, db, role, "their-password"); err != nil {
			t.Fatal(err)
		}

		if err := a.EnsureDatabase(ctx, db, role, "kubeship-password", testOwner); !errors.Is(err, ErrConflict) {
			t.Errorf("EnsureDatabase: %v, want ErrConflict", err)
		}
		if err := a.DropDatabase(ctx, db, role, testOwner); !errors.Is(err, ErrConflict) {
			t.Errorf("DropDatabase: %v, want ErrConflict", err)
		}
		if err := e.writeAndRead(ctx, t, db, role, "their-password"); err != nil {
			t.Errorf("the old password no longer works, or the data is gone: %v", err)
		}
		if dbExists, roleExists := e.exists(ctx, t, a, db, role); !dbExists || !roleExists {
			t.Errorf("database exists %v, role exists %v; want both kept", dbExists, roleExists)
		}
	})
}

// Only the owner drops: DropDatabase with another owner refuses and leaves the data, and
// EnsureDatabase with another owner does not change the password.
func TestWrongOwnerRefused(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := testCtx(t)
		a := e.admin(t)
		db, role := e.names("owned")
		if err := a.EnsureDatabase(ctx, db, role, "owner-password", testOwner); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { logCleanup(t, a.DropDatabase(context.Background(), db, role, testOwner)) })
		if err := e.writeAndRead(ctx, t, db, role, "owner-password"); err != nil {
			t.Fatal(err)
		}
		if err := a.DropDatabase(ctx, db, role, otherOwner); !errors.Is(err, ErrConflict) {
			t.Errorf("DropDatabase by another owner: %v, want ErrConflict", err)
		}
		if err := a.EnsureDatabase(ctx, db, role, "thief-password", otherOwner); !errors.Is(err, ErrConflict) {
			t.Errorf("EnsureDatabase by another owner: %v, want ErrConflict", err)
		}
		if err := e.writeAndRead(ctx, t, db, role, "owner-password"); err != nil {
			t.Errorf("the owner's password or data is gone: %v", err)
		}
	})
}

// PostgreSQL: a database that another owner marked is refused even when it belongs to a
// role marked as ours (someone reassigned it).
func TestRefusesDatabaseMarkedByAnother(t *testing.T) {
	e := onlyEngine(t, EnginePostgres)
	ctx := testCtx(t)
	a := e.admin(t)
	db, role := e.names("remarked")
	if err := a.EnsureDatabase(ctx, db, role, "pw", testOwner); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, err := rawDB(a).ExecContext(context.Background(), "COMMENT ON DATABASE "+pgIdent(db)+" IS '"+marker(testOwner)+"'")
		logCleanup(t, err)
		logCleanup(t, a.DropDatabase(context.Background(), db, role, testOwner))
	})
	if _, err := rawDB(a).ExecContext(ctx, "COMMENT ON DATABASE "+pgIdent(db)+" IS '"+marker(otherOwner)+"'"); err != nil {
		t.Fatal(err)
	}
	if err := a.DropDatabase(ctx, db, role, testOwner); !errors.Is(err, ErrConflict) {
		t.Errorf("DropDatabase: %v, want ErrConflict", err)
	}
	if dbExists, _ := e.exists(ctx, t, a, db, role); !dbExists {
		t.Error("the database was dropped")
	}
}

// Upgrade from a kubeship without markers, when the password kubeship holds no longer logs
// in: what it made is refused until a person marks it with the statement the error names;
// then it is managed again. (With the working password it is claimed: claim_test.go.)
func TestUnmarkedUntilMarkedByHand(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := testCtx(t)
		a := e.admin(t)
		db, role := e.names("upgrade")
		if err := a.EnsureDatabase(ctx, db, role, "pw", testOwner); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { logCleanup(t, a.DropDatabase(context.Background(), db, role, testOwner)) })
		// What the previous version left: the same objects, no markers.
		unmark := []string{"COMMENT ON ROLE " + pgIdent(role) + " IS NULL", "COMMENT ON DATABASE " + pgIdent(db) + " IS NULL"}
		mark := []string{pgMarkStatement("role", role, testOwner)}
		if e.engine == EngineMySQL {
			unmark = []string{"DELETE FROM " + ownersTable + " WHERE name IN ('" + role + "', '" + db + "')"}
			mark = []string{myMarkStatement(kindUser, role, testOwner), myMarkStatement(kindDatabase, db, testOwner)}
		}
		for _, q := range unmark {
			if _, err := rawDB(a).ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		// With a password that does not log in as the role: no proof, so no claim.
		err := a.EnsureDatabase(ctx, db, role, "not-the-password", testOwner)
		if !errors.Is(err, ErrConflict) {
			t.Fatalf("EnsureDatabase of the unmarked account: %v, want ErrConflict", err)
		}
		if !strings.Contains(err.Error(), mark[0]) {
			t.Errorf("the error does not say how to mark it (%s): %v", mark[0], err)
		}
		for _, q := range mark {
			if _, err := rawDB(a).ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.EnsureDatabase(ctx, db, role, "pw", testOwner); err != nil {
			t.Fatalf("EnsureDatabase once marked: %v", err)
		}
		if err := e.writeAndRead(ctx, t, db, role, "pw"); err != nil {
			t.Fatal(err)
		}
	})
}
