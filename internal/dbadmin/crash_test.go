package dbadmin

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

var errCrash = errors.New("simulated crash")

// stepNames records the steps one call goes through.
func stepNames(t *testing.T, a Admin, call func() error) []string {
	t.Helper()
	var names []string
	setStepHook(a, func(step string) error { names = append(names, step); return nil })
	defer setStepHook(a, nil)
	if err := call(); err != nil {
		t.Fatal(err)
	}
	return names
}

// crashAt runs call with a hook that fails at step stop, as a crash or a lost connection
// there would.
func crashAt(a Admin, stop string, call func() error) error {
	setStepHook(a, func(step string) error {
		if step == stop {
			return errCrash
		}
		return nil
	})
	defer setStepHook(a, nil)
	return call()
}

// EnsureDatabase stopped before any of its steps is finished by the next EnsureDatabase,
// which may bring another password (the Secret may not have been written yet). Meanwhile no
// other role gets into the half-made database.
func TestEnsureDatabaseCrashSafety(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := testCtx(t)
		a := e.admin(t)
		probeDB, probeRole := e.names("steps")
		steps := stepNames(t, a, func() error { return a.EnsureDatabase(ctx, probeDB, probeRole, "pw", testOwner) })
		if err := a.DropDatabase(ctx, probeDB, probeRole, testOwner); err != nil {
			t.Fatal(err)
		}
		t.Logf("steps: %v", steps)
		if len(steps) < 4 {
			t.Fatalf("only %d steps", len(steps))
		}
		// An intruder: another service's role, trying the half-made database.
		intruderDB, intruder := e.names("intruder")
		if err := a.EnsureDatabase(ctx, intruderDB, intruder, "intruder-pw", testOwner); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { logCleanup(t, a.DropDatabase(context.Background(), intruderDB, intruder, testOwner)) })

		for i, stop := range steps {
			t.Run("stop before "+stop, func(t *testing.T) {
				db, role := e.names(fmt.Sprintf("crash%d_", i))
				t.Cleanup(func() { logCleanup(t, a.DropDatabase(context.Background(), db, role, testOwner)) })
				err := crashAt(a, stop, func() error { return a.EnsureDatabase(ctx, db, role, "first-password", testOwner) })
				if !errors.Is(err, errCrash) {
					t.Fatalf("interrupted EnsureDatabase: %v", err)
				}
				if err := e.writeAndRead(ctx, t, db, intruder, "intruder-pw"); err == nil {
					t.Errorf("another role used the half-made database")
				}
				if err := a.EnsureDatabase(ctx, db, role, "second-password", testOwner); err != nil {
					t.Fatalf("EnsureDatabase after the crash: %v", err)
				}
				if err := e.writeAndRead(ctx, t, db, role, "second-password"); err != nil {
					t.Errorf("role cannot use its database after convergence: %v", err)
				}
				if err := e.openURI(t, e.uri(db, role, "first-password")).PingContext(ctx); !IsAuthError(err) {
					t.Errorf("first password: %v, want an auth error", err)
				}
				if err := e.writeAndRead(ctx, t, db, intruder, "intruder-pw"); err == nil {
					t.Errorf("another role uses the database")
				}
			})
		}
	})
}

// DropDatabase stopped before any of its steps is finished by the next DropDatabase.
func TestDropDatabaseCrashSafety(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := testCtx(t)
		a := e.admin(t)
		probeDB, probeRole := e.names("dsteps")
		if err := a.EnsureDatabase(ctx, probeDB, probeRole, "pw", testOwner); err != nil {
			t.Fatal(err)
		}
		steps := stepNames(t, a, func() error { return a.DropDatabase(ctx, probeDB, probeRole, testOwner) })
		t.Logf("steps: %v", steps)
		for i, stop := range steps {
			t.Run("stop before "+stop, func(t *testing.T) {
				db, role := e.names(fmt.Sprintf("dcrash%d_", i))
				if err := a.EnsureDatabase(ctx, db, role, "pw", testOwner); err != nil {
					t.Fatal(err)
				}
				if err := e.writeAndRead(ctx, t, db, role, "pw"); err != nil {
					t.Fatal(err)
				}
				err := crashAt(a, stop, func() error { return a.DropDatabase(ctx, db, role, testOwner) })
				if !errors.Is(err, errCrash) {
					t.Fatalf("interrupted DropDatabase: %v", err)
				}
				if err := a.DropDatabase(ctx, db, role, testOwner); err != nil {
					t.Fatalf("DropDatabase after the crash: %v", err)
				}
				if dbExists, roleExists := e.exists(ctx, t, a, db, role); dbExists || roleExists {
					t.Errorf("database exists %v, role exists %v", dbExists, roleExists)
				}
			})
		}
	})
}
