package controllers

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

// setRoutesStatus sets the Routed condition and, once the first route ms may serve is
// served, status.url to its external URL; it removes Routed once ms has no routes and
// nothing of them is left to clean up.
func setRoutesStatus(st *v1alpha1.MicroserviceStatus, ms *v1alpha1.Microservice, ro routesObserved) {
	if !ro.active || (len(ms.Spec.Routes) == 0 && ro.err == nil) {
		meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionRouted)
		return
	}
	c, url := routedCondition(ms, ro)
	setCondition(st, ms, c)
	if url != "" {
		st.URL = url
	}
}

// routedCondition is the Routed condition for what the pass saw, and the external URL
// when the route object serves ms's first servable route ("" otherwise).
func routedCondition(ms *v1alpha1.Microservice, ro routesObserved) (metav1.Condition, string) {
	c := metav1.Condition{Type: v1alpha1.ConditionRouted, Status: metav1.ConditionFalse}
	switch {
	case len(ms.Spec.Routes) == 0:
		c.Reason, c.Message = v1alpha1.ReasonRouteError, "Removing the route objects of the former spec.routes: "+ro.err.Error()
		return c, ""
	case ro.refused != nil:
		c.Reason, c.Message = ro.refused.reason, ro.refused.message
		return c, ""
	case ro.err != nil:
		c.Reason, c.Message = v1alpha1.ReasonRouteError, ro.err.Error()
		return c, ""
	case ro.notInstalled:
		ref := ms.Spec.Routes[0].GatewayRef
		c.Reason = v1alpha1.ReasonGatewayAPINotInstalled
		c.Message = fmt.Sprintf("spec.routes attach to Gateway %s/%s, but the cluster does not serve gateway.networking.k8s.io/v1 HTTPRoutes; "+
			"install the Gateway API CRDs and kubeship makes the HTTPRoute", gatewayNamespace(ms, ref), ref.Name)
		return c, ""
	}
	served, reason, msg := routeObjectServed(ms, ro)
	url := ""
	if served && len(ro.servable) > 0 {
		url = routeURL(ro.servable[0], ro.gateway)
		msg = "Served at " + url + "; " + msg
	}
	switch {
	case len(ro.conflicts.lost) > 0:
		c.Reason, c.Message = v1alpha1.ReasonRouteConflict, conflictMessage(ms, ro.conflicts)
	case served && len(ro.conflicts.kept) > 0:
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, v1alpha1.ReasonRouteConflict, msg+"; "+conflictMessage(ms, ro.conflicts)
	case ro.conflicts.any():
		c.Reason, c.Message = v1alpha1.ReasonRouteConflict, msg+"; "+conflictMessage(ms, ro.conflicts)
	case served:
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, v1alpha1.ReasonRouted, msg
	default:
		c.Reason, c.Message = reason, msg
	}
	return c, url
}

// routeObjectServed tells whether the HTTPRoute or Ingress serves its routes, with the
// reason and message to report when not (and a description when it does).
func routeObjectServed(ms *v1alpha1.Microservice, ro routesObserved) (bool, string, string) {
	if len(ro.servable) == 0 {
		return false, v1alpha1.ReasonRoutePending, "no route is left to serve"
	}
	if resources.UsesGateway(ms) {
		return httpRouteServed(ro.httpRoute, ms.Spec.Routes[0].GatewayRef, ms.Namespace)
	}
	ing := ro.ingress
	class := *ms.Spec.Routes[0].IngressClassName
	if ing == nil || len(ing.Status.LoadBalancer.Ingress) == 0 {
		return false, v1alpha1.ReasonRoutePending, fmt.Sprintf("Waiting for the Ingress controller of class %s to publish an address for Ingress %s", class, ms.Name)
	}
	return true, "", fmt.Sprintf("Ingress %s has an address from the Ingress controller of class %s", ms.Name, class)
}

