package resources

import (
	"k8s.io/apimachinery/pkg/util/intstr"
	policyv1ac "k8s.io/client-go/applyconfigurations/policy/v1"
	"k8s.io/utils/ptr"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// PodDisruptionBudget returns ms's disruption budget, or nil when ms runs fewer than
// two replicas in steady state: a budget over a single pod would block every node drain.
func PodDisruptionBudget(ms *v1alpha1.Microservice) *policyv1ac.PodDisruptionBudgetApplyConfiguration {
	if MinReplicas(ms) < 2 {
		return nil
	}
	maxUnavailable := intstr.FromInt32(1)
	if b := ms.Spec.DisruptionBudget; b != nil {
		maxUnavailable = ptr.Deref(b.MaxUnavailable, maxUnavailable)
	}
	p := policyv1ac.PodDisruptionBudget(ms.Name, ms.Namespace).
		WithSpec(policyv1ac.PodDisruptionBudgetSpec().
			WithSelector(labelSelector(ms)).
			WithMaxUnavailable(maxUnavailable))
	p.ObjectMetaApplyConfiguration = objectMeta(ms, ms.Name)
	return p
}
