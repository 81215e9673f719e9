package controllers

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

// observed is what one reconcile pass saw of a Microservice's children, after applying them.
type observed struct {
	deployment *appsv1.Deployment                     // nil when it does not exist
	autoscaler *autoscalingv2.HorizontalPodAutoscaler // nil without spec.scaling
	database   databaseObserved
	migration  migrationObserved
	// connections is what the pass resolved of spec.connections.
	connections connectionsObserved
	// created lists the kinds of children this pass created, for the Created event.
	created []string
	// applyErr is the first error writing a child; status reports it and the pass retries.
	applyErr error
	// migrationErr is the error of the migration step; reported like applyErr.
	migrationErr error
	// notOwned lists the existing objects with children's names that kubeship refused
	// to write; status reports them and the pass is not retried with backoff.
	notOwned []*notOwnedError
	// routes is what routing saw (routing.go); it reports on Routed, not Ready.
	routes routesObserved
}

// computeStatus returns ms's status for what was observed. It is pure: the same inputs
// give the same status, and conditions keep their transition times unless they change.
func computeStatus(ms *v1alpha1.Microservice, obs observed) v1alpha1.MicroserviceStatus {
	st := *ms.Status.DeepCopy()
	st.ObservedGeneration = ms.Generation
	st.Selector = resources.Selector(ms)
	st.URL = resources.URL(ms)
	st.Replicas, st.ReadyReplicas, st.UpdatedReplicas = 0, 0, 0
	if d := obs.deployment; d != nil {
		st.Replicas = d.Status.Replicas
		st.ReadyReplicas = d.Status.ReadyReplicas
		st.UpdatedReplicas = d.Status.UpdatedReplicas
	}
	prevReady := meta.FindStatusCondition(ms.Status.Conditions, v1alpha1.ConditionReady)
	available := availableCondition(obs.deployment)
	if n := refusalOf(obs.notOwned, "Deployment", ms.Name); n != nil {
		// Not "does not exist yet": it exists, and is someone else's.
		available.Reason, available.Message = n.reason, n.message
	}
	setCondition(&st, ms, available)
	var dbReady *metav1.Condition
	if ms.Spec.Database != nil {
		c := databaseReadyCondition(ms, obs.database)
		dbReady = &c
		setCondition(&st, ms, c)
		st.Database = databaseStatus(ms, obs.database)
	} else {
		meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionDatabaseReady)
		if !obs.database.releasing {
			st.Database = nil
		}
	}
	setMigrationStatus(&st, ms, obs.migration)
	setRoutesStatus(&st, ms, obs.routes)
	setCondition(&st, ms, routesGateReady(ms, readyCondition(ms, obs, prevReady, dbReady), &st))
	if ms.Spec.Scaling != nil {
		setCondition(&st, ms, keepMessage(ms.Status.Conditions, scalingActiveCondition(obs.autoscaler)))
	} else {
		meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionScalingActive)
	}
	setConnectionsStatus(&st, ms, obs.connections)
	return st
}

func setCondition(st *v1alpha1.MicroserviceStatus, ms *v1alpha1.Microservice, c metav1.Condition) {
	c.ObservedGeneration = ms.Generation
	meta.SetStatusCondition(&st.Conditions, c)
}

// availableCondition mirrors the Deployment's minimum availability.
func availableCondition(d *appsv1.Deployment) metav1.Condition {
	c := metav1.Condition{Type: v1alpha1.ConditionAvailable}
	if d == nil {
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, v1alpha1.ReasonDeploymentNotFound, "The Deployment does not exist yet"
		return c
	}
	if dc := deploymentCondition(d, appsv1.DeploymentAvailable); dc != nil && dc.Status == corev1.ConditionTrue {
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, v1alpha1.ReasonMinimumReplicasAvailable, "The Deployment has minimum availability"
		return c
	}
	c.Status, c.Reason = metav1.ConditionFalse, v1alpha1.ReasonMinimumReplicasUnavailable
	c.Message = fmt.Sprintf("%d of %d replicas are available", d.Status.AvailableReplicas, desiredReplicas(d))
	return c
}

// keepMessage keeps the stored message of a condition that still says the same (status
// and reason). A mirrored condition's source may reword itself on every resync: the
// autoscaler names a different pod each time it fails to read a metric, and copying
// that would write every autoscaled Microservice's status every 15 seconds.
func keepMessage(stored []metav1.Condition, c metav1.Condition) metav1.Condition {
	if p := meta.FindStatusCondition(stored, c.Type); p != nil && p.Status == c.Status && p.Reason == c.Reason {
		c.Message = p.Message
	}
	return c
}

// scalingActiveCondition mirrors the autoscaler's own ScalingActive condition. Ready
// does not depend on it: without a metrics pipeline it stays False while the service
// runs fine at its minimum.
func scalingActiveCondition(h *autoscalingv2.HorizontalPodAutoscaler) metav1.Condition {
	c := metav1.Condition{Type: v1alpha1.ConditionScalingActive, Status: metav1.ConditionUnknown,
		Reason: v1alpha1.ReasonAutoscalerPending, Message: "The HorizontalPodAutoscaler has not reported yet"}
	if h == nil {
		return c
	}
	for _, hc := range h.Status.Conditions {
		if hc.Type == autoscalingv2.ScalingActive {
			c.Status, c.Reason, c.Message = metav1.ConditionStatus(hc.Status), hc.Reason, hc.Message
			if c.Reason == "" {
				c.Reason = v1alpha1.ReasonAutoscalerPending
			}
		}
	}
	return c
}

