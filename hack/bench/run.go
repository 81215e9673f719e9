package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// convergeTimeout bounds one side's wait for its whole fleet.
const convergeTimeout = 20 * time.Minute

// runResult is one side of a mix: how long the fleet took and when each became ready.
type runResult struct {
	total    time.Duration
	timeline []time.Duration
	// cpu is what each process used from the first write until the fleet was ready.
	cpu processCPU
	// written is when the last Deployment was written (first seen by the watch).
	written time.Duration
	// requests is what kube-apiserver served meanwhile, for every client.
	requests requestCounts
	// quiet is how long the side waited for the cluster to finish what came before.
	quiet quiet
}

// round is one floor run and one kubeship run of a mix, made one after the other.
type round struct {
	floor, kubeship       time.Duration
	floorCPU, kubeshipCPU processCPU
	// floorWritten, kubeshipWritten: when each side's last Deployment was written.
	floorWritten, kubeshipWritten time.Duration
	// floorQuiet, kubeshipQuiet: each side's wait for a quiet cluster.
	floorQuiet, kubeshipQuiet quiet
	// kubeshipFirst: kubeship ran before the floor in this round.
	kubeshipFirst bool
}

// reportLag is how long after its children were ready (the floor's readiness, watched on
// kubeship's own objects) each Microservice said Ready: the part of kubeship's time that
// is its own reporting, not the cluster bringing the pods up.
type reportLag struct {
	p50, p90, max time.Duration
}

// mixResult is everything measured for one mix.
type mixResult struct {
	name            string
	n               int
	counts          map[kind]int
	floor, kubeship runResult
	// children is when kubeship's children were ready, by the floor's measure.
	children runResult
	// rounds are the convergence times of every round, the first (floor, kubeship
	// above) included.
	rounds []round
	// statusWrites is what the status writes of the create changed, by kind.
	statusWrites    []statusWriteSummary
	lag             reportLag
	cpuSeconds      float64
	calls           calls
	idle, restarted calls
	// idleCPU is what every process used over the idle window.
	idleCPU processCPU
	catchUp time.Duration
	bumps   []time.Duration
}

func (b *bench) runMix(ctx context.Context, m mix, fleetChecks bool) (*mixResult, error) {
	n := b.cfg.n
	res := &mixResult{name: m.name, n: n, counts: map[kind]int{}}
	for _, k := range []kind{kindStatic, kindAutoscaled, kindDedicated, kindShared} {
		if c := m.count(n, k); c > 0 {
			res.counts[k] = c
		}
	}
	var err error
	if res.floor, err = b.runFloor(ctx, m, 0); err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	logf("%s floor: %d services ready in %s", m.name, n, res.floor.total.Round(time.Millisecond))

	conv, err := b.convergeKubeship(ctx, m, 0)
	if err != nil {
		return nil, err
	}
	res.kubeship, res.children, res.lag = conv.ready, conv.children, conv.lag
	res.rounds = []round{{
		floor: res.floor.total, kubeship: res.kubeship.total, floorCPU: res.floor.cpu, kubeshipCPU: res.kubeship.cpu,
		floorWritten: res.floor.written, kubeshipWritten: res.children.written,
		floorQuiet: res.floor.quiet, kubeshipQuiet: res.kubeship.quiet,
	}}
	logf("%s kubeship: %d Microservices Ready in %s, their children ready in %s; Ready after the children: p50 %s, p90 %s, max %s",
		m.name, n, res.kubeship.total.Round(time.Millisecond), res.children.total.Round(time.Millisecond),
		res.lag.p50.Round(time.Millisecond), res.lag.p90.Round(time.Millisecond), res.lag.max.Round(time.Millisecond))
	ns := conv.ns
	if err := b.afterConverge(ctx, ns, res, conv); err != nil {
		return nil, err
	}
	logf("%s: idle writes %.0f, after restart %.0f (caught up in %s)", m.name, res.idle.writes(), res.restarted.writes(), res.catchUp.Round(time.Millisecond))
	if fleetChecks {
		if err := b.checkFleet(ctx, m, ns, res); err != nil {
			return nil, err
		}
	}
	if err := b.mgr.stop(); err != nil {
		return nil, err
	}
	if err := b.deleteNamespace(ctx, ns); err != nil {
		return nil, err
	}
	return res, b.moreRounds(ctx, m, res)
}

