package resources

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	autoscalingv2ac "k8s.io/client-go/applyconfigurations/autoscaling/v2"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// HorizontalPodAutoscaler returns the autoscaler for ms's Deployment, or nil when
// spec.scaling is unset. Without any utilization target it aims at 80% CPU.
func HorizontalPodAutoscaler(ms *v1alpha1.Microservice) *autoscalingv2ac.HorizontalPodAutoscalerApplyConfiguration {
	s := ms.Spec.Scaling
	if s == nil {
		return nil
	}
	spec := autoscalingv2ac.HorizontalPodAutoscalerSpec().
		WithScaleTargetRef(autoscalingv2ac.CrossVersionObjectReference().
			WithAPIVersion("apps/v1").WithKind("Deployment").WithName(ms.Name)).
		WithMinReplicas(MinReplicas(ms)).
		WithMaxReplicas(s.MaxReplicas)
	cpu := s.TargetCPUUtilizationPercentage
	if cpu == nil && s.TargetMemoryUtilizationPercentage == nil {
		def := v1alpha1.DefaultTargetCPUUtilizationPercentage
		cpu = &def
	}
	if cpu != nil {
		spec.WithMetrics(utilizationMetric(corev1.ResourceCPU, *cpu))
	}
	if mem := s.TargetMemoryUtilizationPercentage; mem != nil {
		spec.WithMetrics(utilizationMetric(corev1.ResourceMemory, *mem))
	}
	if s.Behavior != nil {
		spec.WithBehavior(convert[autoscalingv2ac.HorizontalPodAutoscalerBehaviorApplyConfiguration](s.Behavior))
	}
	h := autoscalingv2ac.HorizontalPodAutoscaler(ms.Name, ms.Namespace).WithSpec(spec)
	h.ObjectMetaApplyConfiguration = objectMeta(ms, ms.Name)
	return h
}

func utilizationMetric(name corev1.ResourceName, percent int32) *autoscalingv2ac.MetricSpecApplyConfiguration {
	return autoscalingv2ac.MetricSpec().
		WithType(autoscalingv2.ResourceMetricSourceType).
		WithResource(autoscalingv2ac.ResourceMetricSource().
			WithName(name).
			WithTarget(autoscalingv2ac.MetricTarget().
				WithType(autoscalingv2.UtilizationMetricType).
				WithAverageUtilization(percent)))
}
