package dbadmin

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// The servers do echo values in their messages. A statement that makes them echo a password
// shows the raw driver error carries it and the returned error does not.
func TestServerEchoIsRedacted(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := testCtx(t)
		a := e.admin(t)
		for _, pw := range []string{"Echo-Me-7f3a9", `it's \ "quoted"`} {
			var raw error
			if e.engine == EnginePostgres {
				lit, err := quoteLiteral(pw)
				if err != nil {
					t.Fatal(err)
				}
				_, raw = rawDB(a).ExecContext(ctx, "SELECT"+lit+"::int") // invalid input syntax for type integer: "<pw>"
			} else {
				_, raw = rawDB(a).ExecContext(ctx, "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = ?", pw)
			}
			if raw == nil || !strings.Contains(raw.Error(), pw) {
				t.Fatalf("the server did not echo the value, so this test proves nothing: %v", raw)
			}
			err := wrapErr(context.Background(), "echoing", raw, pw)
			assertNoSecret(t, err, pw)
			if !strings.Contains(err.Error(), "[REDACTED]") {
				t.Errorf("no redaction marker in %q", err)
			}
		}
	})
}

// Every error the package returns in the tests above is checked with assertNoSecret; these are
// the paths that hold a password at the moment they fail.
func TestErrorsNeverContainPasswords(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := testCtx(t)
		const rolePW = "Role-Secret-5b1e"
		var errs []error

		cfg := e.config()
		cfg.Password = "Wrong-Admin-Secret-99"
		_, err := Connect(ctx, cfg)
		errs = append(errs, err)
		var connectErr *pgconn.ConnectError
		if errors.As(err, &connectErr) {
			t.Error("*pgconn.ConnectError (which holds the password) is reachable from the error")
		}

		a := e.admin(t)
		db, role := e.names("secret")
		t.Cleanup(func() { logCleanup(t, a.DropDatabase(context.Background(), db, role, testOwner)) })
		errs = append(errs,
			a.EnsureDatabase(ctx, db+"\x00", role, rolePW, testOwner),               // invalid name
			a.EnsureDatabase(ctx, db, e.srv.User, rolePW, testOwner),                // conflict
			a.EnsureDatabase(ctx, db, role, rolePW+"\x00", testOwner),               // invalid password
			a.EnsureDatabase(ctx, strings.Repeat("d", 70), role, rolePW, testOwner), // too long
		)
		// Fail in the statement that carries the password: the role vanishes just before it.
		other := e.admin(t)
		dropRole := "DROP ROLE " + pgIdent(role)
		if e.engine == EngineMySQL {
			dropRole = "DROP USER '" + role + "'@'%'"
		}
		setStepHook(a, func(step string) error {
			if step == "set-password" {
				if _, err := rawDB(other).ExecContext(ctx, dropRole); err != nil {
					t.Errorf("dropping the role behind EnsureDatabase's back: %v", err)
				}
			}
			return nil
		})
		err = a.EnsureDatabase(ctx, db, role, rolePW, testOwner)
		var e2 *Error
		if !errors.As(err, &e2) || !strings.Contains(e2.Op, "setting the password") {
			t.Errorf("EnsureDatabase with the role gone: %v, want a failure setting the password", err)
		}
		errs = append(errs, err)
		// And a context that ends just before it.
		stepCtx, cancel := context.WithCancel(ctx)
		setStepHook(a, func(step string) error {
			if step == "set-password" {
				cancel()
			}
			return nil
		})
		errs = append(errs, a.EnsureDatabase(stepCtx, db, role, rolePW, testOwner))
		setStepHook(a, nil)

		for i, err := range errs {
			if err == nil {
				t.Errorf("case %d: no error", i)
				continue
			}
			assertNoSecret(t, err, rolePW, cfg.Password, e.srv.Password)
		}
		if !errors.Is(errs[len(errs)-1], context.Canceled) {
			t.Errorf("cancelled EnsureDatabase: %v, want context.Canceled", errs[len(errs)-1])
		}
	})
}
