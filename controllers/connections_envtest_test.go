package controllers

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

// admittedCallers reads the ingress policy called name in ns and returns the callers
// its rules admit, as "<namespace>/<microservice>".
func admittedCallers(g Gomega, ctx context.Context, ns, name string) []string {
	np := &networkingv1.NetworkPolicy{}
	g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, np)).To(Succeed())
	out := []string{}
	for _, rule := range np.Spec.Ingress {
		for _, p := range rule.From {
			if p.NamespaceSelector != nil && p.PodSelector != nil {
				out = append(out, p.NamespaceSelector.MatchLabels[resources.LabelNamespaceName]+"/"+p.PodSelector.MatchLabels[resources.LabelMicroservice])
			}
		}
	}
	return out
}

func setConnections(g Gomega, ctx context.Context, key client.ObjectKey, conns ...v1alpha1.Connection) {
	g.Eventually(func() error {
		ms := &v1alpha1.Microservice{}
		if err := k8s.Get(ctx, key, ms); err != nil {
			return err
		}
		ms.Spec.Connections = conns
		return k8s.Update(ctx, ms)
	}, timeout, interval).Should(Succeed())
}

// TestIngressPolicyFollowsCallers: the callee's policy admits exactly the pods of the
// Microservices that name it, in any namespace, and follows them as they are added,
// changed, removed and renamed, without anyone writing the callee.
func TestIngressPolicyFollowsCallers(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	shop, other := newNamespace(t), newNamespace(t)
	payments := newMicroservice(shop, "payments")
	payments.Spec.Network = &v1alpha1.NetworkSpec{Ingress: v1alpha1.NetworkConnections}
	calleeKey := createAndWaitForDeployment(g, ctx, payments)
	callers := func(g Gomega) []string { return admittedCallers(g, ctx, shop, "payments") }
	g.Eventually(callers, timeout, interval).Should(BeEmpty(), "no caller yet: nothing admitted")

	orders := newMicroservice(shop, "orders")
	orders.Spec.Connections = []v1alpha1.Connection{{Service: "payments", Port: "http"}}
	g.Expect(k8s.Create(ctx, orders)).To(Succeed())
	g.Eventually(callers, timeout, interval).Should(Equal([]string{shop + "/orders"}))

	refunds := newMicroservice(other, "refunds")
	refunds.Spec.Connections = []v1alpha1.Connection{{Service: "payments", Namespace: shop}}
	g.Expect(k8s.Create(ctx, refunds)).To(Succeed())
	g.Eventually(callers, timeout, interval).Should(ConsistOf(other+"/refunds", shop+"/orders"))

	// A second team's service naming "payments" means payments in its own namespace.
	intruder := newMicroservice(other, "intruder")
	intruder.Spec.Connections = []v1alpha1.Connection{{Service: "payments"}}
	g.Expect(k8s.Create(ctx, intruder)).To(Succeed())

	// orders drops the connection: its path closes.
	setConnections(g, ctx, client.ObjectKeyFromObject(orders))
	g.Eventually(callers, timeout, interval).Should(Equal([]string{other + "/refunds"}))

	// refunds is renamed (a new object, the old one deleted).
	g.Expect(k8s.Delete(ctx, refunds)).To(Succeed())
	renamed := newMicroservice(other, "refunds-v2")
	renamed.Spec.Connections = refunds.Spec.Connections
	g.Expect(k8s.Create(ctx, renamed)).To(Succeed())
	g.Eventually(callers, timeout, interval).Should(Equal([]string{other + "/refunds-v2"}))
	g.Consistently(callers, "500ms", interval).Should(Equal([]string{other + "/refunds-v2"}), "the intruder is never admitted")

	live := &v1alpha1.Microservice{}
	g.Expect(k8s.Get(ctx, calleeKey, live)).To(Succeed())
	g.Expect(live.Generation).To(Equal(int64(1)), "the callee's spec was never written")

	// Isolation off: the policy goes.
	g.Eventually(func() error {
		if err := k8s.Get(ctx, calleeKey, live); err != nil {
			return err
		}
		live.Spec.Network = nil
		return k8s.Update(ctx, live)
	}, timeout, interval).Should(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(k8s.Get(ctx, calleeKey, &networkingv1.NetworkPolicy{}))
	}, timeout, interval).Should(BeTrue())
}

