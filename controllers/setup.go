package controllers

import (
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// SetupWithManager registers every kubeship controller with mgr. connect opens admin
// connections to DatabaseServers (dbadmin.Connect outside tests); opts' zero fields take
// the defaults.
func SetupWithManager(mgr ctrl.Manager, connect Connector, opts Options) error {
	opts = opts.withDefaults()
	// HTTPRoutes and Gateways are read and written typed; the scheme knows them even
	// where the cluster does not serve them (routing checks that before each use).
	if err := gatewayv1.Install(mgr.GetScheme()); err != nil {
		return fmt.Errorf("registering the Gateway API types: %w", err)
	}
	admins := serverConnector{
		gate:    secretGate{reader: mgr.GetAPIReader(), namespace: opts.OperatorNamespace},
		connect: connect,
		timeout: opts.DatabaseTimeout,
	}
	// Microservice passes share each server's slots and admin session; the DatabaseServer
	// check (one fresh login per server and recheck) neither queues behind them nor
	// reuses their session.
	msAdmins := admins
	msAdmins.slots = newServerSlots(opts.ServerConnections)
	msAdmins.pool = newAdminPool(DefaultAdminIdle)
	// Every write the controllers make is under kubeship's field manager.
	c := client.WithFieldOwner(mgr.GetClient(), FieldOwner)
	ms := &MicroserviceReconciler{
		Client: c, APIReader: mgr.GetAPIReader(), Admins: msAdmins,
		Recorder: mgr.GetEventRecorder("kubeship"), OTLPEndpoint: opts.OTLPEndpoint,
		progress: newProgressCoalescer(opts.StatusCoalesce, opts.FirstStatusDelay), conflicts: newStatusConflicts(),
		applied: newAppliedMemo(), unseen: newUnseenStatuses(),
	}
	if err := metrics.Registry.Register(readyCollector{reader: mgr.GetCache()}); err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	if err := ms.SetupWithManager(mgr, opts); err != nil {
		return err
	}
	servers := &DatabaseServerReconciler{Client: c, Admins: admins}
	return servers.SetupWithManager(mgr, opts)
}
