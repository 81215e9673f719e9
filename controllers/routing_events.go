package controllers

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// Event reasons of routing.
const (
	// EventRouted: the routes became served.
	EventRouted = "Routed"
	// EventRouteConflict: another Microservice claims one of the same host and path pairs.
	EventRouteConflict = "RouteConflict"
	// EventRouteFailed: the routes are not served, for a reason other than waiting.
	EventRouteFailed = "RouteFailed"
)

// routedEvent is the event for Routed turning into routed, if any: nothing while the
// Gateway or Ingress controller is merely expected to report.
func routedEvent(routed *metav1.Condition) (event, bool) {
	switch {
	case routed.Reason == v1alpha1.ReasonRouteConflict:
		return event{corev1.EventTypeWarning, EventRouteConflict, routed.Message}, true
	case routed.Status == metav1.ConditionTrue:
		return event{corev1.EventTypeNormal, EventRouted, routed.Message}, true
	case routed.Reason == v1alpha1.ReasonRoutePending:
		return event{}, false
	}
	return event{corev1.EventTypeWarning, EventRouteFailed, routed.Message}, true
}
