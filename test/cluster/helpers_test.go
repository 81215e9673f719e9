//go:build e2e

// Package cluster tests the local cluster's lifecycle (hack/cluster.sh) and `make run`
// (hack/run.sh) as a developer uses them. Each test runs its OWN cluster in a private
// KUBESHIP_CLUSTER_DIR, so stopping and restarting it disturbs no other suite.
package cluster

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var repoRoot = func() string {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		panic(err)
	}
	return root
}()

// localCluster is one private local cluster.
type localCluster struct {
	t   *testing.T
	dir string // KUBESHIP_CLUSTER_DIR
}

// newLocalCluster gives the test a cluster directory of its own. Nothing runs until up;
// at the end every process of the cluster (and its PostgreSQL) is stopped and its files,
// wherever they are, removed.
func newLocalCluster(t *testing.T) *localCluster {
	t.Helper()
	c := &localCluster{t: t, dir: filepath.Join(t.TempDir(), "cluster")}
	t.Cleanup(func() {
		// The PostgreSQL server may keep its files outside the cluster dir (see hack/localdb).
		server, _ := filepath.EvalSymlinks(filepath.Join(c.dir, "postgres", "server"))
		if out, err := c.script("down"); err != nil {
			t.Errorf("hack/cluster.sh down: %v\n%s", err, out)
		}
		if server != "" {
			_ = os.RemoveAll(server)
		}
	})
	return c
}

func (c *localCluster) env() []string {
	return append(os.Environ(), "KUBESHIP_CLUSTER_DIR="+c.dir)
}

// script runs hack/cluster.sh and returns its stdout and stderr together.
func (c *localCluster) script(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(repoRoot, "hack", "cluster.sh"), args...)
	cmd.Env = c.env()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// up starts the cluster and returns how long it took.
func (c *localCluster) up() time.Duration {
	c.t.Helper()
	began := time.Now()
	if out, err := c.script("up"); err != nil {
		c.t.Fatalf("hack/cluster.sh up: %v\n%s", err, out)
	}
	return time.Since(began)
}

func (c *localCluster) down() {
	c.t.Helper()
	if out, err := c.script("down"); err != nil {
		c.t.Fatalf("hack/cluster.sh down: %v\n%s", err, out)
	}
}

func (c *localCluster) kubeconfig() string {
	return filepath.Join(c.dir, "kwok", "clusters", "kubeship", "kubeconfig.yaml")
}

// kubectl runs kubectl against the cluster and returns its stdout.
func (c *localCluster) kubectl(args ...string) (string, error) {
	cmd := exec.Command("kubectl", append([]string{"--kubeconfig", c.kubeconfig()}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// processesMentioning lists the live processes whose command line contains s.
func processesMentioning(s string) []string {
	entries, _ := os.ReadDir("/proc")
	var found []string
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(s)) {
			continue
		}
		status, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if bytes.Contains(status, []byte("\nState:\tZ")) {
			continue // exited, not yet reaped
		}
		found = append(found, e.Name()+": "+strings.ReplaceAll(string(bytes.TrimRight(cmdline, "\x00")), "\x00", " "))
	}
	return found
}
