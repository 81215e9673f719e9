package controllers

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

// The first Deployment waits for the first migration: no Deployment (not even one at
// zero replicas) exists while the Job runs.
func TestFirstMigrationGatesTheFirstDeployment(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ms := newMigratingMicroservice(newNamespace(t), "orders")
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)

	job := waitForJob(g, ctx, key)
	g.Expect(job.Spec.Template.Spec.Containers[0].Image).To(Equal("ghcr.io/acme/orders:1.0.0"))
	g.Expect(metav1.IsControlledBy(job, ms)).To(BeTrue(), "the Job is the Microservice's child")
	ready := waitForReason(g, ctx, key, v1alpha1.ConditionReady, v1alpha1.ReasonMigrating)
	g.Expect(ready.Message).To(ContainSubstring("Migration Job " + job.Name + " is running"))
	g.Expect(ready.Message).To(ContainSubstring("the Deployment is created once it succeeds"))
	g.Expect(conditionOf(g, ctx, key, v1alpha1.ConditionReconciling)).To(HaveField("Status", metav1.ConditionTrue))
	g.Expect(kstatusOf(g, ctx, key)).To(Equal(kstatus.InProgressStatus))
	g.Expect(k8s.Get(ctx, key, &appsv1.Deployment{})).To(Satisfy(apierrors.IsNotFound), "no Deployment before the first migration")

	finishJob(t, ctx, client.ObjectKeyFromObject(job), true)
	g.Eventually(func(g Gomega) { g.Expect(templateImage(g, ctx, key)).To(Equal("ghcr.io/acme/orders:1.0.0")) }, timeout, interval).Should(Succeed())
	markDeploymentRolledOut(t, ctx, key)
	waitForReason(g, ctx, key, v1alpha1.ConditionReady, v1alpha1.ReasonReady)
	got := &v1alpha1.Microservice{}
	g.Expect(k8s.Get(ctx, key, got)).To(Succeed())
	g.Expect(got.Status.Migration).To(Equal(&v1alpha1.MigrationStatus{
		Revision: resources.MigrationRevision(got), JobName: job.Name, Image: "ghcr.io/acme/orders:1.0.0"}))
	g.Expect(conditionOf(g, ctx, key, v1alpha1.ConditionMigrationSucceeded)).To(HaveField("Status", metav1.ConditionTrue))
	g.Expect(conditionOf(g, ctx, key, v1alpha1.ConditionReconciling)).To(BeNil())
	g.Expect(kstatusOf(g, ctx, key)).To(Equal(kstatus.CurrentStatus), "migrated and rolled out")
}

// migratedAndReady creates a migrating Microservice and takes it through its first
// migration and rollout.
func migratedAndReady(t *testing.T, g Gomega, ctx context.Context, ms *v1alpha1.Microservice) client.ObjectKey {
	t.Helper()
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)
	finishJob(t, ctx, client.ObjectKeyFromObject(waitForJob(g, ctx, key)), true)
	g.Eventually(func(g Gomega) { getDeployment(g, ctx, key) }, timeout, interval).Should(Succeed())
	markDeploymentRolledOut(t, ctx, key)
	waitForReason(g, ctx, key, v1alpha1.ConditionReady, v1alpha1.ReasonReady)
	return key
}

