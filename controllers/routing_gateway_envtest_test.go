package controllers

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// gatewayAPICRDs are the standard-channel CRDs of the Gateway API module go.mod pins.
func gatewayAPICRDs(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
	if err != nil {
		t.Fatalf("locating the sigs.k8s.io/gateway-api module: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "standard")
	files := make([]string, 0, 3)
	for _, kind := range []string{"gatewayclasses", "gateways", "httproutes"} {
		files = append(files, filepath.Join(dir, "gateway.networking.k8s.io_"+kind+".yaml"))
	}
	return files
}

// fakeGatewayController plays a Gateway implementation in ns: every HTTPRoute whose
// parent Gateway exists is Accepted with ResolvedRefs, for its current generation.
func fakeGatewayController(t *testing.T, ns string) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		for ctx.Err() == nil {
			acceptRoutes(ctx, ns)
			time.Sleep(100 * time.Millisecond)
		}
	}()
}

const fakeGatewayControllerName = "example.com/fake-gateway"

func acceptRoutes(ctx context.Context, ns string) {
	routes := &gatewayv1.HTTPRouteList{}
	if k8s.List(ctx, routes, client.InNamespace(ns)) != nil {
		return
	}
	for i := range routes.Items {
		route := &routes.Items[i]
		var parents []gatewayv1.RouteParentStatus
		for _, ref := range route.Spec.ParentRefs {
			gwNS := route.Namespace
			if ref.Namespace != nil {
				gwNS = string(*ref.Namespace)
			}
			if k8s.Get(ctx, client.ObjectKey{Namespace: gwNS, Name: string(ref.Name)}, &gatewayv1.Gateway{}) != nil {
				continue
			}
			parents = append(parents, gatewayv1.RouteParentStatus{ParentRef: ref, ControllerName: fakeGatewayControllerName, Conditions: []metav1.Condition{
				{Type: "Accepted", Status: metav1.ConditionTrue, Reason: "Accepted", ObservedGeneration: route.Generation, LastTransitionTime: metav1.Now()},
				{Type: "ResolvedRefs", Status: metav1.ConditionTrue, Reason: "ResolvedRefs", ObservedGeneration: route.Generation, LastTransitionTime: metav1.Now()},
			}})
		}
		if len(parents) == 0 || (len(route.Status.Parents) > 0 && route.Status.Parents[0].Conditions[0].ObservedGeneration == route.Generation) {
			continue
		}
		route.Status.Parents = parents
		_ = k8s.Status().Update(ctx, route)
	}
}

func gatewayRouted(ms *v1alpha1.Microservice, host, path string, gw *v1alpha1.GatewayRef) {
	ms.Spec.Routes = append(ms.Spec.Routes, v1alpha1.Route{Host: host, Path: path, GatewayRef: gw})
}

func routedOf(g Gomega, ctx context.Context, key client.ObjectKey) (*v1alpha1.Microservice, *metav1.Condition) {
	ms := &v1alpha1.Microservice{}
	g.Expect(k8s.Get(ctx, key, ms)).To(Succeed())
	return ms, meta.FindStatusCondition(ms.Status.Conditions, v1alpha1.ConditionRouted)
}

