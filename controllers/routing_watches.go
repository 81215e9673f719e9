package controllers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

// httpRouteCRD is the CustomResourceDefinition that brings Gateway API HTTPRoutes.
const httpRouteCRD = "httproutes." + gatewayv1.GroupName

var httpRouteKind = schema.GroupKind{Group: gatewayv1.GroupName, Kind: "HTTPRoute"}

// crdMetadata is the metadata-only form of CustomResourceDefinitions kubeship watches:
// just the HTTPRoute one, to learn when the Gateway API gets installed.
func crdMetadata() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"})
	return m
}

// routingCacheObjects are CacheOptions' entries for routing: Ingresses that kubeship
// manages, and the one CRD. An entry only shapes an informer; none starts until a
// Microservice with routes needs it (see routeWatches).
func routingCacheObjects(managed labels.Selector) map[client.Object]cache.ByObject {
	return map[client.Object]cache.ByObject{
		&networkingv1.Ingress{}: {Label: managed, Transform: cachedChild},
		crdMetadata():           {Field: fields.OneTermEqualSelector("metadata.name", httpRouteCRD)},
	}
}

// routeWatches starts what routing needs the first time a Microservice with routes
// needs it, so a fleet without routes runs no routing informer at all: the Ingress
// watch; the watch of the HTTPRoute CRD's metadata, which tells when the Gateway API
// appears (or goes); and, once the cluster serves HTTPRoutes, a cache of kubeship's own
// HTTPRoutes (label-filtered, like every child) with its watch. That cache is separate
// from the manager's: the manager's cache resolves each configured kind when it is
// made, which fails for a kind the cluster does not serve yet.
type routeWatches struct {
	mgr        manager.Manager
	controller controller.Controller // set once the controller is built
	namespaces []string              // --watch-namespaces; empty: all

	mu             sync.Mutex
	ingressWatched bool
	crdWatched     bool
	// checked: discovery was asked since the last change of the CRD, and installed is
	// its answer; it is asked again only when the CRD watch reports a change.
	checked, installed bool
	routes             cache.Cache // kubeship's HTTPRoutes (and the Gateways they name), once installed
}

// watchIngresses starts the Ingress watch, once.
func (w *routeWatches) watchIngresses() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ingressWatched {
		return nil
	}
	src := source.Kind(w.mgr.GetCache(), client.Object(&networkingv1.Ingress{}), w.ownerHandler(), versionChanged())
	if err := w.controller.Watch(src); err != nil {
		return fmt.Errorf("watching Ingresses: %w", err)
	}
	w.ingressWatched = true
	return nil
}

// gatewayRoutes returns the cache holding kubeship's HTTPRoutes, or nil when the cluster
// does not serve gateway.networking.k8s.io/v1 HTTPRoutes.
func (w *routeWatches) gatewayRoutes(ctx context.Context) (cache.Cache, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.crdWatched {
		src := source.Kind(w.mgr.GetCache(), client.Object(crdMetadata()), handler.EnqueueRequestsFromMapFunc(w.crdChanged), versionChanged())
		if err := w.controller.Watch(src); err != nil {
			return nil, fmt.Errorf("watching the HTTPRoute CRD: %w", err)
		}
		w.crdWatched = true
	}
	if !w.checked {
		installed, err := w.servesHTTPRoutes()
		if err != nil {
			return nil, fmt.Errorf("looking up the Gateway API: %w", err)
		}
		w.installed, w.checked = installed, true
		if !installed && w.crdExists(ctx) {
			// Just created: discovery lists a new CRD's API a moment after it is
			// Established, and no further CRD event may come to say so.
			w.checked = false
			return nil, errGatewayAPIPending
		}
	}
	if !w.installed {
		return nil, nil
	}
	if w.routes == nil {
		c, err := w.startRouteCache(ctx)
		if err != nil {
			return nil, err
		}
		w.routes = c
	}
	return w.routes, nil
}

// errGatewayAPIPending: the HTTPRoute CRD exists but the API server does not serve it
// yet. The pass is retried (with backoff) until it does.
var errGatewayAPIPending = errors.New("the HTTPRoute CRD exists, but the API server does not serve gateway.networking.k8s.io/v1 HTTPRoutes yet")

