package resources

import (
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

func TestHorizontalPodAutoscaler(t *testing.T) {
	type metric struct {
		name    corev1.ResourceName
		percent int32
	}
	cases := []struct {
		name        string
		scaling     *v1alpha1.ScalingSpec
		wantNil     bool
		wantMin     int32
		wantMetrics []metric
	}{
		{"no scaling, no autoscaler", nil, true, 0, nil},
		{"no target means 80% CPU", &v1alpha1.ScalingSpec{MaxReplicas: 4}, false, 1, []metric{{corev1.ResourceCPU, 80}}},
		{"cpu target", &v1alpha1.ScalingSpec{MinReplicas: ptr.To[int32](2), MaxReplicas: 10, TargetCPUUtilizationPercentage: ptr.To[int32](70)}, false, 2, []metric{{corev1.ResourceCPU, 70}}},
		{"memory only", &v1alpha1.ScalingSpec{MaxReplicas: 3, TargetMemoryUtilizationPercentage: ptr.To[int32](85)}, false, 1, []metric{{corev1.ResourceMemory, 85}}},
		{"both targets", &v1alpha1.ScalingSpec{MaxReplicas: 3, TargetCPUUtilizationPercentage: ptr.To[int32](60), TargetMemoryUtilizationPercentage: ptr.To[int32](90)}, false, 1, []metric{{corev1.ResourceCPU, 60}, {corev1.ResourceMemory, 90}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := HorizontalPodAutoscaler(microservice(func(ms *v1alpha1.Microservice) { ms.Spec.Scaling = tc.scaling }))
			if tc.wantNil {
				if h != nil {
					t.Fatal("autoscaler built without spec.scaling")
				}
				return
			}
			ref := h.Spec.ScaleTargetRef
			if *ref.Kind != "Deployment" || *ref.APIVersion != "apps/v1" || *ref.Name != "payments" {
				t.Fatalf("target %+v", ref)
			}
			if *h.Spec.MinReplicas != tc.wantMin || *h.Spec.MaxReplicas != tc.scaling.MaxReplicas {
				t.Fatalf("min %d max %d", *h.Spec.MinReplicas, *h.Spec.MaxReplicas)
			}
			if len(h.Spec.Metrics) != len(tc.wantMetrics) {
				t.Fatalf("metrics %+v", h.Spec.Metrics)
			}
			for i, m := range h.Spec.Metrics {
				r := m.Resource
				if *m.Type != autoscalingv2.ResourceMetricSourceType || *r.Name != tc.wantMetrics[i].name ||
					*r.Target.Type != autoscalingv2.UtilizationMetricType || *r.Target.AverageUtilization != tc.wantMetrics[i].percent {
					t.Fatalf("metric %d = %+v", i, r)
				}
			}
		})
	}
}

func TestHorizontalPodAutoscalerBehavior(t *testing.T) {
	window := int32(15)
	ms := microservice(func(ms *v1alpha1.Microservice) {
		ms.Spec.Scaling = &v1alpha1.ScalingSpec{MaxReplicas: 6, Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
			ScaleDown: &autoscalingv2.HPAScalingRules{
				StabilizationWindowSeconds: &window,
				Policies:                   []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 2, PeriodSeconds: 30}},
			},
		}}
	})
	b := HorizontalPodAutoscaler(ms).Spec.Behavior
	if b == nil || *b.ScaleDown.StabilizationWindowSeconds != 15 || *b.ScaleDown.Policies[0].Value != 2 || b.ScaleUp != nil {
		t.Fatalf("behavior %+v", b)
	}
}