// An image bump keeps the old pod template while the new image's migration runs; other
// fields (here the replica count, changed in the same edit) still reach the Deployment.
func TestImageBumpKeepsTheOldTemplateUntilTheMigrationSucceeded(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	key := migratedAndReady(t, g, ctx, newMigratingMicroservice(newNamespace(t), "payments"))
	oldJob := migrationJobKey(mustGet(g, ctx, key))

	g.Eventually(func() error {
		ms := mustGet(g, ctx, key)
		ms.Spec.Image, ms.Spec.Replicas = "ghcr.io/acme/payments:2.0.0", ptr.To[int32](3)
		return k8s.Update(ctx, ms)
	}, timeout, interval).Should(Succeed())
	job := waitForJob(g, ctx, key)
	g.Expect(job.Name).NotTo(Equal(oldJob.Name))
	g.Expect(job.Spec.Template.Spec.Containers[0].Image).To(Equal("ghcr.io/acme/payments:2.0.0"), "the migration runs the NEW image")
	waitForReason(g, ctx, key, v1alpha1.ConditionReady, v1alpha1.ReasonMigrating)
	g.Expect(kstatusOf(g, ctx, key)).To(Equal(kstatus.InProgressStatus))
	g.Eventually(func(g Gomega) { g.Expect(getDeployment(g, ctx, key).Spec.Replicas).To(Equal(ptr.To[int32](3))) }, timeout, interval).Should(Succeed())
	g.Expect(templateImage(g, ctx, key)).To(Equal("ghcr.io/acme/payments:1.0.0"), "the old template keeps serving while migrating")

	finishJob(t, ctx, client.ObjectKeyFromObject(job), true)
	g.Eventually(func(g Gomega) { g.Expect(templateImage(g, ctx, key)).To(Equal("ghcr.io/acme/payments:2.0.0")) }, timeout, interval).Should(Succeed())
	markDeploymentRolledOut(t, ctx, key)
	waitForReason(g, ctx, key, v1alpha1.ConditionReady, v1alpha1.ReasonReady)
	g.Expect(mustGet(g, ctx, key).Status.Migration.JobName).To(Equal(job.Name))
}

// A failed migration stops the rollout with a reason naming the Job and a Warning event
// pointing at it; the failed Job is kept, and a new spec change retries with a new Job.
func TestFailedMigrationStopsTheRolloutAndASpecChangeRetries(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	key := migratedAndReady(t, g, ctx, newMigratingMicroservice(ns, "billing"))

	setImage(g, ctx, key, "ghcr.io/acme/billing:2.0.0")
	failed := waitForJob(g, ctx, key)
	finishJob(t, ctx, client.ObjectKeyFromObject(failed), false)
	ready := waitForReason(g, ctx, key, v1alpha1.ConditionReady, v1alpha1.ReasonMigrationFailed)
	g.Expect(ready.Message).To(ContainSubstring("Migration Job " + failed.Name + " failed (BackoffLimitExceeded"))
	g.Expect(ready.Message).To(ContainSubstring("the previous version keeps serving"))
	g.Expect(conditionOf(g, ctx, key, v1alpha1.ConditionStalled)).To(HaveField("Reason", v1alpha1.ReasonMigrationFailed))
	g.Expect(kstatusOf(g, ctx, key)).To(Equal(kstatus.FailedStatus))
	g.Expect(conditionOf(g, ctx, key, v1alpha1.ConditionReconciling)).To(BeNil())
	g.Expect(templateImage(g, ctx, key)).To(Equal("ghcr.io/acme/billing:1.0.0"))
	g.Eventually(func(g Gomega) {
		list := &eventsv1.EventList{}
		g.Expect(k8s.List(ctx, list, client.InNamespace(ns))).To(Succeed())
		var found *eventsv1.Event
		for i, e := range list.Items {
			if e.Reason == EventMigrationFailed {
				found = &list.Items[i]
			}
		}
		g.Expect(found).NotTo(BeNil())
		g.Expect(found.Type).To(Equal(corev1.EventTypeWarning))
		g.Expect(found.Regarding.Name).To(Equal("billing"))
		g.Expect(found.Related).NotTo(BeNil())
		g.Expect(*found.Related).To(HaveField("Kind", "Job"))
		g.Expect(found.Related.Name).To(Equal(failed.Name))
	}, timeout, interval).Should(Succeed())

	setImage(g, ctx, key, "ghcr.io/acme/billing:2.0.1")
	retry := waitForJob(g, ctx, key)
	g.Expect(retry.Name).NotTo(Equal(failed.Name))
	waitForReason(g, ctx, key, v1alpha1.ConditionReady, v1alpha1.ReasonMigrating)
	finishJob(t, ctx, client.ObjectKeyFromObject(retry), true)
	g.Eventually(func(g Gomega) { g.Expect(templateImage(g, ctx, key)).To(Equal("ghcr.io/acme/billing:2.0.1")) }, timeout, interval).Should(Succeed())
	g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(failed), &batchv1.Job{})).To(Succeed(), "the failed Job is kept for its logs")
	g.Eventually(func(g Gomega) { g.Expect(conditionOf(g, ctx, key, v1alpha1.ConditionStalled)).To(BeNil()) }, timeout, interval).Should(Succeed())
}