// httpRouteServed mirrors, for the parent the routes name, the Accepted and
// ResolvedRefs conditions every Gateway controller reports on its HTTPRoutes. Status
// written for an older generation of the HTTPRoute does not count.
func httpRouteServed(route *gatewayv1.HTTPRoute, ref *v1alpha1.GatewayRef, ns string) (bool, string, string) {
	gw := gatewayNamespaceOr(ref.Namespace, ns) + "/" + ref.Name
	if ref.SectionName != "" {
		gw += " (listener " + ref.SectionName + ")"
	}
	pending := fmt.Sprintf("Waiting for Gateway %s to accept HTTPRoute %s", gw, routeName(route))
	if route == nil {
		return false, v1alpha1.ReasonRoutePending, pending
	}
	seen := false
	for _, p := range route.Status.Parents {
		pr := p.ParentRef
		if string(pr.Name) != ref.Name || gatewayNamespaceOr(string(deref(pr.Namespace)), route.Namespace) != gatewayNamespaceOr(ref.Namespace, ns) ||
			string(deref(pr.SectionName)) != ref.SectionName {
			continue
		}
		seen = true
		for _, t := range []string{string(gatewayv1.RouteConditionAccepted), string(gatewayv1.RouteConditionResolvedRefs)} {
			pc := meta.FindStatusCondition(p.Conditions, t)
			if pc == nil || (pc.ObservedGeneration != 0 && pc.ObservedGeneration < route.Generation) {
				return false, v1alpha1.ReasonRoutePending, pending
			}
			if pc.Status != metav1.ConditionTrue {
				return false, v1alpha1.ReasonRouteNotAccepted, fmt.Sprintf("Gateway %s reports %s=%s on HTTPRoute %s: %s: %s",
					gw, t, pc.Status, route.Name, pc.Reason, pc.Message)
			}
		}
	}
	if !seen {
		return false, v1alpha1.ReasonRoutePending, pending
	}
	return true, "", fmt.Sprintf("HTTPRoute %s is accepted by Gateway %s", route.Name, gw)
}

func routeName(route *gatewayv1.HTTPRoute) string {
	if route == nil {
		return ""
	}
	return route.Name
}

func gatewayNamespaceOr(ns, fallback string) string {
	if ns != "" {
		return ns
	}
	return fallback
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// routeURL is the external URL of rt: https for an Ingress route with tls or a
// Gateway listener speaking HTTPS, the listener's port when it is not the scheme's
// default, and the path prefix ("/" gives the bare host).
func routeURL(rt v1alpha1.Route, gw *gatewayv1.Gateway) string {
	scheme, port := "http", ""
	if rt.TLS != nil {
		scheme = "https"
	}
	if rt.GatewayRef != nil && gw != nil {
		scheme, port = listenerScheme(gw, rt)
	}
	path := rt.Path
	if path == "/" {
		path = ""
	}
	return scheme + "://" + rt.Host + port + path
}

// listenerScheme picks, among the Gateway's HTTP and HTTPS listeners that rt may attach
// to (its sectionName, hostname matching rt's host), an HTTPS one when there is one.
func listenerScheme(gw *gatewayv1.Gateway, rt v1alpha1.Route) (string, string) {
	httpPort, sawHTTP := "", false
	for _, l := range gw.Spec.Listeners {
		if rt.GatewayRef.SectionName != "" && string(l.Name) != rt.GatewayRef.SectionName {
			continue
		}
		if !listenerHostMatches(l.Hostname, rt.Host) {
			continue
		}
		switch l.Protocol {
		case gatewayv1.HTTPSProtocolType:
			return "https", portSuffix(l.Port, 443)
		case gatewayv1.HTTPProtocolType:
			if !sawHTTP {
				httpPort, sawHTTP = portSuffix(l.Port, 80), true
			}
		}
	}
	return "http", httpPort
}

func portSuffix(port, standard int32) string {
	if port == standard || port == 0 {
		return ""
	}
	return fmt.Sprintf(":%d", port)
}

// listenerHostMatches follows the Gateway API: no hostname matches every host, and
// "*.example.com" matches hosts under example.com.
func listenerHostMatches(h *gatewayv1.Hostname, host string) bool {
	if h == nil || *h == "" {
		return true
	}
	if s := string(*h); strings.HasPrefix(s, "*.") {
		return strings.HasSuffix(host, s[1:])
	}
	return string(*h) == host
}

// routesGateReady holds back a True Ready while Routed is not True, when the spec asks
// for it with readyRequiresRoutes.
func routesGateReady(ms *v1alpha1.Microservice, ready metav1.Condition, st *v1alpha1.MicroserviceStatus) metav1.Condition {
	if !ms.Spec.ReadyRequiresRoutes || ready.Status != metav1.ConditionTrue {
		return ready
	}
	routed := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionRouted)
	if routed != nil && routed.Status == metav1.ConditionTrue {
		return ready
	}
	msg := "Waiting for the routes to be served"
	if routed != nil {
		msg = "The routes are not served yet (spec.readyRequiresRoutes): " + routed.Message
	}
	return metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonRoutesNotReady, Message: msg}
}
