package v1alpha1

import autoscalingv2 "k8s.io/api/autoscaling/v2"

// DefaultTargetCPUUtilizationPercentage is the CPU target used when scaling names no target.
const DefaultTargetCPUUtilizationPercentage int32 = 80

// ScalingSpec configures the service's autoscaling/v2 HorizontalPodAutoscaler.
// +kubebuilder:validation:XValidation:rule="!has(self.minReplicas) || self.minReplicas <= self.maxReplicas",message="spec.scaling.minReplicas must be less than or equal to spec.scaling.maxReplicas",fieldPath=".minReplicas"
type ScalingSpec struct {
	// minReplicas is the lowest replica count the autoscaler may choose. Default 1.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	MinReplicas *int32 `json:"minReplicas,omitempty"`

	// maxReplicas is the highest replica count the autoscaler may choose; at least minReplicas.
	// +required
	// +kubebuilder:validation:Minimum=1
	MaxReplicas int32 `json:"maxReplicas"`

	// targetCPUUtilizationPercentage is the average CPU use, as a percentage of the
	// container's CPU request, the autoscaler aims for. When neither target is given, 80.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	TargetCPUUtilizationPercentage *int32 `json:"targetCPUUtilizationPercentage,omitempty"`

	// targetMemoryUtilizationPercentage is the average memory use, as a percentage of
	// the container's memory request, the autoscaler aims for.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	TargetMemoryUtilizationPercentage *int32 `json:"targetMemoryUtilizationPercentage,omitempty"`

	// behavior tunes how fast the autoscaler scales up and down; passed through to the
	// HorizontalPodAutoscaler unchanged.
	// +optional
	Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
}
