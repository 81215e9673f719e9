package controllers

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// Removing a dedicated spec.database under Delete: the StatefulSet would be collected
// with the Microservice and, with whenDeleted: Delete, take its claims along. Instead
// every database object loses its owner reference and the claims are retained.
// (envtest runs no garbage collector: the owner references are what it would follow.)
func TestRemovingDedicatedDatabaseKeepsClaims(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	ms := newMicroservice(ns, "orders")
	ms.Spec.Database = &v1alpha1.DatabaseSpec{Engine: v1alpha1.EnginePostgres, DeletionPolicy: v1alpha1.DeletionDelete}
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)
	sts := &appsv1.StatefulSet{}
	g.Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, dbKey(key), sts)).To(Succeed())
		g.Expect(k8s.Get(ctx, dbKey(key), &networkingv1.NetworkPolicy{})).To(Succeed())
		cur := &v1alpha1.Microservice{}
		g.Expect(k8s.Get(ctx, key, cur)).To(Succeed())
		g.Expect(cur.Status.Database).NotTo(BeNil())
	}, timeout, interval).Should(Succeed())
	g.Expect(metav1.IsControlledBy(sts, ms)).To(BeTrue())
	g.Expect(sts.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted).To(Equal(appsv1.DeletePersistentVolumeClaimRetentionPolicyType))

	g.Eventually(func() error {
		cur := &v1alpha1.Microservice{}
		if err := k8s.Get(ctx, key, cur); err != nil {
			return err
		}
		cur.Spec.Database = nil
		return k8s.Update(ctx, cur)
	}, timeout, interval).Should(Succeed())

	g.Eventually(func(g Gomega) {
		for _, obj := range []client.Object{&appsv1.StatefulSet{}, &corev1.Service{}, &networkingv1.NetworkPolicy{}, &corev1.Secret{}} {
			g.Expect(k8s.Get(ctx, dbKey(key), obj)).To(Succeed())
			g.Expect(obj.GetOwnerReferences()).To(BeEmpty(), "%T", obj)
		}
		kept := &appsv1.StatefulSet{}
		g.Expect(k8s.Get(ctx, dbKey(key), kept)).To(Succeed())
		g.Expect(kept.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted).To(Equal(appsv1.RetainPersistentVolumeClaimRetentionPolicyType))
		g.Expect(eventNotes(g, ctx, ns, "orders", EventDatabaseKept)).To(ConsistOf(HavePrefix(
			"spec.database was removed; kept StatefulSet orders-db with its volume claims, Service orders-db, NetworkPolicy orders-db, Secret orders-db.")))
	}, timeout, interval).Should(Succeed())
}
