package controllers

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

// newMigratingMicroservice is newMicroservice with a migration.
func newMigratingMicroservice(ns, name string) *v1alpha1.Microservice {
	ms := newMicroservice(ns, name)
	ms.Spec.Migration = &v1alpha1.MigrationSpec{Command: []string{"/app", "migrate"}}
	return ms
}

// migrationJobKey is the key of the Job that migrates ms as it is now.
func migrationJobKey(ms *v1alpha1.Microservice) client.ObjectKey {
	return client.ObjectKey{Namespace: ms.Namespace, Name: resources.MigrationJobName(ms, resources.MigrationRevision(ms))}
}

// waitForJob waits until the Job that migrates ms (as the API server now has it) exists.
func waitForJob(g Gomega, ctx context.Context, key client.ObjectKey) *batchv1.Job {
	job := &batchv1.Job{}
	g.Eventually(func(g Gomega) {
		ms := &v1alpha1.Microservice{}
		g.Expect(k8s.Get(ctx, key, ms)).To(Succeed())
		g.Expect(k8s.Get(ctx, migrationJobKey(ms), job)).To(Succeed())
	}, timeout, interval).Should(Succeed())
	return job
}

// finishJob plays the Job controller: the Job's one pod succeeded (or failed), with the
// status the API server requires of a finished Job.
func finishJob(t *testing.T, ctx context.Context, key client.ObjectKey, succeeded bool) {
	t.Helper()
	job := &batchv1.Job{}
	if err := k8s.Get(ctx, key, job); err != nil {
		t.Fatalf("reading Job %s: %v", key.Name, err)
	}
	now := metav1.NewTime(time.Now().Truncate(time.Second))
	job.Status.StartTime = &now
	cond := func(t batchv1.JobConditionType, reason, msg string) batchv1.JobCondition {
		return batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: msg, LastProbeTime: now, LastTransitionTime: now}
	}
	if succeeded {
		job.Status.Succeeded, job.Status.CompletionTime = 1, &now
		job.Status.Conditions = []batchv1.JobCondition{
			cond(batchv1.JobSuccessCriteriaMet, "CompletionsReached", "Reached expected number of succeeded pods"),
			cond(batchv1.JobComplete, "CompletionsReached", "Reached expected number of succeeded pods"),
		}
	} else {
		job.Status.Failed = 1
		job.Status.Conditions = []batchv1.JobCondition{
			cond(batchv1.JobFailureTarget, "BackoffLimitExceeded", "Job has reached the specified backoff limit"),
			cond(batchv1.JobFailed, "BackoffLimitExceeded", "Job has reached the specified backoff limit"),
		}
	}
	if err := k8s.Status().Update(ctx, job); err != nil {
		t.Fatalf("writing Job %s status: %v", key.Name, err)
	}
}

// conditionOf returns ms's condition typ, or nil.
func conditionOf(g Gomega, ctx context.Context, key client.ObjectKey, typ string) *metav1.Condition {
	ms := &v1alpha1.Microservice{}
	g.Expect(k8s.Get(ctx, key, ms)).To(Succeed())
	return meta.FindStatusCondition(ms.Status.Conditions, typ)
}

// templateImage is the image of the live Deployment's app container.
func templateImage(g Gomega, ctx context.Context, key client.ObjectKey) string {
	return getDeployment(g, ctx, key).Spec.Template.Spec.Containers[0].Image
}

// setImage changes ms's image on the API server.
func setImage(g Gomega, ctx context.Context, key client.ObjectKey, image string) {
	g.Eventually(func() error {
		ms := &v1alpha1.Microservice{}
		if err := k8s.Get(ctx, key, ms); err != nil {
			return err
		}
		ms.Spec.Image = image
		return k8s.Update(ctx, ms)
	}, timeout, interval).Should(Succeed())
}

// kstatusOf is what kstatus (Flux, kpt, cli-utils' status poller) makes of ms now.
// It reads the object as the API server serves it, not through the typed struct, whose
// omitempty fields would hide a zero status.observedGeneration.
func kstatusOf(g Gomega, ctx context.Context, key client.ObjectKey) kstatus.Status {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("Microservice"))
	g.Expect(k8s.Get(ctx, key, u)).To(Succeed())
	res, err := kstatus.Compute(u)
	g.Expect(err).NotTo(HaveOccurred())
	return res.Status
}
