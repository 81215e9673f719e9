package controllers

import (
	"context"
	"slices"
	"strings"

	batchv1 "k8s.io/api/batch/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// MigrationJobsRetained is how many finished migration Jobs of earlier revisions are
// kept, newest first, for their logs; older ones are deleted. The current revision's
// Job and the one of the last success are always kept, as is any Job still running.
const MigrationJobsRetained = 3

// pruneMigrationJobs deletes the finished migration Jobs past the retention count.
func (r *MicroserviceReconciler) pruneMigrationJobs(ctx context.Context, ms *v1alpha1.Microservice, m *migrationObserved, jobs []batchv1.Job) error {
	lastSuccess := m.jobName
	if st := ms.Status.Migration; m.state != migrationDone && st != nil {
		lastSuccess = st.JobName
	}
	for _, job := range jobsToPrune(m.jobName, lastSuccess, jobs) {
		if err := r.deleteMigrationJob(ctx, &job); err != nil {
			return err
		}
	}
	return nil
}

// jobsToPrune picks, from a Microservice's migration Jobs, those to delete: neither
// the current revision's nor the last success's (as this pass records it), nor one
// still running, nor the newest finished others. It is pure.
func jobsToPrune(current, lastSuccess string, jobs []batchv1.Job) []batchv1.Job {
	keep := map[string]bool{current: true, lastSuccess: true}
	var old []batchv1.Job
	for _, j := range jobs {
		if !keep[j.Name] && jobFinished(&j) && j.DeletionTimestamp.IsZero() {
			old = append(old, j)
		}
	}
	// Newest first; the name breaks ties of Jobs made within one second.
	slices.SortFunc(old, func(a, b batchv1.Job) int {
		if c := b.CreationTimestamp.Compare(a.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(b.Name, a.Name)
	})
	if len(old) <= MigrationJobsRetained {
		return nil
	}
	return old[MigrationJobsRetained:]
}
