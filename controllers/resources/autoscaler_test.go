package resources

import (
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

func TestHorizontalPodAutoscaler(t *testing.T) {
	utilization := func(name corev1.ResourceName, percent int32) autoscalingv2.MetricSpec {
		return autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name: name, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(percent)},
		}}
	}
	window := int32(15)
	behavior := &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{
		StabilizationWindowSeconds: &window,
		Policies:                   []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 2, PeriodSeconds: 30}},
	}}
	autoscaler := func(minReplicas, maxReplicas int32, behavior *autoscalingv2.HorizontalPodAutoscalerBehavior, metrics ...autoscalingv2.MetricSpec) *autoscalingv2.HorizontalPodAutoscaler {
		return &autoscalingv2.HorizontalPodAutoscaler{
			TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
			ObjectMeta: childMeta("payments"),
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "payments"},
				MinReplicas:    ptr.To(minReplicas), MaxReplicas: maxReplicas, Metrics: metrics, Behavior: behavior,
			},
		}
	}
	cases := []struct {
		name    string
		scaling *v1alpha1.ScalingSpec
		want    *autoscalingv2.HorizontalPodAutoscaler
	}{
		{"no scaling, no autoscaler", nil, nil},
		{"no target means 80% CPU", &v1alpha1.ScalingSpec{MaxReplicas: 4}, autoscaler(1, 4, nil, utilization(corev1.ResourceCPU, 80))},
		{"cpu target", &v1alpha1.ScalingSpec{MinReplicas: ptr.To[int32](2), MaxReplicas: 10, TargetCPUUtilizationPercentage: ptr.To[int32](70)}, autoscaler(2, 10, nil, utilization(corev1.ResourceCPU, 70))},
		{"memory only", &v1alpha1.ScalingSpec{MaxReplicas: 3, TargetMemoryUtilizationPercentage: ptr.To[int32](85)}, autoscaler(1, 3, nil, utilization(corev1.ResourceMemory, 85))},
		{"both targets", &v1alpha1.ScalingSpec{MaxReplicas: 3, TargetCPUUtilizationPercentage: ptr.To[int32](60), TargetMemoryUtilizationPercentage: ptr.To[int32](90)},
			autoscaler(1, 3, nil, utilization(corev1.ResourceCPU, 60), utilization(corev1.ResourceMemory, 90))},
		{"behavior passed through", &v1alpha1.ScalingSpec{MaxReplicas: 6, Behavior: behavior}, autoscaler(1, 6, behavior, utilization(corev1.ResourceCPU, 80))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			diffWhole(t, tc.want, HorizontalPodAutoscaler(microservice(func(ms *v1alpha1.Microservice) { ms.Spec.Scaling = tc.scaling })))
		})
	}
}
