package testdb

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// A kept server survives its starter, keeps its data and password across a stop, and is gone
// with all its files after a wiping stop.
func TestKeepPostgres(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "postgres")
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = StopKept(dir, true) })

	first := keep(t, dir, port)
	pid := postmasterPid(t, first)
	execSQL(t, first, "CREATE DATABASE kept_across_restarts")
	if again := keep(t, dir, port); again.Password != first.Password || postmasterPid(t, again) != pid {
		t.Fatalf("a second KeepPostgres started another server (pid %s, was %s) or changed the password", postmasterPid(t, again), pid)
	}
	if err := first.Stop(); err != nil || !accepts(first.Addr()) {
		t.Fatalf("Server.Stop stopped a kept server (%v)", err)
	}

	if err := StopKept(dir, false); err != nil {
		t.Fatal(err)
	}
	if accepts(first.Addr()) {
		t.Fatalf("%s still accepts connections after StopKept", first.Addr())
	}
	restarted := keep(t, dir, port)
	if restarted.Password != first.Password {
		t.Fatal("the password changed across a restart")
	}
	execSQL(t, restarted, "DROP DATABASE kept_across_restarts") // fails if the data were lost

	if err := StopKept(dir, true); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{dir, restarted.dir} {
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("%s is still there after a wiping StopKept: %v", path, err)
		}
	}
	if accepts(first.Addr()) {
		t.Fatalf("%s still accepts connections after a wiping StopKept", first.Addr())
	}
}

// The port of a kept server is fixed: a stranger on it is an error, not another server.
func TestKeepPostgresRefusesATakenPort(t *testing.T) {
	t.Parallel()
	l, err := listenLoopback()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dir := filepath.Join(t.TempDir(), "postgres")
	t.Cleanup(func() { _ = StopKept(dir, true) })
	if s, err := KeepPostgres(dir, l.Addr().(*net.TCPAddr).Port); err == nil {
		t.Fatalf("started on a taken port: %s", s.Addr())
	}
}

func keep(t *testing.T, dir string, port int) *Server {
	t.Helper()
	s, err := KeepPostgres(dir, port)
	if err != nil {
		t.Fatal(err)
	}
	if s.Port != port || s.User != adminUser {
		t.Fatalf("kept server on %s as %s", s.Addr(), s.User)
	}
	return s
}

func postmasterPid(t *testing.T, s *Server) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, "data", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.SplitN(string(b), "\n", 2)[0]
}

func execSQL(t *testing.T, s *Server, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, "postgres://"+s.User+":"+s.Password+"@"+s.Addr()+"/postgres?sslmode=require")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func accepts(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		conn.Close()
	}
	return err == nil
}
