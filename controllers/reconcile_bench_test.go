package controllers

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

// BenchmarkConvergedPass measures what a resync costs per Microservice once it has
// converged, side by side: kubeship's first pass after a start (compares the fields it
// owns in the cached children and sends nothing), its later passes (the memo shows the
// children unchanged since, so nothing is compared), and applying every child on each
// pass.
func BenchmarkConvergedPass(b *testing.B) {
	ctx := context.Background()
	ns := fmt.Sprintf("bench-%d", time.Now().UnixNano()%100000)
	if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		b.Fatal(err)
	}
	ms := newMicroservice(ns, "steady")
	ms.Spec.Env = []corev1.EnvVar{{Name: "A", Value: "1"}}
	if err := k8s.Create(ctx, ms); err != nil {
		b.Fatal(err)
	}
	key := client.ObjectKeyFromObject(ms)
	waitFor(b, func() bool { return k8s.Get(ctx, key, &appsv1.Deployment{}) == nil })
	d := &appsv1.Deployment{}
	_ = k8s.Get(ctx, key, d)
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1,
		Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue}}}
	if err := k8s.Status().Update(ctx, d); err != nil {
		b.Fatal(err)
	}
	waitFor(b, func() bool {
		got := &v1alpha1.Microservice{}
		cached := &v1alpha1.Microservice{}
		return k8s.Get(ctx, key, got) == nil && meta.IsStatusConditionTrue(got.Status.Conditions, v1alpha1.ConditionReady) &&
			mgrClient.Get(ctx, key, cached) == nil && cached.ResourceVersion == got.ResourceVersion
	})
	req := ctrl.Request{NamespacedName: key}
	// The first pass after a start compares the fields kubeship owns in each child; the
	// passes after it find the children as the memo last saw them and compare nothing.
	b.Run("kubeship-pass-first", func(b *testing.B) {
		r := &MicroserviceReconciler{Client: mgrClient}
		for b.Loop() {
			if _, err := r.Reconcile(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("kubeship-pass-remembered", func(b *testing.B) {
		r := &MicroserviceReconciler{Client: mgrClient, applied: newAppliedMemo()}
		if _, err := r.Reconcile(ctx, req); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := r.Reconcile(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("apply-every-child", func(b *testing.B) {
		for b.Loop() {
			cur := &v1alpha1.Microservice{}
			if err := mgrClient.Get(ctx, key, cur); err != nil {
				b.Fatal(err)
			}
			if err := mgrClient.Apply(ctx, resources.Deployment(cur), client.ForceOwnership); err != nil {
				b.Fatal(err)
			}
			if err := mgrClient.Apply(ctx, resources.Service(cur), client.ForceOwnership); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// waitFor waits for cond with Gomega, which *testing.B satisfies.
func waitFor(b *testing.B, cond func() bool) {
	b.Helper()
	NewWithT(b).Eventually(cond, 20*time.Second, 50*time.Millisecond).Should(BeTrue(), "the Microservice did not converge")
}
