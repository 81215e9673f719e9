package dbadmin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kubeship/kubeship/internal/naming"
)

// Names made by naming.Database and naming.Role from hostile namespaces and service names work end to end.
func TestHostileNamesThroughName(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := testCtx(t)
		a := e.admin(t)
		for _, tc := range []struct{ namespace, name string }{
			{"Team-A", "Payments.API"},
			{`a"b`, `c'; DROP DATABASE postgres; --`},
			{"a`b", "c\x00d\xff"},
			{"ünï", "😀"},
			{"pg", "app"}, // reserved role prefix in PostgreSQL
			{"ns", strings.Repeat("long-service-", 8)},
			{"a-b-c-d-e-f-g-h", strings.Repeat("x-", 30)}, // MySQL: too many `_` to escape in 64
		} {
			ns := fmt.Sprintf("n%d-%s", nameSeq.Add(1), tc.namespace)
			db, role := naming.Database(e.engine, ns, tc.name), naming.Role(e.engine, ns, tc.name)
			if err := a.EnsureDatabase(ctx, db, role, "pw'\\", testOwner); err != nil {
				t.Errorf("(%q, %q) -> %q/%q: EnsureDatabase: %v", ns, tc.name, db, role, err)
				continue
			}
			if err := e.writeAndRead(ctx, t, db, role, "pw'\\"); err != nil {
				t.Errorf("%q/%q: %v", db, role, err)
			}
			if err := a.DropDatabase(ctx, db, role, testOwner); err != nil {
				t.Errorf("%q/%q: DropDatabase: %v", db, role, err)
			}
		}
	})
}

// Raw hostile identifiers, not through Name: quoted, they either work as exactly that name or
// are refused, and never do anything else.
func TestHostileRawNames(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := testCtx(t)
		a := e.admin(t)
		sentinelDB, sentinelRole := e.names("s") // short: the injections below quote them
		if err := a.EnsureDatabase(ctx, sentinelDB, sentinelRole, "sentinel-pw", testOwner); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { logCleanup(t, a.DropDatabase(context.Background(), sentinelDB, sentinelRole, testOwner)) })
		if err := e.writeAndRead(ctx, t, sentinelDB, sentinelRole, "sentinel-pw"); err != nil {
			t.Fatal(err)
		}

		p := fmt.Sprintf("hx%d", nameSeq.Add(1)) // every name below starts with p
		maxDB, maxRole := naming.MaxIdentifierLength, naming.MaxIdentifierLength
		if e.engine == EngineMySQL {
			maxDB, maxRole = naming.MaxMySQLDatabaseLength, naming.MaxMySQLUserLength
		}
		pad := func(s string, n int) string { return s + strings.Repeat("z", n-utf8.RuneCountInString(s)) }
		const ok, invalid = "ok", "invalid"
		tests := []struct {
			name, db, role  string
			want, wantMySQL string // wantMySQL "" means want
		}{
			{"double quotes", p + `"; DROP DATABASE "` + sentinelDB + `"; --`, p + `"; DROP ROLE "` + sentinelRole + `"`, ok, ""},
			{"single quotes", p + `'; DROP DATABASE ` + sentinelDB + `; --`, p + `'@'%'; DROP USER x; --`, ok, ""},
			{"backticks", p + "`; DROP DATABASE `" + sentinelDB + "`; --", p + "`r`; --", ok, ""},
			{"backslashes", p + `\'\"\` + "`", p + `\\'\`, ok, ""},
			{"wildcards", p + `%_%`, p + `%_r`, ok, ""},
			{"unicode", p + "ünïcødé", p + "rölle", ok, ""},
			{"emoji", p + "😀db", p + "😀r", ok, invalid}, // MySQL identifiers stop at U+FFFF
			{"spaces", p + " with space", p + " r", ok, ""},
			{"dollar quoting", p + "$$x$$", p + "$r$", ok, ""},
			{"longest", pad(p+"long'", maxDB), pad(p+"r'", maxRole), ok, ""},
			{"longest with underscores", pad(p+"_l_", maxDB), p + "r", ok, invalid}, // MySQL: 66 once escaped for GRANT
			{"database too long", pad(p+"long", maxDB+1), p + "r", invalid, ""},
			{"role too long", p + "db", pad(p+"r", maxRole+1), invalid, ""},
			{"NUL", p + "a\x00b", p + "r", invalid, ""},
			{"invalid UTF-8", p + "a\xffb", p + "r", invalid, ""},
			{"empty role", p + "db", "", invalid, ""},
		}
		for _, tc := range tests {
			want := tc.want
			if e.engine == EngineMySQL && tc.wantMySQL != "" {
				want = tc.wantMySQL
			}
			err := a.EnsureDatabase(ctx, tc.db, tc.role, "pw", testOwner)
			assertNoSecret(t, err, "pw")
			switch {
			case err == nil && want == invalid:
				t.Errorf("%s: EnsureDatabase accepted %q/%q", tc.name, tc.db, tc.role)
			case err != nil && want == ok:
				t.Errorf("%s: EnsureDatabase(%q, %q): %v", tc.name, tc.db, tc.role, err)
			case err != nil && want == invalid && !errors.Is(err, ErrInvalid):
				t.Errorf("%s: %v, want ErrInvalid", tc.name, err)
			}
			if err != nil {
				t.Logf("%s: refused: %v", tc.name, err)
				// Clean up whatever a server-side refusal left; an invalid name stays invalid.
				dropErr := a.DropDatabase(ctx, tc.db, tc.role, testOwner)
				if errors.Is(err, ErrInvalid) != errors.Is(dropErr, ErrInvalid) || (dropErr != nil && !errors.Is(dropErr, ErrInvalid)) {
					t.Errorf("%s: DropDatabase after a refused EnsureDatabase: %v", tc.name, dropErr)
				}
				continue
			}
			// It made exactly these names, and they work.
			if err := a.EnsureDatabase(ctx, tc.db, tc.role, "pw", testOwner); err != nil {
				t.Errorf("%s: again: %v", tc.name, err)
			}
			if dbExists, roleExists := e.exists(ctx, t, a, tc.db, tc.role); !dbExists || !roleExists {
				t.Errorf("%s: database %q exists %v, role %q exists %v", tc.name, tc.db, dbExists, tc.role, roleExists)
			}
			if err := e.writeAndRead(ctx, t, tc.db, tc.role, "pw"); err != nil {
				t.Errorf("%s: role cannot use its database: %v", tc.name, err)
			}
			if err := a.DropDatabase(ctx, tc.db, tc.role, testOwner); err != nil {
				t.Errorf("%s: DropDatabase: %v", tc.name, err)
			}
			if dbExists, roleExists := e.exists(ctx, t, a, tc.db, tc.role); dbExists || roleExists {
				t.Errorf("%s: after DropDatabase database exists %v, role exists %v", tc.name, dbExists, roleExists)
			}
		}

		if left := e.namesWithPrefix(ctx, t, a, p); len(left) > 0 {
			t.Errorf("objects left behind: %q", left)
		}
		if dbExists, roleExists := e.exists(ctx, t, a, sentinelDB, sentinelRole); !dbExists || !roleExists {
			t.Fatalf("sentinel damaged: database %v, role %v", dbExists, roleExists)
		}
		if n := countRows(ctx, t, e, sentinelDB, sentinelRole, "sentinel-pw"); n != 1 {
			t.Errorf("sentinel has %d rows, want 1", n)
		}
		if err := a.Ping(ctx); err != nil {
			t.Errorf("admin: %v", err)
		}
	})
}

