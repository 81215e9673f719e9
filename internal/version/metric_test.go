package version

import (
	"fmt"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

func TestBuildInfoMetric(t *testing.T) {
	g := NewWithT(t)
	want := `
# HELP kubeship_build_info Always 1; the labels name the version, commit and Go version of the running manager.
# TYPE kubeship_build_info gauge
kubeship_build_info{commit="abc123",go_version="go1.26.8",version="v1.2.3"} 1
`
	info := Info{Version: "v1.2.3", Commit: "abc123", Date: "2026-01-02T03:04:05Z", GoVersion: "go1.26.8", Platform: "linux/amd64"}
	g.Expect(testutil.CollectAndCompare(newBuildInfo(info), strings.NewReader(want))).To(Succeed())
}

// The manager serves controller-runtime's registry: the gauge must be in it, naming this build.
func TestBuildInfoRegistered(t *testing.T) {
	i := Get()
	want := fmt.Sprintf(`
# HELP kubeship_build_info Always 1; the labels name the version, commit and Go version of the running manager.
# TYPE kubeship_build_info gauge
kubeship_build_info{commit=%q,go_version=%q,version=%q} 1
`, i.Commit, i.GoVersion, i.Version)
	NewWithT(t).Expect(testutil.GatherAndCompare(metrics.Registry, strings.NewReader(want), BuildInfoMetric)).To(Succeed())
}
