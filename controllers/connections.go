package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlevent "sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

// calleeIndex indexes Microservices by the callees their connections name, as
// "<namespace>/<name>": a callee finds its callers without listing the fleet.
const calleeIndex = "spec.connections.callee"

func indexCallees(obj client.Object) []string {
	ms := obj.(*v1alpha1.Microservice)
	var out []string
	for _, c := range ms.Spec.Connections {
		if key := resources.CalleeKey(ms, c).String(); !slices.Contains(out, key) {
			out = append(out, key)
		}
	}
	return out
}

// connectionsObserved is what a pass resolved of ms's connections.
type connectionsObserved struct {
	targets []resources.ConnectionTarget
}

// connectionEnv resolves ms's connections into obs and returns the variables kubeship
// adds to its pods. Callees are read from the cache: their creation, deletion and spec
// changes wake ms (see connectedTo), so a callee that appears later resolves by itself.
func (r *MicroserviceReconciler) connectionEnv(ctx context.Context, ms *v1alpha1.Microservice, obs *observed) []corev1.EnvVar {
	callees := map[types.NamespacedName]*v1alpha1.Microservice{}
	unreadable := map[types.NamespacedName]error{}
	for _, c := range ms.Spec.Connections {
		key := resources.CalleeKey(ms, c)
		callee := &v1alpha1.Microservice{}
		switch err := r.Get(ctx, key, callee); {
		case err == nil:
			callees[key] = callee
		case !apierrors.IsNotFound(err):
			// e.g. a namespace the manager does not watch: reported, never blocking.
			unreadable[key] = err
		}
	}
	targets := resources.ResolveConnections(ms, callees)
	for i, t := range targets {
		if err, ok := unreadable[types.NamespacedName{Namespace: t.Namespace, Name: t.Service}]; ok {
			targets[i].Message = fmt.Sprintf("connection %s: cannot read Microservice %s/%s: %v", t.Name, t.Namespace, t.Service, err)
		}
	}
	obs.connections.targets = targets
	return resources.PodEnv(ms, targets, r.OTLPEndpoint)
}

// applyNetworkPolicies applies (or removes) ms's ingress and egress isolation policies.
func (r *MicroserviceReconciler) applyNetworkPolicies(ctx context.Context, ms *v1alpha1.Microservice, obs *observed) error {
	var ingress *networkingv1ac.NetworkPolicyApplyConfiguration
	if resources.IngressIsolated(ms) {
		callers, err := r.callersOf(ctx, ms)
		if err != nil {
			return err
		}
		ingress = resources.IngressNetworkPolicy(ms, callers)
	}
	err := syncChild(ctx, r, ms, obs, "NetworkPolicy", resources.IngressPolicyName(ms), &networkingv1.NetworkPolicy{},
		ingress != nil, ingress, networkingv1ac.ExtractNetworkPolicy)
	if err := noteRefusal(obs, err); err != nil {
		return err
	}
	var egress *networkingv1ac.NetworkPolicyApplyConfiguration
	if resources.EgressIsolated(ms) {
		server, err := r.sharedServer(ctx, ms)
		if err != nil {
			return err
		}
		egress = resources.EgressNetworkPolicy(ms, obs.connections.targets, server)
	}
	return syncChild(ctx, r, ms, obs, "egress NetworkPolicy", resources.EgressPolicyName(ms), &networkingv1.NetworkPolicy{},
		egress != nil, egress, networkingv1ac.ExtractNetworkPolicy)
}

// callersOf lists the Microservices whose connections name ms, sorted by namespace and
// name so the policy's rules keep their order.
func (r *MicroserviceReconciler) callersOf(ctx context.Context, ms *v1alpha1.Microservice) ([]*v1alpha1.Microservice, error) {
	list := &v1alpha1.MicroserviceList{}
	if err := r.List(ctx, list, client.MatchingFields{calleeIndex: client.ObjectKeyFromObject(ms).String()}); err != nil {
		return nil, fmt.Errorf("listing the callers of %s: %w", ms.Name, err)
	}
	out := make([]*v1alpha1.Microservice, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	slices.SortFunc(out, func(a, b *v1alpha1.Microservice) int {
		return strings.Compare(client.ObjectKeyFromObject(a).String(), client.ObjectKeyFromObject(b).String())
	})
	return out, nil
}

// sharedServer is ms's DatabaseServer when its database is shared and the server
// exists, else nil.
func (r *MicroserviceReconciler) sharedServer(ctx context.Context, ms *v1alpha1.Microservice) (*v1alpha1.DatabaseServer, error) {
	db := ms.Spec.Database
	if db == nil || db.Mode != v1alpha1.ModeShared || db.ServerRef == nil {
		return nil, nil
	}
	server := &v1alpha1.DatabaseServer{}
	if err := r.Get(ctx, client.ObjectKey{Name: db.ServerRef.Name}, server); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("reading DatabaseServer %s: %w", db.ServerRef.Name, err)
	}
	return server, nil
}

// connectedTo maps a Microservice to those whose connection state it changes: its
// callees (their ingress policy admits it) and its callers (their variables and egress
// policy carry its ports). On an update both the old and the new object are mapped, so
// a removed connection reaches the callee it no longer names.
func (r *MicroserviceReconciler) connectedTo(ctx context.Context, obj client.Object) []reconcile.Request {
	var reqs []reconcile.Request
	for _, key := range indexCallees(obj) {
		ns, name, _ := strings.Cut(key, "/")
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}})
	}
	list := &v1alpha1.MicroserviceList{}
	if err := r.List(ctx, list, client.MatchingFields{calleeIndex: client.ObjectKeyFromObject(obj).String()}); err != nil {
		return reqs
	}
	for i := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return reqs
}

// specChanged passes creations, deletions and updates that changed the spec: status
// writes change no connection or port.
func specChanged() predicate.Predicate {
	return predicate.Funcs{
		UpdateFunc: func(e ctrlevent.UpdateEvent) bool {
			return e.ObjectOld == nil || e.ObjectNew == nil || e.ObjectOld.GetGeneration() != e.ObjectNew.GetGeneration()
		},
	}
}