// moreRounds runs the mix's further rounds, convergence only, in alternating order
// (floor then kubeship, kubeship then floor, ...: ABBA), so a cluster that grows slower
// or faster over the run favours neither side.
func (b *bench) moreRounds(ctx context.Context, m mix, res *mixResult) error {
	for r := 1; r < b.cfg.rounds; r++ {
		var rd round
		kubeshipFirst := r%2 == 1
		for _, kubeship := range []bool{kubeshipFirst, !kubeshipFirst} {
			if !kubeship {
				floor, err := b.runFloor(ctx, m, r)
				if err != nil {
					return fmt.Errorf("floor, round %d: %w", r+1, err)
				}
				rd.floor, rd.floorCPU, rd.floorWritten, rd.floorQuiet = floor.total, floor.cpu, floor.written, floor.quiet
				continue
			}
			conv, err := b.convergeKubeship(ctx, m, r)
			if err != nil {
				return fmt.Errorf("round %d: %w", r+1, err)
			}
			conv.stopWatch()
			rd.kubeship, rd.kubeshipCPU, rd.kubeshipFirst = conv.ready.total, conv.ready.cpu, kubeshipFirst
			rd.kubeshipWritten, rd.kubeshipQuiet = conv.children.written, conv.ready.quiet
			if err := b.mgr.stop(); err != nil {
				return err
			}
			if err := b.deleteNamespace(ctx, conv.ns); err != nil {
				return err
			}
		}
		logf("%s round %d: floor %s, kubeship %s", m.name, r+1, rd.floor.Round(time.Millisecond), rd.kubeship.Round(time.Millisecond))
		res.rounds = append(res.rounds, rd)
	}
	return nil
}

// roundNamespace is the namespace of a side's round (counted from 0): each round has
// its own, since a shared database and its role outlive their namespace and stay
// owned by the service that made them (kubeship refuses to take them over, rightly).
func roundNamespace(base string, round int) string {
	if round == 0 {
		return base
	}
	return fmt.Sprintf("%s-%d", base, round+1)
}

// convergence is one kubeship run of a mix: the manager started, the Microservices
// created, timed until all are Ready. The manager is left running.
type convergence struct {
	// ns is the namespace of the Microservices.
	ns              string
	ready, children runResult
	lag             reportLag
	// statuses records what the status writes changed, until stopWatch.
	statuses  *statusWrites
	stopWatch context.CancelFunc
	// before is the request counts just before the Microservices were created.
	before snapshot
}

func (b *bench) convergeKubeship(ctx context.Context, m mix, round int) (convergence, error) {
	n := b.cfg.n
	ns := roundNamespace("kubeship-"+m.name, round)
	conv := convergence{ns: ns}
	if err := b.mgr.start(ctx); err != nil {
		return conv, err
	}
	if m.count(n, kindShared) > 0 {
		if err := b.waitServerReady(ctx); err != nil {
			return conv, fmt.Errorf("DatabaseServer %s: %w", benchServer, err)
		}
	}
	if err := b.prepareNamespace(ctx, ns, m.count(n, kindDedicated)); err != nil {
		return conv, err
	}
	var err error
	if conv.before, err = b.snapshot(ctx); err != nil {
		return conv, err
	}
	phase, stop := context.WithCancel(ctx)
	defer stop()
	// The Microservices' watch goes on past convergence, for the status writes that
	// follow Ready; the caller stops it.
	watching, stopWatch := context.WithCancel(ctx)
	conv.statuses, conv.stopWatch = newStatusWrites(m), stopWatch
	ready, err := b.watchMicroservices(watching, ns, n, conv.statuses)
	if err != nil {
		stopWatch()
		return conv, err
	}
	children := b.watchFloor(phase, ns, m, n)
	if conv.ready.quiet, err = b.waitQuiet(ctx, m.name+" kubeship"); err != nil {
		stopWatch()
		return conv, err
	}
	requestsBefore, err := b.readRequests(ctx)
	if err != nil {
		stopWatch()
		return conv, err
	}
	cpuBefore := readProcessCPU()
	ready.start = time.Now()
	children.start = ready.start
	profiles := b.profileRound(ctx, m, round, "kubeship")
	err = parallel(ctx, n, b.cfg.workers, func(ctx context.Context, i int) error {
		return b.c.Create(ctx, microservice(ns, i, m.kind(i), 2))
	})
	if err != nil {
		stopWatch()
		return conv, err
	}
	if conv.ready.total, err = ready.wait(ctx, convergeTimeout); err != nil {
		stopWatch()
		return conv, fmt.Errorf("kubeship: %w", err)
	}
	if err := profiles.wait(); err != nil {
		stopWatch()
		return conv, err
	}
	conv.ready.cpu = readProcessCPU().since(cpuBefore)
	requestsAfter, err := b.readRequests(ctx)
	if err != nil {
		stopWatch()
		return conv, err
	}
	conv.ready.requests = requestsAfter.since(requestsBefore)
	conv.ready.timeline = ready.timeline()
	// Ready needs the children ready, so they all are by now.
	if conv.children.total, err = children.wait(ctx, time.Minute); err != nil {
		stopWatch()
		return conv, fmt.Errorf("kubeship's children: %w", err)
	}
	conv.children.timeline = children.timeline()
	conv.children.written = lastOf(children.written)
	conv.lag = lagBetween(children, ready)
	return conv, nil
}

// lastOf is when the last key of r was marked (r saw them all).
func lastOf(r *readiness) time.Duration {
	t := r.timeline()
	if len(t) == 0 {
		return 0
	}
	return t[len(t)-1]
}

