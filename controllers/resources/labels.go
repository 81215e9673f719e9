// Package resources builds the desired state of every object kubeship creates for a
// Microservice. Builders are pure: they read the Microservice (and values passed in)
// and return Server-Side Apply configurations holding exactly the fields kubeship owns.
package resources

import (
	"fmt"

	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// Label keys and values put on every child object.
const (
	LabelName         = "app.kubernetes.io/name"
	LabelManagedBy    = "app.kubernetes.io/managed-by"
	LabelMicroservice = "apps.kubeship.dev/microservice"
	ManagedByKubeship = "kubeship"
)

// Labels returns the labels every child of ms carries.
func Labels(ms *v1alpha1.Microservice) map[string]string {
	return map[string]string{
		LabelName:         ms.Name,
		LabelManagedBy:    ManagedByKubeship,
		LabelMicroservice: ms.Name,
	}
}

// SelectorLabels returns the labels that select ms's pods. They never change, since a
// Deployment's selector is immutable.
func SelectorLabels(ms *v1alpha1.Microservice) map[string]string {
	return map[string]string{LabelMicroservice: ms.Name}
}

// Selector returns SelectorLabels in the string form the scale subresource reports.
func Selector(ms *v1alpha1.Microservice) string {
	return fmt.Sprintf("%s=%s", LabelMicroservice, ms.Name)
}

// ownerReference makes ms the controller of a child, so the garbage collector removes
// the child with it.
func ownerReference(ms *v1alpha1.Microservice) *metav1ac.OwnerReferenceApplyConfiguration {
	return metav1ac.OwnerReference().
		WithAPIVersion(v1alpha1.GroupVersion.String()).
		WithKind("Microservice").
		WithName(ms.Name).
		WithUID(ms.UID).
		WithController(true).
		WithBlockOwnerDeletion(true)
}

// objectMeta is the metadata shared by the children of ms named name.
func objectMeta(ms *v1alpha1.Microservice, name string) *metav1ac.ObjectMetaApplyConfiguration {
	return metav1ac.ObjectMeta().
		WithName(name).
		WithNamespace(ms.Namespace).
		WithLabels(Labels(ms)).
		WithOwnerReferences(ownerReference(ms))
}

// labelSelector returns SelectorLabels as an apply configuration.
func labelSelector(ms *v1alpha1.Microservice) *metav1ac.LabelSelectorApplyConfiguration {
	return metav1LabelSelector(SelectorLabels(ms))
}

func metav1LabelSelector(labels map[string]string) *metav1ac.LabelSelectorApplyConfiguration {
	return metav1ac.LabelSelector().WithMatchLabels(labels)
}
