package controllers

import (
	"context"
	"testing"

	. "github.com/onsi/gomega"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// With ingressClassName, kubeship makes an Ingress; Routed mirrors its load-balancer
// status, and with readyRequiresRoutes Ready waits for it.
func TestRoutesIngress(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	ms := newMicroservice(ns, "web")
	ms.Spec.ReadyRequiresRoutes = true
	ms.Spec.Routes = []v1alpha1.Route{{Host: "web.example.com", IngressClassName: ptr.To("nginx"), TLS: &v1alpha1.RouteTLS{SecretName: "web-tls"}}}
	key := createAndWaitForDeployment(g, ctx, ms)
	markDeploymentRolledOut(t, ctx, key)

	ing := &networkingv1.Ingress{}
	g.Eventually(func() error { return k8s.Get(ctx, key, ing) }, timeout, interval).Should(Succeed())
	g.Expect(metav1.IsControlledBy(ing, getMicroservice(g, ctx, key))).To(BeTrue())
	g.Expect(ing.Spec.IngressClassName).To(Equal(ptr.To("nginx")))
	g.Expect(ing.Spec.TLS).To(Equal([]networkingv1.IngressTLS{{Hosts: []string{"web.example.com"}, SecretName: "web-tls"}}))
	g.Expect(ing.Spec.Rules).To(HaveLen(1))
	g.Expect(ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port.Name).To(Equal("http"))
	waitForReason(g, ctx, key, v1alpha1.ConditionRouted, v1alpha1.ReasonRoutePending)
	ready := waitForReason(g, ctx, key, v1alpha1.ConditionReady, v1alpha1.ReasonRoutesNotReady)
	g.Expect(ready.Message).To(ContainSubstring("Waiting for the Ingress controller of class nginx"))

	// The Ingress controller publishes an address.
	ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: "192.0.2.10"}}
	g.Expect(k8s.Status().Update(ctx, ing)).To(Succeed())
	waitForReason(g, ctx, key, v1alpha1.ConditionRouted, v1alpha1.ReasonRouted)
	waitForReason(g, ctx, key, v1alpha1.ConditionReady, v1alpha1.ReasonReady)
	g.Expect(getMicroservice(g, ctx, key).Status.URL).To(Equal("https://web.example.com"))

	// A converged pass writes nothing: neither the Ingress nor the status move.
	g.Expect(k8s.Get(ctx, key, ing)).To(Succeed())
	req := reconcile.Request{NamespacedName: key}
	before := passes.of("microservice", req)
	s := getMicroservice(g, ctx, key)
	s.Annotations = map[string]string{"example.com/poke": "1"}
	g.Expect(k8s.Update(ctx, s)).To(Succeed())
	g.Eventually(func() int { return passes.of("microservice", req) }, timeout, interval).Should(BeNumerically(">", before))
	g.Consistently(func(g Gomega) {
		now := &networkingv1.Ingress{}
		g.Expect(k8s.Get(ctx, key, now)).To(Succeed())
		g.Expect(now.ResourceVersion).To(Equal(ing.ResourceVersion))
		g.Expect(getMicroservice(g, ctx, key).ResourceVersion).To(Equal(s.ResourceVersion))
	}, "1s", interval).Should(Succeed())

	t.Run("removing spec.routes deletes only the Ingress kubeship controls", func(t *testing.T) {
		g := NewWithT(t)
		g.Eventually(func() error {
			s := getMicroservice(g, ctx, key)
			s.Spec.Routes, s.Spec.ReadyRequiresRoutes = nil, false
			return k8s.Update(ctx, s)
		}, timeout, interval).Should(Succeed())
		g.Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, key, &networkingv1.Ingress{})).NotTo(Succeed())
			s := getMicroservice(g, ctx, key)
			g.Expect(s.Status.Conditions).NotTo(ContainElement(HaveField("Type", v1alpha1.ConditionRouted)))
			g.Expect(s.Status.URL).To(Equal("http://web." + ns + ".svc.cluster.local:8080"))
		}, timeout, interval).Should(Succeed())
	})
}

func getMicroservice(g Gomega, ctx context.Context, key client.ObjectKey) *v1alpha1.Microservice {
	ms := &v1alpha1.Microservice{}
	g.Expect(k8s.Get(ctx, key, ms)).To(Succeed())
	return ms
}