// afterConverge measures a converged fleet: the requests of the create (passes that
// follow Ready, the last status write's own event, belong to it), then the idle and
// restart windows.
func (b *bench) afterConverge(ctx context.Context, ns string, res *mixResult, conv convergence) error {
	after, err := b.settle(ctx)
	conv.stopWatch()
	if err != nil {
		return err
	}
	res.statusWrites = conv.statuses.summary(res.counts)
	for _, s := range res.statusWrites {
		logf("%s, %s: %.2f status writes per Microservice: %s", res.name, s.kind, float64(s.total)/float64(s.services), strings.Join(s.changes, "; "))
	}
	res.calls = after.since(conv.before)
	res.cpuSeconds = after.cpu - conv.before.cpu
	// Autoscalers get their first metrics a while after Ready (metrics-server's scrape,
	// then the autoscaler's sync), and each arrival is a real status change: wait for
	// them, so the idle and restart windows hold only writes with nothing to do.
	if res.counts[kindAutoscaled] > 0 {
		if err := b.waitScalingActive(ctx, ns); err != nil {
			return err
		}
		if _, err := b.settle(ctx); err != nil {
			return err
		}
	}
	if res.idle, res.idleCPU, err = b.idleWindow(ctx); err != nil {
		return err
	}
	res.restarted, res.catchUp, err = b.restart(ctx)
	return err
}

// checkFleet measures memory (also with unrelated objects) and image-bump latency on
// the converged fleet.
func (b *bench) checkFleet(ctx context.Context, m mix, ns string, res *mixResult) error {
	n := res.n
	if err := b.recordMemory(ctx, fmt.Sprintf("%d Microservices (%s)", n, m.name), n); err != nil {
		return err
	}
	if b.cfg.unrelated > 0 {
		if err := b.unrelatedObjects(ctx, n); err != nil {
			return err
		}
	}
	var err error
	res.bumps, err = b.imageBumps(ctx, ns, n)
	return err
}

// runFloor writes the children of the mix's services directly and times them to the
// same readiness. The manager is not running.
func (b *bench) runFloor(ctx context.Context, m mix, round int) (runResult, error) {
	n := b.cfg.n
	ns := roundNamespace("floor-"+m.name, round)
	if err := b.prepareNamespace(ctx, ns, m.count(n, kindDedicated)); err != nil {
		return runResult{}, err
	}
	// The API server's defaults, applied before the clock starts: builders read them.
	services := make([]*v1alpha1.Microservice, n)
	err := parallel(ctx, n, b.cfg.workers, func(ctx context.Context, i int) error {
		var err error
		services[i], err = b.defaulted(ctx, microservice(ns, i, m.kind(i), 2))
		return err
	})
	if err != nil {
		return runResult{}, err
	}
	phase, stop := context.WithCancel(ctx)
	defer stop()
	ready := b.watchFloor(phase, ns, m, n)
	var res runResult
	if res.quiet, err = b.waitQuiet(ctx, m.name+" floor"); err != nil {
		return runResult{}, err
	}
	requestsBefore, err := b.readRequests(ctx)
	if err != nil {
		return runResult{}, err
	}
	cpuBefore := readProcessCPU()
	ready.start = time.Now()
	profiles := b.profileRound(ctx, m, round, "floor")
	err = parallel(ctx, n, b.cfg.workers, func(ctx context.Context, i int) error {
		return b.writeFloor(ctx, services[i], m.kind(i))
	})
	if err != nil {
		return runResult{}, err
	}
	if res.total, err = ready.wait(ctx, convergeTimeout); err != nil {
		return runResult{}, err
	}
	if err := profiles.wait(); err != nil {
		return runResult{}, err
	}
	res.cpu = readProcessCPU().since(cpuBefore)
	requestsAfter, err := b.readRequests(ctx)
	if err != nil {
		return runResult{}, err
	}
	res.requests = requestsAfter.since(requestsBefore)
	res.timeline = ready.timeline()
	res.written = lastOf(ready.written)
	stop()
	return res, b.deleteNamespace(ctx, ns)
}

// prepareNamespace creates ns, allowed to use the shared server, with a fresh
// PersistentVolume for each dedicated database it will hold.
func (b *bench) prepareNamespace(ctx context.Context, ns string, volumes int) error {
	if err := b.createNamespace(ctx, ns, map[string]string{serverLabel: benchServer}); err != nil {
		return err
	}
	return parallel(ctx, volumes, b.cfg.workers, func(ctx context.Context, _ int) error {
		id := atomic.AddInt64(&volumeSeq, 1)
		pv := &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-%d", id)},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")},
				AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
				PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{
					Path: fmt.Sprintf("%s/volumes/bench-%d", b.tmp, id),
				}},
			},
		}
		return b.c.Create(ctx, pv)
	})
}

var volumeSeq int64

// deleteNamespace deletes ns and waits until it is gone, so its pods no longer load
// the control plane.
func (b *bench) deleteNamespace(ctx context.Context, ns string) error {
	obj := &corev1.Namespace{}
	obj.Name = ns
	if err := client.IgnoreNotFound(b.c.Delete(ctx, obj)); err != nil {
		return err
	}
	return wait.PollUntilContextTimeout(ctx, time.Second, 10*time.Minute, true, func(ctx context.Context) (bool, error) {
		err := b.c.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
}

// parallel runs f for 0..n-1 on workers goroutines and returns the first error.
func parallel(ctx context.Context, n, workers int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := f(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}
