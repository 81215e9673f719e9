//go:build e2e

package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/kubeship/kubeship/internal/testdb"
)

// managerProcess is the kubeship manager binary, run as its own process with the
// installer's ServiceAccount token (managerKubeconfig).
type managerProcess struct {
	binary, logPath string
	// args are flags added to those start always passes.
	args            []string
	metrics, probes string
	cmd             *exec.Cmd
	exited          chan error
}

func buildManager(dir string) (*managerProcess, error) {
	bin := filepath.Join(dir, "manager")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%w: %s", err, out)
	}
	return &managerProcess{binary: bin, logPath: filepath.Join(dir, "manager.log")}, nil
}

// another is a second process of m's binary, logging to its own file name (next to
// m's log) and run with the extra flags args.
func (m *managerProcess) another(name string, args ...string) *managerProcess {
	return &managerProcess{
		binary:  m.binary,
		logPath: filepath.Join(filepath.Dir(m.logPath), name+".log"),
		args:    args,
	}
}

// start runs the manager and waits until it reports ready (a follower waiting for
// the leader-election Lease is ready too) and listens for metrics; one that is not
// ready within a minute is killed. The listen addresses
// are picked free and then released for the manager to bind, so another process can
// take one in between: a manager that exits because an address is in use is started
// again on fresh ones.
func (m *managerProcess) start() error {
	for attempt := 1; ; attempt++ {
		err := m.startOnce()
		if !errors.Is(err, errAddressTaken) || attempt == 3 {
			return err
		}
	}
}

// errAddressTaken is a manager's exit because one of its listen addresses was taken.
var errAddressTaken = errors.New("a listen address was taken before the manager bound it")

func (m *managerProcess) startOnce() error {
	var err error
	if m.metrics, err = testdb.FreeAddress(); err != nil {
		return err
	}
	if m.probes, err = testdb.FreeAddress(); err != nil {
		return err
	}
	logFile, err := os.OpenFile(m.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	args := append([]string{"--metrics-bind-address=" + m.metrics, "--metrics-secure=false",
		"--health-probe-bind-address=" + m.probes}, m.args...)
	m.cmd = exec.Command(m.binary, args...)
	// POD_NAMESPACE as the installer's Deployment sets it (the operator namespace), and
	// not a flag, which a manager built from an older commit may not know.
	m.cmd.Env = append(os.Environ(), "KUBECONFIG="+managerKubeconfig, "POD_NAMESPACE="+operatorNamespace)
	m.cmd.Stdout, m.cmd.Stderr = logFile, logFile
	// A test binary killed mid-run (a timeout, ^C) takes its managers with it: one left
	// running would go on reconciling the shared cluster under the next run.
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	logStart, _ := logFile.Seek(0, io.SeekEnd)
	if err := m.cmd.Start(); err != nil {
		return err
	}
	m.exited = make(chan error, 1)
	go func() { m.exited <- m.cmd.Wait(); logFile.Close() }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-m.exited:
			m.cmd = nil
			if log, _ := os.ReadFile(m.logPath); int64(len(log)) > logStart && bytes.Contains(log[logStart:], []byte("address already in use")) {
				return errAddressTaken
			}
			return fmt.Errorf("manager exited: %v (log: %s)", err, m.logPath)
		default:
		}
		if status(m.probes, "/readyz") == http.StatusOK && status(m.metrics, "/metrics") != 0 {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A manager left running would go on reconciling under the next tests.
	_ = m.kill()
	return fmt.Errorf("manager not ready after 60s (log: %s)", m.logPath)
}

// status is the HTTP status of a GET of path on addr, or 0 without an answer. Secure
// metrics answer a plain GET too (400, or 401 without a token): the address is bound.
func status(addr, path string) int {
	resp, err := http.Get("http://" + addr + path)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// stop sends SIGTERM, as Ctrl-C or a pod's termination would, and waits for a clean exit.
func (m *managerProcess) stop() error {
	if m.cmd == nil || m.cmd.Process == nil {
		return nil
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	return m.wait()
}

// kill sends SIGKILL, as a node failure or an OOM kill would, and returns the exit
// ("signal: killed" unless the process had already exited).
func (m *managerProcess) kill() error {
	if m.cmd == nil || m.cmd.Process == nil {
		return nil
	}
	_ = m.cmd.Process.Kill()
	err := <-m.exited
	m.cmd = nil
	return err
}

// signal sends sig without waiting; stop or wait collect the exit.
func (m *managerProcess) signal(sig syscall.Signal) error {
	if m.cmd == nil || m.cmd.Process == nil {
		return fmt.Errorf("manager %s is not running", m.logPath)
	}
	return m.cmd.Process.Signal(sig)
}

// wait returns the exit of a manager that was told to stop, killing it after 30s.
func (m *managerProcess) wait() error {
	select {
	case err := <-m.exited:
		m.cmd = nil
		return err
	case <-time.After(30 * time.Second):
		_ = m.cmd.Process.Kill()
		killed := <-m.exited
		m.cmd = nil
		return fmt.Errorf("manager ignored SIGTERM for 30s; killed: %v", killed)
	}
}

// metric returns the sum of the samples of a counter or gauge whose labels include
// those of selector (`k="v",...`), read from the manager's /metrics page.
func (m *managerProcess) metric(name, selector string) (float64, error) {
	resp, err := http.Get("http://" + m.metrics + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	return sumSamples(resp.Body, name, selector)
}

// pauseSuiteManager stops the suite's manager for a test that runs managers of its own
// (one reconciler at a time), and starts it again when the test ends, unless the test
// already did.
func pauseSuiteManager(t *testing.T) {
	t.Helper()
	if err := manager.stop(); err != nil {
		t.Fatalf("stopping the suite's manager: %v", err)
	}
	t.Cleanup(func() {
		if manager.cmd != nil {
			return
		}
		if err := manager.start(); err != nil {
			t.Errorf("restarting the suite's manager: %v", err)
		}
	})
}
