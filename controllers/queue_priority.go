package controllers

import (
	"context"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	ctrlevent "sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// progressPriority is the queue priority of a pass woken by a child that has just
// settled: a Deployment whose rollout finished, a database's StatefulSet with its pod
// ready, a migration Job that ended. Such a pass usually finishes a service already under
// way with its last status write; the default priority (0) is for everything else, such
// as the first pass of a new Microservice. Without it, when a thousand services are
// created at once, each service's Ready waits behind the first passes of all the others.
// Intermediate progress (one replica of two available) stays at the default priority:
// queued behind the others it merges with later news instead of costing a status write.
const progressPriority = 1

// withProgressPriority wraps h so that a creation or update whose new object settled
// goes in at progressPriority, unless h chose a priority itself (controller-runtime
// lowers the events of an informer's initial list and of resyncs, which stay low).
// Without a priority queue it changes nothing.
func withProgressPriority(h handler.EventHandler, settled func(client.Object) bool) handler.EventHandler {
	return progressHandler{inner: h, settled: settled}
}

type progressHandler struct {
	inner   handler.EventHandler
	settled func(client.Object) bool
}

type rateLimitingQueue = workqueue.TypedRateLimitingInterface[reconcile.Request]

func (p progressHandler) Create(ctx context.Context, e ctrlevent.CreateEvent, q rateLimitingQueue) {
	p.inner.Create(ctx, e, p.queueFor(e.Object, q))
}

func (p progressHandler) Update(ctx context.Context, e ctrlevent.UpdateEvent, q rateLimitingQueue) {
	p.inner.Update(ctx, e, p.queueFor(e.ObjectNew, q))
}

func (p progressHandler) Delete(ctx context.Context, e ctrlevent.DeleteEvent, q rateLimitingQueue) {
	p.inner.Delete(ctx, e, q)
}

func (p progressHandler) Generic(ctx context.Context, e ctrlevent.GenericEvent, q rateLimitingQueue) {
	p.inner.Generic(ctx, e, q)
}

// queueFor is q, prioritized when obj has settled.
func (p progressHandler) queueFor(obj client.Object, q rateLimitingQueue) rateLimitingQueue {
	if obj == nil || !p.settled(obj) {
		return q
	}
	return prioritized(q)
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

// progressOfOwner enqueues the Microservice that controls the object, as Owns does, at
// progressPriority when settled says the object has settled.
func progressOfOwner(mgr manager.Manager, settled func(client.Object) bool) handler.EventHandler {
	return withProgressPriority(handler.EnqueueRequestForOwner(mgr.GetScheme(), mgr.GetRESTMapper(), &v1alpha1.Microservice{}, handler.OnlyControllerOwner()), settled)
}

// deploymentSettled: the rollout of the Deployment's current generation finished, every
// replica updated and available.
func deploymentSettled(o client.Object) bool {
	d, ok := o.(*appsv1.Deployment)
	if !ok {
		return false
	}
	want := ptr.Deref(d.Spec.Replicas, 1)
	return d.Status.ObservedGeneration >= d.Generation && d.Status.Replicas == want &&
		d.Status.UpdatedReplicas == want && d.Status.AvailableReplicas == want
}

// statefulSetSettled: the StatefulSet's current generation has all its pods ready.
func statefulSetSettled(o client.Object) bool {
	s, ok := o.(*appsv1.StatefulSet)
	return ok && s.Status.ObservedGeneration >= s.Generation && s.Status.ReadyReplicas >= ptr.Deref(s.Spec.Replicas, 1)
}

// jobSettled: the Job completed or failed.
func jobSettled(o client.Object) bool {
	j, ok := o.(*batchv1.Job)
	if !ok {
		return false
	}
	for _, c := range j.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
