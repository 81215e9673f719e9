package dbadmin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestEnsureDatabaseLifecycle(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := testCtx(t)
		a := e.admin(t)
		db, role := e.names("life")
		t.Cleanup(func() { logCleanup(t, a.DropDatabase(context.Background(), db, role, testOwner)) })

		if err := a.EnsureDatabase(ctx, db, role, "pw-one", testOwner); err != nil {
			t.Fatalf("EnsureDatabase: %v", err)
		}
		if err := e.writeAndRead(ctx, t, db, role, "pw-one"); err != nil {
			t.Fatalf("role cannot use its database: %v", err)
		}
		// Again, unchanged: no error, and the data is still there.
		if err := a.EnsureDatabase(ctx, db, role, "pw-one", testOwner); err != nil {
			t.Fatalf("second EnsureDatabase: %v", err)
		}
		if n := countRows(ctx, t, e, db, role, "pw-one"); n != 1 {
			t.Errorf("%d rows after the second EnsureDatabase, want 1", n)
		}
		// A new password replaces the old one.
		if err := a.EnsureDatabase(ctx, db, role, "pw-two", testOwner); err != nil {
			t.Fatal(err)
		}
		if err := e.openURI(t, e.uri(db, role, "pw-one")).PingContext(ctx); !IsAuthError(err) {
			t.Errorf("old password: %v, want an auth error", err)
		}
		// Retain is the caller's business: closing the admin keeps everything.
		a.Close()
		if n := countRows(ctx, t, e, db, role, "pw-two"); n != 1 {
			t.Errorf("%d rows after closing the admin, want 1", n)
		}
	})
}

func countRows(ctx context.Context, t *testing.T, e *env, db, role, password string) int {
	t.Helper()
	var n int
	if err := e.openURI(t, e.uri(db, role, password)).QueryRowContext(ctx, "SELECT count(*) FROM kubeship_probe").Scan(&n); err != nil {
		t.Fatalf("counting rows as %s: %v", role, err)
	}
	return n
}

// The role gets its database and nothing else.
func TestRoleHasNoOtherRights(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := testCtx(t)
		a := e.admin(t)
		db, role := e.names("rights")
		t.Cleanup(func() { logCleanup(t, a.DropDatabase(context.Background(), db, role, testOwner)) })
		if err := a.EnsureDatabase(ctx, db, role, "pw", testOwner); err != nil {
			t.Fatal(err)
		}
		conn := e.openURI(t, e.uri(db, role, "pw"))
		forbidden := []string{"CREATE DATABASE kubeship_not_allowed"}
		if e.engine == EnginePostgres {
			forbidden = append(forbidden, "CREATE ROLE kubeship_not_allowed", "ALTER ROLE "+pgIdent(role)+" CREATEDB")
			var attrs string
			err := rawDB(a).QueryRowContext(ctx, `SELECT concat_ws(',', rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolcanlogin)
				FROM pg_roles WHERE rolname = $1`, role).Scan(&attrs)
			if err != nil || attrs != "f,f,f,f,f,t" {
				t.Errorf("role attributes %s (super,createdb,createrole,replication,bypassrls,login), %v", attrs, err)
			}
			var owner string
			var publicRights bool
			err = rawDB(a).QueryRowContext(ctx, `SELECT pg_get_userbyid(datdba),
				EXISTS (SELECT 1 FROM aclexplode(COALESCE(datacl, acldefault('d', datdba))) WHERE grantee = 0)
				FROM pg_database WHERE datname = $1`, db).Scan(&owner, &publicRights)
			if err != nil || owner != role || publicRights {
				t.Errorf("database owner %q, PUBLIC has rights %v, %v", owner, publicRights, err)
			}
		} else {
			forbidden = append(forbidden, "CREATE USER kubeship_not_allowed", "SELECT * FROM mysql.user")
			rows, err := conn.QueryContext(ctx, "SHOW GRANTS")
			if err != nil {
				t.Fatal(err)
			}
			var grants []string
			for rows.Next() {
				var g string
				if err := rows.Scan(&g); err != nil {
					t.Fatal(err)
				}
				grants = append(grants, strings.SplitN(g, " IDENTIFIED BY", 2)[0])
			}
			rows.Close()
			want := []string{fmt.Sprintf("GRANT USAGE ON *.* TO `%s`@`%%`", role), fmt.Sprintf("GRANT ALL PRIVILEGES ON `%s`.* TO `%s`@`%%`", strings.ReplaceAll(db, "_", `\_`), role)}
			if strings.Join(grants, "\n") != strings.Join(want, "\n") {
				t.Errorf("grants:\n%s\nwant:\n%s", strings.Join(grants, "\n"), strings.Join(want, "\n"))
			}
			var charset string
			if err := conn.QueryRowContext(ctx, "SELECT @@character_set_database").Scan(&charset); err != nil || charset != "utf8mb4" {
				t.Errorf("database character set %q, %v", charset, err)
			}
		}
		for _, q := range forbidden {
			if _, err := conn.ExecContext(ctx, q); err == nil {
				t.Errorf("role could run %q", q)
			}
		}
	})
}

