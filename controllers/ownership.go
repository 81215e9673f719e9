package controllers

import (
	"fmt"
	"maps"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

// claim is what kubeship may do with an existing object that has a child's name.
type claim int

const (
	// claimOwned: the Microservice controls the object; kubeship keeps it in shape.
	claimOwned claim = iota
	// claimAdopt: the object's owner consented with the adoption annotation; kubeship
	// takes it over in place.
	claimAdopt
	// claimRefused: the object is someone else's; kubeship never writes it.
	claimRefused
)

// ownership is the decision about one existing object, with the condition reason and
// message to report when it is refused.
type ownership struct {
	claim           claim
	reason, message string
}

// decideOwnership tells whether ms may write obj, an existing object of the given kind
// named like one of ms's children. Only the object itself can give consent: being
// controlled by ms, carrying the adoption annotation naming ms, or (when byLabels is
// set, for the credentials Secret that deletionPolicy Retain leaves without an owner
// reference) carrying the labels kubeship put on it for ms. Another controller's
// object is never taken, annotation or not, and neither is an object kubeship cannot
// take over as it is (see adoptionConflict).
func decideOwnership(ms *v1alpha1.Microservice, kind string, obj client.Object, byLabels bool) ownership {
	if metav1.IsControlledBy(obj, ms) {
		return ownership{claim: claimOwned}
	}
	id := fmt.Sprintf("%s %s", kind, obj.GetName())
	if ref := metav1.GetControllerOf(obj); ref != nil {
		return ownership{claimRefused, v1alpha1.ReasonResourceNotOwned, fmt.Sprintf(
			"%s exists and is controlled by %s %s, not by this Microservice; kubeship leaves it alone", id, ref.Kind, ref.Name)}
	}
	if byLabels && labelledFor(ms, obj) {
		return ownership{claim: claimOwned}
	}
	if consent, ok := obj.GetAnnotations()[v1alpha1.AdoptAnnotation]; ok {
		if consent != ms.Name {
			return ownership{claimRefused, v1alpha1.ReasonResourceNotOwned, fmt.Sprintf(
				"%s exists and its annotation %s names %q, not this Microservice", id, v1alpha1.AdoptAnnotation, consent)}
		}
		if conflict := adoptionConflict(ms, obj); conflict != "" {
			return ownership{claimRefused, v1alpha1.ReasonAdoptionRefused, fmt.Sprintf("%s cannot be adopted: %s", id, conflict)}
		}
		return ownership{claim: claimAdopt}
	}
	return ownership{claimRefused, v1alpha1.ReasonResourceNotOwned, fmt.Sprintf(
		"%s exists and is not controlled by this Microservice; add the annotation %s: %s to hand it over",
		id, v1alpha1.AdoptAnnotation, ms.Name)}
}

// labelledFor tells whether obj carries the labels kubeship puts on ms's children.
func labelledFor(ms *v1alpha1.Microservice, obj client.Object) bool {
	l := obj.GetLabels()
	return l[resources.LabelManagedBy] == resources.ManagedByKubeship && l[resources.LabelMicroservice] == ms.Name
}

// adoptionConflict says why obj cannot become ms's child in place, or "" when it can.
// Selectors are immutable, so a workload selecting other labels would have to be
// recreated, which adoption promises not to do.
func adoptionConflict(ms *v1alpha1.Microservice, obj client.Object) string {
	var selector *metav1.LabelSelector
	want := resources.SelectorLabels(ms)
	switch o := obj.(type) {
	case *appsv1.Deployment:
		selector = o.Spec.Selector
	case *appsv1.StatefulSet:
		selector = o.Spec.Selector
		want = resources.DatabaseSelectorLabels(ms)
	default:
		return ""
	}
	if selector == nil || len(selector.MatchExpressions) > 0 || !maps.Equal(selector.MatchLabels, want) {
		return fmt.Sprintf("its selector %s differs from %s, and a selector cannot change; delete it (or rename the Microservice) instead",
			metav1.FormatLabelSelector(selector), metav1.FormatLabelSelector(&metav1.LabelSelector{MatchLabels: want}))
	}
	return ""
}
