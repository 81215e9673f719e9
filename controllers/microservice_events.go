package controllers

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// Event reasons kubeship records on Microservices.
const (
	EventCreated         = "Created"
	EventReady           = "Ready"
	EventRolloutStarted  = "RolloutStarted"
	EventRolloutFinished = "RolloutFinished"
	EventDatabaseReady   = "DatabaseReady"
	EventDatabaseFailed  = "DatabaseFailed"
	EventReconcileFailed = "ReconcileFailed"
	EventNotReady        = "NotReady"
	// EventResourceNotOwned: kubeship refused to write an existing object it does not own.
	EventResourceNotOwned = "ResourceNotOwned"
)

// event is one Kubernetes Event to record.
type event struct {
	eventType, reason, note string
}

// transitionEvents returns the events for the condition changes from old to cur, so
// events mark transitions only and a steady state records nothing.
func transitionEvents(old, cur []metav1.Condition) []event {
	var events []event
	was := func(t string) *metav1.Condition { return meta.FindStatusCondition(old, t) }
	changed := func(t string) (*metav1.Condition, bool) {
		n := meta.FindStatusCondition(cur, t)
		o := was(t)
		return n, n != nil && (o == nil || o.Status != n.Status || o.Reason != n.Reason)
	}
	if db, ok := changed(v1alpha1.ConditionDatabaseReady); ok {
		switch {
		case db.Status == metav1.ConditionTrue:
			events = append(events, event{corev1.EventTypeNormal, EventDatabaseReady, db.Message})
		case refusal(db.Reason):
			// Ready's ResourceNotOwned event tells the story, once.
		case db.Reason != v1alpha1.ReasonDatabaseProvisioning:
			events = append(events, event{corev1.EventTypeWarning, EventDatabaseFailed, db.Message})
		}
	}
	ready, ok := changed(v1alpha1.ConditionReady)
	if !ok {
		return events
	}
	prev := was(v1alpha1.ConditionReady)
	rolling := ready.Reason == v1alpha1.ReasonRolloutInProgress || ready.Reason == v1alpha1.ReasonObservedGenerationStale
	prevRolling := prev != nil && (prev.Reason == v1alpha1.ReasonRolloutInProgress || prev.Reason == v1alpha1.ReasonObservedGenerationStale)
	switch {
	case ready.Status == metav1.ConditionTrue && prevRolling:
		events = append(events, event{corev1.EventTypeNormal, EventRolloutFinished, ready.Message})
	case ready.Status == metav1.ConditionTrue:
		events = append(events, event{corev1.EventTypeNormal, EventReady, ready.Message})
	case rolling && prevRolling:
		// Still rolling out: one event per rollout is enough.
	case rolling:
		events = append(events, event{corev1.EventTypeNormal, EventRolloutStarted, ready.Message})
	case refusal(ready.Reason):
		events = append(events, event{corev1.EventTypeWarning, EventResourceNotOwned, ready.Message})
	case ready.Reason == v1alpha1.ReasonReconcileError, ready.Reason == v1alpha1.ReasonInvalidSpec:
		events = append(events, event{corev1.EventTypeWarning, EventReconcileFailed, ready.Message})
	case ready.Reason == v1alpha1.ReasonDatabaseNotReady:
		// DatabaseReady's own event tells the story.
	default:
		events = append(events, event{corev1.EventTypeWarning, EventNotReady, ready.Message})
	}
	return events
}

// refusal tells whether a condition reason reports an object kubeship refused to write.
func refusal(reason string) bool {
	return reason == v1alpha1.ReasonResourceNotOwned || reason == v1alpha1.ReasonAdoptionRefused
}
