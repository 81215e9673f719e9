package controllers

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// kubeship's own metrics, served with controller-runtime's on the manager's metrics endpoint.
var (
	reconcileErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kubeship_reconcile_errors_total",
		Help: "Reconcile passes that failed, by controller and by the reason reported in status.",
	}, []string{"controller", "reason"})

	databaseProvisioning = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "kubeship_database_provisioning_duration_seconds",
		Help:    "Time from a Microservice's database being asked for to DatabaseReady turning True.",
		Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800},
	}, []string{"engine", "mode"})

	microservicesDesc = prometheus.NewDesc("kubeship_microservices",
		"Microservices by the status of their Ready condition.", []string{"ready"}, nil)
)

func init() {
	metrics.Registry.MustRegister(reconcileErrors, databaseProvisioning)
}

// readyCollector counts Microservices by Ready status from the manager's cache when
// scraped, so the figure is never stale and costs nothing between scrapes.
type readyCollector struct {
	reader client.Reader
}

func (c readyCollector) Describe(ch chan<- *prometheus.Desc) { ch <- microservicesDesc }

func (c readyCollector) Collect(ch chan<- prometheus.Metric) {
	list := &v1alpha1.MicroserviceList{}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.reader.List(ctx, list); err != nil {
		ch <- prometheus.NewInvalidMetric(microservicesDesc, err)
		return
	}
	counts := map[string]float64{string(metav1.ConditionTrue): 0, string(metav1.ConditionFalse): 0, string(metav1.ConditionUnknown): 0}
	for i := range list.Items {
		status := string(metav1.ConditionUnknown)
		if c := meta.FindStatusCondition(list.Items[i].Status.Conditions, v1alpha1.ConditionReady); c != nil {
			status = string(c.Status)
		}
		counts[status]++
	}
	for status, n := range counts {
		ch <- prometheus.MustNewConstMetric(microservicesDesc, prometheus.GaugeValue, n, status)
	}
}

// observeProvisioning records how long the database took when DatabaseReady turns True.
func observeProvisioning(ms *v1alpha1.Microservice, old, cur []metav1.Condition, now time.Time) {
	n := meta.FindStatusCondition(cur, v1alpha1.ConditionDatabaseReady)
	if n == nil || n.Status != metav1.ConditionTrue || ms.Spec.Database == nil {
		return
	}
	since := ms.CreationTimestamp.Time
	if o := meta.FindStatusCondition(old, v1alpha1.ConditionDatabaseReady); o != nil {
		if o.Status == metav1.ConditionTrue {
			return
		}
		since = o.LastTransitionTime.Time
	}
	mode := ms.Spec.Database.Mode
	if mode == "" {
		mode = v1alpha1.ModeDedicated
	}
	databaseProvisioning.WithLabelValues(string(ms.Spec.Database.Engine), string(mode)).Observe(now.Sub(since).Seconds())
}
