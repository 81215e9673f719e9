package resources

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

func TestPodDisruptionBudget(t *testing.T) {
	pct := intstr.FromString("25%")
	cases := []struct {
		name   string
		mutate func(*v1alpha1.Microservice)
		want   *intstr.IntOrString // nil: no budget
	}{
		{"one replica by default: none", nil, nil},
		{"one fixed replica: none", func(ms *v1alpha1.Microservice) { ms.Spec.Replicas = ptr.To[int32](1) }, nil},
		{"two replicas: default maxUnavailable 1", func(ms *v1alpha1.Microservice) { ms.Spec.Replicas = ptr.To[int32](2) }, ptr.To(intstr.FromInt32(1))},
		{"autoscaled from 1: none", func(ms *v1alpha1.Microservice) { ms.Spec.Scaling = &v1alpha1.ScalingSpec{MaxReplicas: 5} }, nil},
		{"autoscaled from 3 with a percentage", func(ms *v1alpha1.Microservice) {
			ms.Spec.Scaling = &v1alpha1.ScalingSpec{MinReplicas: ptr.To[int32](3), MaxReplicas: 5}
			ms.Spec.DisruptionBudget = &v1alpha1.DisruptionBudgetSpec{MaxUnavailable: &pct}
		}, &pct},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := PodDisruptionBudget(microservice(tc.mutate))
			if tc.want == nil {
				if p != nil {
					t.Fatal("budget built below two replicas")
				}
				return
			}
			if *p.Spec.MaxUnavailable != *tc.want {
				t.Fatalf("maxUnavailable %v, want %v", p.Spec.MaxUnavailable, tc.want)
			}
			assertMap(t, "selector", p.Spec.Selector.MatchLabels, map[string]string{LabelMicroservice: "payments"})
			if *p.OwnerReferences[0].UID != "uid-1" {
				t.Fatal("no owner reference")
			}
		})
	}
}
