package testdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// account is the OS account a server runs as. When the tests run as root it is the package's
// system user; otherwise it is the current user and no switch happens.
type account struct {
	switchTo bool
	uid, gid int
}

// serviceAccount returns the account to run servers as: the named system user when running
// as root (PostgreSQL refuses root, MariaDB needs --user=root to accept it), else ourselves.
func serviceAccount(name, aptPackage string) (account, error) {
	if os.Geteuid() != 0 {
		return account{}, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return account{}, fmt.Errorf("testdb: running as root needs the %q system user to run the server (%v); "+
			"it comes with the Debian package: apt-get install -y %s", name, err, aptPackage)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return account{switchTo: true, uid: uid, gid: gid}, nil
}

// sysProcAttr runs the child as the account, in its own process group (so a ^C aimed at
// `go test` does not reach it directly), and kills it if the test binary dies without
// cleaning up.
func (a account) sysProcAttr(deathSignal syscall.Signal) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: deathSignal}
	if a.switchTo {
		attr.Credential = &syscall.Credential{Uid: uint32(a.uid), Gid: uint32(a.gid), Groups: []uint32{}}
	}
	return attr
}

// makeDir creates a private directory for one server, owned by the account. It lives directly
// under the system temp dir, not under t.TempDir(): the service user must be able to reach it,
// and t.TempDir()'s parents are private to the test's user.
func makeDir(prefix string, acct account) (string, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return "", fmt.Errorf("testdb: creating data directory: %w", err)
	}
	if err := acct.chown(dir); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

func (a account) chown(path string) error {
	if !a.switchTo {
		return nil
	}
	if err := os.Chown(path, a.uid, a.gid); err != nil {
		return fmt.Errorf("testdb: %w", err)
	}
	return nil
}

// writeFile writes a file readable only by the account.
func (a account) writeFile(path string, data []byte) error {
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("testdb: %w", err)
	}
	return a.chown(path)
}

// childEnv is the whole environment of the servers: nothing from the test's environment (PG*
// or MYSQL_* variables, a developer's locale) leaks into them.
func childEnv(home string) []string {
	return []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + home, "LC_ALL=C", "TZ=UTC"}
}

// runTool runs a set-up program (initdb, mariadb-install-db) to completion as the account.
func runTool(acct account, home string, timeout time.Duration, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = childEnv(home)
	cmd.Dir = home
	cmd.SysProcAttr = acct.sysProcAttr(syscall.SIGKILL)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("testdb: %s failed: %v\n%s", filepath.Base(name), err, headTail(out.String(), 15, 25))
	}
	return nil
}

// process is a running server.
type process struct {
	cmd      *exec.Cmd
	logPath  string
	stopWith syscall.Signal
	done     chan struct{} // closed when the process has exited
	waitErr  error
}

// startProcess starts a server as the account with its output appended to logPath.
func startProcess(acct account, home, logPath string, stopWith, deathSignal syscall.Signal, name string, args ...string) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("testdb: %w", err)
	}
	defer logFile.Close() // the child has its own descriptor
	cmd := exec.Command(name, args...)
	cmd.Env = childEnv(home)
	cmd.Dir = home
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = acct.sysProcAttr(deathSignal)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("testdb: starting %s: %w", filepath.Base(name), err)
	}
	p := &process{cmd: cmd, logPath: logPath, stopWith: stopWith, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// logTail returns the last lines of the server's log, for failure messages.
func (p *process) logTail(lines int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return tail(string(b), lines)
}

// stop asks the server to shut down, and kills it if it has not within the grace period.
func (p *process) stop() error {
	if p.exited() {
		return nil
	}
	_ = p.cmd.Process.Signal(p.stopWith)
	select {
	case <-p.done:
		return nil
	case <-time.After(20 * time.Second):
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
	return fmt.Errorf("testdb: %s did not stop within 20s and was killed\n%s",
		filepath.Base(p.cmd.Path), p.logTail(20))
}

func stopAndRemove(p *process, dir string) error {
	var errs []error
	if p != nil {
		errs = append(errs, p.stop())
	}
	if dir != "" {
		errs = append(errs, os.RemoveAll(dir))
	}
	return errors.Join(errs...)
}

// waitReady polls ready every 100ms until it succeeds, the process exits, or readyTimeout
// passes. It returns the last error from ready when it gives up.
func waitReady(p *process, ready func(ctx context.Context) error) error {
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, readyTimeout, true, func(ctx context.Context) (bool, error) {
		if p.exited() {
			return false, fmt.Errorf("exited before accepting connections (%v)", p.waitErr)
		}
		attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		last = ready(attempt)
		return last == nil, nil
	})
	if wait.Interrupted(err) {
		return fmt.Errorf("not ready after %s: %v", readyTimeout, last)
	}
	return err
}

// bindFailed reports whether the server's log says its port was taken, so a retry with
// another port may work.
func bindFailed(p *process) bool {
	log := p.logTail(50)
	for _, s := range []string{"Address already in use", "could not bind", "Can't start server: Bind"} {
		if strings.Contains(log, s) {
			return true
		}
	}
	return false
}

// headTail keeps the first and last lines of a long output: set-up tools print the cause
// first and a long boilerplate after it.
func headTail(s string, head, tailLines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) <= head+tailLines {
		return strings.Join(parts, "\n")
	}
	return strings.Join(parts[:head], "\n") + "\n[...]\n" + strings.Join(parts[len(parts)-tailLines:], "\n")
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}
