package resources

import (
	networkingv1 "k8s.io/api/networking/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// Ingress returns the networking.k8s.io/v1 Ingress for routes (ms's routes with
// defaults, less any it may not serve), or nil when there is none to serve. Rules are
// one per host, with one Prefix path per route; TLS entries one per Secret, listing
// the hosts it serves. Both keep the order the spec gives.
func Ingress(ms *v1alpha1.Microservice, routes []v1alpha1.Route) *networkingv1ac.IngressApplyConfiguration {
	if len(routes) == 0 || routes[0].IngressClassName == nil {
		return nil
	}
	spec := networkingv1ac.IngressSpec().WithIngressClassName(*routes[0].IngressClassName)
	for _, host := range uniqueInOrder(routes, func(r v1alpha1.Route) string { return r.Host }) {
		paths := networkingv1ac.HTTPIngressRuleValue()
		for _, r := range routes {
			if r.Host != host {
				continue
			}
			paths.WithPaths(networkingv1ac.HTTPIngressPath().
				WithPath(r.Path).
				WithPathType(networkingv1.PathTypePrefix).
				WithBackend(networkingv1ac.IngressBackend().WithService(
					networkingv1ac.IngressServiceBackend().
						WithName(ms.Name).
						WithPort(networkingv1ac.ServiceBackendPort().WithName(r.Port)))))
		}
		spec.WithRules(networkingv1ac.IngressRule().WithHost(host).WithHTTP(paths))
	}
	withTLS := func(r v1alpha1.Route) string {
		if r.TLS == nil {
			return ""
		}
		return r.TLS.SecretName
	}
	for _, secret := range uniqueInOrder(routes, withTLS) {
		if secret == "" {
			continue
		}
		tls := networkingv1ac.IngressTLS().WithSecretName(secret)
		for _, host := range uniqueInOrder(routes, func(r v1alpha1.Route) string { return r.Host }) {
			if hostUsesSecret(routes, host, secret) {
				tls.WithHosts(host)
			}
		}
		spec.WithTLS(tls)
	}
	ing := networkingv1ac.Ingress(ms.Name, ms.Namespace).WithSpec(spec)
	ing.ObjectMetaApplyConfiguration = objectMeta(ms, ms.Name)
	return ing
}

func hostUsesSecret(routes []v1alpha1.Route, host, secret string) bool {
	for _, r := range routes {
		if r.Host == host && r.TLS != nil && r.TLS.SecretName == secret {
			return true
		}
	}
	return false
}