// crdExists tells whether the HTTPRoute CRD is in the (name-filtered) CRD cache.
func (w *routeWatches) crdExists(ctx context.Context) bool {
	// A watch that cannot sync (e.g. a role without it) must not hold the pass, which
	// holds w.mu, until its deadline.
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return w.mgr.GetCache().Get(ctx, client.ObjectKey{Name: httpRouteCRD}, crdMetadata()) == nil
}

// servesHTTPRoutes asks the API server's discovery for gateway.networking.k8s.io/v1:
// one small request, and, unlike the RESTMapper, it also sees the API go away.
func (w *routeWatches) servesHTTPRoutes() (bool, error) {
	dc, err := discovery.NewDiscoveryClientForConfigAndClient(w.mgr.GetConfig(), w.mgr.GetHTTPClient())
	if err != nil {
		return false, err
	}
	list, err := dc.ServerResourcesForGroupVersion(gatewayv1.GroupVersion.String())
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, r := range list.APIResources {
		if r.Kind == httpRouteKind.Kind {
			return true, nil
		}
	}
	return false, nil
}

// startRouteCache makes the HTTPRoute cache, runs it under the manager and watches it.
func (w *routeWatches) startRouteCache(ctx context.Context) (cache.Cache, error) {
	opts := routeCacheOptions(w.namespaces)
	opts.Scheme, opts.Mapper, opts.HTTPClient = w.mgr.GetScheme(), w.mgr.GetRESTMapper(), w.mgr.GetHTTPClient()
	c, err := cache.New(w.mgr.GetConfig(), opts)
	if err != nil {
		return nil, fmt.Errorf("making the HTTPRoute cache: %w", err)
	}
	if err := w.mgr.Add(c); err != nil {
		return nil, fmt.Errorf("starting the HTTPRoute cache: %w", err)
	}
	src := source.Kind(c, client.Object(&gatewayv1.HTTPRoute{}), w.ownerHandler(), versionChanged())
	if err := w.controller.Watch(src); err != nil {
		return nil, fmt.Errorf("watching HTTPRoutes: %w", err)
	}
	if !c.WaitForCacheSync(ctx) {
		return nil, errors.New("the HTTPRoute cache did not sync")
	}
	log.FromContext(ctx).Info("the Gateway API is installed: watching HTTPRoutes")
	return c, nil
}

// routeCacheOptions shape the HTTPRoute cache like the manager's: kubeship's own
// HTTPRoutes only, in the watched namespaces only. The Gateways they name are read in any
// namespace (a platform's Gateway usually lives in a namespace of its own), as before.
func routeCacheOptions(namespaces []string) cache.Options {
	managed := labels.SelectorFromSet(labels.Set{resources.LabelManagedBy: resources.ManagedByKubeship})
	byObject := map[client.Object]cache.ByObject{&gatewayv1.HTTPRoute{}: {Label: managed}}
	if len(namespaces) > 0 {
		byObject[&gatewayv1.Gateway{}] = cache.ByObject{Namespaces: map[string]cache.Config{cache.AllNamespaces: {}}}
	}
	return cache.Options{ByObject: byObject, DefaultNamespaces: namespaceConfigs(namespaces)}
}

func (w *routeWatches) ownerHandler() handler.EventHandler {
	return handler.EnqueueRequestForOwner(w.mgr.GetScheme(), w.mgr.GetRESTMapper(), &v1alpha1.Microservice{}, handler.OnlyControllerOwner())
}

// crdChanged wakes every Microservice whose routes name a Gateway when the HTTPRoute
// CRD appears, changes (e.g. becomes Established) or goes, so they check again.
func (w *routeWatches) crdChanged(ctx context.Context, _ client.Object) []reconcile.Request {
	w.mu.Lock()
	w.checked = false
	w.mu.Unlock()
	list := &v1alpha1.MicroserviceList{}
	if err := w.mgr.GetClient().List(ctx, list, client.MatchingFields{routeKindIndex: routeKindGateway}); err != nil {
		log.FromContext(ctx).Error(err, "listing Microservices with Gateway routes")
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return reqs
}
