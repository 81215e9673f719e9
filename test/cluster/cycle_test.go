//go:build e2e

package cluster

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// upBound is how long `hack/cluster.sh up` of an existing cluster may take, metrics API
// included (about 6 s here with cached binaries).
const upBound = 90 * time.Second

// After `down` then `up`, every component serves again: the API server is ready, every
// node is Ready, and the metrics API answers, three times in a row.
// (metrics-server once panicked when it started before kube-apiserver listened, and
// nothing restarted it.)
func TestDownUpCycles(t *testing.T) {
	g := NewWithT(t)
	c := newLocalCluster(t)
	t.Logf("created in %s", c.up().Round(100*time.Millisecond))
	expectServing(g, c)
	for cycle := 1; cycle <= 3; cycle++ {
		c.down()
		g.Expect(processesMentioning(c.dir)).To(BeEmpty(), "processes left after down")
		took := c.up()
		t.Logf("cycle %d: up in %s", cycle, took.Round(100*time.Millisecond))
		g.Expect(took).To(BeNumerically("<", upBound))
		expectServing(g, c)
	}

	// A component that exits while the cluster runs (as metrics-server did when it started
	// before kube-apiserver listened) is back, and serving, when `up` returns.
	pid, err := os.ReadFile(filepath.Join(c.dir, "kwok", "clusters", "kubeship", "pids", "metrics-server.pid"))
	g.Expect(err).NotTo(HaveOccurred())
	n, err := strconv.Atoi(strings.TrimSpace(string(pid)))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(syscall.Kill(n, syscall.SIGKILL)).To(Succeed())
	g.Eventually(func() []string { return processesMentioning("/bin/metrics-server ") }).
		WithTimeout(10 * time.Second).ShouldNot(ContainElement(HavePrefix(strconv.Itoa(n) + ":")))
	t.Logf("up after metrics-server exited: %s", c.up().Round(100*time.Millisecond))
	expectServing(g, c)
}

// expectServing checks /readyz, the nodes and the metrics API once `up` has returned.
func expectServing(g Gomega, c *localCluster) {
	out, err := c.kubectl("get", "--raw", "/readyz")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(Equal("ok"))
	g.Expect(c.kubectl("wait", "--for=condition=Ready", "nodes", "--all", "--timeout=1s")).Error().NotTo(HaveOccurred())
	// The metrics API, through kube-apiserver's aggregator to metrics-server: what
	// `kubectl top` and autoscalers read (unavailable while metrics-server is down).
	// Node figures need pods on the nodes (KWOK sums their usage); there are none here.
	out, err = c.kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(ContainSubstring(`"kind":"NodeMetricsList"`))
}
