package controllers

import (
	"context"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

// migrationState is where the migration of a Microservice's current revision stands.
type migrationState int

const (
	// migrationNone: no spec.migration; nothing gates the rollout.
	migrationNone migrationState = iota
	// migrationDone: the current revision is migrated; the rollout may go on.
	migrationDone
	// migrationWaiting: the Job is not created yet, because the database is not ready or
	// a Job of an earlier revision still runs (two migrations never run at once).
	migrationWaiting
	// migrationRunning: the current revision's Job runs.
	migrationRunning
	// migrationFailed: the current revision's Job failed; only a spec change (a new
	// revision) or deleting the Job retries.
	migrationFailed
	// migrationBlocked: an object kubeship does not control holds the Job's name.
	migrationBlocked
)

// migrationObserved is what a pass saw of a Microservice's migration.
type migrationObserved struct {
	state    migrationState
	revision string       // the current revision; "" without spec.migration
	jobName  string       // the current revision's Job
	job      *batchv1.Job // that Job, once it exists
	// waitingFor says what a migrationWaiting Job waits for.
	waitingFor string
}

// gateOpen tells whether the Deployment may move to the current pod template.
func (m migrationObserved) gateOpen() bool {
	return m.state == migrationNone || m.state == migrationDone
}

// EventMigrationFailed is the Warning event recorded when a migration Job fails; it
// names the Job (its related object) and never copies the Job's logs, which may hold
// secrets.
const EventMigrationFailed = "MigrationFailed"

// reconcileMigration runs ms's migration for its current revision, at most once: the
// Job's name is derived from the revision and the Job is made with Create, so the name
// is the lock. A succeeded Job found under that name counts as the migration, also when
// the pass that created it crashed before recording it. A Job kubeship does not control
// is a refusal (see noteRefusal): it is never touched nor taken as the migration.
func (r *MicroserviceReconciler) reconcileMigration(ctx context.Context, ms *v1alpha1.Microservice, obs *observed) error {
	if ms.Spec.Migration == nil {
		return nil
	}
	m := &obs.migration
	m.revision = resources.MigrationRevision(ms)
	m.jobName = resources.MigrationJobName(ms, m.revision)
	jobs, err := r.migrationJobs(ctx, ms)
	if err != nil {
		return err
	}
	if st := ms.Status.Migration; st != nil && st.Revision == m.revision {
		m.state = migrationDone
		return r.pruneMigrationJobs(ctx, ms, m, jobs)
	}
	job := &batchv1.Job{}
	found, err := r.getChild(ctx, ms, m.jobName, job)
	if err != nil {
		return fmt.Errorf("reading migration Job %s: %w", m.jobName, err)
	}
	if found && !metav1.IsControlledBy(job, ms) {
		m.state = migrationBlocked
		return &notOwnedError{kind: "Job", name: m.jobName, reason: v1alpha1.ReasonResourceNotOwned, message: fmt.Sprintf(
			"Job %s exists and is not controlled by this Microservice; kubeship neither runs the migration under its name nor takes it for one: remove it, or change spec.migration", m.jobName)}
	}
	if found && job.Annotations[resources.AnnotationMigrationRevision] != m.revision {
		// Only a prefix of the revision fits the name of a long Microservice's Job: this
		// one migrated another revision. It goes once finished; the deletion wakes us.
		m.state, m.waitingFor = migrationWaiting, fmt.Sprintf("Job %s of another revision to finish", m.jobName)
		if jobFinished(job) {
			return r.deleteMigrationJob(ctx, job)
		}
		return nil
	}
	if found {
		m.job = job
		switch {
		case jobSucceeded(job):
			m.state = migrationDone
		case jobFailed(job) != nil:
			m.state = migrationFailed
			r.recordMigrationFailure(ms, job)
		default:
			m.state = migrationRunning
		}
		return r.pruneMigrationJobs(ctx, ms, m, jobs)
	}
	return r.startMigration(ctx, ms, obs, jobs)
}

// startMigration creates the current revision's Job once nothing stands in its way.
func (r *MicroserviceReconciler) startMigration(ctx context.Context, ms *v1alpha1.Microservice, obs *observed, jobs []batchv1.Job) error {
	m := &obs.migration
	m.state = migrationWaiting
	if ms.Spec.Database != nil {
		if db := databaseReadyCondition(ms, obs.database); db.Status != metav1.ConditionTrue {
			m.waitingFor = "the database to be ready"
			return nil
		}
	}
	for i := range jobs {
		if !jobFinished(&jobs[i]) {
			m.waitingFor = fmt.Sprintf("Job %s of an earlier revision to finish", jobs[i].Name)
			return nil
		}
	}
	job := resources.MigrationJob(ms, m.revision)
	if err := r.Create(ctx, job); err != nil {
		if apierrors.IsAlreadyExists(err) {
			// Made between our read and our create: the next pass reads it.
			return fmt.Errorf("migration Job %s appeared while kubeship created it: %w", m.jobName, err)
		}
		return fmt.Errorf("creating migration Job %s: %w", m.jobName, err)
	}
	obs.created = append(obs.created, "migration Job "+m.jobName)
	m.state, m.job = migrationRunning, job
	return nil
}

// migrationJobs lists the migration Jobs ms controls, from the cache.
func (r *MicroserviceReconciler) migrationJobs(ctx context.Context, ms *v1alpha1.Microservice) ([]batchv1.Job, error) {
	list := &batchv1.JobList{}
	if err := r.List(ctx, list, client.InNamespace(ms.Namespace), client.MatchingLabels{resources.LabelMigration: ms.Name}); err != nil {
		return nil, fmt.Errorf("listing migration Jobs: %w", err)
	}
	var owned []batchv1.Job
	for _, j := range list.Items {
		if metav1.IsControlledBy(&j, ms) {
			owned = append(owned, j)
		}
	}
	return owned, nil
}

func (r *MicroserviceReconciler) deleteMigrationJob(ctx context.Context, job *batchv1.Job) error {
	// Background propagation: a Job's own default orphans its pods.
	err := r.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground), client.Preconditions{UID: &job.UID})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting migration Job %s: %w", job.Name, err)
	}
	return nil
}

// recordMigrationFailure records a Warning event pointing at the failed Job, once per
// Job: the condition it produces carries the Job's name, so an event is due only when
// the stored condition does not say this yet.
func (r *MicroserviceReconciler) recordMigrationFailure(ms *v1alpha1.Microservice, job *batchv1.Job) {
	if r.Recorder == nil {
		return
	}
	want := migrationCondition(ms, migrationObserved{state: migrationFailed, jobName: job.Name, job: job})
	for _, c := range ms.Status.Conditions {
		if c.Type == want.Type && c.Reason == want.Reason && c.Message == want.Message {
			return
		}
	}
	r.Recorder.Eventf(ms, job, corev1.EventTypeWarning, EventMigrationFailed, "Migrate", "%s", want.Message)
}

func jobCondition(job *batchv1.Job, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range job.Status.Conditions {
		if c := &job.Status.Conditions[i]; c.Type == t && c.Status == corev1.ConditionTrue {
			return c
		}
	}
	return nil
}

func jobSucceeded(job *batchv1.Job) bool { return jobCondition(job, batchv1.JobComplete) != nil }

// jobFailed returns the Job's Failed condition, nil while it has not failed.
func jobFailed(job *batchv1.Job) *batchv1.JobCondition { return jobCondition(job, batchv1.JobFailed) }

func jobFinished(job *batchv1.Job) bool { return jobSucceeded(job) || jobFailed(job) != nil }
