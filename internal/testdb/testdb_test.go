package testdb

import (
	"context"
	"crypto/tls"
	"database/sql"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
)

func TestStartPostgres(t *testing.T) {
	t.Parallel()
	s := StartPostgres(t)
	t.Logf("PostgreSQL %s on %s started in %s", s.Version, s.Addr(), s.StartupTime)
	ctx := context.Background()

	for _, mode := range []string{"disable", "verify-full"} {
		u := url.URL{Scheme: "postgres", User: url.User(s.User), Host: s.Addr(), Path: "/postgres", RawQuery: "sslmode=" + mode}
		cfg, err := pgx.ParseConfig(u.String())
		if err != nil {
			t.Fatal(err)
		}
		cfg.Password = s.Password
		if cfg.TLSConfig != nil {
			cfg.TLSConfig.RootCAs = s.RootCAs()
		}
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatalf("sslmode=%s: %v", mode, err)
		}
		var ssl, super bool
		err = conn.QueryRow(ctx, "SELECT ssl, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl, &super)
		conn.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ssl != (mode != "disable") || !super {
			t.Errorf("sslmode=%s: ssl=%v superuser=%v", mode, ssl, super)
		}
	}

	wrong := &Server{Host: s.Host, Port: s.Port, User: s.User, Password: "not-" + s.Password}
	if err := pingPostgres(ctx, wrong); err == nil {
		t.Error("login with a wrong password worked")
	}
	assertStopFrees(t, s)
}

func TestStartMySQL(t *testing.T) {
	t.Parallel()
	s := StartMySQL(t)
	t.Logf("MariaDB %s on %s started in %s", s.Version, s.Addr(), s.StartupTime)
	ctx := context.Background()

	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Addr = s.User, s.Password, s.Addr()
	cfg.TLS = &tls.Config{ServerName: s.Host, RootCAs: s.RootCAs()}
	db := openMySQL(t, cfg)
	var cipher, grantee string
	if err := db.QueryRowContext(ctx, "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'SSL_CIPHER'").Scan(&cipher); err != nil {
		t.Fatal(err)
	}
	if cipher == "" {
		t.Error("verified TLS connection has no cipher")
	}
	if err := db.QueryRowContext(ctx, "SELECT CURRENT_USER()").Scan(&grantee); err != nil || grantee != s.User+"@%" {
		t.Errorf("CURRENT_USER() = %q, %v", grantee, err)
	}

	// mariadb-install-db's password-less root@127.0.0.1 must be gone.
	root := mysql.NewConfig()
	root.User, root.Addr = "root", s.Addr()
	if err := openMySQL(t, root).PingContext(ctx); err == nil {
		t.Error("root logged in over TCP without a password")
	}
	assertStopFrees(t, s)
}

func openMySQL(t *testing.T, cfg *mysql.Config) *sql.DB {
	t.Helper()
	cfg.Timeout = 5 * time.Second
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	return db
}

// assertStopFrees stops the server and checks that its port and directory are gone.
func assertStopFrees(t *testing.T, s *Server) {
	t.Helper()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if conn, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		conn.Close()
		t.Errorf("%s still accepts connections after Stop", s.Addr())
	}
	if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
		t.Errorf("data directory %s still exists: %v", s.dir, err)
	}
}

// Missing binaries fail with the package to install. Not parallel: it changes PATH.
func TestMissingBinariesNamePackage(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv(pgBinDirEnv, "")
	oldGlob, oldServer, oldInstall := pgBinGlob, mariadbdCandidates, installDBCandidates
	t.Cleanup(func() { pgBinGlob, mariadbdCandidates, installDBCandidates = oldGlob, oldServer, oldInstall })
	pgBinGlob = t.TempDir() + "/*/bin"
	mariadbdCandidates, installDBCandidates = []string{t.TempDir() + "/mariadbd"}, nil

	for _, tc := range []struct {
		start func() (*Server, error)
		want  string
	}{
		{NewPostgres, "apt-get install -y postgresql`"},
		{NewMySQL, "apt-get install -y mariadb-server`"},
	} {
		s, err := tc.start()
		if err == nil {
			t.Fatalf("started a server without binaries (stopping it: %v)", s.Stop())
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %q does not say %q", err, tc.want)
		}
	}
}

func TestShared(t *testing.T) {
	t.Parallel()
	starts := 0
	sh := NewShared(func() (*Server, error) { starts++; return &Server{Engine: "fake"}, nil })
	if a, b := sh.Get(t), sh.Get(t); a != b || starts != 1 {
		t.Errorf("Get started %d servers", starts)
	}
	unused := NewShared(func() (*Server, error) { t.Error("Stop started a server"); return nil, nil })
	if err := unused.Stop(); err != nil {
		t.Error(err)
	}
}

func TestPgDirVersionOrder(t *testing.T) {
	t.Parallel()
	if a, b := pgDirVersion("/usr/lib/postgresql/9.6/bin"), pgDirVersion("/usr/lib/postgresql/16/bin"); a >= b {
		t.Errorf("9.6 -> %d, 16 -> %d", a, b)
	}
}

// Servers started at the same moment must not disturb each other (MariaDB once did, through
// its shared /tmp); test binaries of several packages do exactly that.
func TestConcurrentStarts(t *testing.T) {
	t.Parallel()
	starts := []func() (*Server, error){NewMySQL, NewMySQL, NewMySQL, NewPostgres, NewPostgres}
	servers := make([]*Server, len(starts))
	errs := make([]error, len(starts))
	var wg sync.WaitGroup
	for i, start := range starts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			servers[i], errs[i] = start()
		}()
	}
	wg.Wait()
	seen := map[int]bool{}
	for i, s := range servers {
		if errs[i] != nil {
			t.Errorf("server %d: %v", i, errs[i])
			continue
		}
		t.Cleanup(func() {
			if err := s.Stop(); err != nil {
				t.Logf("stopping %s: %v", s.Addr(), err)
			}
		})
		if seen[s.Port] {
			t.Errorf("port %d used twice", s.Port)
		}
		seen[s.Port] = true
	}
}
