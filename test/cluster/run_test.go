//go:build e2e

package cluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// From a fresh cluster directory, `make run` (hack/run.sh) then `kubectl apply -f` of every
// sample makes every Microservice and DatabaseServer Ready: run.sh starts the local
// PostgreSQL and registers the shared sample's DatabaseServer for it. Ctrl-C stops the
// manager cleanly and leaves the PostgreSQL running for the next run; `hack/cluster.sh down`
// then leaves no process behind.
func TestMakeRunMakesEverySampleReady(t *testing.T) {
	g := NewWithT(t)
	c := newLocalCluster(t)
	run, logs, exited := startRun(t, c)

	// Registered by run.sh before any sample is applied.
	g.Eventually(func() error {
		select {
		case err := <-exited:
			return StopTrying(fmt.Sprintf("hack/run.sh exited (%v)", err))
		default:
		}
		_, err := c.kubectl("get", "databaseserver", "shared-pg")
		return err
	}).WithTimeout(5*time.Minute).WithPolling(time.Second).Should(Succeed(), func() string { return readFile(logs) })

	samples, err := filepath.Glob(filepath.Join(repoRoot, "config", "samples", "*.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	want := 0
	for _, s := range samples {
		if filepath.Base(s) == "kustomization.yaml" {
			continue
		}
		g.Expect(c.kubectl("apply", "-f", s)).Error().NotTo(HaveOccurred())
		want += topLevelKinds(readFile(s))
	}
	began := time.Now()
	g.Eventually(func() error { return allReady(c, want) }).
		WithTimeout(5*time.Minute).WithPolling(time.Second).Should(Succeed(), func() string { return readFile(logs) })
	t.Logf("%d objects from %d samples Ready %s after applying them", want, len(samples)-1, time.Since(began).Round(100*time.Millisecond))

	// Ctrl-C reaches the whole foreground process group, as in a terminal.
	g.Expect(syscall.Kill(-run.Process.Pid, syscall.SIGINT)).To(Succeed())
	g.Eventually(exited).WithTimeout(30*time.Second).Should(Receive(BeNil()), func() string { return readFile(logs) })

	server, err := filepath.EvalSymlinks(filepath.Join(c.dir, "postgres", "server"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(processesMentioning(server)).NotTo(BeEmpty(), "the local PostgreSQL stopped with the manager")
	g.Expect(c.kubectl("get", "--raw", "/readyz")).To(Equal("ok"), "the cluster stopped with the manager")

	c.down()
	g.Expect(processesMentioning(c.dir)).To(BeEmpty(), "cluster processes left after down")
	g.Expect(processesMentioning(server)).To(BeEmpty(), "PostgreSQL left after down")
}

// startRun starts hack/run.sh in its own process group with no reachable cluster in its
// KUBECONFIG, so it starts the test's local cluster; its output goes to the returned file.
// The channel receives its exit error.
func startRun(t *testing.T, c *localCluster) (*exec.Cmd, string, <-chan error) {
	t.Helper()
	logs := filepath.Join(t.TempDir(), "run.log")
	out, err := os.Create(logs)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(filepath.Join(repoRoot, "hack", "run.sh"))
	cmd.Dir = repoRoot
	cmd.Env = append(c.env(), "KUBECONFIG="+filepath.Join(t.TempDir(), "no-cluster.yaml"))
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited, done := make(chan error, 1), make(chan struct{})
	go func() { err := cmd.Wait(); close(done); exited <- err }()
	t.Cleanup(func() {
		select {
		case <-done:
		default: // the test failed before Ctrl-C
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		t.Logf("hack/run.sh output:\n%s", tail(readFile(logs), 40))
	})
	return cmd, logs, exited
}

// allReady checks that want Microservices and DatabaseServers exist, all with Ready=True.
func allReady(c *localCluster, want int) error {
	out, err := c.kubectl("get", "microservices,databaseservers", "-A", "-o",
		`jsonpath={range .items[*]}{.kind}/{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {.status.conditions[?(@.type=="Ready")].reason}{"\n"}{end}`)
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var notReady []string
	for _, l := range lines {
		if !strings.Contains(l, "=True ") {
			notReady = append(notReady, l)
		}
	}
	if len(lines) != want || len(notReady) > 0 {
		return fmt.Errorf("%d objects, want %d; not Ready: %v", len(lines), want, notReady)
	}
	return nil
}

// topLevelKinds counts the objects in a manifest: its lines "kind: ...".
func topLevelKinds(manifest string) int {
	n := 0
	for _, l := range strings.Split(manifest, "\n") {
		if strings.HasPrefix(l, "kind: ") {
			n++
		}
	}
	return n
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}
