package version

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// BuildInfoMetric is the name of the gauge that is always 1 and names the build in its
// labels, so dashboards can join any kubeship metric with the version that produced it.
const BuildInfoMetric = "kubeship_build_info"

func init() {
	metrics.Registry.MustRegister(newBuildInfo(Get()))
}

func newBuildInfo(i Info) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        BuildInfoMetric,
		Help:        "Always 1; the labels name the version, commit and Go version of the running manager.",
		ConstLabels: prometheus.Labels{"version": i.Version, "commit": i.Commit, "go_version": i.GoVersion},
	})
	g.Set(1)
	return g
}
