package controllers

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

func routedMS(routes ...v1alpha1.Route) *v1alpha1.Microservice {
	return &v1alpha1.Microservice{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "team", UID: "u1", Generation: 2},
		Spec:       v1alpha1.MicroserviceSpec{Image: "img", Routes: routes},
	}
}

func acceptedRoute(parent gatewayv1.ParentReference, accepted, resolved metav1.ConditionStatus) *gatewayv1.HTTPRoute {
	const gen = 1
	return &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "team", Generation: gen},
		Status: gatewayv1.HTTPRouteStatus{RouteStatus: gatewayv1.RouteStatus{Parents: []gatewayv1.RouteParentStatus{{
			ParentRef: parent, ControllerName: "example.com/fake",
			Conditions: []metav1.Condition{
				{Type: "Accepted", Status: accepted, Reason: "Accepted", ObservedGeneration: gen},
				{Type: "ResolvedRefs", Status: resolved, Reason: "BackendNotFound", Message: "no such Service", ObservedGeneration: gen},
			},
		}}}},
	}
}

func TestRoutedCondition(t *testing.T) {
	gw := v1alpha1.Route{Host: "shop.example.com", Path: "/api", GatewayRef: &v1alpha1.GatewayRef{Name: "edge", Namespace: "infra"}}
	ing := v1alpha1.Route{Host: "shop.example.com", IngressClassName: ptr.To("nginx"), TLS: &v1alpha1.RouteTLS{SecretName: "tls"}}
	edge := gatewayv1.ParentReference{Name: "edge", Namespace: ptr.To[gatewayv1.Namespace]("infra")}
	httpsGateway := &gatewayv1.Gateway{Spec: gatewayv1.GatewaySpec{Listeners: []gatewayv1.Listener{
		{Name: "http", Protocol: gatewayv1.HTTPProtocolType, Port: 80},
		{Name: "https", Protocol: gatewayv1.HTTPSProtocolType, Port: 8443, Hostname: ptr.To[gatewayv1.Hostname]("*.example.com")},
	}}}
	cases := []struct {
		name       string
		ms         *v1alpha1.Microservice
		ro         routesObserved
		wantStatus metav1.ConditionStatus
		wantReason string
		wantMsg    string
		wantURL    string
	}{
		{"Gateway API missing", routedMS(gw), routesObserved{active: true, notInstalled: true}, metav1.ConditionFalse, v1alpha1.ReasonGatewayAPINotInstalled,
			"spec.routes attach to Gateway infra/edge, but the cluster does not serve gateway.networking.k8s.io/v1 HTTPRoutes; install the Gateway API CRDs and kubeship makes the HTTPRoute", ""},
		{"no status from the Gateway yet", routedMS(gw), routesObserved{active: true, servable: []v1alpha1.Route{gw}, httpRoute: &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}},
			metav1.ConditionFalse, v1alpha1.ReasonRoutePending, "Waiting for Gateway infra/edge to accept HTTPRoute shop", ""},
		{"accepted for an older generation only", routedMS(gw), routesObserved{active: true, servable: []v1alpha1.Route{gw},
			httpRoute: func() *gatewayv1.HTTPRoute {
				r := acceptedRoute(edge, metav1.ConditionTrue, metav1.ConditionTrue)
				r.Generation = 2
				return r
			}()},
			metav1.ConditionFalse, v1alpha1.ReasonRoutePending, "Waiting for Gateway infra/edge to accept HTTPRoute shop", ""},
		{"another Gateway's acceptance does not count", routedMS(gw), routesObserved{active: true, servable: []v1alpha1.Route{gw},
			httpRoute: acceptedRoute(gatewayv1.ParentReference{Name: "edge"}, metav1.ConditionTrue, metav1.ConditionTrue)},
			metav1.ConditionFalse, v1alpha1.ReasonRoutePending, "Waiting for Gateway infra/edge to accept HTTPRoute shop", ""},
		{"refused by the Gateway", routedMS(gw), routesObserved{active: true, servable: []v1alpha1.Route{gw}, httpRoute: func() *gatewayv1.HTTPRoute {
			r := acceptedRoute(edge, metav1.ConditionFalse, metav1.ConditionTrue)
			r.Status.Parents[0].Conditions[0].Reason, r.Status.Parents[0].Conditions[0].Message = "NotAllowedByListeners", "namespace team is not allowed"
			return r
		}()},
			metav1.ConditionFalse, v1alpha1.ReasonRouteNotAccepted, "Gateway infra/edge reports Accepted=False on HTTPRoute shop: NotAllowedByListeners: namespace team is not allowed", ""},
		{"backend not resolved", routedMS(gw), routesObserved{active: true, servable: []v1alpha1.Route{gw}, httpRoute: acceptedRoute(edge, metav1.ConditionTrue, metav1.ConditionFalse)},
			metav1.ConditionFalse, v1alpha1.ReasonRouteNotAccepted, "Gateway infra/edge reports ResolvedRefs=False on HTTPRoute shop: BackendNotFound: no such Service", ""},
		{"accepted, https listener on 8443", routedMS(gw), routesObserved{active: true, servable: []v1alpha1.Route{gw}, gateway: httpsGateway,
			httpRoute: acceptedRoute(edge, metav1.ConditionTrue, metav1.ConditionTrue)},
			metav1.ConditionTrue, v1alpha1.ReasonRouted, "Served at https://shop.example.com:8443/api; HTTPRoute shop is accepted by Gateway infra/edge", "https://shop.example.com:8443/api"},
		{"accepted, Gateway unreadable: http", routedMS(gw), routesObserved{active: true, servable: []v1alpha1.Route{gw},
			httpRoute: acceptedRoute(edge, metav1.ConditionTrue, metav1.ConditionTrue)},
			metav1.ConditionTrue, v1alpha1.ReasonRouted, "Served at http://shop.example.com/api; HTTPRoute shop is accepted by Gateway infra/edge", "http://shop.example.com/api"},
		{"Ingress without an address", routedMS(ing), routesObserved{active: true, servable: []v1alpha1.Route{ing}, ingress: &networkingv1.Ingress{}},
			metav1.ConditionFalse, v1alpha1.ReasonRoutePending, "Waiting for the Ingress controller of class nginx to publish an address for Ingress shop", ""},
		{"Ingress with an address, TLS", routedMS(ing), routesObserved{active: true, servable: []v1alpha1.Route{ing}, ingress: &networkingv1.Ingress{Status: networkingv1.IngressStatus{
			LoadBalancer: networkingv1.IngressLoadBalancerStatus{Ingress: []networkingv1.IngressLoadBalancerIngress{{IP: "192.0.2.7"}}}}}},
			metav1.ConditionTrue, v1alpha1.ReasonRouted, "Served at https://shop.example.com; Ingress shop has an address from the Ingress controller of class nginx", "https://shop.example.com"},
		{"the younger claimant: lost, whatever the object says", routedMS(ing), routesObserved{active: true,
			conflicts: routeConflicts{lost: map[resources.RouteKey][]string{{Host: "shop.example.com", Path: "/"}: {"other/first"}}}},
			metav1.ConditionFalse, v1alpha1.ReasonRouteConflict, "shop.example.com/ is also claimed by the older Microservice other/first, which keeps it", ""},
		{"the older claimant: served, and told", routedMS(ing), routesObserved{active: true, servable: []v1alpha1.Route{ing},
			conflicts: routeConflicts{kept: map[resources.RouteKey][]string{{Host: "shop.example.com", Path: "/"}: {"other/second"}}},
			ingress:   &networkingv1.Ingress{Status: networkingv1.IngressStatus{LoadBalancer: networkingv1.IngressLoadBalancerStatus{Ingress: []networkingv1.IngressLoadBalancerIngress{{Hostname: "lb"}}}}}},
			metav1.ConditionTrue, v1alpha1.ReasonRouteConflict, "Served at https://shop.example.com; Ingress shop has an address from the Ingress controller of class nginx; shop.example.com/ is also claimed by the younger Microservice other/second; this one keeps it", "https://shop.example.com"},
		{"someone else's Ingress", routedMS(ing), routesObserved{active: true, refused: &notOwnedError{kind: "Ingress", name: "shop", reason: v1alpha1.ReasonResourceNotOwned, message: "Ingress shop exists"}},
			metav1.ConditionFalse, v1alpha1.ReasonResourceNotOwned, "Ingress shop exists", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, url := routedCondition(tc.ms, tc.ro)
			got := [4]string{string(c.Status), c.Reason, c.Message, url}
			want := [4]string{string(tc.wantStatus), tc.wantReason, tc.wantMsg, tc.wantURL}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("status, reason, message, url (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRoutesStatusLeavesServicesWithoutRoutesAlone(t *testing.T) {
	ms := routedMS()
	st := v1alpha1.MicroserviceStatus{URL: "http://shop.team.svc.cluster.local:8080"}
	setRoutesStatus(&st, ms, routesObserved{})
	if len(st.Conditions) != 0 || st.URL != "http://shop.team.svc.cluster.local:8080" {
		t.Fatalf("status changed: %+v", st)
	}
	// Routes removed and cleaned up: Routed goes.
	st.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionRouted, Status: metav1.ConditionTrue, Reason: "Routed", LastTransitionTime: metav1.NewTime(time.Unix(1, 0))}}
	setRoutesStatus(&st, ms, routesObserved{active: true})
	if len(st.Conditions) != 0 {
		t.Fatalf("Routed kept after clean-up: %+v", st.Conditions)
	}
}

