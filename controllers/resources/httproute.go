package resources

import (
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1ac "sigs.k8s.io/gateway-api/applyconfiguration/apis/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// HTTPRoute returns the Gateway API HTTPRoute for routes (ms's routes with defaults,
// less any it may not serve), or nil when there is none to serve: an HTTPRoute without
// hostnames would match every host, and one without rules every path. Its hostnames
// apply to all its rules, which is why admission requires every host to list the same
// paths; rules are one per distinct path and port, in the order the spec gives them.
func HTTPRoute(ms *v1alpha1.Microservice, routes []v1alpha1.Route) *gatewayv1ac.HTTPRouteApplyConfiguration {
	if len(routes) == 0 || routes[0].GatewayRef == nil {
		return nil
	}
	ref := routes[0].GatewayRef
	parent := gatewayv1ac.ParentReference().WithName(gatewayv1.ObjectName(ref.Name))
	if ref.Namespace != "" {
		parent.WithNamespace(gatewayv1.Namespace(ref.Namespace))
	}
	if ref.SectionName != "" {
		parent.WithSectionName(gatewayv1.SectionName(ref.SectionName))
	}
	spec := gatewayv1ac.HTTPRouteSpec().WithParentRefs(parent)
	for _, host := range uniqueInOrder(routes, func(r v1alpha1.Route) string { return r.Host }) {
		spec.WithHostnames(gatewayv1.Hostname(host))
	}
	type target struct{ path, port string }
	for _, t := range uniqueInOrder(routes, func(r v1alpha1.Route) target { return target{r.Path, r.Port} }) {
		spec.WithRules(gatewayv1ac.HTTPRouteRule().
			WithMatches(gatewayv1ac.HTTPRouteMatch().WithPath(
				gatewayv1ac.HTTPPathMatch().WithType(gatewayv1.PathMatchPathPrefix).WithValue(t.path))).
			WithBackendRefs(gatewayv1ac.HTTPBackendRef().
				WithName(gatewayv1.ObjectName(ms.Name)).
				WithPort(portNumber(ms, t.port))))
	}
	r := gatewayv1ac.HTTPRoute(ms.Name, ms.Namespace).WithSpec(spec)
	r.ObjectMetaApplyConfiguration = objectMeta(ms, ms.Name)
	return r
}
