package resources

import (
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

func withRoutes(ports []v1alpha1.ServicePort, routes ...v1alpha1.Route) *v1alpha1.Microservice {
	return microservice(func(ms *v1alpha1.Microservice) { ms.Spec.Ports, ms.Spec.Routes = ports, routes })
}

var edge = &v1alpha1.GatewayRef{Name: "edge", Namespace: "infra", SectionName: "https"}

func TestHTTPRoute(t *testing.T) {
	httpRoute := func(parent gatewayv1.ParentReference, hosts []gatewayv1.Hostname, rules ...gatewayv1.HTTPRouteRule) *gatewayv1.HTTPRoute {
		return &gatewayv1.HTTPRoute{
			TypeMeta:   metav1.TypeMeta{APIVersion: "gateway.networking.k8s.io/v1", Kind: "HTTPRoute"},
			ObjectMeta: childMeta("payments"),
			Spec: gatewayv1.HTTPRouteSpec{
				CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{parent}},
				Hostnames:       hosts,
				Rules:           rules,
			},
		}
	}
	rule := func(path string, port int32) gatewayv1.HTTPRouteRule {
		return gatewayv1.HTTPRouteRule{
			Matches: []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Type: ptr.To(gatewayv1.PathMatchPathPrefix), Value: ptr.To(path)}}},
			BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
				BackendObjectReference: gatewayv1.BackendObjectReference{Name: "payments", Port: ptr.To[gatewayv1.PortNumber](port)},
			}}},
		}
	}
	edgeParent := gatewayv1.ParentReference{Name: "edge", Namespace: ptr.To[gatewayv1.Namespace]("infra"), SectionName: ptr.To[gatewayv1.SectionName]("https")}
	two := []v1alpha1.ServicePort{{Name: "web", Port: 3000}, {Name: "admin", Port: 9000}}
	cases := []struct {
		name string
		ms   *v1alpha1.Microservice
		want *gatewayv1.HTTPRoute
	}{
		{"no routes, no HTTPRoute", withRoutes(nil), nil},
		{"Ingress routes make no HTTPRoute", withRoutes(nil, v1alpha1.Route{Host: "a.example.com", IngressClassName: ptr.To("nginx")}), nil},
		{"defaults: path / to the default port, Gateway in the service's namespace, every listener",
			withRoutes(nil, v1alpha1.Route{Host: "shop.example.com", GatewayRef: &v1alpha1.GatewayRef{Name: "edge"}}),
			httpRoute(gatewayv1.ParentReference{Name: "edge"}, []gatewayv1.Hostname{"shop.example.com"}, rule("/", 8080))},
		{"hosts times paths: one hostname each, one rule per path and port, in spec order",
			withRoutes(two,
				v1alpha1.Route{Host: "shop.example.com", Path: "/api", GatewayRef: edge},
				v1alpha1.Route{Host: "shop.example.com", Path: "/admin", Port: "admin", GatewayRef: edge},
				v1alpha1.Route{Host: "www.example.com", Path: "/api", GatewayRef: edge},
				v1alpha1.Route{Host: "www.example.com", Path: "/admin", Port: "admin", GatewayRef: edge}),
			httpRoute(edgeParent, []gatewayv1.Hostname{"shop.example.com", "www.example.com"}, rule("/api", 3000), rule("/admin", 9000))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			diffWhole(t, tc.want, HTTPRoute(tc.ms, Routes(tc.ms)))
		})
	}
	t.Run("nothing left to serve makes no HTTPRoute, never one matching every host", func(t *testing.T) {
		if got := HTTPRoute(withRoutes(nil, v1alpha1.Route{Host: "a.example.com", GatewayRef: edge}), nil); got != nil {
			t.Fatalf("got %v", got)
		}
	})
}

func TestIngress(t *testing.T) {
	ingress := func(tls []networkingv1.IngressTLS, rules ...networkingv1.IngressRule) *networkingv1.Ingress {
		return &networkingv1.Ingress{
			TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"},
			ObjectMeta: childMeta("payments"),
			Spec:       networkingv1.IngressSpec{IngressClassName: ptr.To("nginx"), Rules: rules, TLS: tls},
		}
	}
	path := func(p, port string) networkingv1.HTTPIngressPath {
		return networkingv1.HTTPIngressPath{Path: p, PathType: ptr.To(networkingv1.PathTypePrefix), Backend: networkingv1.IngressBackend{
			Service: &networkingv1.IngressServiceBackend{Name: "payments", Port: networkingv1.ServiceBackendPort{Name: port}},
		}}
	}
	rule := func(host string, paths ...networkingv1.HTTPIngressPath) networkingv1.IngressRule {
		return networkingv1.IngressRule{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: paths}}}
	}
	nginx := ptr.To("nginx")
	two := []v1alpha1.ServicePort{{Name: "web", Port: 3000}, {Name: "admin", Port: 9000}}
	cases := []struct {
		name string
		ms   *v1alpha1.Microservice
		want *networkingv1.Ingress
	}{
		{"no routes, no Ingress", withRoutes(nil), nil},
		{"gateway routes make no Ingress", withRoutes(nil, v1alpha1.Route{Host: "a.example.com", GatewayRef: edge}), nil},
		{"defaults: path / to the first port by name, no TLS",
			withRoutes(two, v1alpha1.Route{Host: "shop.example.com", IngressClassName: nginx}),
			ingress(nil, rule("shop.example.com", path("/", "web")))},
		{"one rule per host with its paths; one TLS entry per Secret with its hosts",
			withRoutes(two,
				v1alpha1.Route{Host: "shop.example.com", Path: "/api", IngressClassName: nginx, TLS: &v1alpha1.RouteTLS{SecretName: "shop-tls"}},
				v1alpha1.Route{Host: "admin.example.com", Port: "admin", IngressClassName: nginx},
				v1alpha1.Route{Host: "shop.example.com", Path: "/static", IngressClassName: nginx, TLS: &v1alpha1.RouteTLS{SecretName: "shop-tls"}},
				v1alpha1.Route{Host: "www.example.com", IngressClassName: nginx, TLS: &v1alpha1.RouteTLS{SecretName: "shop-tls"}}),
			ingress([]networkingv1.IngressTLS{{Hosts: []string{"shop.example.com", "www.example.com"}, SecretName: "shop-tls"}},
				rule("shop.example.com", path("/api", "web"), path("/static", "web")),
				rule("admin.example.com", path("/", "admin")),
				rule("www.example.com", path("/", "web")))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			diffWhole(t, tc.want, Ingress(tc.ms, Routes(tc.ms)))
		})
	}
}