func TestRoutesGateReady(t *testing.T) {
	ready := metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonReady}
	pending := &v1alpha1.MicroserviceStatus{Conditions: []metav1.Condition{{Type: v1alpha1.ConditionRouted, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonRoutePending, Message: "Waiting"}}}
	ms := routedMS(v1alpha1.Route{Host: "a.example.com", IngressClassName: ptr.To("nginx")})
	if got := routesGateReady(ms, ready, pending); got.Status != metav1.ConditionTrue {
		t.Fatalf("Ready held back without readyRequiresRoutes: %+v", got)
	}
	ms.Spec.ReadyRequiresRoutes = true
	got := routesGateReady(ms, ready, pending)
	if got.Status != metav1.ConditionFalse || got.Reason != v1alpha1.ReasonRoutesNotReady || got.Message != "The routes are not served yet (spec.readyRequiresRoutes): Waiting" {
		t.Fatalf("got %+v", got)
	}
	pending.Conditions[0].Status = metav1.ConditionTrue
	if got := routesGateReady(ms, ready, pending); got.Status != metav1.ConditionTrue {
		t.Fatalf("Ready held back although routed: %+v", got)
	}
}

func TestRoutedEvents(t *testing.T) {
	cond := func(status metav1.ConditionStatus, reason string) []metav1.Condition {
		return []metav1.Condition{{Type: v1alpha1.ConditionRouted, Status: status, Reason: reason, Message: "m"}}
	}
	cases := []struct {
		name     string
		old, cur []metav1.Condition
		want     []event
	}{
		{"pending records nothing", nil, cond(metav1.ConditionFalse, v1alpha1.ReasonRoutePending), nil},
		{"served", cond(metav1.ConditionFalse, v1alpha1.ReasonRoutePending), cond(metav1.ConditionTrue, v1alpha1.ReasonRouted), []event{{"Normal", EventRouted, "m"}}},
		{"conflict, once", nil, cond(metav1.ConditionFalse, v1alpha1.ReasonRouteConflict), []event{{"Warning", EventRouteConflict, "m"}}},
		{"steady conflict records nothing", cond(metav1.ConditionFalse, v1alpha1.ReasonRouteConflict), cond(metav1.ConditionFalse, v1alpha1.ReasonRouteConflict), nil},
		{"no Gateway API", nil, cond(metav1.ConditionFalse, v1alpha1.ReasonGatewayAPINotInstalled), []event{{"Warning", EventRouteFailed, "m"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, transitionEvents(tc.old, tc.cur), cmp.AllowUnexported(event{})); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}
