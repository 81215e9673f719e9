package dbadmin

import (
	"context"
	"errors"
	"testing"
)

func TestPing(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := testCtx(t)
		closed := closedPort(t)
		tests := []struct {
			name              string
			mutate            func(*Config)
			auth, unreachable bool
		}{
			{"ok", func(*Config) {}, false, false},
			{"wrong password", func(c *Config) { c.Password = "wrong-" + c.Password }, true, false},
			{"unknown user", func(c *Config) { c.Username = "nobody" }, true, false},
			{"closed port", func(c *Config) { c.Port = closed }, false, true},
			{"unknown host", func(c *Config) { c.Host = "kubeship-no-such-host.invalid" }, false, true},
		}
		for _, tc := range tests {
			cfg := e.config()
			tc.mutate(&cfg)
			a, err := Connect(ctx, cfg)
			if err == nil {
				err = a.Ping(ctx)
				a.Close()
			}
			wantOK := !tc.auth && !tc.unreachable
			if (err == nil) != wantOK || IsAuthError(err) != tc.auth || IsUnreachable(err) != tc.unreachable {
				t.Errorf("%s: err = %v; auth %v unreachable %v, want ok=%v auth=%v unreachable=%v",
					tc.name, err, IsAuthError(err), IsUnreachable(err), wantOK, tc.auth, tc.unreachable)
			}
			assertNoSecret(t, err, cfg.Password, e.srv.Password)
		}
	})
}

// Ping logs in anew: it notices a password change that pooled connections would hide.
func TestPingLogsInAgain(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := testCtx(t)
		a := e.admin(t)
		db, role := e.names("ping")
		if err := a.EnsureDatabase(ctx, db, role, "first-password", testOwner); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { logCleanup(t, a.DropDatabase(context.Background(), db, role, testOwner)) })
		cfg := e.config()
		cfg.Username, cfg.Password = role, "first-password"
		asRole, err := Connect(ctx, cfg)
		if err != nil {
			t.Fatalf("Connect as the role: %v", err)
		}
		defer asRole.Close()
		if err := asRole.Ping(ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		if err := a.EnsureDatabase(ctx, db, role, "second-password", testOwner); err != nil {
			t.Fatal(err)
		}
		if err := asRole.Ping(ctx); !IsAuthError(err) {
			t.Errorf("Ping after the password changed: %v, want an auth error", err)
		}
	})
}

func TestSSLModesAgainstServer(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := testCtx(t)
		tests := []struct {
			name    string
			mutate  func(*Config)
			wantTLS bool
			fail    bool
		}{
			{"disable", func(c *Config) { c.SSLMode = SSLDisable }, false, false},
			{"require", func(c *Config) { c.SSLMode = SSLRequire }, true, false},
			{"default is require", func(c *Config) { c.SSLMode = "" }, true, false},
			{"verify-full by IP", func(c *Config) { c.SSLMode, c.RootCAs = SSLVerifyFull, e.srv.RootCAs() }, true, false},
			{"verify-full by name", func(c *Config) { c.SSLMode, c.RootCAs, c.Host = SSLVerifyFull, e.srv.RootCAs(), "localhost" }, true, false},
			{"verify-full, unknown CA", func(c *Config) { c.SSLMode = SSLVerifyFull }, false, true},
		}
		for _, tc := range tests {
			cfg := e.config()
			tc.mutate(&cfg)
			a, err := Connect(ctx, cfg)
			if tc.fail {
				if err == nil {
					a.Close()
					t.Errorf("%s: connected", tc.name)
				} else if IsAuthError(err) || IsUnreachable(err) {
					t.Errorf("%s: %v classified as auth %v / unreachable %v", tc.name, err, IsAuthError(err), IsUnreachable(err))
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
				continue
			}
			if got := sessionUsesTLS(ctx, t, e, a); got != tc.wantTLS {
				t.Errorf("%s: TLS in use %v, want %v", tc.name, got, tc.wantTLS)
			}
			a.Close()
		}
	})
}

func sessionUsesTLS(ctx context.Context, t *testing.T, e *env, a Admin) bool {
	t.Helper()
	if e.engine == EnginePostgres {
		var ssl bool
		if err := rawDB(a).QueryRowContext(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil {
			t.Fatal(err)
		}
		return ssl
	}
	var name, cipher string
	if err := rawDB(a).QueryRowContext(ctx, "SHOW SESSION STATUS LIKE 'Ssl_cipher'").Scan(&name, &cipher); err != nil {
		t.Fatal(err)
	}
	return cipher != ""
}

func TestConnectHonoursContext(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Connect(ctx, e.config())
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Connect with a cancelled context: %v, want context.Canceled", err)
		}
	})
}
