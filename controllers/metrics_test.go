package controllers

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// scrape reads the manager's /metrics endpoint as the Prometheus text format.
func scrape(g Gomega) []*dto.MetricFamily {
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	g.Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	parser := expfmt.NewTextParser(model.UTF8Validation)
	byName, err := parser.TextToMetricFamilies(resp.Body)
	g.Expect(err).NotTo(HaveOccurred())
	return slices.Collect(maps.Values(byName))
}

// find returns the metric of family name whose labels include want; nil when there is none.
func find(families []*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			got := map[string]string{} // the metric's values of the labels in want
			for _, l := range m.GetLabel() {
				if _, ok := want[l.GetName()]; ok {
					got[l.GetName()] = l.GetValue()
				}
			}
			if maps.Equal(got, want) {
				return m
			}
		}
	}
	return nil
}

// sample returns the metric of family name whose labels include want, read from the
// registry the manager serves; nil when there is none yet.
func sample(g Gomega, name string, want map[string]string) *dto.Metric {
	families, err := metrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	return find(families, name, want)
}

// readyGauge is kubeship_microservices for ready="True".
func readyGauge(g Gomega) float64 {
	return sample(g, "kubeship_microservices", map[string]string{"ready": "True"}).GetGauge().GetValue()
}

// provisionings is how many dedicated Postgres provisioning durations were observed.
func provisionings(g Gomega) uint64 {
	return sample(g, "kubeship_database_provisioning_duration_seconds", map[string]string{"engine": "postgres", "mode": "dedicated"}).GetHistogram().GetSampleCount()
}

func TestMetricsEndpoint(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	// Other tests provision databases too; this one may only count on its own, so the
	// figures are deltas. Tests in this package do not run in parallel.
	readyBefore, provisionedBefore := readyGauge(g), provisionings(g)
	ms := newMicroservice(newNamespace(t), "metered")
	ms.Spec.Replicas = ptr.To[int32](1)
	ms.Spec.Database = &v1alpha1.DatabaseSpec{Engine: v1alpha1.EnginePostgres}
	key := createAndWaitForDeployment(g, ctx, ms)
	g.Eventually(func(g Gomega) { markStatefulSetReady(g, ctx, dbKey(key)) }, timeout, interval).Should(Succeed())
	markDeploymentRolledOut(t, ctx, key)
	g.Eventually(func(g Gomega) {
		g.Expect(msCondition(g, ctx, key, v1alpha1.ConditionReady).Status).To(BeEquivalentTo("True"))
	}, timeout, interval).Should(Succeed())

	g.Eventually(func(g Gomega) {
		g.Expect(readyGauge(g)).To(BeNumerically(">", readyBefore))
		g.Expect(provisionings(g)).To(Equal(provisionedBefore + 1))
	}, timeout, interval).Should(Succeed())
	// Every Ready status has its series, zero or not, so a dashboard never loses one.
	g.Expect(testutil.CollectAndCount(readyCollector{reader: mgrClient}, "kubeship_microservices")).To(Equal(3))
	// The endpoint serves the same registry, controller-runtime's metrics with kubeship's.
	g.Eventually(func(g Gomega) { // the manager may still be starting its metrics server
		served := scrape(g)
		g.Expect(find(served, "kubeship_database_provisioning_duration_seconds", map[string]string{"engine": "postgres", "mode": "dedicated"}).
			GetHistogram().GetSampleCount()).To(BeNumerically(">", provisionedBefore))
		g.Expect(find(served, "kubeship_microservices", map[string]string{"ready": "True"}).GetGauge().GetValue()).To(BeNumerically(">", readyBefore))
		g.Expect(find(served, "controller_runtime_reconcile_total", map[string]string{"controller": "microservice", "result": "success"}).
			GetCounter().GetValue()).To(BeNumerically(">", 0))
	}, timeout, interval).Should(Succeed())
}