// The Gateway API arrives while a service waits for it: first Routed=False
// GatewayAPINotInstalled with everything else Ready, then, once the CRDs are installed
// (no restart, no edit of the Microservice), the HTTPRoute, accepted by the test's
// gateway controller, and status.url the external URL. Later subtests share the
// installed CRDs: conflicts between two teams, someone else's HTTPRoute, removal.
func TestRoutesGatewayAPIInstalledMidway(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns, infra := newNamespace(t), newNamespace(t)
	edge := &v1alpha1.GatewayRef{Name: "edge", Namespace: infra}

	shop := newMicroservice(ns, "shop")
	gatewayRouted(shop, "shop.example.com", "/api", edge)
	key := createAndWaitForDeployment(g, ctx, shop)
	markDeploymentRolledOut(t, ctx, key)
	c := waitForReason(g, ctx, key, v1alpha1.ConditionRouted, v1alpha1.ReasonGatewayAPINotInstalled)
	g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
	g.Expect(c.Message).To(ContainSubstring("attach to Gateway " + infra + "/edge"))
	waitForReason(g, ctx, key, v1alpha1.ConditionReady, v1alpha1.ReasonReady)
	ms, _ := routedOf(g, ctx, key)
	g.Expect(ms.Status.URL).To(Equal("http://shop." + ns + ".svc.cluster.local:8080"))

	if _, err := envtest.InstallCRDs(restConfig, envtest.CRDInstallOptions{Paths: gatewayAPICRDs(t)}); err != nil {
		t.Fatalf("installing the Gateway API CRDs: %v", err)
	}
	route := &gatewayv1.HTTPRoute{}
	g.Eventually(func() error { return k8s.Get(ctx, key, route) }, timeout, interval).Should(Succeed(), "the CRDs' arrival alone brings the HTTPRoute")
	g.Expect(metav1.IsControlledBy(route, ms)).To(BeTrue())
	g.Expect(route.Spec.Hostnames).To(Equal([]gatewayv1.Hostname{"shop.example.com"}))
	g.Expect(route.Spec.ParentRefs).To(HaveLen(1))
	g.Expect(route.Spec.ParentRefs[0].Name).To(Equal(gatewayv1.ObjectName("edge")))
	waitForReason(g, ctx, key, v1alpha1.ConditionRouted, v1alpha1.ReasonRoutePending)

	fakeGatewayController(t, ns)
	g.Expect(k8s.Create(ctx, &gatewayv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: infra, Name: "edge"},
		Spec: gatewayv1.GatewaySpec{GatewayClassName: "fake", Listeners: []gatewayv1.Listener{
			{Name: "https", Protocol: gatewayv1.HTTPSProtocolType, Port: 443, Hostname: ptr.To[gatewayv1.Hostname]("*.example.com"),
				TLS: &gatewayv1.ListenerTLSConfig{CertificateRefs: []gatewayv1.SecretObjectReference{{Name: "wildcard"}}}},
		}},
	})).To(Succeed())
	c = waitForReason(g, ctx, key, v1alpha1.ConditionRouted, v1alpha1.ReasonRouted)
	g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
	g.Eventually(func(g Gomega) {
		ms, _ := routedOf(g, ctx, key)
		g.Expect(ms.Status.URL).To(Equal("https://shop.example.com/api"))
	}, timeout, interval).Should(Succeed())

	t.Run("a second team claiming the same host and path gets nothing, and both are told", func(t *testing.T) {
		g := NewWithT(t)
		late := newMicroservice(ns, "late")
		gatewayRouted(late, "shop.example.com", "/api", edge)
		lateKey := createAndWaitForDeployment(g, ctx, late)
		lc := waitForReason(g, ctx, lateKey, v1alpha1.ConditionRouted, v1alpha1.ReasonRouteConflict)
		g.Expect(lc.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(lc.Message).To(ContainSubstring("shop.example.com/api is also claimed by the older Microservice " + ns + "/shop, which keeps it"))
		sc := waitForReason(g, ctx, key, v1alpha1.ConditionRouted, v1alpha1.ReasonRouteConflict)
		g.Expect(sc.Status).To(Equal(metav1.ConditionTrue), "the older one still serves it")
		g.Expect(sc.Message).To(ContainSubstring("also claimed by the younger Microservice " + ns + "/late; this one keeps it"))
		g.Expect(k8s.Get(ctx, lateKey, &gatewayv1.HTTPRoute{})).NotTo(Succeed(), "no HTTPRoute for the younger claimant")

		// The last writer does not win: the younger one edits its spec again.
		g.Eventually(func() error {
			l := &v1alpha1.Microservice{}
			if err := k8s.Get(ctx, lateKey, l); err != nil {
				return err
			}
			l.Spec.Args = []string{"--again"}
			return k8s.Update(ctx, l)
		}, timeout, interval).Should(Succeed())
		waitForReason(g, ctx, lateKey, v1alpha1.ConditionRouted, v1alpha1.ReasonRouteConflict)
		g.Expect(k8s.Get(ctx, lateKey, &gatewayv1.HTTPRoute{})).NotTo(Succeed())
		g.Expect(k8s.Get(ctx, key, &gatewayv1.HTTPRoute{})).To(Succeed())

		// The older gives the pair up: the younger gets it, and the older forgets the conflict.
		g.Eventually(func() error {
			s := &v1alpha1.Microservice{}
			if err := k8s.Get(ctx, key, s); err != nil {
				return err
			}
			s.Spec.Routes[0].Path = "/shop"
			return k8s.Update(ctx, s)
		}, timeout, interval).Should(Succeed())
		waitForReason(g, ctx, lateKey, v1alpha1.ConditionRouted, v1alpha1.ReasonRouted)
		waitForReason(g, ctx, key, v1alpha1.ConditionRouted, v1alpha1.ReasonRouted)
	})

	t.Run("someone else's HTTPRoute with the service's name is never written", func(t *testing.T) {
		g := NewWithT(t)
		foreign := &gatewayv1.HTTPRoute{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "legacy"},
			Spec: gatewayv1.HTTPRouteSpec{
				CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "other"}}},
				Hostnames:       []gatewayv1.Hostname{"legacy.example.com"},
			},
		}
		g.Expect(k8s.Create(ctx, foreign)).To(Succeed())
		before := snapshotOf(g, ctx, foreign)
		legacy := newMicroservice(ns, "legacy")
		gatewayRouted(legacy, "legacy.example.com", "/", edge)
		legacyKey := createAndWaitForDeployment(g, ctx, legacy)
		markDeploymentRolledOut(t, ctx, legacyKey)
		rc := waitForReason(g, ctx, legacyKey, v1alpha1.ConditionRouted, v1alpha1.ReasonResourceNotOwned)
		g.Expect(rc.Message).To(ContainSubstring("HTTPRoute legacy exists and is not controlled by this Microservice"))
		waitForReason(g, ctx, legacyKey, v1alpha1.ConditionReady, v1alpha1.ReasonReady)
		g.Expect(snapshotOf(g, ctx, foreign)).To(Equal(before))
	})

	t.Run("removing spec.routes deletes the HTTPRoute and Routed, and status.url is in-cluster again", func(t *testing.T) {
		g := NewWithT(t)
		g.Eventually(func() error {
			s := &v1alpha1.Microservice{}
			if err := k8s.Get(ctx, key, s); err != nil {
				return err
			}
			s.Spec.Routes = nil
			return k8s.Update(ctx, s)
		}, timeout, interval).Should(Succeed())
		g.Eventually(func(g Gomega) {
			ms, c := routedOf(g, ctx, key)
			g.Expect(c).To(BeNil())
			g.Expect(ms.Status.URL).To(Equal("http://shop." + ns + ".svc.cluster.local:8080"))
			g.Expect(k8s.Get(ctx, key, &gatewayv1.HTTPRoute{})).NotTo(Succeed())
		}, timeout, interval).Should(Succeed())
	})
}
