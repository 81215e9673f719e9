package testdb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// KeepPostgres makes sure a PostgreSQL server kept in dir runs on 127.0.0.1:port and returns
// it. Unlike the throwaway servers it outlives the program that starts it (for `make run`'s
// local shared-database server): its data stays in dir across restarts, and it is stopped
// by signalling the pid in its data directory's postmaster.pid, SIGINT being PostgreSQL's
// fast shutdown. A second call finds it running and only logs in. Server.Stop does nothing
// on the returned Server.
//
// Layout of dir: "username" and "password" hold the admin account (no trailing newline, ready
// for `kubectl create secret --from-file`); "server" is the server's directory (data/,
// server.log, certificate, socket). When the server runs as the postgres system user (we are
// root), that user may not reach dir (e.g. under /root), so "server" is then a link to a
// directory in the system temp dir named after dir.
func KeepPostgres(dir string, port int) (*Server, error) {
	bins, err := findPostgres()
	if err != nil {
		return nil, err
	}
	acct, err := serviceAccount("postgres", "postgresql")
	if err != nil {
		return nil, err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("testdb: %w", err)
	}
	// The server's command line names its data directory as StopKept finds it: no links.
	if dir, err = filepath.EvalSymlinks(dir); err != nil {
		return nil, fmt.Errorf("testdb: %w", err)
	}
	serverDir, err := keptServerDir(dir, acct)
	if err != nil {
		return nil, err
	}
	password, fresh, err := keptPassword(dir)
	if err != nil {
		return nil, err
	}
	s := &Server{Engine: EnginePostgres, Host: "127.0.0.1", Port: port, User: adminUser, Password: password,
		dir: serverDir, Version: binaryVersion(bins.postgres), kept: true}
	if pingWithin(s, 5*time.Second) == nil {
		return s, nil
	}
	if conn, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		conn.Close()
		return nil, fmt.Errorf("testdb: %s is taken by a program that does not accept the admin login kept in %s", s.Addr(), dir)
	}
	if _, err := os.Stat(filepath.Join(serverDir, "data", "PG_VERSION")); err != nil || fresh {
		// A data directory without its password (or half made) cannot be logged into: start over.
		if err := resetDir(serverDir, acct); err != nil {
			return nil, err
		}
		if err := bins.initDataDir(s, acct); err != nil {
			return nil, err
		}
	}
	launch, err := bins.launcher(s, acct, 0)
	if err != nil {
		return nil, err
	}
	if s.proc, err = launch(); err != nil {
		return nil, err
	}
	if err := waitReady(s.proc, func(ctx context.Context) error { return pingPostgres(ctx, s) }); err != nil {
		_ = s.proc.stop()
		return nil, fmt.Errorf("testdb: postgres %v\n%s", err, s.proc.logTail(30))
	}
	return s, nil
}

// keptServerDir returns the server's directory, dir/server or (as root) the directory that
// link points to, making both if needed.
func keptServerDir(dir string, acct account) (string, error) {
	link := filepath.Join(dir, "server")
	if !acct.switchTo {
		return link, nil
	}
	tmp, err := filepath.EvalSymlinks(os.TempDir())
	if err != nil {
		return "", fmt.Errorf("testdb: %w", err)
	}
	sum := sha256.Sum256([]byte(dir))
	target := filepath.Join(tmp, "kubeship-pg-kept-"+hex.EncodeToString(sum[:6]))
	if cur, err := os.Readlink(link); err != nil || cur != target {
		_ = os.RemoveAll(link)
		if err := os.Symlink(target, link); err != nil {
			return "", fmt.Errorf("testdb: %w", err)
		}
	}
	return target, nil
}

// resetDir empties the server's directory and gives it to the account.
func resetDir(serverDir string, acct account) error {
	if err := os.RemoveAll(serverDir); err != nil {
		return fmt.Errorf("testdb: %w", err)
	}
	if err := os.Mkdir(serverDir, 0o700); err != nil {
		return fmt.Errorf("testdb: %w", err)
	}
	return acct.chown(serverDir)
}

// keptPassword reads the admin password kept in dir, or makes and keeps one (fresh).
func keptPassword(dir string) (password string, fresh bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, "password"))
	if err == nil && len(b) > 0 {
		return strings.TrimSpace(string(b)), false, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", false, fmt.Errorf("testdb: %w", err)
	}
	if password, err = randomPassword(); err != nil {
		return "", false, err
	}
	if err := os.WriteFile(filepath.Join(dir, "username"), []byte(adminUser), 0o600); err != nil {
		return "", false, fmt.Errorf("testdb: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "password"), []byte(password), 0o600); err != nil {
		return "", false, fmt.Errorf("testdb: %w", err)
	}
	return password, true, nil
}

func pingWithin(s *Server, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return pingPostgres(ctx, s)
}

// StopKept stops the server KeepPostgres keeps in dir, if it runs, and with wipe removes all
// it kept (dir included). It returns once the server has exited.
func StopKept(dir string, wipe bool) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	serverDir, err := filepath.EvalSymlinks(filepath.Join(dir, "server"))
	if err == nil {
		if err := stopPostmaster(filepath.Join(serverDir, "data")); err != nil {
			return err
		}
	}
	if !wipe {
		return nil
	}
	if serverDir != "" {
		if err := os.RemoveAll(serverDir); err != nil {
			return fmt.Errorf("testdb: %w", err)
		}
	}
	return os.RemoveAll(dir)
}

// stopPostmaster asks the postmaster of data for a fast shutdown (SIGINT) and waits for it,
// killing it after 30 s. A pid file naming some other process (left by a crash) is ignored.
func stopPostmaster(data string) error {
	b, err := os.ReadFile(filepath.Join(data, "postmaster.pid"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil // not running
	}
	if err != nil {
		return fmt.Errorf("testdb: %w", err)
	}
	// A pid file left by a crash, or naming another process, means nothing runs here.
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err != nil {
		pid = 0
	}
	if pid <= 0 || !isPostmasterOf(pid, data) {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGINT)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if !isPostmasterOf(pid, data) {
			return nil
		}
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	return fmt.Errorf("testdb: PostgreSQL (pid %d) did not stop within 30s and was killed", pid)
}

// isPostmasterOf tells whether pid is a live (not zombie) postgres serving data.
func isPostmasterOf(pid int, data string) bool {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil || strings.Contains(string(status), "\nState:\tZ") {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && strings.Contains(string(cmdline), "\x00"+data+"\x00")
}
