package controllers

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/kubeship/kubeship/controllers/resources"
)

// CacheOptions restricts the manager's informers for child kinds to objects kubeship
// manages, so memory grows with the number of Microservices, not with the cluster.
func CacheOptions() cache.Options {
	managed := labels.SelectorFromSet(labels.Set{resources.LabelManagedBy: resources.ManagedByKubeship})
	byObject := map[client.Object]cache.ByObject{}
	for _, obj := range []client.Object{
		&appsv1.Deployment{}, &corev1.Service{}, &autoscalingv2.HorizontalPodAutoscaler{}, &policyv1.PodDisruptionBudget{},
		&corev1.Secret{}, &appsv1.StatefulSet{}, &networkingv1.NetworkPolicy{}, &corev1.PersistentVolumeClaim{},
	} {
		byObject[obj] = cache.ByObject{Label: managed}
	}
	return cache.Options{ByObject: byObject}
}

// SetupWithManager registers every kubeship controller with mgr. connect opens admin
// connections to DatabaseServers (dbadmin.Connect outside tests); opts' zero fields take
// the defaults.
func SetupWithManager(mgr ctrl.Manager, connect Connector, opts Options) error {
	opts = opts.withDefaults()
	admins := serverConnector{
		gate:    secretGate{reader: mgr.GetAPIReader(), namespace: opts.OperatorNamespace},
		connect: connect,
		timeout: opts.DatabaseTimeout,
	}
	// Microservice passes share each server's slots; the DatabaseServer check (one login
	// per server and recheck) does not queue behind them.
	msAdmins := admins
	msAdmins.slots = newServerSlots(opts.ServerConnections)
	// Every write the controllers make is under kubeship's field manager.
	c := client.WithFieldOwner(mgr.GetClient(), FieldOwner)
	ms := &MicroserviceReconciler{
		Client: c, APIReader: mgr.GetAPIReader(), Admins: msAdmins,
		Recorder: mgr.GetEventRecorder("kubeship"),
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
