package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// snapshot is the manager's and the API server's counters at one moment.
type snapshot struct {
	mgr, api samples
	cpu      float64
}

func (b *bench) snapshot(ctx context.Context) (snapshot, error) {
	var s snapshot
	var err error
	if s.mgr, err = b.mgr.scrape(); err != nil {
		return s, err
	}
	raw, err := b.cs.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return s, fmt.Errorf("reading kube-apiserver metrics: %w", err)
	}
	if s.api, err = parseMetrics(strings.NewReader(string(raw))); err != nil {
		return s, err
	}
	s.cpu = s.mgr.sum("process_cpu_seconds_total", nil)
	return s, nil
}

// byController selects the Microservice controller's series.
var byController = map[string]string{"controller": "microservice"}

// HTTP methods, as both the manager's and the API server's metrics name them.
const (
	methodPost  = "POST"
	methodPatch = "PATCH"
)

// calls are the requests made between two snapshots.
type calls struct {
	// byMethod: the manager's own client requests by HTTP method.
	byMethod map[string]float64
	// writes: the writes the API server served that only kubeship makes, by verb and
	// resource (see kubeshipWrite).
	apiWrites map[string]float64
	// reconciles of the Microservice controller.
	reconciles float64
	// statusChanges: what changed in the Microservices' conditions (restart only).
	statusChanges map[string]int
}

func (s snapshot) since(before snapshot) calls {
	c := calls{byMethod: map[string]float64{}, apiWrites: map[string]float64{}}
	now, was := s.mgr.by("rest_client_requests_total", "method", nil), before.mgr.by("rest_client_requests_total", "method", nil)
	for m, v := range now {
		if d := v - was[m]; d > 0 {
			c.byMethod[m] = d
		}
	}
	nowW, wasW := s.api.kubeshipWrites(), before.api.kubeshipWrites()
	for k, v := range nowW {
		if d := v - wasW[k]; d > 0 {
			c.apiWrites[k] = d
		}
	}
	c.reconciles = s.mgr.sum("controller_runtime_reconcile_total", byController) -
		before.mgr.sum("controller_runtime_reconcile_total", byController)
	return c
}

// writes is how many write requests the manager made.
func (c calls) writes() float64 {
	total := 0.0
	for _, m := range []string{methodPost, "PUT", methodPatch, "DELETE"} {
		total += c.byMethod[m]
	}
	return total
}

// kubeshipWrites sums apiserver_request_total for the writes only kubeship makes in a
// bench run: Server-Side Applies, writes to Microservices and their status (not their
// creates, which are the bench's), Secret creates and patches, claim patches. The controller manager, scheduler
// and KWOK write other resources or subresources (pod and workload status, Events).
func (s samples) kubeshipWrites() map[string]float64 {
	out := map[string]float64{}
	f, ok := s["apiserver_request_total"]
	if !ok {
		return out
	}
	for _, m := range f.GetMetric() {
		l := labelsOf(m)
		verb, res := l["verb"], l["resource"]
		if l["subresource"] != "" {
			res += "/" + l["subresource"]
		}
		if l["dry_run"] != "" || verb == "GET" || verb == "LIST" || verb == "WATCH" {
			continue
		}
		// The verb is the HTTP method (POST creates, PUT updates) except for APPLY, LIST
		// and WATCH. Microservice creates are the bench's own; events.k8s.io Events come
		// from the scheduler too, so kubeship's are counted by the manager's POSTs instead.
		// Only kubeship patches Secrets and PersistentVolumeClaims here (the controller
		// manager updates claims with PUT).
		mine := verb == "APPLY" || (strings.HasPrefix(res, "microservices") && verb != methodPost) ||
			(res == "secrets" && (verb == methodPost || verb == methodPatch)) || (res == "persistentvolumeclaims" && verb == methodPatch)
		if mine {
			out[verb+" "+res] += m.GetCounter().GetValue()
		}
	}
	return out
}

