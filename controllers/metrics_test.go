package controllers

import (
	"context"
	"io"
	"net/http"
	"testing"

	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

func scrape(g Gomega) string {
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	g.Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	g.Expect(resp.StatusCode).To(Equal(http.StatusOK))
	body, err := io.ReadAll(resp.Body)
	g.Expect(err).NotTo(HaveOccurred())
	return string(body)
}

// sample returns the metric of family name whose labels include want, read from the
// registry the manager serves; nil when there is none yet.
func sample(g Gomega, name string, want map[string]string) *dto.Metric {
	families, err := metrics.Registry.Gather()
	g.Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metric:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if have[k] != v {
					continue metric
				}
			}
			return m
		}
	}
	return nil
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
	// The endpoint serves the same registry, controller-runtime's metrics with kubeship's.
	g.Eventually(func(g Gomega) { // the manager may still be starting its metrics server
		body := scrape(g)
		g.Expect(body).To(ContainSubstring(`kubeship_database_provisioning_duration_seconds_count{engine="postgres",mode="dedicated"}`))
		g.Expect(body).To(ContainSubstring(`kubeship_microservices{ready="True"}`))
		g.Expect(body).To(ContainSubstring(`controller_runtime_reconcile_total{controller="microservice"`))
	}, timeout, interval).Should(Succeed())
}
