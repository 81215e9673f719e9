package dbadmin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

const legacyPassword = "legacy-password-7f3a"

// makeLegacy makes what a kubeship from before markers left: a role (user) with
// legacyPassword and its database, made as the admin, no markers, with one row of data.
func (e *env) makeLegacy(ctx context.Context, t *testing.T, a Admin, db, role string, extra ...string) {
	t.Helper()
	create := append([]string{
		"CREATE ROLE " + pgIdent(role) + " LOGIN PASSWORD '" + legacyPassword + "'",
		"CREATE DATABASE " + pgIdent(db) + " OWNER " + pgIdent(role),
	}, extra...)
	if e.engine == EngineMySQL {
		create = append([]string{
			"CREATE USER '" + role + "'@'%' IDENTIFIED BY '" + legacyPassword + "'",
			"CREATE DATABASE " + myIdent(db) + " CHARACTER SET utf8mb4",
			"GRANT ALL PRIVILEGES ON " + myGrantDB(db) + ".* TO '" + role + "'@'%'",
		}, extra...)
	}
	for _, q := range create {
		if _, err := rawDB(a).ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		drop := []string{"DROP DATABASE IF EXISTS " + pgIdent(db), "DROP ROLE IF EXISTS " + pgIdent(role)}
		if e.engine == EngineMySQL {
			drop = []string{"DROP DATABASE IF EXISTS " + myIdent(db), "DROP USER IF EXISTS '" + role + "'@'%'",
				"DELETE FROM " + ownersTable + " WHERE name IN ('" + role + "', '" + db + "')"}
		}
		for _, q := range drop {
			_, err := rawDB(a).ExecContext(context.Background(), q)
			logCleanup(t, err)
		}
	})
	conn := e.openURI(t, e.uri(db, role, legacyPassword))
	for _, q := range []string{"CREATE TABLE legacy_orders (id int)", "INSERT INTO legacy_orders VALUES (42)"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
}

// legacyRow logs in as role with password and reads the row makeLegacy wrote.
func (e *env) legacyRow(ctx context.Context, t *testing.T, db, role, password string) error {
	t.Helper()
	var id int
	if err := e.openURI(t, e.uri(db, role, password)).QueryRowContext(ctx, "SELECT id FROM legacy_orders").Scan(&id); err != nil {
		return err
	}
	if id != 42 {
		return fmt.Errorf("read %d, want 42", id)
	}
	return nil
}

// markers returns the ownership markers of the role and the database ("" for none), in
// the marker form for both engines.
func (e *env) markers(ctx context.Context, t *testing.T, a Admin, db, role string) (roleMark, dbMark string) {
	t.Helper()
	if e.engine == EngineMySQL {
		my := a.(*myAdmin)
		conn, err := rawDB(a).Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		for _, m := range []struct {
			kind, name string
			out        *string
		}{{kindUser, role, &roleMark}, {kindDatabase, db, &dbMark}} {
			got, err := my.recordedOwner(ctx, conn, m.kind, m.name)
			if err != nil {
				t.Fatal(err)
			}
			if got != "" {
				*m.out = marker(got)
			}
		}
		return roleMark, dbMark
	}
	err := rawDB(a).QueryRowContext(ctx, `
		SELECT COALESCE(shobj_description((SELECT oid FROM pg_roles WHERE rolname = $1), 'pg_authid'), ''),
		       COALESCE(shobj_description((SELECT oid FROM pg_database WHERE datname = $2), 'pg_database'), '')`, role, db,
	).Scan(&roleMark, &dbMark)
	if err != nil {
		t.Fatal(err)
	}
	return roleMark, dbMark
}

// Upgrade: an unmarked role and database an older kubeship made are claimed by the caller
// that holds the role's working password. The markers are written, the data stays, the
// password still logs in, and from then on the account is managed (and only by that owner).
func TestClaimsUnmarkedWithWorkingPassword(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := testCtx(t)
		a := e.admin(t)
		db, role := e.names("legacy")
		e.makeLegacy(ctx, t, a, db, role)

		if err := a.EnsureDatabase(ctx, db, role, legacyPassword, testOwner); err != nil {
			t.Fatalf("EnsureDatabase with the role's password: %v", err)
		}
		if r, d := e.markers(ctx, t, a, db, role); r != marker(testOwner) || d != marker(testOwner) {
			t.Errorf("markers: role %q, database %q; want %q on both", r, d, marker(testOwner))
		}
		if err := e.legacyRow(ctx, t, db, role, legacyPassword); err != nil {
			t.Errorf("the data or the login is gone: %v", err)
		}
		if err := e.writeAndRead(ctx, t, db, role, legacyPassword); err != nil {
			t.Error(err)
		}
		// Managed now: a second pass passes, another owner is refused.
		if err := a.EnsureDatabase(ctx, db, role, legacyPassword, testOwner); err != nil {
			t.Errorf("EnsureDatabase once claimed: %v", err)
		}
		if err := a.EnsureDatabase(ctx, db, role, legacyPassword, otherOwner); !errors.Is(err, ErrConflict) {
			t.Errorf("EnsureDatabase by another owner after the claim: %v, want ErrConflict", err)
		}
		if err := a.DropDatabase(ctx, db, role, otherOwner); !errors.Is(err, ErrConflict) {
			t.Errorf("DropDatabase by another owner after the claim: %v, want ErrConflict", err)
		}
		if err := e.legacyRow(ctx, t, db, role, legacyPassword); err != nil {
			t.Errorf("after the other owner's attempts: %v", err)
		}
		if err := a.DropDatabase(ctx, db, role, testOwner); err != nil {
			t.Errorf("DropDatabase by the claimant: %v", err)
		}
	})
}

