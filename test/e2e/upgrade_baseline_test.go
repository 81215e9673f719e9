//go:build e2e

package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onsi/gomega"

	"github.com/kubeship/kubeship/internal/testdb"
)

// baselineCommit is the first release's code on main's history: the version the upgrade
// test installs first and upgrades from.
const baselineCommit = "c5048d1"

// baseline is the first release's source tree and its manager binary.
type baseline struct {
	dir, binary string
}

// crds is the baseline's CRD directory.
func (b baseline) crds() string { return filepath.Join(b.dir, "config", "crd", "bases") }

// buildBaseline extracts baselineCommit from the repository's history into a temporary
// directory (git archive: no worktree is registered) and builds its manager there. The
// binary is called manager like the suite's, so the default field manager of its
// non-apply writes (the program name) is the one an in-place upgrade of the image keeps.
func buildBaseline(t *testing.T) baseline {
	t.Helper()
	if out, err := exec.Command("git", "-C", repoRoot, "cat-file", "-e", baselineCommit+"^{commit}").CombinedOutput(); err != nil {
		t.Fatalf("the upgrade baseline, commit %s (the first release), is not in this clone of %s: "+
			"the upgrade test needs the full history (git fetch --unshallow, or a checkout with fetch-depth 0): %v %s",
			baselineCommit, repoRoot, err, out)
	}
	dir := t.TempDir()
	b := baseline{dir: filepath.Join(dir, "src"), binary: filepath.Join(dir, "bin", "manager")}
	if err := os.MkdirAll(b.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	archive := exec.Command("git", "-C", repoRoot, "archive", "--format=tar", baselineCommit)
	extract := exec.Command("tar", "-x", "-C", b.dir)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	extract.Stdin = pipe
	var archiveErr, extractErr strings.Builder
	archive.Stderr, extract.Stderr = &archiveErr, &extractErr
	if err := extract.Start(); err != nil {
		t.Fatalf("tar: %v", err)
	}
	if err := archive.Run(); err != nil {
		t.Fatalf("git archive %s: %v: %s", baselineCommit, err, archiveErr.String())
	}
	if err := extract.Wait(); err != nil {
		t.Fatalf("extracting %s: %v: %s", baselineCommit, err, extractErr.String())
	}
	start := time.Now()
	build := exec.Command("go", "build", "-o", b.binary, ".")
	build.Dir = b.dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the manager of %s: %v: %s", baselineCommit, err, out)
	}
	t.Logf("built the %s manager in %s", baselineCommit, time.Since(start).Round(100*time.Millisecond))
	return b
}

// startBaselineManager runs the baseline's manager with the flags its main.go accepts
// (kubebuilder's three; metrics off), as cluster admin, and waits until it is ready.
// It reuses managerProcess for stop; start is not used, since the suite's flags follow
// the working tree's main.go. The manager is stopped at cleanup if the test has not.
func startBaselineManager(t *testing.T, b baseline) *managerProcess {
	t.Helper()
	m := &managerProcess{binary: b.binary, logPath: filepath.Join(filepath.Dir(b.binary), "manager.log")}
	var err error
	if m.probes, err = testdb.FreeAddress(); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(m.logPath)
	if err != nil {
		t.Fatal(err)
	}
	m.cmd = exec.Command(m.binary, "--metrics-bind-address=0", "--health-probe-bind-address="+m.probes)
	m.cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	m.cmd.Stdout, m.cmd.Stderr = logFile, logFile
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // see managerProcess.start
	if err := m.cmd.Start(); err != nil {
		t.Fatalf("starting the %s manager: %v", baselineCommit, err)
	}
	m.exited = make(chan error, 1)
	go func() { m.exited <- m.cmd.Wait(); logFile.Close() }()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last lines of the %s manager's log:\n%s", baselineCommit, logTail(m.logPath, 40))
		}
		if err := m.stop(); err != nil {
			t.Errorf("stopping the %s manager: %v", baselineCommit, err)
		}
	})
	gomega.NewWithT(t).Eventually(func() error {
		select {
		case err := <-m.exited:
			m.cmd = nil
			return gomega.StopTrying(fmt.Sprintf("the %s manager exited: %v; log:\n%s", baselineCommit, err, logTail(m.logPath, 40)))
		default:
		}
		resp, err := http.Get("http://" + m.probes + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz: %s", resp.Status)
		}
		return nil
	}).WithTimeout(60 * time.Second).WithPolling(200 * time.Millisecond).Should(gomega.Succeed())
	return m
}

// handOverSuiteManager stops the suite's shared manager for the rest of the test. At
// cleanup, whatever the outcome, the working tree's CRDs are installed again and the
// shared manager runs again, so later tests find the suite as it was.
func handOverSuiteManager(t *testing.T) {
	t.Helper()
	pauseSuiteManager(t)
	// Cleanups run last-in first-out: the working tree's CRDs are back before the suite's
	// manager restarts.
	t.Cleanup(func() {
		if err := installCRDs(filepath.Join(repoRoot, "config", "crd", "bases")); err != nil {
			t.Errorf("reinstalling the working tree's CRDs: %v", err)
		}
	})
}

// installCRDs applies a CRD directory as the suite does (server-side, taking over the
// fields another version set) and waits until the API server serves it.
func installCRDs(dir string) error {
	if _, err := kubectl("apply", "--server-side", "--force-conflicts", "-f", dir); err != nil {
		return err
	}
	_, err := kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", dir)
	return err
}

// logTail returns the last n lines of a log file, or why it cannot.
func logTail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for s.Scan() {
		lines = append(lines, s.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	if err := s.Err(); err != nil && !errors.Is(err, bufio.ErrTooLong) {
		lines = append(lines, "reading the log: "+err.Error())
	}
	return strings.Join(lines, "\n")
}
