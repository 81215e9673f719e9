//go:build e2e

package cluster

import (
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// upBound is how long `hack/cluster.sh up` of an existing cluster may take, metrics API
// included (about 6 s here with cached binaries).
const upBound = 90 * time.Second

// After `down` then `up`, every component serves again: the API server is ready, every
// node is Ready, and the metrics API answers `kubectl top nodes`, three times in a row.
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
}

// expectServing checks /readyz, the nodes and the metrics API once `up` has returned.
func expectServing(g Gomega, c *localCluster) {
	out, err := c.kubectl("get", "--raw", "/readyz")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(out).To(Equal("ok"))
	g.Expect(c.kubectl("wait", "--for=condition=Ready", "nodes", "--all", "--timeout=1s")).Error().NotTo(HaveOccurred())
	// The API answers at once; node figures come with metrics-server's first scrape.
	began := time.Now()
	g.Eventually(func() error {
		out, err := c.kubectl("top", "nodes", "--no-headers")
		if err != nil {
			return err
		}
		if lines := strings.Count(strings.TrimSpace(out), "\n") + 1; lines < 3 {
			return fmt.Errorf("kubectl top nodes lists %d nodes:\n%s", lines, out)
		}
		return nil
	}).WithTimeout(60 * time.Second).WithPolling(time.Second).Should(Succeed())
	c.t.Logf("kubectl top nodes answered %s after up", time.Since(began).Round(100*time.Millisecond))
}
