package controllers

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// The manager's passes run under Options.ReconcileTimeout (45s in the test options,
// not the default minute), so a stuck call cannot hold a worker forever.
func TestPassesRunUnderReconcileTimeout(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ms := newMicroservice(newNamespace(t), "bounded")
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	req := reconcile.Request{NamespacedName: client.ObjectKeyFromObject(ms)}
	g.Eventually(func() int { return passes.of("microservice", req) }, timeout, interval).Should(BeNumerically(">", 0))
	g.Expect(passes.budgetOf("microservice", req)).To(And(
		BeNumerically(">", 40*time.Second), BeNumerically("<=", testOptions.ReconcileTimeout)))
}