// A second service's role cannot reach the first one's database.
func TestIsolationBetweenServices(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := testCtx(t)
		a := e.admin(t)
		n := nameSeq.Add(1)
		// MySQL reads `_` in GRANT ... ON `db`.* as a wildcard: grant a_b, and aXb is covered too
		// unless the name is escaped. dbB is such a neighbour of dbA.
		dbA, roleA := fmt.Sprintf("iso%d_a", n), fmt.Sprintf("iso%d_ra", n)
		dbB, roleB := fmt.Sprintf("iso%dxa", n), fmt.Sprintf("iso%d_rb", n)
		t.Cleanup(func() {
			logCleanup(t, a.DropDatabase(context.Background(), dbA, roleA, testOwner))
			logCleanup(t, a.DropDatabase(context.Background(), dbB, roleB, testOwner))
		})
		for _, s := range [][2]string{{dbA, roleA}, {dbB, roleB}} {
			if err := a.EnsureDatabase(ctx, s[0], s[1], "pw-"+s[1], testOwner); err != nil {
				t.Fatal(err)
			}
			if err := e.writeAndRead(ctx, t, s[0], s[1], "pw-"+s[1]); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct{ db, role string }{{dbA, roleB}, {dbB, roleA}} {
			err := e.writeAndRead(ctx, t, c.db, c.role, "pw-"+c.role)
			if err == nil {
				t.Errorf("role %s can use database %s", c.role, c.db)
				continue
			}
			if e.engine == EngineMySQL && !IsAuthError(err) { // 1044: access denied to database
				t.Errorf("role %s on database %s: %v, want access denied", c.role, c.db, err)
			}
			if e.engine == EnginePostgres && !strings.Contains(err.Error(), "42501") { // no CONNECT privilege
				t.Errorf("role %s on database %s: %v, want permission denied", c.role, c.db, err)
			}
		}
	})
}

func TestDropDatabase(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := testCtx(t)
		a := e.admin(t)
		db, role := e.names("drop")
		if err := a.EnsureDatabase(ctx, db, role, "pw", testOwner); err != nil {
			t.Fatal(err)
		}
		// A session of the role stays open in its database while it is dropped.
		app := e.openURI(t, e.uri(db, role, "pw"))
		app.SetMaxIdleConns(1)
		session, err := app.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer session.Close()
		if err := session.PingContext(ctx); err != nil {
			t.Fatal(err)
		}

		if err := a.DropDatabase(ctx, db, role, testOwner); err != nil {
			t.Fatalf("DropDatabase: %v", err)
		}
		if dbExists, roleExists := e.exists(ctx, t, a, db, role); dbExists || roleExists {
			t.Errorf("after DropDatabase: database exists %v, role exists %v", dbExists, roleExists)
		}
		if err := session.PingContext(ctx); err == nil {
			t.Error("the role's open session survived")
		}
		if err := e.openURI(t, e.uri(db, role, "pw")).PingContext(ctx); !IsAuthError(err) {
			t.Errorf("login after DropDatabase: %v, want an auth error", err)
		}
		for range 2 {
			if err := a.DropDatabase(ctx, db, role, testOwner); err != nil {
				t.Errorf("DropDatabase of what is gone: %v", err)
			}
		}
		never, neverRole := e.names("never")
		if err := a.DropDatabase(ctx, never, neverRole, testOwner); err != nil {
			t.Errorf("DropDatabase of what never was: %v", err)
		}
	})
}

// EnsureDatabase and DropDatabase leave alone accounts that are not theirs: the admin, and
// accounts with server-wide rights. Their passwords stay as they were.
func TestRefusesToTakeOver(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := testCtx(t)
		a := e.admin(t)
		db, other := e.names("takeover")
		create := []string{"CREATE ROLE " + pgIdent(other) + " LOGIN CREATEDB PASSWORD 'old-password'"}
		if e.engine == EngineMySQL {
			create = []string{"CREATE USER '" + other + "'@'%' IDENTIFIED BY 'old-password'", "GRANT SELECT ON *.* TO '" + other + "'@'%'"}
		}
		for _, q := range create {
			if _, err := rawDB(a).ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() {
			drop := "DROP ROLE " + pgIdent(other)
			if e.engine == EngineMySQL {
				drop = "DROP USER '" + other + "'@'%'"
			}
			_, err := rawDB(a).ExecContext(context.Background(), drop)
			logCleanup(t, err)
		})

		for _, role := range []string{e.srv.User, other} {
			for name, call := range map[string]func() error{
				"EnsureDatabase": func() error { return a.EnsureDatabase(ctx, db, role, "new-password", testOwner) },
				"DropDatabase":   func() error { return a.DropDatabase(ctx, db, role, testOwner) },
			} {
				if err := call(); !errors.Is(err, ErrConflict) {
					t.Errorf("%s with role %s: %v, want ErrConflict", name, role, err)
				}
			}
		}
		if err := e.openURI(t, e.uri(e.dbForLogin(), other, "old-password")).PingContext(ctx); err != nil {
			t.Errorf("the other account's password changed: %v", err)
		}
		if dbExists, _ := e.exists(ctx, t, a, db, other); dbExists {
			t.Error("a database was created anyway")
		}
		if err := a.Ping(ctx); err != nil {
			t.Errorf("admin login broken: %v", err)
		}
	})
}

