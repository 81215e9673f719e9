package dbadmin

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/kubeship/kubeship/internal/naming"
	"github.com/kubeship/kubeship/internal/testdb"
)

// One server per engine for the whole package, started on first use: pure tests pay nothing.
var servers = map[string]*testdb.Shared{
	EnginePostgres: testdb.NewShared(testdb.NewPostgres),
	EngineMySQL:    testdb.NewShared(testdb.NewMySQL),
}

func TestMain(m *testing.M) {
	code := m.Run()
	for engine, s := range servers {
		if err := s.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stopping the %s test server: %v\n", engine, err)
			code = 1
		}
	}
	os.Exit(code)
}

var engines = []string{EnginePostgres, EngineMySQL}

// env is one engine's test server and the helpers tests share.
type env struct {
	engine string
	srv    *testdb.Server
}

// forEachEngine runs f once per engine, as parallel subtests.
func forEachEngine(t *testing.T, f func(t *testing.T, e *env)) {
	t.Helper()
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			f(t, &env{engine: engine, srv: servers[engine].Get(t)})
		})
	}
}

// onlyEngine is forEachEngine for a test of one engine: it gets that engine's server, then
// lets the test run in parallel with the others.
func onlyEngine(t *testing.T, engine string) *env {
	t.Helper()
	e := &env{engine: engine, srv: servers[engine].Get(t)}
	t.Parallel()
	return e
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func (e *env) config() Config {
	return Config{Engine: e.engine, Host: e.srv.Host, Port: e.srv.Port, Username: e.srv.User,
		Password: e.srv.Password, SSLMode: SSLDisable, ConnectTimeout: 5 * time.Second}
}

// admin connects with the test server's admin account.
func (e *env) admin(t *testing.T) Admin {
	t.Helper()
	a, err := Connect(testCtx(t), e.config())
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// sessionOf is the part both admins share, which tests reach into.
func sessionOf(a Admin) *session {
	switch a := a.(type) {
	case *pgAdmin:
		return &a.session
	case *myAdmin:
		return &a.session
	}
	panic(fmt.Sprintf("unexpected Admin %T", a))
}

// rawDB is the admin's own connection pool, for checking the server's catalogs.
func rawDB(a Admin) *sql.DB { return sessionOf(a).db }

func setStepHook(a Admin, hook func(step string) error) { sessionOf(a).stepHook = hook }

var nameSeq atomic.Int64

// names returns a fresh database name and role name; the role fits MySQL's 32 characters.
func (e *env) names(prefix string) (db, role string) {
	n := nameSeq.Add(1)
	return fmt.Sprintf("%s%d_db", prefix, n), fmt.Sprintf("%s%d_role", prefix, n)
}

// uri is what the credentials Secret would hold for db and role.
func (e *env) uri(db, role, password string) string {
	return naming.URI(e.engine, role, password, e.srv.Host, e.srv.Port, db)
}

// openURI connects the way an application would with DATABASE_URL: PostgreSQL takes the URI
// as is; for MySQL the URI is taken apart, as MySQL clients do.
func (e *env) openURI(t *testing.T, uri string) *sql.DB {
	t.Helper()
	var db *sql.DB
	switch e.engine {
	case EnginePostgres:
		cfg, err := pgx.ParseConfig(uri + "?sslmode=disable&connect_timeout=5")
		if err != nil {
			t.Fatalf("parsing %q: %v", uri, err)
		}
		db = stdlib.OpenDB(*cfg)
	case EngineMySQL:
		u, err := url.Parse(uri)
		if err != nil {
			t.Fatalf("parsing %q: %v", uri, err)
		}
		mc := mysql.NewConfig()
		mc.User = u.User.Username()
		mc.Passwd, _ = u.User.Password()
		mc.Addr, mc.DBName = u.Host, strings.TrimPrefix(u.Path, "/")
		mc.Timeout = 5 * time.Second
		mc.Logger = &mysql.NopLogger{}
		c, err := mysql.NewConnector(mc)
		if err != nil {
			t.Fatal(err)
		}
		db = sql.OpenDB(c)
	}
	db.SetMaxIdleConns(0) // every query logs in anew, so password changes show at once
	t.Cleanup(func() { db.Close() })
	return db
}

// writeAndRead logs in as the role through its URI, writes a row into the database and reads
// it back.
func (e *env) writeAndRead(ctx context.Context, t *testing.T, db, role, password string) error {
	t.Helper()
	conn := e.openURI(t, e.uri(db, role, password))
	want := fmt.Sprintf("row %d", nameSeq.Add(1))
	insert := "INSERT INTO kubeship_probe (v) VALUES ($1)"
	if e.engine == EngineMySQL {
		insert = "INSERT INTO kubeship_probe (v) VALUES (?)"
	}
	c, err := conn.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS kubeship_probe (v varchar(100))"); err != nil {
		return err
	}
	if _, err := c.ExecContext(ctx, insert, want); err != nil {
		return err
	}
	count := "SELECT count(*) FROM kubeship_probe WHERE v = $1"
	if e.engine == EngineMySQL {
		count = "SELECT count(*) FROM kubeship_probe WHERE v = ?"
	}
	var n int
	if err := c.QueryRowContext(ctx, count, want).Scan(&n); err != nil {
		return err
	}
	if n != 1 {
		return fmt.Errorf("read %d rows after writing %q", n, want)
	}
	return nil
}

// exists reports whether the database and the role exist, looked up by exact name.
func (e *env) exists(ctx context.Context, t *testing.T, a Admin, db, role string) (dbExists, roleExists bool) {
	t.Helper()
	dbQ, roleQ := "SELECT count(*) FROM pg_database WHERE datname = $1", "SELECT count(*) FROM pg_roles WHERE rolname = $1"
	if e.engine == EngineMySQL {
		dbQ, roleQ = "SELECT count(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", "SELECT count(*) FROM mysql.user WHERE User = ? AND Host = '%'"
	}
	var nDB, nRole int
	if err := rawDB(a).QueryRowContext(ctx, dbQ, db).Scan(&nDB); err != nil {
		t.Fatal(err)
	}
	if err := rawDB(a).QueryRowContext(ctx, roleQ, role).Scan(&nRole); err != nil {
		t.Fatal(err)
	}
	return nDB == 1, nRole == 1
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// assertNoSecret fails if err's text, in any formatting, contains one of the secrets.
func assertNoSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, text := range []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("error leaks a secret %q: %s", s, text)
			}
		}
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Errorf("error is %T, not *dbadmin.Error: %v", err, err)
	}
}

// testOwner is the owner (a Microservice UID in the operator) of what tests make.
const testOwner = "9d1c7a52-0b4e-4a8e-bf1e-test00000001"
