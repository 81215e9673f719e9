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
// events mark transitions only and a steady state records nothing. A new Microservice's
// first convergence records none either: it is the expected path, status and each
// condition's lastTransitionTime tell it, and at fleet scale those Events would be most of
// what a create writes beyond its children and status. Events mark what departs from it:
// failures, refusals, recoveries, rollouts of later generations, children made again.
func transitionEvents(old, cur []metav1.Condition) []event {
	var events []event
	if db, ok := changed(old, cur, v1alpha1.ConditionDatabaseReady); ok && !firstConvergence(meta.FindStatusCondition(old, v1alpha1.ConditionDatabaseReady), db) {
		if e, ok := databaseEvent(db); ok {
			events = append(events, e)
		}
	}
	if routed, ok := changed(old, cur, v1alpha1.ConditionRouted); ok {
		if e, ok := routedEvent(routed); ok {
			events = append(events, e)
		}
	}
	if ready, ok := changed(old, cur, v1alpha1.ConditionReady); ok && !firstConvergence(meta.FindStatusCondition(old, v1alpha1.ConditionReady), ready) {
		if e, ok := readyEvent(meta.FindStatusCondition(old, v1alpha1.ConditionReady), ready); ok {
			events = append(events, e)
		}
	}
	return events
}

// firstConvergence tells whether cur turning True from prev is a new Microservice's first
// convergence: its first generation, reached from no condition or from one still in
// progress (a recovery from a failure is not).
func firstConvergence(prev, cur *metav1.Condition) bool {
	return cur.Status == metav1.ConditionTrue && cur.ObservedGeneration <= 1 &&
		(prev == nil || rollingOut(prev.Reason) || prev.Reason == v1alpha1.ReasonDatabaseProvisioning)
}

// changed returns condition t of cur, and whether its status or reason differs from old's.
func changed(old, cur []metav1.Condition, t string) (*metav1.Condition, bool) {
	n := meta.FindStatusCondition(cur, t)
	o := meta.FindStatusCondition(old, t)
	return n, n != nil && (o == nil || o.Status != n.Status || o.Reason != n.Reason)
}

// databaseEvent is the event for DatabaseReady turning into db, if any.
func databaseEvent(db *metav1.Condition) (event, bool) {
	switch {
	case db.Status == metav1.ConditionTrue:
		return event{corev1.EventTypeNormal, EventDatabaseReady, db.Message}, true
	case refusal(db.Reason):
		// Ready's ResourceNotOwned event tells the story, once.
	case db.Reason != v1alpha1.ReasonDatabaseProvisioning:
		return event{corev1.EventTypeWarning, EventDatabaseFailed, db.Message}, true
	}
	return event{}, false
}

// readyEvent is the event for Ready turning from prev (nil: unset) into ready, if any.
func readyEvent(prev, ready *metav1.Condition) (event, bool) {
	prevRolling := prev != nil && rollingOut(prev.Reason)
	switch {
	case ready.Status == metav1.ConditionTrue && prevRolling:
		return event{corev1.EventTypeNormal, EventRolloutFinished, ready.Message}, true
	case ready.Status == metav1.ConditionTrue:
		return event{corev1.EventTypeNormal, EventReady, ready.Message}, true
	case rollingOut(ready.Reason) && prevRolling:
		// Still rolling out: one event per rollout is enough.
	case rollingOut(ready.Reason) && prev == nil:
		// The first rollout of a new Microservice: see transitionEvents.
	case rollingOut(ready.Reason):
		return event{corev1.EventTypeNormal, EventRolloutStarted, ready.Message}, true
	case refusal(ready.Reason):
		return event{corev1.EventTypeWarning, EventResourceNotOwned, ready.Message}, true
	case ready.Reason == v1alpha1.ReasonReconcileError, ready.Reason == v1alpha1.ReasonInvalidSpec:
		return event{corev1.EventTypeWarning, EventReconcileFailed, ready.Message}, true
	case ready.Reason == v1alpha1.ReasonDatabaseNotReady:
		// DatabaseReady's own event tells the story.
	case ready.Reason == v1alpha1.ReasonMigrationFailed:
		// The MigrationFailed event, which points at the Job, tells the story.
	default:
		return event{corev1.EventTypeWarning, EventNotReady, ready.Message}, true
	}
	return event{}, false
}

// rollingOut tells whether a Ready reason says a rollout is under way; a migration is
// its first step.
func rollingOut(reason string) bool {
	return reason == v1alpha1.ReasonRolloutInProgress || reason == v1alpha1.ReasonObservedGenerationStale ||
		reason == v1alpha1.ReasonMigrating
}

// refusal tells whether a condition reason reports an object kubeship refused to write.
func refusal(reason string) bool {
	return reason == v1alpha1.ReasonResourceNotOwned || reason == v1alpha1.ReasonAdoptionRefused
}
