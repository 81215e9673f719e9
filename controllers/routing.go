package controllers

import (
	"context"
	"errors"
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1ac "sigs.k8s.io/gateway-api/applyconfiguration/apis/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

// routesObserved is what a pass saw of ms's routes and their object.
type routesObserved struct {
	// active: ms has routes, or had them (it still reports Routed), so routing ran.
	active bool
	// notInstalled: the routes name a Gateway and the cluster serves no HTTPRoutes.
	notInstalled bool
	conflicts    routeConflicts
	// servable are the routes (with defaults) ms may serve: its own less those lost.
	servable  []v1alpha1.Route
	httpRoute *gatewayv1.HTTPRoute  // as applied; nil when none
	gateway   *gatewayv1.Gateway    // the parent Gateway, when it could be read
	ingress   *networkingv1.Ingress // as applied; nil when none
	refused   *notOwnedError        // an HTTPRoute or Ingress with ms's name that is not ms's
	err       error                 // writing or removing a route object failed
}

// waitsForConsent tells whether the pass left an object alone that only its owner's
// consent can hand over: a child, or the HTTPRoute or Ingress.
func (o *observed) waitsForConsent() bool {
	return len(o.notOwned) > 0 || o.routes.refused != nil
}

// reconcileRoutes writes ms's HTTPRoute or Ingress, or removes those ms controls once
// spec.routes no longer asks for them. A Microservice that never had routes costs
// nothing here: no read, no watch. Problems are reported on Routed, not Ready: an
// object kubeship may not write is left alone, and an object the API server refuses
// is the user's to fix; only other errors are returned, to retry.
func (r *MicroserviceReconciler) reconcileRoutes(ctx context.Context, ms *v1alpha1.Microservice, obs *observed) error {
	hadRoutes := meta.FindStatusCondition(ms.Status.Conditions, v1alpha1.ConditionRouted) != nil
	if len(ms.Spec.Routes) == 0 && !hadRoutes {
		return nil
	}
	ro := &obs.routes
	ro.active = true
	err := r.syncRoutes(ctx, ms, obs)
	if errors.Is(err, errGatewayAPIPending) {
		ro.notInstalled = resources.UsesGateway(ms)
		return err
	}
	if n, ok := asNotOwned(err); ok {
		ro.refused = n
		return nil
	}
	ro.err = err
	if apierrors.IsInvalid(err) {
		return nil
	}
	return err
}

func (r *MicroserviceReconciler) syncRoutes(ctx context.Context, ms *v1alpha1.Microservice, obs *observed) error {
	ro := &obs.routes
	if len(ms.Spec.Routes) > 0 {
		c, err := r.findConflicts(ctx, ms)
		if err != nil {
			return err
		}
		ro.conflicts, ro.servable = c, servableRoutes(ms, c.lost)
	}
	if err := r.Routes.watchIngresses(); err != nil {
		return err
	}
	routeCache, err := r.Routes.gatewayRoutes(ctx)
	// A Gateway API still being installed only holds back Gateway routes.
	pending := errors.Is(err, errGatewayAPIPending)
	if err != nil && !pending {
		return err
	}
	if !resources.UsesGateway(ms) {
		err = nil
	}
	ro.notInstalled = routeCache == nil && resources.UsesGateway(ms)
	var httpErr error
	if routeCache != nil {
		httpErr = r.syncHTTPRoute(ctx, ms, routeCache, resources.HTTPRoute(ms, ro.servable), obs)
	}
	return errors.Join(err, httpErr, r.syncIngress(ctx, ms, resources.Ingress(ms, ro.servable), obs))
}

// syncHTTPRoute applies desired, or deletes ms's HTTPRoute when desired is nil.
func (r *MicroserviceReconciler) syncHTTPRoute(ctx context.Context, ms *v1alpha1.Microservice, routes client.Reader,
	desired *gatewayv1ac.HTTPRouteApplyConfiguration, obs *observed) error {
	live := &gatewayv1.HTTPRoute{}
	key := client.ObjectKey{Namespace: ms.Namespace, Name: ms.Name}
	if desired == nil {
		// Only what ms controls is deleted, and that carries kubeship's labels.
		if err := routes.Get(ctx, key, live); err != nil {
			return client.IgnoreNotFound(err)
		}
		return r.deleteOwned(ctx, ms, live, true, "HTTPRoute")
	}
	found, err := r.claimFrom(ctx, ms, routes, live)
	if err != nil {
		return fmt.Errorf("reading HTTPRoute: %w", err)
	}
	if err := applyChild(ctx, r, ms, obs, "HTTPRoute", live, found, desired, gatewayv1ac.ExtractHTTPRoute); err != nil {
		return err
	}
	obs.routes.httpRoute = live
	obs.routes.gateway = parentGateway(ctx, routes, ms)
	return nil
}

func (r *MicroserviceReconciler) syncIngress(ctx context.Context, ms *v1alpha1.Microservice,
	desired *networkingv1ac.IngressApplyConfiguration, obs *observed) error {
	live := &networkingv1.Ingress{}
	if err := syncChild(ctx, r, ms, obs, "Ingress", ms.Name, live, desired != nil, desired, networkingv1ac.ExtractIngress); err != nil {
		return err
	}
	if desired != nil {
		obs.routes.ingress = live
	}
	return nil
}

// claimFrom is claimChild for a child read from its own cache (HTTPRoutes): a cache miss
// is confirmed on the API server, and only an object ms controls, or whose owner
// consented, is written.
func (r *MicroserviceReconciler) claimFrom(ctx context.Context, ms *v1alpha1.Microservice, reader client.Reader, obj client.Object) (bool, error) {
	key := client.ObjectKey{Namespace: ms.Namespace, Name: ms.Name}
	err := reader.Get(ctx, key, obj)
	if apierrors.IsNotFound(err) && r.APIReader != nil {
		err = r.APIReader.Get(ctx, key, obj)
	}
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	kind := kindOf(r.Scheme(), obj)
	switch d := decideOwnership(ms, kind, obj, false); d.claim {
	case claimOwned:
		return true, nil
	case claimRefused:
		return true, &notOwnedError{kind: kind, name: ms.Name, reason: d.reason, message: d.message}
	}
	if err := r.takeFieldOwnership(ctx, obj); err != nil {
		return true, fmt.Errorf("adopting %s %s: %w", kind, ms.Name, err)
	}
	return true, nil
}

// parentGateway reads the Gateway ms's routes attach to, for the scheme and port of
// status.url; nil when it cannot be read (status.url then says http).
func parentGateway(ctx context.Context, routes client.Reader, ms *v1alpha1.Microservice) *gatewayv1.Gateway {
	ref := ms.Spec.Routes[0].GatewayRef
	gw := &gatewayv1.Gateway{}
	if err := routes.Get(ctx, client.ObjectKey{Namespace: gatewayNamespace(ms, ref), Name: ref.Name}, gw); err != nil {
		log.FromContext(ctx).V(1).Info("cannot read the parent Gateway", "error", err.Error())
		return nil
	}
	return gw
}

func gatewayNamespace(ms *v1alpha1.Microservice, ref *v1alpha1.GatewayRef) string {
	if ref.Namespace != "" {
		return ref.Namespace
	}
	return ms.Namespace
}

// Routing's RBAC (least privilege, as for every child): kubeship's own HTTPRoutes and
// Ingresses are cached (list, watch), read uncached on a cache miss (get), applied
// (create, patch) and removed with spec.routes (delete); Gateways are only read for
// their listeners; of CRDs only the HTTPRoute one is watched, by name.
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=gateways,verbs=list;watch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,resourceNames=httproutes.gateway.networking.k8s.io,verbs=list;watch
