package controllers

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"

	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

func scrape(g Gomega) string {
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	g.Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	g.Expect(err).NotTo(HaveOccurred())
	return string(body)
}

// metricValue returns the value of the sample matching line, e.g. `kubeship_microservices{ready="True"}`.
func metricValue(body, sample string) float64 {
	m := regexp.MustCompile(regexp.QuoteMeta(sample) + ` ([0-9.e+]+)`).FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func TestMetricsEndpoint(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	var before float64
	g.Eventually(func(g Gomega) { // the manager may still be starting its metrics server
		before = metricValue(scrape(g), `kubeship_microservices{ready="True"}`)
	}, timeout, interval).Should(Succeed())
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
		body := scrape(g)
		g.Expect(metricValue(body, `kubeship_microservices{ready="True"}`)).To(BeNumerically(">", before))
		g.Expect(metricValue(body, `kubeship_database_provisioning_duration_seconds_count{engine="postgres",mode="dedicated"}`)).To(BeNumerically(">=", 1))
		g.Expect(body).To(ContainSubstring(`controller_runtime_reconcile_total{controller="microservice"`))
	}, timeout, interval).Should(Succeed())
}
