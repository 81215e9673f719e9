package controllers

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	ctrlevent "sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// TestProgressEventsGoAhead: with a thousand first passes queued, a child's rollout
// news is handled next, not after them; what controller-runtime lowers (an informer's
// initial list) stays low; a plain queue just gets the item.
func TestProgressEventsGoAhead(t *testing.T) {
	ctx := context.Background()
	request := func(name string) reconcile.Request {
		return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "shop", Name: name}}
	}
	deployment := func(name, rv string) *appsv1.Deployment {
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, ResourceVersion: rv}}
	}
	h := withProgressPriority(handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		return []reconcile.Request{request(o.GetName())}
	}))

	q := priorityqueue.New[reconcile.Request]("progress-test")
	defer q.ShutDown()
	for _, name := range []string{"new-1", "new-2", "new-3"} {
		q.Add(request(name)) // first passes of new Microservices, as their create events add them
	}
	h.Update(ctx, ctrlevent.UpdateEvent{ObjectOld: deployment("api", "7"), ObjectNew: deployment("api", "8")}, q)
	h.Create(ctx, ctrlevent.CreateEvent{Object: deployment("old", "3"), IsInInitialList: true}, q)

	want := []struct {
		name     string
		priority int
	}{{"api", progressPriority}, {"new-1", 0}, {"new-2", 0}, {"new-3", 0}, {"old", handler.LowPriority}}
	for _, w := range want {
		item, priority, _ := q.GetWithPriority()
		if item != request(w.name) || priority != w.priority {
			t.Fatalf("got %s at priority %d, want %s at %d", item.Name, priority, w.name, w.priority)
		}
		q.Done(item)
	}

	plain := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer plain.ShutDown()
	h.Update(ctx, ctrlevent.UpdateEvent{ObjectOld: deployment("api", "7"), ObjectNew: deployment("api", "8")}, plain)
	if item, _ := plain.Get(); item != request("api") {
		t.Fatalf("a plain queue got %v, want the Deployment's Microservice", item)
	}
}