// Upgrade, the loser's side: a caller whose password does not log in as the unmarked role
// is refused. The role keeps its password (the old one still logs in), the data stays, and
// no marker is written. The error says why and names no password.
func TestRefusesUnmarkedWithWrongPassword(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := testCtx(t)
		a := e.admin(t)
		db, role := e.names("legacy_wrong")
		e.makeLegacy(ctx, t, a, db, role)

		const guess = "guessed-password-91c2"
		err := a.EnsureDatabase(ctx, db, role, guess, testOwner)
		if !errors.Is(err, ErrConflict) {
			t.Fatalf("EnsureDatabase with a wrong password: %v, want ErrConflict", err)
		}
		for _, want := range []string{"without kubeship's ownership marker", "does not log in as it"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
		assertNoSecret(t, err, guess, legacyPassword, e.srv.Password)
		// The message is the same on the next pass (no driver text that varies).
		if again := a.EnsureDatabase(ctx, db, role, guess, testOwner); again == nil || again.Error() != err.Error() {
			t.Errorf("second refusal %v differs from the first %v", again, err)
		}
		if err := e.legacyRow(ctx, t, db, role, legacyPassword); err != nil {
			t.Errorf("the old password no longer logs in, or the data is gone: %v", err)
		}
		if err := e.openURI(t, e.uri(db, role, guess)).PingContext(ctx); err == nil {
			t.Error("the guessed password was set on the role")
		}
		if r, d := e.markers(ctx, t, a, db, role); r != "" || d != "" {
			t.Errorf("markers written: role %q, database %q", r, d)
		}
		if err := a.DropDatabase(ctx, db, role, testOwner); !errors.Is(err, ErrConflict) {
			t.Errorf("DropDatabase: %v, want ErrConflict", err)
		}
	})
}

// The proof does not lift the other refusals: PostgreSQL, a role with an elevated attribute
// is refused even with its working password, and nothing is marked.
func TestClaimKeepsElevatedRoleRefused(t *testing.T) {
	e := onlyEngine(t, EnginePostgres)
	ctx := testCtx(t)
	a := e.admin(t)
	db, role := e.names("legacy_elevated")
	e.makeLegacy(ctx, t, a, db, role, "ALTER ROLE "+pgIdent(role)+" CREATEDB")
	if err := a.EnsureDatabase(ctx, db, role, legacyPassword, testOwner); !errors.Is(err, ErrConflict) {
		t.Errorf("EnsureDatabase of an elevated role: %v, want ErrConflict", err)
	}
	if r, d := e.markers(ctx, t, a, db, role); r != "" || d != "" {
		t.Errorf("markers written: role %q, database %q", r, d)
	}
}

// Two owners that both hold the working password claim at once: exactly one wins.
func TestConcurrentLegacyClaimsOneWinner(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := testCtx(t)
		a, b := e.admin(t), e.admin(t)
		for round := range 5 {
			db, role := e.names("legacy_race")
			e.makeLegacy(ctx, t, a, db, role)
			owners := [2]string{testOwner, otherOwner}
			var errs [2]error
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, admin := range []Admin{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					errs[i] = admin.EnsureDatabase(ctx, db, role, legacyPassword, owners[i])
				}()
			}
			close(start)
			wg.Wait()
			won := 0
			for i, err := range errs {
				switch {
				case err == nil:
					won++
					if r, d := e.markers(ctx, t, a, db, role); r != marker(owners[i]) || d != marker(owners[i]) {
						t.Errorf("round %d: winner %d, markers %q %q", round, i, r, d)
					}
				case !errors.Is(err, ErrConflict):
					t.Fatalf("round %d: owner %d: %v, want nil or ErrConflict", round, i, err)
				}
			}
			if won != 1 {
				t.Fatalf("round %d: %d winners: %v", round, won, errs)
			}
		}
	})
}

// The claim reads the markers afresh: when another owner claims the account between this
// call's first look and its claim, this call is refused and the first claim stands.
func TestLegacyClaimRechecksBeforeMarking(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := testCtx(t)
		a, b := e.admin(t), e.admin(t)
		db, role := e.names("legacy_recheck")
		e.makeLegacy(ctx, t, a, db, role)
		claimStep := "claim-unmarked"
		if e.engine == EngineMySQL {
			claimStep = "claim"
		}
		var first error
		ran := false
		setStepHook(b, func(step string) error {
			if step == claimStep && !ran {
				ran = true
				first = a.EnsureDatabase(ctx, db, role, legacyPassword, testOwner)
			}
			return nil
		})
		err := b.EnsureDatabase(ctx, db, role, legacyPassword, otherOwner)
		if !ran {
			t.Fatalf("step %s never ran", claimStep)
		}
		if first != nil {
			t.Fatalf("the first claim: %v", first)
		}
		if !errors.Is(err, ErrConflict) {
			t.Errorf("the late claim: %v, want ErrConflict", err)
		}
		if r, d := e.markers(ctx, t, a, db, role); r != marker(testOwner) || d != marker(testOwner) {
			t.Errorf("markers %q, %q; want the first claimant's", r, d)
		}
	})
}
