package controllers

import (
	"context"
	"time"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	ctrlevent "sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// progressPriority is the queue priority of a pass woken by a child whose status
// kubeship reports (a Deployment's rollout, a database's StatefulSet, a migration Job,
// an autoscaler). Such a pass finishes a service already under way, usually with one
// status write; the default priority (0) is for everything else, such as the first pass
// of a new Microservice. Without it, when a thousand services are created at once,
// each service's Ready waits behind the first passes of all the others.
const progressPriority = 1

// withProgressPriority wraps h so that what it enqueues goes in at progressPriority,
// unless h chose a priority itself (controller-runtime lowers the events of an
// informer's initial list and of resyncs, which stay low). Without a priority queue it
// changes nothing.
func withProgressPriority(h handler.EventHandler) handler.EventHandler {
	return progressHandler{h}
}

type progressHandler struct{ inner handler.EventHandler }

type rateLimitingQueue = workqueue.TypedRateLimitingInterface[reconcile.Request]

func (p progressHandler) Create(ctx context.Context, e ctrlevent.CreateEvent, q rateLimitingQueue) {
	p.inner.Create(ctx, e, prioritized(q))
}

func (p progressHandler) Update(ctx context.Context, e ctrlevent.UpdateEvent, q rateLimitingQueue) {
	p.inner.Update(ctx, e, prioritized(q))
}

func (p progressHandler) Delete(ctx context.Context, e ctrlevent.DeleteEvent, q rateLimitingQueue) {
	p.inner.Delete(ctx, e, prioritized(q))
}

func (p progressHandler) Generic(ctx context.Context, e ctrlevent.GenericEvent, q rateLimitingQueue) {
	p.inner.Generic(ctx, e, prioritized(q))
}

// prioritized returns q with its default priority raised to progressPriority, or q
// itself when it is not a priority queue.
func prioritized(q rateLimitingQueue) rateLimitingQueue {
	pq, ok := q.(priorityqueue.PriorityQueue[reconcile.Request])
	if !ok {
		return q
	}
	return progressQueue{pq}
}

// progressQueue is a priority queue whose additions without a priority get
// progressPriority. It is still a priorityqueue.PriorityQueue, so handlers that set
// priorities (AddWithOpts) keep working through it.
type progressQueue struct {
	priorityqueue.PriorityQueue[reconcile.Request]
}

func (q progressQueue) opts(o priorityqueue.AddOpts) priorityqueue.AddOpts {
	if o.Priority == nil {
		p := progressPriority
		o.Priority = &p
	}
	return o
}

func (q progressQueue) Add(item reconcile.Request) {
	q.PriorityQueue.AddWithOpts(q.opts(priorityqueue.AddOpts{}), item)
}

func (q progressQueue) AddAfter(item reconcile.Request, after time.Duration) {
	q.PriorityQueue.AddWithOpts(q.opts(priorityqueue.AddOpts{After: after}), item)
}

func (q progressQueue) AddRateLimited(item reconcile.Request) {
	q.PriorityQueue.AddWithOpts(q.opts(priorityqueue.AddOpts{RateLimited: true}), item)
}

func (q progressQueue) AddWithOpts(o priorityqueue.AddOpts, items ...reconcile.Request) {
	q.PriorityQueue.AddWithOpts(q.opts(o), items...)
}

// progressOfOwner enqueues, at progressPriority, the Microservice that controls the
// object: Owns, for the children whose status kubeship reports.
func progressOfOwner(mgr manager.Manager) handler.EventHandler {
	return withProgressPriority(handler.EnqueueRequestForOwner(mgr.GetScheme(), mgr.GetRESTMapper(), &v1alpha1.Microservice{}, handler.OnlyControllerOwner()))
}
