package main

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

// readiness records, from watches, when each of want keys first became ready.
type readiness struct {
	// written, on the readiness of children, records when each service's Deployment
	// was first seen, i.e. written; nil elsewhere.
	written *readiness
	start   time.Time
	want    int
	mu      sync.Mutex
	at      map[string]time.Duration
	done    chan struct{}
}

func newReadiness(want int) *readiness {
	return &readiness{start: time.Now(), want: want, at: map[string]time.Duration{}, done: make(chan struct{})}
}

func (r *readiness) mark(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, seen := r.at[key]; seen {
		return
	}
	r.at[key] = time.Since(r.start)
	if len(r.at) == r.want {
		close(r.done)
	}
}

func (r *readiness) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.at)
}

// wait blocks until every key was ready, and returns when the last one became ready.
func (r *readiness) wait(ctx context.Context, timeout time.Duration) (time.Duration, error) {
	select {
	case <-r.done:
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(timeout):
		return 0, fmt.Errorf("%d of %d ready after %s", r.count(), r.want, timeout)
	}
	return r.timeline()[r.want-1], nil
}

// timeline is when each key became ready, in order.
func (r *readiness) timeline() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]time.Duration, 0, len(r.at))
	for _, d := range r.at {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// watchFloor marks a service ready when its Deployment is available with every replica
// updated, and, for a dedicated database, its StatefulSet's pods are ready: what
// kubeship's Ready requires of the same objects.
func (b *bench) watchFloor(ctx context.Context, ns string, m mix, n int) *readiness {
	r := newReadiness(n)
	r.written = newReadiness(n)
	var mu sync.Mutex
	deployReady, dbReady := map[string]bool{}, map[string]bool{}
	needsDB := map[string]bool{}
	for i := range n {
		if m.kind(i) == kindDedicated {
			needsDB[fmt.Sprintf("svc-%d", i)] = true
		}
	}
	check := func(name string) {
		if deployReady[name] && (!needsDB[name] || dbReady[name]) {
			r.mark(name)
		}
	}
	factory := informers.NewSharedInformerFactoryWithOptions(b.cs, 0, informers.WithNamespace(ns))
	onDeploy := func(obj any) {
		d, ok := obj.(*appsv1.Deployment)
		if !ok {
			return
		}
		r.written.mark(d.Name)
		if !deploymentReady(d) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		deployReady[d.Name] = true
		check(d.Name)
	}
	onSts := func(obj any) {
		s, ok := obj.(*appsv1.StatefulSet)
		if !ok || s.Spec.Replicas == nil || s.Status.ObservedGeneration < s.Generation || s.Status.ReadyReplicas < *s.Spec.Replicas {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		name := s.Labels[resources.LabelMicroservice]
		dbReady[name] = true
		check(name)
	}
	_, _ = factory.Apps().V1().Deployments().Informer().AddEventHandler(handler(onDeploy))
	_, _ = factory.Apps().V1().StatefulSets().Informer().AddEventHandler(handler(onSts))
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	return r
}

// lagBetween is, per key, how long after first it became ready in then; both saw every
// key.
func lagBetween(first, then *readiness) reportLag {
	first.mu.Lock()
	defer first.mu.Unlock()
	then.mu.Lock()
	defer then.mu.Unlock()
	lags := make([]time.Duration, 0, len(then.at))
	for key, at := range then.at {
		lags = append(lags, max(0, at-first.at[key]))
	}
	if len(lags) == 0 {
		return reportLag{}
	}
	sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
	q := func(f float64) time.Duration { return lags[min(len(lags)-1, int(f*float64(len(lags))))] }
	return reportLag{p50: q(0.5), p90: q(0.9), max: lags[len(lags)-1]}
}

func deploymentReady(d *appsv1.Deployment) bool {
	if d.Spec.Replicas == nil || d.Status.ObservedGeneration < d.Generation || d.Status.UpdatedReplicas < *d.Spec.Replicas ||
		d.Status.AvailableReplicas < *d.Spec.Replicas {
		return false
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// watchMicroservices marks a Microservice ready when its Ready condition is True for
// its current generation: what `kubectl wait --for=condition=Ready` waits for.
func (b *bench) watchMicroservices(ctx context.Context, ns string, n int, statuses *statusWrites) (*readiness, error) {
	r := newReadiness(n)
	dyn, err := dynamic.NewForConfig(b.rest)
	if err != nil {
		return nil, err
	}
	factory := dynamicinformer.NewFilteredDynamicSharedInformerFactory(dyn, 0, ns, nil)
	informer := factory.ForResource(v1alpha1.GroupVersion.WithResource("microservices")).Informer()
	_, _ = informer.AddEventHandler(handler(func(obj any) {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok {
			return
		}
		ms := &v1alpha1.Microservice{}
		if runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, ms) != nil {
			return
		}
		statuses.observe(ms)
		if microserviceReady(ms) {
			r.mark(ms.Name)
		}
	}))
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	return r, nil
}

func microserviceReady(ms *v1alpha1.Microservice) bool {
	for _, c := range ms.Status.Conditions {
		if c.Type == v1alpha1.ConditionReady {
			return c.Status == metav1.ConditionTrue && c.ObservedGeneration == ms.Generation
		}
	}
	return false
}

func handler(f func(obj any)) cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{AddFunc: f, UpdateFunc: func(_, obj any) { f(obj) }}
}
