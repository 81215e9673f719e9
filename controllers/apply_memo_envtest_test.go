package controllers

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// A pass that remembers its children hold what kubeship applies must still see a
// person's edit of a field kubeship owns, and put the field back.
func TestEditedChildrenAreRestoredAfterTheMemoRememberedThem(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ms := newMicroservice(newDrivenNamespace(t), "edited")
	ms.Spec.Ports = []v1alpha1.ServicePort{{Name: "http", Port: 8080}}
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)
	counter := &writeCounter{Client: mgrClient}
	r := &MicroserviceReconciler{Client: counter, APIReader: k8s, applied: newAppliedMemo()}

	cacheInSync := func() {
		versions := func(c client.Reader) []string {
			return resourceVersionsOf(g, ctx, c, key, &v1alpha1.Microservice{}, &appsv1.Deployment{}, &corev1.Service{})
		}
		g.Eventually(func(g Gomega) {
			_ = k8s.Get(ctx, key, &appsv1.Deployment{}) // created by the first pass
			g.Expect(versions(mgrClient)).To(Equal(versions(k8s)))
		}, timeout, interval).Should(Succeed())
	}
	g.Eventually(func() error { return mgrClient.Get(ctx, key, &v1alpha1.Microservice{}) }, timeout, interval).Should(Succeed())
	// Passes until one writes nothing: the children are made, status follows them.
	for pass := 0; ; pass++ {
		g.Expect(pass).To(BeNumerically("<", 4), "the passes never converged")
		counter.writes.Store(0)
		_, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: key})
		g.Expect(err).NotTo(HaveOccurred())
		if pass > 0 && counter.writes.Load() == 0 {
			break
		}
		g.Eventually(func() error { return k8s.Get(ctx, key, &appsv1.Deployment{}) }, timeout, interval).Should(Succeed())
		cacheInSync()
	}
	g.Expect(heldIndex(r.applied.held[key], "Deployment")).To(BeNumerically(">=", 0))
	g.Expect(heldIndex(r.applied.held[key], "Service")).To(BeNumerically(">=", 0))

	// Someone edits both children with plain updates, as `kubectl edit` does.
	d := &appsv1.Deployment{}
	g.Expect(k8s.Get(ctx, key, d)).To(Succeed())
	d.Spec.Template.Spec.Containers[0].Image = "ghcr.io/someone/else:9"
	g.Expect(k8s.Update(ctx, d, client.FieldOwner("kubectl-edit"))).To(Succeed())
	svc := &corev1.Service{}
	g.Expect(k8s.Get(ctx, key, svc)).To(Succeed())
	svc.Spec.Ports[0].Name = "renamed"
	g.Expect(k8s.Update(ctx, svc, client.FieldOwner("kubectl-edit"))).To(Succeed())
	cacheInSync()

	counter.writes.Store(0)
	_, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: key})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(k8s.Get(ctx, key, d)).To(Succeed())
	g.Expect(d.Spec.Template.Spec.Containers[0].Image).To(Equal(ms.Spec.Image), "the Deployment's image")
	g.Expect(k8s.Get(ctx, key, svc)).To(Succeed())
	g.Expect(svc.Spec.Ports[0].Name).To(Equal("http"), "the Service's port name")
	g.Expect(counter.writes.Load()).To(BeNumerically(">=", 2), "one apply per edited child")
}
