package controllers

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

// setMigrationStatus sets MigrationSucceeded, the kstatus conditions and
// status.migration from what the pass saw. Without spec.migration it removes the
// conditions and keeps the record of the last success: a migration added back for the
// same revision then does not run again.
func setMigrationStatus(st *v1alpha1.MicroserviceStatus, ms *v1alpha1.Microservice, m migrationObserved) {
	if ms.Spec.Migration == nil {
		meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionMigrationSucceeded)
		removeOwnKstatus(st)
		return
	}
	if m.state == migrationDone && (st.Migration == nil || st.Migration.Revision != m.revision) {
		st.Migration = &v1alpha1.MigrationStatus{Revision: m.revision, JobName: m.jobName, Image: resources.MigrationImage(ms)}
	}
	setCondition(st, ms, migrationCondition(ms, m))
	removeOwnKstatus(st)
	switch m.state {
	case migrationWaiting, migrationRunning:
		setCondition(st, ms, metav1.Condition{Type: v1alpha1.ConditionReconciling, Status: metav1.ConditionTrue,
			Reason: v1alpha1.ReasonMigrating, Message: migrationCondition(ms, m).Message})
	case migrationFailed, migrationBlocked:
		c := migrationCondition(ms, m)
		setCondition(st, ms, metav1.Condition{Type: v1alpha1.ConditionStalled, Status: metav1.ConditionTrue, Reason: c.Reason, Message: c.Message})
	}
}

// removeOwnKstatus removes the Reconciling and Stalled conditions the migration set,
// and only those: another step may own them with reasons of its own.
func removeOwnKstatus(st *v1alpha1.MicroserviceStatus) {
	for _, t := range []string{v1alpha1.ConditionReconciling, v1alpha1.ConditionStalled} {
		if c := meta.FindStatusCondition(st.Conditions, t); c != nil && migrationReason(c.Reason) {
			meta.RemoveStatusCondition(&st.Conditions, t)
		}
	}
}

func migrationReason(reason string) bool {
	switch reason {
	case v1alpha1.ReasonMigrating, v1alpha1.ReasonMigrationFailed, v1alpha1.ReasonMigrationPending:
		return true
	}
	// A foreign Job blocking the migration is Stalled with ResourceNotOwned.
	return reason == v1alpha1.ReasonResourceNotOwned
}

// migrationCondition is MigrationSucceeded for what the pass saw.
func migrationCondition(ms *v1alpha1.Microservice, m migrationObserved) metav1.Condition {
	c := metav1.Condition{Type: v1alpha1.ConditionMigrationSucceeded, Status: metav1.ConditionFalse}
	switch m.state {
	case migrationDone:
		c.Status, c.Reason = metav1.ConditionTrue, v1alpha1.ReasonMigrationSucceeded
		c.Message = fmt.Sprintf("Migration Job %s succeeded for image %s", m.jobName, resources.MigrationImage(ms))
	case migrationWaiting:
		c.Reason, c.Message = v1alpha1.ReasonMigrationPending, fmt.Sprintf("Migration Job %s waits for %s", m.jobName, m.waitingFor)
	case migrationRunning:
		c.Reason, c.Message = v1alpha1.ReasonMigrating, fmt.Sprintf("Migration Job %s is running image %s", m.jobName, resources.MigrationImage(ms))
	case migrationFailed:
		c.Reason = v1alpha1.ReasonMigrationFailed
		c.Message = fmt.Sprintf("Migration Job %s failed", m.jobName)
		if f := jobFailed(m.job); f != nil {
			c.Message += fmt.Sprintf(" (%s: %s)", f.Reason, f.Message)
		}
		c.Message += fmt.Sprintf("; see its logs with kubectl logs -n %s job/%s. Change the image or spec.migration to retry, or delete the Job to run it again",
			ms.Namespace, m.jobName)
	case migrationBlocked:
		c.Reason, c.Message = v1alpha1.ReasonResourceNotOwned, fmt.Sprintf("Job %s exists and is not controlled by this Microservice", m.jobName)
	}
	return c
}

// migrationBlocksReady returns the Ready reason and message while the migration holds
// the rollout back, and false when it does not.
func migrationBlocksReady(ms *v1alpha1.Microservice, m migrationObserved, deploymentExists bool) (string, string, bool) {
	if m.gateOpen() {
		return "", "", false
	}
	serving := "the previous version keeps serving"
	if !deploymentExists {
		serving = "the Deployment is created once it succeeds"
	}
	c := migrationCondition(ms, m)
	if m.state == migrationFailed {
		return v1alpha1.ReasonMigrationFailed, fmt.Sprintf("The rollout is stopped, %s: %s", serving, c.Message), true
	}
	// Waiting for the database or an earlier Job counts as migrating: it settles alone.
	return v1alpha1.ReasonMigrating, fmt.Sprintf("%s; %s", c.Message, serving), true
}
