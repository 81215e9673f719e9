package controllers

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

func TestMigrationConditions(t *testing.T) {
	ms := &v1alpha1.Microservice{
		ObjectMeta: metav1.ObjectMeta{Name: "payments", Namespace: "shop", Generation: 7},
		Spec:       v1alpha1.MicroserviceSpec{Image: "ghcr.io/acme/payments:2", Migration: &v1alpha1.MigrationSpec{Command: []string{"migrate"}}},
	}
	failedJob := &batchv1.Job{Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{
		{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit"}}}}
	const job = "payments-migrate-0123456789"
	cond := func(typ string, status metav1.ConditionStatus, reason, msg string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: msg, ObservedGeneration: 7}
	}
	failedMsg := "Migration Job " + job + " failed (BackoffLimitExceeded: Job has reached the specified backoff limit); see its logs with kubectl logs -n shop job/" +
		job + ". Change the image or spec.migration to retry, or delete the Job to run it again"
	running := "Migration Job " + job + " is running image ghcr.io/acme/payments:2"
	cases := []struct {
		name      string
		m         migrationObserved
		want      []metav1.Condition
		wantReady string // Ready reason, "" when the migration does not hold it
	}{
		{"running: Reconciling, so kstatus sees InProgress", migrationObserved{state: migrationRunning, jobName: job}, []metav1.Condition{
			cond(v1alpha1.ConditionMigrationSucceeded, metav1.ConditionFalse, v1alpha1.ReasonMigrating, running),
			cond(v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonMigrating, running),
		}, v1alpha1.ReasonMigrating},
		{"waiting for the database counts as migrating", migrationObserved{state: migrationWaiting, jobName: job, waitingFor: "the database to be ready"}, []metav1.Condition{
			cond(v1alpha1.ConditionMigrationSucceeded, metav1.ConditionFalse, v1alpha1.ReasonMigrationPending, "Migration Job "+job+" waits for the database to be ready"),
			cond(v1alpha1.ConditionReconciling, metav1.ConditionTrue, v1alpha1.ReasonMigrating, "Migration Job "+job+" waits for the database to be ready"),
		}, v1alpha1.ReasonMigrating},
		{"failed: Stalled, so kstatus sees Failed; the Job's own reason, never its logs", migrationObserved{state: migrationFailed, jobName: job, job: failedJob}, []metav1.Condition{
			cond(v1alpha1.ConditionMigrationSucceeded, metav1.ConditionFalse, v1alpha1.ReasonMigrationFailed, failedMsg),
			cond(v1alpha1.ConditionStalled, metav1.ConditionTrue, v1alpha1.ReasonMigrationFailed, failedMsg),
		}, v1alpha1.ReasonMigrationFailed},
		{"done", migrationObserved{state: migrationDone, jobName: job}, []metav1.Condition{
			cond(v1alpha1.ConditionMigrationSucceeded, metav1.ConditionTrue, v1alpha1.ReasonMigrationSucceeded, "Migration Job "+job+" succeeded for image ghcr.io/acme/payments:2"),
		}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := v1alpha1.MicroserviceStatus{Conditions: []metav1.Condition{
				// Left over from an earlier state: replaced or removed.
				{Type: v1alpha1.ConditionStalled, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonMigrationFailed},
			}}
			setMigrationStatus(&st, ms, tc.m)
			if diff := cmp.Diff(tc.want, st.Conditions, cmpopts.IgnoreFields(metav1.Condition{}, "LastTransitionTime")); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
			reason, _, held := migrationBlocksReady(ms, tc.m, true)
			if reason != tc.wantReady || held != (tc.wantReady != "") {
				t.Errorf("Ready reason %q (held %v), want %q", reason, held, tc.wantReady)
			}
		})
	}
}

func TestNoMigrationLeavesOthersKstatusConditions(t *testing.T) {
	ms := &v1alpha1.Microservice{ObjectMeta: metav1.ObjectMeta{Generation: 2}}
	other := metav1.Condition{Type: v1alpha1.ConditionReconciling, Status: metav1.ConditionTrue, Reason: "SomethingElse"}
	st := v1alpha1.MicroserviceStatus{
		Conditions: []metav1.Condition{other, {Type: v1alpha1.ConditionMigrationSucceeded, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonMigrationSucceeded}},
		Migration:  &v1alpha1.MigrationStatus{Revision: "r"},
	}
	setMigrationStatus(&st, ms, migrationObserved{})
	if diff := cmp.Diff([]metav1.Condition{other}, st.Conditions); diff != "" {
		t.Errorf("conditions (-want +got):\n%s", diff)
	}
	if st.Migration == nil {
		t.Error("the record of the last success is dropped with spec.migration")
	}
}

func TestJobsToPrune(t *testing.T) {
	at := func(minute int) metav1.Time { return metav1.NewTime(time.Date(2026, 1, 1, 0, minute, 0, 0, time.UTC)) }
	finished := batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}}
	job := func(name string, minute int, status batchv1.JobStatus) batchv1.Job {
		return batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: at(minute)}, Status: status}
	}
	jobs := []batchv1.Job{
		job("last-success", 0, finished), job("a", 1, finished), job("b", 2, finished), job("still-running", 3, batchv1.JobStatus{}),
		job("c", 4, finished), job("d", 5, finished), job("current", 6, batchv1.JobStatus{}),
	}
	pruned := jobsToPrune("current", "last-success", jobs)
	names := make([]string, 0, len(pruned))
	for _, j := range pruned {
		names = append(names, j.Name)
	}
	// Kept: current, last-success, still-running, and the newest three others (d, c, b).
	if diff := cmp.Diff([]string{"a"}, names); diff != "" {
		t.Errorf("pruned (-want +got):\n%s", diff)
	}
}
