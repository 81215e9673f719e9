package controllers

import (
	"context"
	"fmt"
	"strings"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlevent "sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

// Field indexes over Microservices for routing: the hosts their routes claim (so a
// conflict check lists only the services sharing a host) and the kind of route object
// they make (so the Gateway API's arrival wakes only the services waiting for it).
const (
	routeHostIndex   = "spec.routes.host"
	routeKindIndex   = "spec.routes.kind"
	routeKindGateway = "HTTPRoute"
	routeKindIngress = "Ingress"
)

func indexRouteHosts(obj client.Object) []string {
	ms := obj.(*v1alpha1.Microservice)
	hosts := make([]string, 0, len(ms.Spec.Routes))
	for _, r := range ms.Spec.Routes {
		hosts = append(hosts, r.Host)
	}
	return hosts
}

func indexRouteKind(obj client.Object) []string {
	ms := obj.(*v1alpha1.Microservice)
	switch {
	case resources.UsesGateway(ms):
		return []string{routeKindGateway}
	case resources.UsesIngress(ms):
		return []string{routeKindIngress}
	}
	return nil
}

// routeConflicts is what the other Microservices claiming ms's hosts and paths mean for
// ms: the pairs it must leave to an older claimant, and the pairs it keeps although a
// younger one claims them too. Both map a pair to the other claimants ("namespace/name").
type routeConflicts struct {
	lost, kept map[resources.RouteKey][]string
}

func (c routeConflicts) any() bool { return len(c.lost) > 0 || len(c.kept) > 0 }

// olderClaim tells whether a's claim beats b's: the older creationTimestamp, then
// namespace and name. It reads only what never changes, so every pass of either
// service, in any order and with any cache lag, picks the same one: a route is never
// won by whoever wrote last.
func olderClaim(a, b *v1alpha1.Microservice) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

// resolveConflicts compares ms's routes with those of others (any Microservices;
// ms itself and services being deleted are skipped).
func resolveConflicts(ms *v1alpha1.Microservice, others []v1alpha1.Microservice) routeConflicts {
	c := routeConflicts{lost: map[resources.RouteKey][]string{}, kept: map[resources.RouteKey][]string{}}
	mine := map[resources.RouteKey]bool{}
	for _, r := range ms.Spec.Routes {
		mine[resources.Key(r)] = true
	}
	for i := range others {
		o := &others[i]
		if o.UID == ms.UID || !o.DeletionTimestamp.IsZero() {
			continue
		}
		id := o.Namespace + "/" + o.Name
		for _, r := range o.Spec.Routes {
			k := resources.Key(r)
			if !mine[k] {
				continue
			}
			if olderClaim(o, ms) {
				c.lost[k] = appendOnce(c.lost[k], id)
			} else {
				c.kept[k] = appendOnce(c.kept[k], id)
			}
		}
	}
	return c
}

func appendOnce(list []string, s string) []string {
	for _, v := range list {
		if v == s {
			return list
		}
	}
	return append(list, s)
}

// findConflicts lists, through the host index, the Microservices in any namespace
// sharing a host with ms, and resolves the conflicts.
func (r *MicroserviceReconciler) findConflicts(ctx context.Context, ms *v1alpha1.Microservice) (routeConflicts, error) {
	var others []v1alpha1.Microservice
	seen := map[string]bool{}
	for _, host := range indexRouteHosts(ms) {
		if seen[host] {
			continue
		}
		seen[host] = true
		list := &v1alpha1.MicroserviceList{}
		if err := r.List(ctx, list, client.MatchingFields{routeHostIndex: host}); err != nil {
			return routeConflicts{}, fmt.Errorf("listing Microservices routing %s: %w", host, err)
		}
		others = append(others, list.Items...)
	}
	return resolveConflicts(ms, others), nil
}

// servableRoutes are ms's routes (with defaults) less those it lost. An HTTPRoute's
// hostnames apply to all its rules, so an HTTPRoute drops every host with a lost path;
// an Ingress drops just the lost pairs.
func servableRoutes(ms *v1alpha1.Microservice, lost map[resources.RouteKey][]string) []v1alpha1.Route {
	lostHosts := map[string]bool{}
	for k := range lost {
		lostHosts[k.Host] = true
	}
	var out []v1alpha1.Route
	for _, rt := range resources.Routes(ms) {
		if _, gone := lost[resources.Key(rt)]; gone {
			continue
		}
		if rt.GatewayRef != nil && lostHosts[rt.Host] {
			continue
		}
		out = append(out, rt)
	}
	return out
}

// conflictMessage describes c for the Routed condition, in spec order so it is stable.
func conflictMessage(ms *v1alpha1.Microservice, c routeConflicts) string {
	var parts []string
	for _, rt := range ms.Spec.Routes {
		k := resources.Key(rt)
		if ids, ok := c.lost[k]; ok {
			parts = append(parts, fmt.Sprintf("%s is also claimed by the older Microservice %s, which keeps it", k, strings.Join(ids, ", ")))
		} else if ids, ok := c.kept[k]; ok {
			parts = append(parts, fmt.Sprintf("%s is also claimed by the younger Microservice %s; this one keeps it", k, strings.Join(ids, ", ")))
		}
	}
	if len(c.lost) > 0 && resources.UsesGateway(ms) {
		parts = append(parts, "the HTTPRoute leaves out every host with a path served elsewhere, since its hostnames apply to all of its paths")
	}
	return strings.Join(parts, "; ")
}

// routeRivals wakes the Microservices that share a host with a Microservice that was
// created, deleted or changed its spec: their conflicts may have changed. It runs for
// the old and the new object of an update, so a host given up frees its rivals too.
func (r *MicroserviceReconciler) routeRivals(ctx context.Context, obj client.Object) []reconcile.Request {
	ms, ok := obj.(*v1alpha1.Microservice)
	if !ok || len(ms.Spec.Routes) == 0 {
		return nil
	}
	var reqs []reconcile.Request
	seen := map[client.ObjectKey]bool{client.ObjectKeyFromObject(ms): true}
	for _, host := range indexRouteHosts(ms) {
		list := &v1alpha1.MicroserviceList{}
		if err := r.List(ctx, list, client.MatchingFields{routeHostIndex: host}); err != nil {
			log.FromContext(ctx).Error(err, "listing Microservices routing a host", "host", host)
			return nil
		}
		for i := range list.Items {
			key := client.ObjectKeyFromObject(&list.Items[i])
			if !seen[key] {
				seen[key] = true
				reqs = append(reqs, reconcile.Request{NamespacedName: key})
			}
		}
	}
	return reqs
}

// indexRoutes registers the routing indexes over Microservices.
func indexRoutes(mgr ctrl.Manager) error {
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(context.Background(), &v1alpha1.Microservice{}, routeHostIndex, indexRouteHosts); err != nil {
		return fmt.Errorf("indexing Microservices by route host: %w", err)
	}
	if err := idx.IndexField(context.Background(), &v1alpha1.Microservice{}, routeKindIndex, indexRouteKind); err != nil {
		return fmt.Errorf("indexing Microservices by route kind: %w", err)
	}
	return nil
}

// routeClaimsChanged passes creations, deletions and spec changes of Microservices with
// routes (before or after the change): what can change who claims a host.
func routeClaimsChanged() predicate.Predicate {
	hasRoutes := func(o client.Object) bool {
		ms, ok := o.(*v1alpha1.Microservice)
		return ok && len(ms.Spec.Routes) > 0
	}
	return predicate.Funcs{
		CreateFunc:  func(e ctrlevent.CreateEvent) bool { return hasRoutes(e.Object) },
		DeleteFunc:  func(e ctrlevent.DeleteEvent) bool { return hasRoutes(e.Object) },
		GenericFunc: func(ctrlevent.GenericEvent) bool { return false },
		UpdateFunc: func(e ctrlevent.UpdateEvent) bool {
			return (hasRoutes(e.ObjectOld) || hasRoutes(e.ObjectNew)) && e.ObjectOld.GetGeneration() != e.ObjectNew.GetGeneration()
		},
	}
}
