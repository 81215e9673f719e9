package controllers

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// Before the operator first reports, a Microservice or DatabaseServer must not look
// finished: kstatus calls an object with no status at all Current. The CRDs default
// status.observedGeneration to 0, behind metadata.generation, which kstatus reads as
// InProgress. The objects live in a driven namespace (and the server names a Secret that
// does not exist, in a test of its own), read straight from the API server.
func TestUnreportedObjectsReadInProgress(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ms := newMicroservice(newDrivenNamespace(t), "fresh")
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())

	read := func(gvk schema.GroupVersionKind, key client.ObjectKey) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(gvk)
		g.Expect(k8s.Get(ctx, key, u)).To(Succeed())
		return u
	}
	u := read(v1alpha1.GroupVersion.WithKind("Microservice"), client.ObjectKeyFromObject(ms))
	observed, found, err := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(found).To(BeTrue(), "status.observedGeneration is missing before the first report: %v", u.Object["status"])
	g.Expect(observed).To(BeZero())
	res, err := kstatus.Compute(u)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Status).To(Equal(kstatus.InProgressStatus), "kstatus of a Microservice the operator never reported on: %s", res.Message)

	// The DatabaseServer controller checks every server at once, so read the create's
	// own response: the object as stored, before any pass.
	server := &unstructured.Unstructured{}
	server.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("DatabaseServer"))
	server.SetName("unreported-" + ms.Namespace)
	g.Expect(unstructured.SetNestedMap(server.Object, map[string]any{
		"engine": "postgres", "host": "db.example", "port": int64(5432),
		"adminSecretRef": map[string]any{"namespace": testOptions.OperatorNamespace, "name": "absent"},
	}, "spec")).To(Succeed())
	g.Expect(k8s.Create(ctx, server)).To(Succeed())
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), server) })
	res, err = kstatus.Compute(server)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(res.Status).To(Equal(kstatus.InProgressStatus), "kstatus of a DatabaseServer as created: %s (%v)", res.Message, server.Object["status"])
}

// With --first-status-delay a new service's first report waits while it would only say
// "on its way", so one that is Ready within the delay costs a single status write; kstatus
// still reads it InProgress meanwhile. A failure, and the end of the delay, are written
// at once.
func TestFirstStatusWaitsForReadyWithinTheDelay(t *testing.T) {
	ctx := context.Background()
	pass := func(g Gomega, r *MicroserviceReconciler, key client.ObjectKey) ctrl.Result {
		res, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: key})
		g.Expect(err).NotTo(HaveOccurred())
		return res
	}
	ready := func(g Gomega, key client.ObjectKey) *metav1.Condition {
		ms := &v1alpha1.Microservice{}
		g.Expect(k8s.Get(ctx, key, ms)).To(Succeed())
		return meta.FindStatusCondition(ms.Status.Conditions, v1alpha1.ConditionReady)
	}

	t.Run("Ready within the delay: one status write", func(t *testing.T) {
		g := NewWithT(t)
		ms := newMicroservice(newDrivenNamespace(t), "quick")
		g.Expect(k8s.Create(ctx, ms)).To(Succeed())
		key := client.ObjectKeyFromObject(ms)
		r, counter := firstDelayReconciler(time.Hour)

		res := pass(g, r, key)
		g.Expect(res.RequeueAfter).To(BeNumerically(">", 50*time.Minute), "the first report should wait for the rest of the delay")
		g.Expect(counter.statusWrites.Load()).To(BeZero(), "a progress-only first report was written during the delay")
		g.Expect(ready(g, key)).To(BeNil())
		g.Expect(kstatusOf(g, ctx, key)).To(Equal(kstatus.InProgressStatus))

		markDeploymentRolledOut(t, ctx, key)
		g.Expect(pass(g, r, key).RequeueAfter).To(BeZero())
		g.Expect(counter.statusWrites.Load()).To(Equal(int64(1)))
		g.Expect(ready(g, key)).To(HaveField("Status", metav1.ConditionTrue))
		g.Expect(kstatusOf(g, ctx, key)).To(Equal(kstatus.CurrentStatus))
	})

	t.Run("no delay: the progress report goes out at once", func(t *testing.T) {
		g := NewWithT(t)
		ms := newMicroservice(newDrivenNamespace(t), "plain")
		g.Expect(k8s.Create(ctx, ms)).To(Succeed())
		key := client.ObjectKeyFromObject(ms)
		r, counter := firstDelayReconciler(0)

		g.Expect(pass(g, r, key).RequeueAfter).To(BeZero())
		g.Expect(counter.statusWrites.Load()).To(Equal(int64(1)))
		g.Expect(ready(g, key)).To(HaveField("Status", metav1.ConditionFalse))
	})

	t.Run("the delay has passed: the progress report goes out", func(t *testing.T) {
		g := NewWithT(t)
		ms := newMicroservice(newDrivenNamespace(t), "slow")
		g.Expect(k8s.Create(ctx, ms)).To(Succeed())
		key := client.ObjectKeyFromObject(ms)
		r, counter := firstDelayReconciler(time.Nanosecond)

		g.Expect(pass(g, r, key).RequeueAfter).To(BeZero())
		g.Expect(counter.statusWrites.Load()).To(Equal(int64(1)))
		g.Expect(ready(g, key)).To(HaveField("Reason", BeElementOf(v1alpha1.ReasonObservedGenerationStale, v1alpha1.ReasonRolloutInProgress)))
	})

	t.Run("a refused child is reported at once", func(t *testing.T) {
		g := NewWithT(t)
		ns := newDrivenNamespace(t)
		foreign := newMicroservice(ns, "taken")
		// Someone else's Service already has the name.
		g.Expect(k8s.Create(ctx, legacyService(ns, "taken"))).To(Succeed())
		g.Expect(k8s.Create(ctx, foreign)).To(Succeed())
		key := client.ObjectKeyFromObject(foreign)
		r, counter := firstDelayReconciler(time.Hour)

		g.Expect(pass(g, r, key).RequeueAfter).To(BeNumerically("<=", notOwnedRecheck))
		g.Expect(counter.statusWrites.Load()).To(Equal(int64(1)))
		g.Expect(ready(g, key)).To(HaveField("Reason", v1alpha1.ReasonResourceNotOwned))
	})
}

// firstDelayReconciler is a reconciler whose first status may wait for first, and the
// counter of the status writes it makes.
func firstDelayReconciler(first time.Duration) (*MicroserviceReconciler, *statusWriteCounter) {
	counter := &statusWriteCounter{Client: k8s}
	return &MicroserviceReconciler{Client: client.WithFieldOwner(counter, FieldOwner), APIReader: k8s,
		progress: newProgressCoalescer(DefaultProgressCoalesce, first)}, counter
}

// statusWriteCounter counts the status writes made through it.
type statusWriteCounter struct {
	client.Client
	statusWrites atomic.Int64
}

func (c *statusWriteCounter) Status() client.SubResourceWriter {
	return &statusCounter{SubResourceWriter: c.Client.Status(), writes: &c.statusWrites}
}
