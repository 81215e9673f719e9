package controllers

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// The autoscaler names a different pod each time it fails to read a metric; a status
// that copied its message would be written on every autoscaler resync (found by
// hack/bench: 300 autoscaled services, ~3 status writes a second on an idle fleet).
func TestScalingActiveRewordingWritesNoStatus(t *testing.T) {
	ms := &v1alpha1.Microservice{
		ObjectMeta: metav1.ObjectMeta{Name: "orders", Namespace: "shop", Generation: 1},
		Spec:       v1alpha1.MicroserviceSpec{Image: "x", Scaling: &v1alpha1.ScalingSpec{MinReplicas: ptr.To[int32](2), MaxReplicas: 4}},
	}
	d := deployment(1, 2, 2, 2, 2, 2, true)
	d.Status.Conditions = append(d.Status.Conditions, appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: "True"})
	hpa := func(reason, message string) *autoscalingv2.HorizontalPodAutoscaler {
		return &autoscalingv2.HorizontalPodAutoscaler{Status: autoscalingv2.HorizontalPodAutoscalerStatus{
			Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionFalse, Reason: reason, Message: message}},
		}}
	}
	first := computeStatus(ms, observed{deployment: d, autoscaler: hpa("FailedGetResourceMetric", "missing request for cpu in container app of Pod orders-7f-a1")})
	ms.Status = first
	again := computeStatus(ms, observed{deployment: d, autoscaler: hpa("FailedGetResourceMetric", "missing request for cpu in container app of Pod orders-7f-b2")})
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("a reworded autoscaler message changed the status (-first +again):\n%s", diff)
	}
	// A new reason is news: it is written, with its own message.
	ms.Status = again
	changed := computeStatus(ms, observed{deployment: d, autoscaler: hpa("ValidMetricFound", "the HPA was able to compute a replica count")})
	c := meta.FindStatusCondition(changed.Conditions, v1alpha1.ConditionScalingActive)
	if c == nil || c.Reason != "ValidMetricFound" || c.Message != "the HPA was able to compute a replica count" {
		t.Errorf("ScalingActive after a new reason = %+v", c)
	}
}
