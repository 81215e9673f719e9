package controllers

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/priorityqueue"
	ctrlevent "sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// TestProgressEventsGoAhead: with first passes queued, a Deployment whose rollout just
// finished is handled next, not after them; one still rolling out waits its turn (its
// news merges with later news); what controller-runtime lowers (an informer's initial
// list) stays low; a plain queue just gets the item.
func TestProgressEventsGoAhead(t *testing.T) {
	ctx := context.Background()
	request := func(name string) reconcile.Request {
		return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: "shop", Name: name}}
	}
	deployment := func(name, rv string, available int32) *appsv1.Deployment {
		return &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, ResourceVersion: rv, Generation: 1},
			Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](2)},
			Status:     appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: available},
		}
	}
	h := withProgressPriority(handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		return []reconcile.Request{request(o.GetName())}
	}), deploymentSettled)

	q := priorityqueue.New[reconcile.Request]("progress-test")
	defer q.ShutDown()
	for _, name := range []string{"new-1", "new-2", "new-3"} {
		q.Add(request(name)) // first passes of new Microservices, as their create events add them
	}
	h.Update(ctx, ctrlevent.UpdateEvent{ObjectOld: deployment("web", "4", 0), ObjectNew: deployment("web", "5", 1)}, q)
	h.Update(ctx, ctrlevent.UpdateEvent{ObjectOld: deployment("api", "7", 1), ObjectNew: deployment("api", "8", 2)}, q)
	h.Create(ctx, ctrlevent.CreateEvent{Object: deployment("old", "3", 2), IsInInitialList: true}, q)

	want := []struct {
		name     string
		priority int
	}{{"api", progressPriority}, {"new-1", 0}, {"new-2", 0}, {"new-3", 0}, {"web", 0}, {"old", handler.LowPriority}}
	for _, w := range want {
		item, priority, _ := q.GetWithPriority()
		if item != request(w.name) || priority != w.priority {
			t.Fatalf("got %s at priority %d, want %s at %d", item.Name, priority, w.name, w.priority)
		}
		q.Done(item)
	}

	plain := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[reconcile.Request]())
	defer plain.ShutDown()
	h.Update(ctx, ctrlevent.UpdateEvent{ObjectOld: deployment("api", "7", 1), ObjectNew: deployment("api", "8", 2)}, plain)
	if item, _ := plain.Get(); item != request("api") {
		t.Fatalf("a plain queue got %v, want the Deployment's Microservice", item)
	}
}

func TestSettled(t *testing.T) {
	two := ptr.To[int32](2)
	for _, tc := range []struct {
		name    string
		obj     client.Object
		settled func(client.Object) bool
		want    bool
	}{
		{"deployment rolled out", &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: 3}, Spec: appsv1.DeploymentSpec{Replicas: two},
			Status: appsv1.DeploymentStatus{ObservedGeneration: 3, Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2}}, deploymentSettled, true},
		{"deployment of an older generation", &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: 3}, Spec: appsv1.DeploymentSpec{Replicas: two},
			Status: appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2}}, deploymentSettled, false},
		{"deployment with an old pod left", &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: 3}, Spec: appsv1.DeploymentSpec{Replicas: two},
			Status: appsv1.DeploymentStatus{ObservedGeneration: 3, Replicas: 3, UpdatedReplicas: 2, AvailableReplicas: 3}}, deploymentSettled, false},
		{"statefulset ready", &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](1)}, Status: appsv1.StatefulSetStatus{ReadyReplicas: 1}}, statefulSetSettled, true},
		{"statefulset starting", &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](1)}}, statefulSetSettled, false},
		{"job failed", &batchv1.Job{Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue}}}}, jobSettled, true},
		{"job running", &batchv1.Job{}, jobSettled, false},
		{"not the kind asked about", &batchv1.Job{}, deploymentSettled, false},
	} {
		if got := tc.settled(tc.obj); got != tc.want {
			t.Errorf("%s: settled = %v, want %v", tc.name, got, tc.want)
		}
	}
}
