// Package testdb starts throwaway database servers for tests: PostgreSQL (initdb + postgres)
// and MariaDB (mariadb-install-db + mariadbd), from the binaries Debian's `postgresql` and
// `mariadb-server` packages install.
//
// Each server gets its own data directory, a free port on 127.0.0.1, an admin account with a
// random password, and TLS with a throwaway CA (so tests can use every SSL mode). Starting one
// takes a second or two; use Shared from TestMain to start one per package instead of one per
// test.
//
// When the binaries are missing the test fails (it is not skipped) with the apt package to
// install. When the tests run as root, the servers run as the `postgres` and `mysql` system
// users, which those packages create, because PostgreSQL refuses to run as root.
package testdb

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/kubeship/kubeship/internal/naming"
)

// Engines, as dbadmin.Config spells them.
const (
	EnginePostgres = naming.EnginePostgres
	EngineMySQL    = naming.EngineMySQL
)

// readyTimeout bounds how long a server may take to accept its admin login. Generous, because
// several test binaries may start servers at once on a small machine.
const readyTimeout = 60 * time.Second

// Server is a running throwaway database server.
type Server struct {
	Engine   string // EnginePostgres or EngineMySQL
	Host     string // always 127.0.0.1
	Port     int
	User     string // admin account: superuser (postgres) or ALL ON *.* WITH GRANT OPTION (mysql)
	Password string
	Version  string // server version as the binary reports it, e.g. "15.18"
	// CACertPEM is the PEM certificate of the CA that signed the server's certificate, whose
	// names are 127.0.0.1, ::1 and localhost. The server accepts TLS and plain connections.
	CACertPEM []byte
	// StartupTime is how long initialisation plus start-up until the first admin login took.
	StartupTime time.Duration

	dir  string
	proc *process
	kept bool // KeepPostgres: it outlives us, Stop leaves it alone
	stop sync.Once
	err  error
}

// Addr returns host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// RootCAs returns a pool holding the server's CA, for verify-full connections.
func (s *Server) RootCAs() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(s.CACertPEM)
	return pool
}

// Stop shuts the server down and removes its data directory. It is safe to call more than once.
// It does nothing on a server from KeepPostgres.
func (s *Server) Stop() error {
	if s.kept {
		return nil
	}
	s.stop.Do(func() { s.err = stopAndRemove(s.proc, s.dir) })
	return s.err
}

// StartPostgres starts a PostgreSQL server that is stopped when t ends.
func StartPostgres(t testing.TB) *Server {
	t.Helper()
	return startFor(t, NewPostgres)
}

// StartMySQL starts a MariaDB server that is stopped when t ends.
func StartMySQL(t testing.TB) *Server {
	t.Helper()
	return startFor(t, NewMySQL)
}

func startFor(t testing.TB, start func() (*Server, error)) *Server {
	t.Helper()
	s, err := start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stopping %s test server: %v", s.Engine, err)
		}
	})
	return s
}

// Shared starts one server lazily, on the first Get, and keeps it for the whole test binary.
// Stop it from TestMain after m.Run:
//
//	var pg = testdb.NewShared(testdb.NewPostgres)
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		pg.Stop()
//		os.Exit(code)
//	}
//
// Tests that only need pure functions then never pay for a server.
type Shared struct {
	start func() (*Server, error)
	once  sync.Once
	srv   *Server
	err   error
}

// NewShared returns a Shared that starts its server with start (NewPostgres or NewMySQL).
func NewShared(start func() (*Server, error)) *Shared { return &Shared{start: start} }

// Get returns the server, starting it on first use; it fails t if the server cannot start.
func (s *Shared) Get(t testing.TB) *Server {
	t.Helper()
	s.once.Do(func() { s.srv, s.err = s.start() })
	if s.err != nil {
		t.Fatal(s.err)
	}
	return s.srv
}

// Stop stops the server if it was started.
func (s *Shared) Stop() error {
	s.once.Do(func() {}) // a later Get must not start a server nobody will stop
	if s.srv == nil {
		return nil
	}
	return s.srv.Stop()
}

// randomPassword returns 24 random hex characters: long, and safe in any quoting.
func randomPassword() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
