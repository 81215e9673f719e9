package controllers

import (
	"context"

	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	ctrlevent "sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// pendingFromInitialList lifts the Microservices of the informer's initial list that
// still wait for kubeship to the default priority. controller-runtime queues every object
// of an initial list at handler.LowPriority, so that a restart's recheck of a converged
// fleet yields to real news. But the initial list also holds the services that are not
// converged: created, edited or deleted while no manager ran, or created in the moment
// between the manager's start and its first list. At low priority these wait until the
// whole queue is empty, which on a busy fleet means behind every other service's
// progress. A service is pending while its status has not observed its generation, or
// while it is being deleted.
type pendingFromInitialList struct{}

var _ handler.EventHandler = pendingFromInitialList{}

func (pendingFromInitialList) Create(_ context.Context, e ctrlevent.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
	if !e.IsInInitialList || !pending(e.Object) {
		return
	}
	pq, ok := q.(priorityqueue.PriorityQueue[reconcile.Request])
	if !ok {
		// A plain queue has no priorities: the For watch's add is enough.
		return
	}
	// The queue keeps the higher of two priorities given to one item.
	pq.AddWithOpts(priorityqueue.AddOpts{Priority: ptr.To(0)}, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(e.Object)})
}

func (pendingFromInitialList) Update(context.Context, ctrlevent.UpdateEvent, workqueue.TypedRateLimitingInterface[reconcile.Request]) {
}

func (pendingFromInitialList) Delete(context.Context, ctrlevent.DeleteEvent, workqueue.TypedRateLimitingInterface[reconcile.Request]) {
}

func (pendingFromInitialList) Generic(context.Context, ctrlevent.GenericEvent, workqueue.TypedRateLimitingInterface[reconcile.Request]) {
}

// pending tells whether obj, a Microservice, still waits for a pass to act on it.
func pending(obj client.Object) bool {
	ms, ok := obj.(*v1alpha1.Microservice)
	if !ok {
		return false
	}
	return ms.Status.ObservedGeneration != ms.Generation || !ms.DeletionTimestamp.IsZero()
}
