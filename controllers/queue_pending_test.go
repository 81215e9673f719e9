package controllers

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	ctrlevent "sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// TestPendingServicesOfTheInitialListGoAhead: after a (re)start, the initial list's
// services that kubeship has not acted on (new, edited meanwhile, being deleted) are
// handled at the default priority, in the order listed, before the converged ones that
// controller-runtime lowers for the recheck; news that is not from the initial list is
// left to the For watch, and a plain queue gets nothing extra.
func TestPendingServicesOfTheInitialListGoAhead(t *testing.T) {
	ctx := context.Background()
	service := func(name string, generation, observed int64, deleting bool) *v1alpha1.Microservice {
		ms := &v1alpha1.Microservice{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, Generation: generation}}
		ms.Status.ObservedGeneration = observed
		if deleting {
			ms.DeletionTimestamp = &metav1.Time{Time: time.Now()}
			ms.Finalizers = []string{DatabaseFinalizer}
		}
		return ms
	}
	listed := []*v1alpha1.Microservice{
		service("converged-1", 2, 2, false),
		service("new", 1, 0, false),
		service("converged-2", 1, 1, false),
		service("edited", 3, 2, false),
		service("deleting", 1, 1, true),
	}
	forWatch := &handler.EnqueueRequestForObject{}
	q := priorityqueue.New[reconcile.Request]("pending-test")
	defer q.ShutDown()
	for _, ms := range listed {
		e := ctrlevent.CreateEvent{Object: ms, IsInInitialList: true}
		forWatch.Create(ctx, e, q)
		pendingFromInitialList{}.Create(ctx, e, q)
	}
	want := []struct {
		name     string
		priority int
	}{{"new", 0}, {"edited", 0}, {"deleting", 0}, {"converged-1", handler.LowPriority}, {"converged-2", handler.LowPriority}}
	for _, w := range want {
		item, priority, _ := q.GetWithPriority()
		if item.Name != w.name || priority != w.priority {
			t.Fatalf("got %s at priority %d, want %s at %d", item.Name, priority, w.name, w.priority)
		}
		q.Done(item)
	}
	if n := q.Len(); n != 0 {
		t.Fatalf("%d items left in the queue", n)
	}

	// Not from the initial list: the For watch already queues it at the default priority.
	pendingFromInitialList{}.Create(ctx, ctrlevent.CreateEvent{Object: service("fresh", 1, 0, false)}, q)
	if n := q.Len(); n != 0 {
		t.Errorf("a create outside the initial list added %d items", n)
	}
	plain := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer plain.ShutDown()
	pendingFromInitialList{}.Create(ctx, ctrlevent.CreateEvent{Object: service("new", 1, 0, false), IsInInitialList: true}, plain)
	if n := plain.Len(); n != 0 {
		t.Errorf("a plain queue got %d items", n)
	}
}