// TestConnectionResolvesWhenCalleeAppears: a caller deployed before its callee is Ready
// and reports the connection unresolved; when the callee appears (and when its port
// changes) the caller's pods get its address, with no write to the caller.
func TestConnectionResolvesWhenCalleeAppears(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	frontend := newMicroservice(ns, "frontend")
	frontend.Spec.Connections = []v1alpha1.Connection{{Service: "orders"}}
	frontend.Spec.Network = &v1alpha1.NetworkSpec{Egress: v1alpha1.NetworkConnections}
	key := createAndWaitForDeployment(g, ctx, frontend)
	markDeploymentRolledOut(t, ctx, key)
	resolved := func(g Gomega) *metav1.Condition {
		ms := &v1alpha1.Microservice{}
		g.Expect(k8s.Get(ctx, key, ms)).To(Succeed())
		c := meta.FindStatusCondition(ms.Status.Conditions, v1alpha1.ConditionConnectionsResolved)
		g.Expect(c).NotTo(BeNil())
		return c
	}
	g.Eventually(func(g Gomega) {
		g.Expect(readyOf(g, ctx, key).Status).To(Equal(metav1.ConditionTrue), "an unresolved connection does not hold Ready back")
		g.Expect(resolved(g).Reason).To(Equal(v1alpha1.ReasonCalleeNotFound))
	}, timeout, interval).Should(Succeed())
	env := func(g Gomega) map[string]string {
		out := map[string]string{}
		for _, e := range getDeployment(g, ctx, key).Spec.Template.Spec.Containers[0].Env {
			out[e.Name] = e.Value
		}
		return out
	}
	g.Expect(env(g)).NotTo(HaveKey("CONNECTION_ORDERS_URL"))
	g.Expect(env(g)).To(HaveKeyWithValue("OTEL_SERVICE_NAME", "frontend"))
	egressPorts := func(g Gomega) []int32 {
		np := &networkingv1.NetworkPolicy{}
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "frontend-egress"}, np)).To(Succeed())
		var out []int32
		for _, r := range np.Spec.Egress[1:] { // after DNS
			for _, p := range r.Ports {
				out = append(out, p.Port.IntVal)
			}
		}
		return out
	}
	g.Eventually(egressPorts, timeout, interval).Should(BeEmpty(), "an unresolved callee stays closed")

	orders := newMicroservice(ns, "orders")
	createAndWaitForDeployment(g, ctx, orders)
	g.Eventually(env, timeout, interval).Should(HaveKeyWithValue("CONNECTION_ORDERS_URL", "http://orders."+ns+".svc.cluster.local:8080"))
	g.Eventually(func(g Gomega) { g.Expect(resolved(g).Status).To(Equal(metav1.ConditionTrue)) }, timeout, interval).Should(Succeed())
	g.Eventually(egressPorts, timeout, interval).Should(Equal([]int32{8080}))

	g.Eventually(func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(orders), orders); err != nil {
			return err
		}
		orders.Spec.Ports = []v1alpha1.ServicePort{{Name: "http", Port: 8081}}
		return k8s.Update(ctx, orders)
	}, timeout, interval).Should(Succeed())
	g.Eventually(env, timeout, interval).Should(HaveKeyWithValue("CONNECTION_ORDERS_PORT", "8081"))
	g.Eventually(egressPorts, timeout, interval).Should(Equal([]int32{8081}))
}

// TestPlainServiceGetsNoConnectionObjects: a service using neither field gets no
// policy, no status.connections and none of the new variables.
func TestPlainServiceGetsNoConnectionObjects(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ms := newMicroservice(newNamespace(t), "plain")
	key := createAndWaitForDeployment(g, ctx, ms)
	markDeploymentRolledOut(t, ctx, key)
	g.Eventually(func(g Gomega) { g.Expect(readyOf(g, ctx, key).Status).To(Equal(metav1.ConditionTrue)) }, timeout, interval).Should(Succeed())
	policies := &networkingv1.NetworkPolicyList{}
	g.Expect(k8s.List(ctx, policies, client.InNamespace(key.Namespace))).To(Succeed())
	g.Expect(policies.Items).To(BeEmpty())
	g.Expect(getDeployment(g, ctx, key).Spec.Template.Spec.Containers[0].Env).To(BeEmpty())
	live := &v1alpha1.Microservice{}
	g.Expect(k8s.Get(ctx, key, live)).To(Succeed())
	g.Expect(live.Status.Connections).To(BeNil())
	g.Expect(meta.FindStatusCondition(live.Status.Conditions, v1alpha1.ConditionConnectionsResolved)).To(BeNil())
}

// TestForeignPolicyIsNotTaken: a NetworkPolicy with the isolation policy's name that
// another team made is reported and left alone.
func TestForeignPolicyIsNotTaken(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	foreign := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ledger"},
		Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{}}},
	}
	g.Expect(k8s.Create(ctx, foreign)).To(Succeed())
	before := snapshotOf(g, ctx, foreign)
	ms := newMicroservice(ns, "ledger")
	ms.Spec.Network = &v1alpha1.NetworkSpec{Ingress: v1alpha1.NetworkConnections}
	key := createAndWaitForDeployment(g, ctx, ms)
	g.Eventually(func(g Gomega) {
		g.Expect(readyOf(g, ctx, key).Reason).To(Equal(v1alpha1.ReasonResourceNotOwned))
	}, timeout, interval).Should(Succeed())
	g.Expect(snapshotOf(g, ctx, foreign)).To(Equal(before))
}
