// Command manager runs the kubeship operator.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	_ "k8s.io/client-go/plugin/pkg/client/auth"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers"
	"github.com/kubeship/kubeship/internal/dbadmin"
	"github.com/kubeship/kubeship/internal/version"
)

func main() {
	var (
		metricsAddr   string
		probeAddr     string
		pprofAddr     string
		leader        leaderElection
		secureMetrics bool
		enableHTTP2   bool
		watchNS       string
		ctl           controllers.Options
	)
	showVersion := flag.Bool("version", false, "Print the version, commit, build date and Go version, then exit.")
	flag.StringVar(&metricsAddr, "metrics-bind-address", "0", "Address the metrics endpoint binds to, e.g. :8443 (HTTPS) or :8080 (HTTP); 0 disables it.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address the health probe endpoint binds to.")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "", "Address the pprof endpoint (/debug/pprof) binds to, e.g. 127.0.0.1:8082; empty disables it.")
	leader.bind(flag.CommandLine)
	flag.BoolVar(&secureMetrics, "metrics-secure", true, "Serve metrics over HTTPS with authentication and authorization.")
	flag.BoolVar(&enableHTTP2, "enable-http2", false, "Serve metrics over HTTP/2 as well (off: HTTP/2 Rapid Reset and Stream Cancellation CVEs).")
	flag.StringVar(&ctl.OperatorNamespace, "operator-namespace", controllers.DefaultOperatorNamespace(),
		"Namespace whose Secrets DatabaseServers may name as admin or CA Secret without the label "+v1alpha1.AdminSecretLabel+"=true. "+
			"Default: POD_NAMESPACE, else the service account's namespace, else "+controllers.FallbackOperatorNamespace+" (outside a cluster).")
	flag.IntVar(&ctl.MicroserviceConcurrency, "microservice-concurrency", controllers.DefaultMicroserviceConcurrency, "Microservices reconciled at once.")
	flag.IntVar(&ctl.DatabaseServerConcurrency, "databaseserver-concurrency", controllers.DefaultDatabaseServerConcurrency, "DatabaseServers checked at once.")
	flag.DurationVar(&ctl.DatabaseTimeout, "database-timeout", controllers.DefaultDatabaseTimeout, "Deadline of each admin connect and each admin call to a database server.")
	flag.IntVar(&ctl.ServerConnections, "database-server-connections", controllers.DefaultServerConnections,
		"Microservice passes that may talk to one DatabaseServer at once; keep it below --microservice-concurrency so a stalled server cannot hold every worker.")
	flag.DurationVar(&ctl.ReconcileTimeout, "reconcile-timeout", 0,
		"Deadline of each reconcile pass; 0 means the larger of 1m and four times --database-timeout.")
	flag.StringVar(&ctl.OTLPEndpoint, "otel-exporter-otlp-endpoint", "",
		"OTLP endpoint given to every Microservice's pods as OTEL_EXPORTER_OTLP_ENDPOINT, with their trace identity; setting or changing it rolls every service once. Empty: only services using spec.connections or spec.network get their trace identity.")
	flag.DurationVar(&ctl.StatusCoalesce, "status-coalesce", controllers.DefaultProgressCoalesce,
		"How long a status write that only refines a progress report (Ready=False, still rolling out or waiting for the database) waits, from when a pass first finds it, for what comes next; Ready, failures and new generations are written at once. 0 writes every change at once.")
	flag.DurationVar(&ctl.FirstStatusDelay, "first-status-delay", 0,
		"How long after its creation a Microservice's first status may wait while it would only say the service is on its way: a service Ready within it costs one status write instead of two, which a large fleet's API server feels. Meanwhile the status reads observedGeneration 0, so kstatus sees InProgress; Ready and failures are written at once. 0 reports at once.")
	flag.StringVar(&watchNS, "watch-namespaces", "",
		"Namespaces whose Microservices (and their children) the manager watches, comma-separated; empty watches all. DatabaseServers are cluster-wide either way.")
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	if *showVersion {
		fmt.Print(version.Get())
		return
	}
	chooseLogFormat(&opts, flag.CommandLine, stderrIsTerminal())
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	log := ctrl.Log.WithName("setup")
	watched, err := controllers.ParseNamespaces(watchNS)
	if err != nil {
		log.Error(err, "reading --watch-namespaces")
		os.Exit(1)
	}
	if len(watched) > 0 {
		log.Info("watching Microservices in these namespaces only", "namespaces", watched)
	}
	ctl.WatchNamespaces = watched
	if err := leader.validate(); err != nil {
		log.Error(err, "invalid flags")
		os.Exit(2)
	}

	metricsOpts := metricsserver.Options{BindAddress: metricsAddr, SecureServing: secureMetrics}
	if secureMetrics {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	if !enableHTTP2 {
		metricsOpts.TLSOpts = []func(*tls.Config){func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }}
	}

	cfg := ctrl.GetConfigOrDie()
	mgrOpts := ctrl.Options{
		Scheme:                 newScheme(),
		Metrics:                metricsOpts,
		HealthProbeBindAddress: probeAddr,
		PprofBindAddress:       pprofAddr,
		Cache:                  controllers.CacheOptions(watched...),
	}
	leader.apply(&mgrOpts, ctl.OperatorNamespace)
	ctx := ctrl.SetupSignalHandler()
	if err := leader.checkNamespace(ctx, cfg, ctl.OperatorNamespace); err != nil {
		log.Error(err, "checking leader election")
		os.Exit(1)
	}
	mgr, err := ctrl.NewManager(cfg, mgrOpts)
	if err != nil {
		log.Error(err, "creating manager")
		os.Exit(1)
	}
	if err := controllers.SetupWithManager(mgr, dbadmin.Connect, ctl); err != nil {
		log.Error(err, "setting up controllers")
		os.Exit(1)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		log.Error(err, "adding health check")
		os.Exit(1)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		log.Error(err, "adding ready check")
		os.Exit(1)
	}
	log.Info("starting manager", "version", version.Get().Version, "commit", version.Get().Commit)
	// Nothing may run after Start returns: the Lease is released on the way out
	// (LeaderElectionReleaseOnCancel), so another replica may already lead.
	if err := mgr.Start(ctx); err != nil {
		log.Error(err, "running manager")
		os.Exit(1)
	}
}

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(v1alpha1.AddToScheme(s))
	return s
}
