//go:build e2e

package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/kubeship/kubeship/internal/testdb"
)

// inCI tells whether the suite runs in CI (CI=true): the reliability tests then run
// fewer services and rounds, so that the whole suite stays within CI's time limit.
func inCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1"
}

// scaled returns the size of a reliability test: env (a positive integer) when set,
// else ci under CI=true, else local.
func scaled(env string, local, ci int) int {
	if n, err := strconv.Atoi(os.Getenv(env)); err == nil && n > 0 {
		return n
	}
	if inCI() {
		return ci
	}
	return local
}

// ownManager stops the suite's manager and runs one of the test's own, started with
// the extra flags, logging to name.log; the suite's manager comes back when t ends.
func ownManager(t *testing.T, name string, flags ...string) *managerProcess {
	t.Helper()
	pauseSuiteManager(t)
	m := manager.another(name, flags...)
	_ = os.Remove(m.logPath) // a -count=2 run starts a fresh log
	if err := m.start(); err != nil {
		log, _ := os.ReadFile(m.logPath)
		t.Fatalf("starting manager %s: %v; its log ends:\n%s", name, err, log[max(0, len(log)-3000):])
	}
	t.Cleanup(func() { _ = m.stop() })
	return m
}

// cpuSeconds is the CPU time (user + system) process pid has used, from /proc/<pid>/stat.
func cpuSeconds(pid int) (float64, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name in parentheses may hold spaces; the fields after it are fixed:
	// utime and stime are the 12th and 13th after the ")".
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseFloat(fields[11], 64)
	stime, err2 := strconv.ParseFloat(fields[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("reading /proc/%d/stat: %q %q", pid, fields[11], fields[12])
	}
	const clockTicks = 100 // USER_HZ, 100 on every Linux this runs on
	return (utime + stime) / clockTicks, nil
}

// pgAs connects to srv's database db as user with password.
func pgAs(t *testing.T, srv *testdb.Server, user, password, db string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password), Host: srv.Addr(), Path: "/" + db, RawQuery: "sslmode=require"}
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatalf("connecting to PostgreSQL %s as %s: %v", srv.Addr(), user, err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// mysqlAs opens srv's database db as user with password (one connection at a time).
func mysqlAs(user, password, addr, db string) (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = user, password, "tcp", addr, db
	cfg.Timeout = 10 * time.Second
	cfg.InterpolateParams = true
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db2 := sql.OpenDB(c)
	db2.SetMaxOpenConns(1)
	return db2, nil
}

// mysqlAdmin opens srv as its admin and closes it when t ends.
func mysqlAdmin(t *testing.T, srv *testdb.Server) *sql.DB {
	t.Helper()
	db, err := mysqlAs(srv.User, srv.Password, srv.Addr(), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// execSQL runs statements on an admin connection of srv (either engine) and fails t on
// the first error.
func execSQL(t *testing.T, srv *testdb.Server, statements ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if srv.Engine == testdb.EngineMySQL {
		db := mysqlAdmin(t, srv)
		for _, s := range statements {
			if _, err := db.ExecContext(ctx, s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
		return
	}
	conn := pgAs(t, srv, srv.User, srv.Password, "postgres")
	for _, s := range statements {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// literal quotes s as a string literal for srv's engine: MariaDB (NO_BACKSLASH_ESCAPES
// off) reads backslash escapes, PostgreSQL (standard_conforming_strings on) does not.
func literal(srv *testdb.Server, s string) string {
	if srv.Engine == testdb.EngineMySQL {
		return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
	}
	return "'" + strings.ReplaceAll(s, `'`, `''`) + "'"
}

// rolesLike lists the login roles (PostgreSQL) or users (MariaDB) on srv whose names
// start with prefix, one entry per row the server holds (a duplicate shows twice).
func rolesLike(t *testing.T, srv *testdb.Server, prefix string) []string {
	t.Helper()
	return namesLike(t, srv, "SELECT rolname FROM pg_roles WHERE rolname LIKE $1 ORDER BY 1",
		"SELECT User FROM mysql.user WHERE User LIKE ? ORDER BY 1", prefix)
}

// databasesLike lists the databases on srv whose names start with prefix.
func databasesLike(t *testing.T, srv *testdb.Server, prefix string) []string {
	t.Helper()
	return namesLike(t, srv, "SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY 1",
		"SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE ? ORDER BY 1", prefix)
}

// namesLike runs the engine's query, which selects one name column with a LIKE
// parameter, for the names starting with prefix.
func namesLike(t *testing.T, srv *testdb.Server, pgQuery, myQuery, prefix string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pattern := strings.ReplaceAll(prefix, "_", `\_`) + "%"
	var scan func(dest ...any) error
	var next func() bool
	if srv.Engine == testdb.EngineMySQL {
		rows, err := mysqlAdmin(t, srv).QueryContext(ctx, myQuery, pattern)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		scan, next = rows.Scan, rows.Next
	} else {
		rows, err := pgAs(t, srv, srv.User, srv.Password, "postgres").Query(ctx, pgQuery, pattern)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		scan, next = rows.Scan, rows.Next
	}
	var names []string
	for next() {
		var n string
		if err := scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	return names
}

// logInWith logs in to a shared database with a credentials Secret's keys, as the app
// would: PostgreSQL with sslmode=require, MariaDB over TCP.
func logInWith(creds map[string]string, srv *testdb.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if srv.Engine == testdb.EngineMySQL {
		db, err := mysqlAs(creds["username"], creds["password"], srv.Addr(), creds["database"])
		if err != nil {
			return err
		}
		defer db.Close()
		return db.PingContext(ctx)
	}
	u := url.URL{Scheme: "postgres", User: url.UserPassword(creds["username"], creds["password"]), Host: srv.Addr(),
		Path: "/" + creds["database"], RawQuery: "sslmode=require"}
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(ctx) }()
	return conn.Ping(ctx)
}

// provideVolumes creates n PersistentVolumes for dedicated databases' claims (the local
// cluster's pool is small and shared with the other tests) and deletes them when t ends.
func provideVolumes(t *testing.T, prefix string, n int) {
	t.Helper()
	docs := make([]string, 0, n)
	for i := range n {
		docs = append(docs, fmt.Sprintf(`apiVersion: v1
kind: PersistentVolume
metadata:
  name: %s-%03d
  labels: {kubeship.dev/e2e-volumes: %s}
spec:
  capacity: {storage: 10Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: /tmp/kubeship-e2e-volumes/%s-%03d, type: DirectoryOrCreate}
`, prefix, i, prefix, prefix, i))
	}
	mustKubectl(t, "apply", "-f", writeManifest(t, strings.Join(docs, "---\n")))
	t.Cleanup(func() {
		_, _ = kubectl("delete", "pv", "-l", "kubeship.dev/e2e-volumes="+prefix, "--wait=false")
	})
}