// settle waits until the Microservice queue is empty and the manager made no write for
// 3 s (passes that write nothing, such as those autoscaler status updates bring, may go
// on), at most two minutes, and returns the snapshot then.
func (b *bench) settle(ctx context.Context) (snapshot, error) {
	last, quiet := -1.0, 0
	deadline := time.Now().Add(2 * time.Minute)
	for {
		s, err := b.snapshot(ctx)
		if err != nil {
			return s, err
		}
		writes := 0.0
		for m, v := range s.mgr.by("rest_client_requests_total", "method", nil) {
			if m != "GET" && m != "LIST" && m != "WATCH" {
				writes += v
			}
		}
		if writes == last && s.mgr.sum("workqueue_depth", byController) == 0 {
			quiet++
		} else {
			quiet = 0
		}
		if quiet >= 6 || time.Now().After(deadline) {
			return s, nil
		}
		last = writes
		select {
		case <-ctx.Done():
			return s, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// idleWindow counts the manager's requests over cfg.idle with nothing to do, and the
// CPU every process used meanwhile: what each second of a side's window costs the
// machine with the fleet in place, whatever the side does.
func (b *bench) idleWindow(ctx context.Context) (calls, processCPU, error) {
	before, err := b.snapshot(ctx)
	if err != nil {
		return calls{}, nil, err
	}
	cpuBefore := readProcessCPU()
	select {
	case <-ctx.Done():
		return calls{}, nil, ctx.Err()
	case <-time.After(b.cfg.idle):
	}
	cpu := readProcessCPU().since(cpuBefore)
	after, err := b.snapshot(ctx)
	return after.since(before), cpu, err
}

// restart stops the manager and starts a new one, and measures how long it takes to
// reconcile every Microservice once with an empty queue after, and what it writes from
// its start to the end of an idle window after catching up.
func (b *bench) restart(ctx context.Context) (calls, time.Duration, error) {
	if err := b.mgr.stop(); err != nil {
		return calls{}, 0, err
	}
	list := &v1alpha1.MicroserviceList{}
	if err := b.c.List(ctx, list); err != nil {
		return calls{}, 0, err
	}
	start := time.Now()
	if err := b.mgr.start(ctx); err != nil {
		return calls{}, 0, err
	}
	zero := snapshot{mgr: samples{}, api: samples{}}
	if first, err := b.snapshot(ctx); err == nil {
		zero.api = first.api
	}
	var caughtUp time.Duration
	for caughtUp == 0 {
		s, err := b.mgr.scrape()
		if err != nil {
			return calls{}, 0, err
		}
		if s.sum("controller_runtime_reconcile_total", byController) >= float64(len(list.Items)) &&
			s.sum("workqueue_depth", nil) == 0 {
			caughtUp = time.Since(start)
			break
		}
		select {
		case <-ctx.Done():
			return calls{}, 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	select {
	case <-ctx.Done():
		return calls{}, 0, ctx.Err()
	case <-time.After(b.cfg.idle):
	}
	after, err := b.snapshot(ctx)
	if err != nil {
		return calls{}, 0, err
	}
	c := after.since(zero)
	now := &v1alpha1.MicroserviceList{}
	if err := b.c.List(ctx, now); err != nil {
		return calls{}, 0, err
	}
	c.statusChanges = conditionChanges(list.Items, now.Items)
	return c, caughtUp, nil
}

// conditionChanges counts, by condition type and reasons, the conditions of the
// Microservices in before that differ in now (status, reason or message): what the status
// writes of a window changed.
func conditionChanges(before, now []v1alpha1.Microservice) map[string]int {
	was := map[client.ObjectKey]v1alpha1.Microservice{}
	for _, ms := range before {
		was[client.ObjectKeyFromObject(&ms)] = ms
	}
	out := map[string]int{}
	for _, ms := range now {
		old, ok := was[client.ObjectKeyFromObject(&ms)]
		if !ok {
			continue
		}
		for _, c := range ms.Status.Conditions {
			o := meta.FindStatusCondition(old.Status.Conditions, c.Type)
			switch {
			case o == nil:
				out[c.Type+": added "+c.Reason]++
			case o.Status != c.Status || o.Reason != c.Reason:
				out[c.Type+": "+o.Reason+" to "+c.Reason]++
			case o.Message != c.Message:
				out[c.Type+": message of "+c.Reason]++
			}
		}
	}
	return out
}

// memoryPoint is the manager's memory with a given fleet.
type memoryPoint struct {
	label         string
	microservices int
	rssMiB        float64
	heapMiB       float64 // heap in use: the spans holding objects, free slots in them included
	liveMiB       float64 // live heap: the bytes of the objects that survived the collection
}

// recordMemory collects garbage in the manager, then reads its heap and RSS.
func (b *bench) recordMemory(ctx context.Context, label string, microservices int) error {
	if _, err := b.settle(ctx); err != nil {
		return err
	}
	profile := filepath.Join(b.tmp, fmt.Sprintf("heap-%d.pb.gz", len(b.memory)))
	if err := b.mgr.gc(profile); err != nil {
		return err
	}
	s, err := b.mgr.scrape()
	if err != nil {
		return err
	}
	rss, err := b.mgr.rssMiB()
	if err != nil {
		return err
	}
	p := memoryPoint{label: label, microservices: microservices, rssMiB: rss, heapMiB: s.sum("go_memstats_heap_inuse_bytes", nil) / (1 << 20),
		liveMiB: s.sum("go_memstats_heap_alloc_bytes", nil) / (1 << 20)}
	logf("memory, %s: RSS %.1f MiB, heap in use %.1f MiB, live heap %.1f MiB (profile %s)", label, p.rssMiB, p.heapMiB, p.liveMiB, profile)
	b.memory = append(b.memory, p)
	return nil
}

func (b *bench) measureIdleMemory(ctx context.Context, _ *report) error {
	if err := b.mgr.start(ctx); err != nil {
		return err
	}
	if err := b.recordMemory(ctx, "idle, no Microservices", 0); err != nil {
		return err
	}
	return b.mgr.stop()
}

// unrelatedObjects creates cfg.unrelated Secrets and as many ConfigMaps that are not
// kubeship's, records the manager's memory with them, and deletes them again.
func (b *bench) unrelatedObjects(ctx context.Context, microservices int) error {
	ns := "unrelated"
	if err := b.createNamespace(ctx, ns, nil); err != nil {
		return err
	}
	payload := strings.Repeat("x", 512)
	err := parallel(ctx, b.cfg.unrelated, b.cfg.workers, func(ctx context.Context, i int) error {
		s := &corev1.Secret{StringData: map[string]string{"data": payload}}
		s.Name, s.Namespace = fmt.Sprintf("unrelated-%d", i), ns
		if err := b.c.Create(ctx, s); err != nil {
			return err
		}
		cm := &corev1.ConfigMap{Data: map[string]string{"data": payload}}
		cm.Name, cm.Namespace = fmt.Sprintf("unrelated-%d", i), ns
		return b.c.Create(ctx, cm)
	})
	if err != nil {
		return err
	}
	label := fmt.Sprintf("%d Microservices + %d unrelated Secrets and %d ConfigMaps", microservices, b.cfg.unrelated, b.cfg.unrelated)
	if err := b.recordMemory(ctx, label, microservices); err != nil {
		return err
	}
	return b.deleteNamespace(ctx, ns)
}

// imageBumps changes the image of cfg.bumps Microservices one after the other and
// measures, with a watch on Deployments, the time from each patch to the Deployment
// holding the new template. Unless cfg.bumpsBackToBack, each bump waits until the cluster
// is idle again (see untilIdle): the previous bump's rollout finished and the manager's
// queue empty, so that a bump does not share the API server with the last one's rollout.
func (b *bench) imageBumps(ctx context.Context, ns string, n int) ([]time.Duration, error) {
	phase, stop := context.WithCancel(ctx)
	defer stop()
	var mu sync.Mutex
	waiting := map[string]chan struct{}{}
	factory := informers.NewSharedInformerFactoryWithOptions(b.cs, 0, informers.WithNamespace(ns))
	onDeploy := func(obj any) {
		d, ok := obj.(*appsv1.Deployment)
		if !ok || len(d.Spec.Template.Spec.Containers) == 0 {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		key := d.Name + "=" + d.Spec.Template.Spec.Containers[0].Image
		if ch, ok := waiting[key]; ok {
			close(ch)
			delete(waiting, key)
		}
	}
	_, _ = factory.Apps().V1().Deployments().Informer().AddEventHandler(handler(onDeploy))
	factory.Start(phase.Done())
	factory.WaitForCacheSync(phase.Done())
	out := make([]time.Duration, 0, b.cfg.bumps)
	for k := range b.cfg.bumps {
		name := fmt.Sprintf("svc-%d", k%n)
		image := fmt.Sprintf("ghcr.io/acme/svc:2.%d", k)
		ch := make(chan struct{})
		mu.Lock()
		waiting[name+"="+image] = ch
		mu.Unlock()
		ms := &v1alpha1.Microservice{}
		ms.Name, ms.Namespace = name, ns
		patch := client.RawPatch(types.MergePatchType, []byte(fmt.Sprintf(`{"spec":{"image":%q}}`, image)))
		start := time.Now()
		if err := b.c.Patch(ctx, ms, patch); err != nil {
			return nil, err
		}
		select {
		case <-ch:
			out = append(out, time.Since(start))
		case <-time.After(time.Minute):
			return nil, fmt.Errorf("the Deployment %s never got image %s", name, image)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if !b.cfg.bumpsBackToBack {
			if err := b.untilIdle(ctx, ms); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// untilIdle waits until ms is Ready at its generation (its rollout finished) and the
// manager's Microservice queue is empty. It polls: what it waits for is not measured.
func (b *bench) untilIdle(ctx context.Context, ms *v1alpha1.Microservice) error {
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		cur := &v1alpha1.Microservice{}
		if err := b.c.Get(ctx, client.ObjectKeyFromObject(ms), cur); err != nil {
			return false, err
		}
		if !microserviceReady(cur) || cur.Generation < ms.Generation {
			return false, nil
		}
		m, err := b.mgr.scrape()
		if err != nil {
			return false, err
		}
		return m.sum("workqueue_depth", byController) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for %s to finish its rollout: %w", ms.Name, err)
	}
	return nil
}

// measureLargeFleet creates count one-replica Microservices, waits until all are Ready
// and records the manager's memory.
func (b *bench) measureLargeFleet(ctx context.Context, count int) (memoryPoint, error) {
	ns := "kubeship-large"
	if err := b.mgr.start(ctx); err != nil {
		return memoryPoint{}, err
	}
	defer func() { _ = b.mgr.stop() }()
	if err := b.prepareNamespace(ctx, ns, 0); err != nil {
		return memoryPoint{}, err
	}
	phase, stop := context.WithCancel(ctx)
	defer stop()
	ready, err := b.watchMicroservices(phase, ns, count, nil)
	if err != nil {
		return memoryPoint{}, err
	}
	ready.start = time.Now()
	err = parallel(ctx, count, b.cfg.workers, func(ctx context.Context, i int) error {
		return b.c.Create(ctx, microservice(ns, i, kindStatic, 1))
	})
	if err != nil {
		return memoryPoint{}, err
	}
	total, err := ready.wait(ctx, 2*convergeTimeout)
	if err != nil {
		return memoryPoint{}, err
	}
	logf("%d one-replica Microservices Ready in %s", count, total.Round(time.Millisecond))
	before := len(b.memory)
	if err := b.recordMemory(ctx, fmt.Sprintf("%d Microservices (static, 1 replica)", count), count); err != nil {
		return memoryPoint{}, err
	}
	p := b.memory[before]
	b.memory = b.memory[:before]
	// The last measurement: the fleet goes with the cluster at tear-down. Deleting a
	// namespace of this size waits on the garbage collector for many minutes.
	return p, nil
}
