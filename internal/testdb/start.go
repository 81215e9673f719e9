package testdb

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"syscall"
	"time"
)

// flavour is what NewPostgres and NewMySQL tell newServer about their engine.
type flavour struct {
	engine             string
	osUser, aptPackage string // who runs the server when the tests run as root; the package making that user
	dirPrefix          string // of the server's private directory
}

// binaries are one engine's programs, as its find function found them.
type binaries interface {
	serverPath() string // the server program; its --version is Server.Version
	// start initialises a data directory under s.dir and starts the server on it, setting the
	// rest of s; newServer stops s if start fails.
	start(s *Server, acct account) error
}

// newServer does what starting either engine takes around its own start: find the programs,
// pick the account and the admin password, make the directory, and stop the server and remove
// the directory if it does not come up.
func newServer[B binaries](f flavour, find func() (B, error)) (*Server, error) {
	began := time.Now()
	bins, err := find()
	if err != nil {
		return nil, err
	}
	acct, err := serviceAccount(f.osUser, f.aptPackage)
	if err != nil {
		return nil, err
	}
	password, err := randomPassword()
	if err != nil {
		return nil, err
	}
	dir, err := makeDir(f.dirPrefix, acct)
	if err != nil {
		return nil, err
	}
	s := &Server{Engine: f.engine, Host: "127.0.0.1", User: adminUser, Password: password, dir: dir,
		Version: binaryVersion(bins.serverPath())}
	if err := bins.start(s, acct); err != nil {
		_ = s.Stop()
		return nil, err
	}
	s.StartupTime = time.Since(began)
	return s, nil
}

// launcher starts bin as acct in s's directory, logging to server.log, with the arguments
// args returns when called: startOnFreePort calls it again for each port it tries.
func (s *Server) launcher(acct account, stopWith, deathSignal syscall.Signal, bin string, args func() []string) func() (*process, error) {
	return func() (*process, error) {
		return startProcess(acct, s.dir, filepath.Join(s.dir, "server.log"), stopWith, deathSignal, bin, args()...)
	}
}

// startOnFreePort starts the server on a free port and waits until ready succeeds. freePort
// cannot hold the port, so when another process binds it first the server exits, and this
// tries again with another port, three times in all.
func (s *Server) startOnFreePort(name string, launch func() (*process, error), ready func(ctx context.Context) error) error {
	for attempt := 1; ; attempt++ {
		var err error
		if s.Port, err = freePort(); err != nil {
			return err
		}
		if s.proc, err = launch(); err != nil {
			return err
		}
		err = waitReady(s.proc, ready)
		if err == nil {
			return nil
		}
		if attempt < 3 && s.proc.exited() && bindFailed(s.proc) {
			continue
		}
		return fmt.Errorf("testdb: %s %v\n%s", name, err, s.proc.logTail(30))
	}
}

// freePort asks the kernel for a free loopback port. Another process may take it before the
// server binds it; startOnFreePort then tries again with another.
func freePort() (int, error) {
	l, err := listenLoopback()
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FreeAddress returns a loopback address ("127.0.0.1:port") that no listener holds now, for
// a process a test starts (the manager's metrics and probe endpoints). Another process may
// take it first; tests that cannot retry accept that small race.
func FreeAddress() (string, error) {
	l, err := listenLoopback()
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func listenLoopback() (net.Listener, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("finding a free port: %w", err)
	}
	return l, nil
}
