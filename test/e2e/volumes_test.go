//go:build e2e

package e2e

import (
	"context"
	"strings"
	"time"
)

// recycleVolumes hands Released volumes of the local cluster's pool back to it while the
// suite runs, as `hack/cluster.sh up` does between runs: the pool (hack/cluster.sh
// PV_COUNT) holds fewer volumes than the suite's dedicated databases claim in all, and
// each deleted test namespace leaves its volumes Released (reclaim policy Retain).
func recycleVolumes(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
		out, err := kubectl("get", "pv", "-l", "kubeship.dev/local-cluster-pool=true",
			"-o", `jsonpath={range .items[?(@.status.phase=="Released")]}{.metadata.name}{" "}{end}`)
		if err != nil {
			continue
		}
		for _, pv := range strings.Fields(out) {
			_, _ = kubectl("patch", "pv", pv, "--type", "json", "-p", `[{"op":"remove","path":"/spec/claimRef"}]`)
		}
	}
}