// dbForLogin is a database every login may open, to check a password.
func (e *env) dbForLogin() string {
	if e.engine == EnginePostgres {
		return "postgres"
	}
	return ""
}

// PostgreSQL: a database that exists but belongs to another role is not taken over.
func TestRefusesForeignDatabase(t *testing.T) {
	e := onlyEngine(t, EnginePostgres)
	ctx := testCtx(t)
	a := e.admin(t)
	db, role := e.names("foreign")
	if _, err := rawDB(a).ExecContext(ctx, "CREATE DATABASE "+pgIdent(db)); err != nil { // owned by the admin
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, err := rawDB(a).ExecContext(context.Background(), "DROP DATABASE "+pgIdent(db))
		logCleanup(t, err)
	})
	if err := a.EnsureDatabase(ctx, db, role, "pw", testOwner); !errors.Is(err, ErrConflict) {
		t.Errorf("EnsureDatabase: %v, want ErrConflict", err)
	}
	if err := a.DropDatabase(ctx, db, role, testOwner); !errors.Is(err, ErrConflict) {
		t.Errorf("DropDatabase: %v, want ErrConflict", err)
	}
	if dbExists, roleExists := e.exists(ctx, t, a, db, role); !dbExists || roleExists {
		t.Errorf("database exists %v (want true), role exists %v (want false)", dbExists, roleExists)
	}
}

// PostgreSQL: an admin with CREATEDB and CREATEROLE but no superuser (as on managed services)
// can do everything.
func TestPostgresNonSuperuserAdmin(t *testing.T) {
	e := onlyEngine(t, EnginePostgres)
	ctx := testCtx(t)
	super := e.admin(t)
	_, adminRole := e.names("limited_admin")
	if _, err := rawDB(super).ExecContext(ctx, "CREATE ROLE "+pgIdent(adminRole)+" LOGIN CREATEDB CREATEROLE PASSWORD 'admin-pw'"); err != nil {
		t.Fatal(err)
	}
	cfg := e.config()
	cfg.Username, cfg.Password = adminRole, "admin-pw"
	a, err := Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a.Close()
		_, err := rawDB(super).ExecContext(context.Background(), "DROP OWNED BY "+pgIdent(adminRole))
		logCleanup(t, err)
		_, err = rawDB(super).ExecContext(context.Background(), "DROP ROLE "+pgIdent(adminRole))
		logCleanup(t, err)
	})
	if a.(*pgAdmin).super {
		t.Fatal("admin is a superuser")
	}
	db, role := e.names("limited")
	for i := range 2 {
		if err := a.EnsureDatabase(ctx, db, role, "pw", testOwner); err != nil {
			t.Fatalf("EnsureDatabase #%d: %v", i+1, err)
		}
	}
	if err := e.writeAndRead(ctx, t, db, role, "pw"); err != nil {
		t.Fatal(err)
	}
	// With an open session, to need the right to end it.
	session := e.openURI(t, e.uri(db, role, "pw"))
	session.SetMaxIdleConns(1)
	if err := session.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.DropDatabase(ctx, db, role, testOwner); err != nil {
		t.Fatalf("DropDatabase: %v", err)
	}
	if dbExists, roleExists := e.exists(ctx, t, super, db, role); dbExists || roleExists {
		t.Errorf("database exists %v, role exists %v", dbExists, roleExists)
	}
}

// The password is stored as a SCRAM verifier made here: the server never sees it in clear.
func TestPostgresStoresVerifier(t *testing.T) {
	e := onlyEngine(t, EnginePostgres)
	ctx := testCtx(t)
	a := e.admin(t)
	db, role := e.names("verifier")
	t.Cleanup(func() { logCleanup(t, a.DropDatabase(context.Background(), db, role, testOwner)) })
	start := time.Now()
	if err := a.EnsureDatabase(ctx, db, role, "verifier-password", testOwner); err != nil {
		t.Fatal(err)
	}
	t.Logf("EnsureDatabase took %s", time.Since(start))
	var stored string
	if err := rawDB(a).QueryRowContext(ctx, "SELECT rolpassword FROM pg_authid WHERE rolname = $1", role).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored, "SCRAM-SHA-256$4096:") {
		t.Errorf("stored password %q", stored)
	}
	if err := e.writeAndRead(ctx, t, db, role, "verifier-password"); err != nil {
		t.Fatal(err)
	}
}

// logCleanup reports a failed best-effort cleanup without failing the test: the server is
// a throwaway one, but a leak is worth seeing in the log.
func logCleanup(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Logf("cleanup: %v", err)
	}
}