// namesWithPrefix lists the databases and roles whose names start with prefix.
func (e *env) namesWithPrefix(ctx context.Context, t *testing.T, a Admin, prefix string) []string {
	t.Helper()
	q := "SELECT datname FROM pg_database UNION ALL SELECT rolname FROM pg_roles"
	if e.engine == EngineMySQL {
		q = "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA UNION ALL SELECT User FROM mysql.user"
	}
	rows, err := rawDB(a).QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out
}

// Hostile passwords: each one works through the URI, and replaces the one before.
func TestHostilePasswords(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := testCtx(t)
		a := e.admin(t)
		db, role := e.names("pwd")
		t.Cleanup(func() { logCleanup(t, a.DropDatabase(context.Background(), db, role, testOwner)) })
		passwords := append([]string{`@:/?#[]%+ &=`}, hostileStrings...)
		previous := ""
		for _, pw := range passwords {
			if err := a.EnsureDatabase(ctx, db, role, pw, testOwner); err != nil {
				t.Errorf("password %q: %v", pw, err)
				continue
			}
			if err := e.writeAndRead(ctx, t, db, role, pw); err != nil {
				t.Errorf("password %q: %v", pw, err)
			}
			if previous != "" {
				if err := e.openURI(t, e.uri(db, role, previous)).PingContext(ctx); !IsAuthError(err) {
					t.Errorf("previous password %q still works (%v)", previous, err)
				}
			}
			previous = pw
		}
		for _, bad := range []string{"", "nul\x00byte", "bad\xffutf8"} {
			err := a.EnsureDatabase(ctx, db, role, bad, testOwner)
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("password %q: %v, want ErrInvalid", bad, err)
			}
			assertNoSecret(t, err, bad)
		}
	})
}

// quoteLiteral's output reads back as the original, whatever standard_conforming_strings says.
func TestQuoteLiteralOnServer(t *testing.T) {
	e := onlyEngine(t, EnginePostgres)
	ctx := testCtx(t)
	conn, err := rawDB(e.admin(t)).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, scs := range []string{"on", "off"} {
		if _, err := conn.ExecContext(ctx, "SET standard_conforming_strings = "+scs); err != nil {
			t.Fatal(err)
		}
		for _, s := range hostileStrings {
			lit, err := quoteLiteral(s)
			if err != nil {
				t.Fatal(err)
			}
			var got string
			var n int
			// A literal that broke out would change the column count or fail to parse.
			if err := conn.QueryRowContext(ctx, "SELECT"+lit+", 1").Scan(&got, &n); err != nil || got != s {
				t.Errorf("standard_conforming_strings=%s: SELECT%s -> %q, %v; want %q", scs, lit, got, err, s)
			}
		}
	}
}

// myIdent's output names exactly the original.
func TestMySQLIdentOnServer(t *testing.T) {
	e := onlyEngine(t, EngineMySQL)
	ctx := testCtx(t)
	for _, s := range []string{"plain", "back`tick``s", `'; DROP DATABASE mysql; --`, `"quoted"`, `\back\slash`, "ünï"} {
		rows, err := rawDB(e.admin(t)).QueryContext(ctx, "SELECT 1 AS "+myIdent(s))
		if err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		cols, _ := rows.Columns()
		rows.Close()
		if len(cols) != 1 || cols[0] != s {
			t.Errorf("column %q came back as %q", s, cols)
		}
	}
}
