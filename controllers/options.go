package controllers

import (
	"context"
	"os"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// Defaults of Options, also the manager's flag defaults.
const (
	// DefaultMicroserviceConcurrency: a pass spends most of its time waiting for API
	// round trips, not on CPU, so workers overlap that wait. Measured by hack/bench on
	// 2 cores (200 services, realistic mix, same cluster, each against the floor of
	// direct writes in its own run): 4 workers took 1.61x the floor, 16 workers 1.20x.
	DefaultMicroserviceConcurrency = 16
	// DefaultDatabaseServerConcurrency: DatabaseServers are few and each pass is one login.
	DefaultDatabaseServerConcurrency = 2
	// DefaultDatabaseTimeout bounds each admin connect and each admin call.
	DefaultDatabaseTimeout = 10 * time.Second
	// DefaultReconcileTimeout bounds a whole pass. A pass makes at most three admin
	// calls (connect, then ensure or drop, each under DatabaseTimeout) besides its API
	// requests, so the default leaves room for them; see Options.ReconcileTimeout.
	DefaultReconcileTimeout = time.Minute
	// DefaultServerConnections is how many Microservice passes may talk to one DatabaseServer
	// at a time. It is below DefaultMicroserviceConcurrency, so a server that stops answering
	// holds at most this many workers and the rest of the fleet keeps converging.
	DefaultServerConnections = 2
	// FallbackOperatorNamespace is the operator namespace when it runs outside a cluster
	// (make run) and neither the flag nor POD_NAMESPACE says otherwise.
	FallbackOperatorNamespace = "kubeship-system"
)

// Options configures the controllers; zero fields take the defaults above.
type Options struct {
	// OperatorNamespace is where DatabaseServers' admin and CA Secrets may live without
	// the label v1alpha1.AdminSecretLabel. Empty means DefaultOperatorNamespace().
	OperatorNamespace string
	// MicroserviceConcurrency and DatabaseServerConcurrency are the controllers'
	// MaxConcurrentReconciles.
	MicroserviceConcurrency, DatabaseServerConcurrency int
	// DatabaseTimeout bounds each admin connect and each admin call (Ping, EnsureDatabase,
	// DropDatabase).
	DatabaseTimeout time.Duration
	// ServerConnections caps the Microservice passes talking to one DatabaseServer at once.
	ServerConnections int
	// ReconcileTimeout is the deadline of each pass (controller-runtime's
	// ReconciliationTimeout). Zero means the larger of DefaultReconcileTimeout and four
	// times DatabaseTimeout, so a pass always outlives its admin calls.
	ReconcileTimeout time.Duration
	// OTLPEndpoint, when set, is every pod's OTEL_EXPORTER_OTLP_ENDPOINT, and every pod
	// gets its trace identity (see resources.TelemetryWanted). Setting it rolls every
	// service once: a platform team's deliberate choice.
	OTLPEndpoint string
	// WatchNamespaces are the namespaces the manager's cache watches (--watch-namespaces);
	// empty means all. Caches kubeship starts later (HTTPRoutes) keep to them too.
	WatchNamespaces []string
	// StatusCoalesce is how long a status write that only refines a progress report may
	// wait behind the previous one (see progressCoalescer); zero writes every change at
	// once. The manager's flag defaults to DefaultProgressCoalesce.
	StatusCoalesce time.Duration
	// FirstStatusDelay is how long after its creation a Microservice's first status may
	// wait while it only reports progress (see progressCoalescer); zero (the flag's
	// default) reports at once.
	FirstStatusDelay time.Duration

	// onReconcile, set only by tests, sees every request a controller reconciles, with
	// the context the pass runs under.
	onReconcile func(ctx context.Context, controller string, req reconcile.Request)
	// ignore, set only by tests, keeps the controllers away from the requests it
	// matches, so a test can drive those objects pass by pass with reconcilers of its own.
	ignore func(req reconcile.Request) bool
}

func (o Options) withDefaults() Options {
	if o.OperatorNamespace == "" {
		o.OperatorNamespace = DefaultOperatorNamespace()
	}
	if o.MicroserviceConcurrency <= 0 {
		o.MicroserviceConcurrency = DefaultMicroserviceConcurrency
	}
	if o.DatabaseServerConcurrency <= 0 {
		o.DatabaseServerConcurrency = DefaultDatabaseServerConcurrency
	}
	if o.DatabaseTimeout <= 0 {
		o.DatabaseTimeout = DefaultDatabaseTimeout
	}
	if o.ServerConnections <= 0 {
		o.ServerConnections = DefaultServerConnections
	}
	if o.ReconcileTimeout <= 0 {
		o.ReconcileTimeout = max(DefaultReconcileTimeout, 4*o.DatabaseTimeout)
	}
	return o
}

// controllerOptions are the controller-runtime options of a controller running
// workers passes at a time.
func (o Options) controllerOptions(workers int) controller.Options {
	return controller.Options{MaxConcurrentReconciles: workers, ReconciliationTimeout: o.ReconcileTimeout}
}

// serviceAccountNamespace is where Kubernetes tells a pod its namespace.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// DefaultOperatorNamespace is the namespace the manager runs in: POD_NAMESPACE (set from
// the downward API in config/manager), else the service account's namespace file, else
// FallbackOperatorNamespace when running outside a cluster.
func DefaultOperatorNamespace() string {
	if ns := strings.TrimSpace(os.Getenv("POD_NAMESPACE")); ns != "" {
		return ns
	}
	if b, err := os.ReadFile(serviceAccountNamespace); err == nil {
		if ns := strings.TrimSpace(string(b)); ns != "" {
			return ns
		}
	}
	return FallbackOperatorNamespace
}

// observed wraps r so tests can count passes (or keep it away from some objects);
// without a hook it is r itself.
func (o Options) observed(name string, r reconcile.Reconciler) reconcile.Reconciler {
	if o.onReconcile == nil && o.ignore == nil {
		return r
	}
	return reconcile.Func(func(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
		if o.ignore != nil && o.ignore(req) {
			return reconcile.Result{}, nil
		}
		if o.onReconcile != nil {
			o.onReconcile(ctx, name, req)
		}
		return r.Reconcile(ctx, req)
	})
}
