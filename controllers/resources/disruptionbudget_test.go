package resources

import (
	"testing"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

func TestPodDisruptionBudget(t *testing.T) {
	pct := intstr.FromString("25%")
	budget := func(maxUnavailable intstr.IntOrString) *policyv1.PodDisruptionBudget {
		return &policyv1.PodDisruptionBudget{
			TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
			ObjectMeta: childMeta("payments"),
			Spec:       policyv1.PodDisruptionBudgetSpec{Selector: selectPayments, MaxUnavailable: &maxUnavailable},
		}
	}
	cases := []struct {
		name   string
		mutate func(*v1alpha1.Microservice)
		want   *policyv1.PodDisruptionBudget // nil: no budget
	}{
		{"one replica by default: none", nil, nil},
		{"one fixed replica: none", func(ms *v1alpha1.Microservice) { ms.Spec.Replicas = ptr.To[int32](1) }, nil},
		{"two replicas: default maxUnavailable 1", func(ms *v1alpha1.Microservice) { ms.Spec.Replicas = ptr.To[int32](2) }, budget(intstr.FromInt32(1))},
		{"autoscaled from 1: none", func(ms *v1alpha1.Microservice) { ms.Spec.Scaling = &v1alpha1.ScalingSpec{MaxReplicas: 5} }, nil},
		{"autoscaled from 3 with a percentage", func(ms *v1alpha1.Microservice) {
			ms.Spec.Scaling = &v1alpha1.ScalingSpec{MinReplicas: ptr.To[int32](3), MaxReplicas: 5}
			ms.Spec.DisruptionBudget = &v1alpha1.DisruptionBudgetSpec{MaxUnavailable: &pct}
		}, budget(pct)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			diffWhole(t, tc.want, PodDisruptionBudget(microservice(tc.mutate)))
		})
	}
}