// A second team's Job under the migration's name, even a succeeded one, is neither run,
// nor taken for the migration, nor touched: the rollout stays held.
func TestForeignJobWithTheMigrationNameIsNeverTakenForTheMigration(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	ms := newMigratingMicroservice(ns, "ledger")
	foreign := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: migrationJobKey(ms).Name, Labels: map[string]string{"team": "other"}},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "other", Image: "busybox"}},
		}}},
	}
	g.Expect(k8s.Create(ctx, foreign)).To(Succeed())
	finishJob(t, ctx, client.ObjectKeyFromObject(foreign), true)
	before := snapshotOf(g, ctx, foreign)

	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)
	ready := waitForReason(g, ctx, key, v1alpha1.ConditionReady, v1alpha1.ReasonResourceNotOwned)
	g.Expect(ready.Message).To(ContainSubstring("Job " + foreign.Name + " exists and is not controlled by this Microservice"))
	g.Expect(conditionOf(g, ctx, key, v1alpha1.ConditionStalled)).To(HaveField("Reason", v1alpha1.ReasonResourceNotOwned))
	g.Expect(k8s.Get(ctx, key, &appsv1.Deployment{})).To(Satisfy(apierrors.IsNotFound), "a foreign success is no migration")
	g.Expect(snapshotOf(g, ctx, foreign)).To(Equal(before))
	g.Expect(mustGet(g, ctx, key).Status.Migration).To(BeNil())
}

// Finished Jobs of earlier revisions are deleted past the retention count; the last
// success and the current one stay.
func TestOldMigrationJobsAreCleanedUpAfterTheRetentionCount(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	key := migratedAndReady(t, g, ctx, newMigratingMicroservice(ns, "search"))
	for i := 2; i <= MigrationJobsRetained+3; i++ {
		setImage(g, ctx, key, "ghcr.io/acme/search:"+string(rune('0'+i))+".0.0")
		finishJob(t, ctx, client.ObjectKeyFromObject(waitForJob(g, ctx, key)), true)
		g.Eventually(func(g Gomega) {
			ms := mustGet(g, ctx, key)
			g.Expect(ms.Status.Migration).NotTo(BeNil())
			g.Expect(ms.Status.Migration.Revision).To(Equal(resources.MigrationRevision(ms)))
		}, timeout, interval).Should(Succeed())
	}
	current := migrationJobKey(mustGet(g, ctx, key)).Name
	g.Eventually(func(g Gomega) {
		list := &batchv1.JobList{}
		g.Expect(k8s.List(ctx, list, client.InNamespace(ns))).To(Succeed())
		var names []string
		for _, j := range list.Items {
			if j.DeletionTimestamp.IsZero() {
				names = append(names, j.Name)
			}
		}
		g.Expect(names).To(HaveLen(MigrationJobsRetained+1), "the current Job and %d earlier ones", MigrationJobsRetained)
		g.Expect(names).To(ContainElement(current))
	}, timeout, interval).Should(Succeed())
}

// A Microservice without spec.migration gets no Job and no migration conditions.
func TestNoMigrationMeansNoJobAndNoConditions(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	key := createAndWaitForDeployment(g, ctx, newMicroservice(ns, "plain"))
	markDeploymentRolledOut(t, ctx, key)
	waitForReason(g, ctx, key, v1alpha1.ConditionReady, v1alpha1.ReasonReady)
	list := &batchv1.JobList{}
	g.Expect(k8s.List(ctx, list, client.InNamespace(ns))).To(Succeed())
	g.Expect(list.Items).To(BeEmpty())
	ms := mustGet(g, ctx, key)
	for _, typ := range []string{v1alpha1.ConditionMigrationSucceeded, v1alpha1.ConditionReconciling, v1alpha1.ConditionStalled} {
		g.Expect(conditionOf(g, ctx, key, typ)).To(BeNil(), typ)
	}
	g.Expect(ms.Status.Migration).To(BeNil())
}

func mustGet(g Gomega, ctx context.Context, key client.ObjectKey) *v1alpha1.Microservice {
	ms := &v1alpha1.Microservice{}
	g.Expect(k8s.Get(ctx, key, ms)).To(Succeed())
	return ms
}
