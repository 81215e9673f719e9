package resources

import (
	"github.com/kubeship/kubeship/api/v1alpha1"
)

// RouteKey is a host and path prefix: what two Microservices must not both claim.
type RouteKey struct {
	Host, Path string
}

// String reads like the URL the pair serves, without a scheme: shop.example.com/api.
func (k RouteKey) String() string {
	if k.Path == "/" {
		return k.Host + "/"
	}
	return k.Host + k.Path
}

// Routes returns ms's routes with defaults filled in: path "/" and the first port.
func Routes(ms *v1alpha1.Microservice) []v1alpha1.Route {
	if len(ms.Spec.Routes) == 0 {
		return nil
	}
	first := Ports(ms)[0].Name
	out := make([]v1alpha1.Route, len(ms.Spec.Routes))
	for i, r := range ms.Spec.Routes {
		if r.Path == "" {
			r.Path = "/"
		}
		if r.Port == "" {
			r.Port = first
		}
		out[i] = r
	}
	return out
}

// Key is the host and path of r.
func Key(r v1alpha1.Route) RouteKey {
	path := r.Path
	if path == "" {
		path = "/"
	}
	return RouteKey{Host: r.Host, Path: path}
}

// UsesGateway tells whether ms's routes make an HTTPRoute (rather than an Ingress).
func UsesGateway(ms *v1alpha1.Microservice) bool {
	return len(ms.Spec.Routes) > 0 && ms.Spec.Routes[0].GatewayRef != nil
}

// UsesIngress tells whether ms's routes make an Ingress.
func UsesIngress(ms *v1alpha1.Microservice) bool {
	return len(ms.Spec.Routes) > 0 && ms.Spec.Routes[0].IngressClassName != nil
}

// portNumber is the number of ms's port called name, 0 when there is none.
func portNumber(ms *v1alpha1.Microservice, name string) int32 {
	for _, p := range Ports(ms) {
		if p.Name == name {
			return p.Port
		}
	}
	return 0
}

// uniqueInOrder returns the distinct values of keyOf over items, in order of first appearance.
func uniqueInOrder[T any, K comparable](items []T, keyOf func(T) K) []K {
	seen := map[K]bool{}
	var out []K
	for _, it := range items {
		k := keyOf(it)
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}