// readyCondition is True when the current generation is fully rolled out and available.
func readyCondition(ms *v1alpha1.Microservice, obs observed, prev, dbReady *metav1.Condition) metav1.Condition {
	notReady := func(reason, format string, args ...any) metav1.Condition {
		return metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: reason, Message: fmt.Sprintf(format, args...)}
	}
	var dbReason, dbMessage string
	if dbReady != nil {
		dbReason, dbMessage, _ = databaseBlocksReady(*dbReady)
	}
	d := obs.deployment
	switch {
	case len(obs.notOwned) > 0:
		// Only the other object's owner can fix this; it outweighs everything else.
		reason, msg := refusalSummary(obs.notOwned)
		return notReady(reason, "%s", msg)
	case apierrors.IsInvalid(obs.applyErr):
		return notReady(v1alpha1.ReasonInvalidSpec, "%s", obs.applyErr.Error())
	case obs.applyErr != nil:
		return notReady(v1alpha1.ReasonReconcileError, "%s", obs.applyErr.Error())
	case apierrors.IsInvalid(obs.migrationErr):
		return notReady(v1alpha1.ReasonInvalidSpec, "%s", obs.migrationErr.Error())
	case obs.migrationErr != nil:
		return notReady(v1alpha1.ReasonReconcileError, "%s", obs.migrationErr.Error())
	case dbReason == v1alpha1.ReasonDatabaseFailed:
		// A database that needs a person outweighs any rollout state.
		return notReady(dbReason, "%s", dbMessage)
	}
	if reason, msg, held := migrationBlocksReady(ms, obs.migration, d != nil); held {
		return notReady(reason, "%s", msg)
	}
	switch {
	case d == nil:
		return notReady(v1alpha1.ReasonRolloutInProgress, "Waiting for the Deployment to be created")
	case d.Status.ObservedGeneration < d.Generation && !autoscaledAndSettled(ms, prev):
		return notReady(v1alpha1.ReasonObservedGenerationStale, "Waiting for the Deployment controller to observe generation %d", d.Generation)
	}
	if dc := deploymentCondition(d, appsv1.DeploymentProgressing); dc != nil && dc.Reason == "ProgressDeadlineExceeded" {
		return notReady(v1alpha1.ReasonProgressDeadlineExceeded, "The rollout failed: %s", dc.Message)
	}
	// The app usually cannot start without its database: report that before the rollout.
	if dbReason != "" {
		return notReady(dbReason, "%s", dbMessage)
	}
	if msg, done := rolloutDone(ms, d); !done {
		return notReady(v1alpha1.ReasonRolloutInProgress, "%s", msg)
	}
	return metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonReady, Message: "The service is rolled out and available"}
}

// autoscaledAndSettled tells whether a stale Deployment generation can only come from
// the autoscaler changing spec.replicas: ms is autoscaled and was already Ready for its
// current generation, so kubeship has not changed the pod template since. Without this,
// Ready would flap on every scaling step.
func autoscaledAndSettled(ms *v1alpha1.Microservice, prev *metav1.Condition) bool {
	return ms.Spec.Scaling != nil && prev != nil && prev.Status == metav1.ConditionTrue && prev.ObservedGeneration == ms.Generation
}

// rolloutDone follows `kubectl rollout status`: every replica runs the new revision and
// is available. Autoscaled services only need the new revision everywhere and at least
// the autoscaler's minimum available, so the autoscaler adding pods does not make them
// unready.
func rolloutDone(ms *v1alpha1.Microservice, d *appsv1.Deployment) (string, bool) {
	s := d.Status
	want := desiredReplicas(d)
	if s.Replicas > s.UpdatedReplicas {
		return fmt.Sprintf("%d old replicas are pending termination", s.Replicas-s.UpdatedReplicas), false
	}
	if ms.Spec.Scaling != nil {
		// Not the Deployment's Available condition: it turns False while a big scale-up
		// waits for its new pods, though the service serves as before.
		floor := min(resources.MinReplicas(ms), want)
		if s.AvailableReplicas < floor {
			return fmt.Sprintf("%d replicas are available, fewer than the autoscaler's minimum of %d", s.AvailableReplicas, floor), false
		}
		return "", true
	}
	if s.UpdatedReplicas < want {
		return fmt.Sprintf("%d of %d replicas have been updated", s.UpdatedReplicas, want), false
	}
	if s.AvailableReplicas < s.UpdatedReplicas {
		return fmt.Sprintf("%d of %d updated replicas are available", s.AvailableReplicas, s.UpdatedReplicas), false
	}
	return "", true
}

func desiredReplicas(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

func deploymentCondition(d *appsv1.Deployment, t appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range d.Status.Conditions {
		if d.Status.Conditions[i].Type == t {
			return &d.Status.Conditions[i]
		}
	}
	return nil
}
