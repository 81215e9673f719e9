package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"
)

// report is what one bench run writes to cfg.out.
type report struct {
	cfg      config
	started  time.Time
	duration time.Duration
	machine  []string
	mixes    []*mixResult
	memory   []memoryPoint
}

func (r *report) describeMachine(ctx context.Context, b *bench) error {
	v, err := b.cs.Discovery().ServerVersion()
	if err != nil {
		return err
	}
	commit, _ := b.sh(ctx, "git", "rev-parse", "--short", "HEAD")
	dirty, _ := b.sh(ctx, "git", "status", "--porcelain", "--untracked-files=no")
	if strings.TrimSpace(dirty) != "" {
		commit = strings.TrimSpace(commit) + " (with uncommitted changes)"
	}
	model := "unknown CPU"
	if info, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(info), "\n") {
			if strings.HasPrefix(line, "model name") {
				model = strings.TrimSpace(strings.SplitN(line, ":", 2)[1])
				break
			}
		}
	}
	flags := "(defaults)"
	if len(r.cfg.flags) > 0 {
		flags = strings.Join(r.cfg.flags, " ")
	}
	if len(r.cfg.managerEnv) > 0 {
		flags += ", environment " + strings.Join(r.cfg.managerEnv, " ")
	}
	r.machine = []string{
		fmt.Sprintf("Machine: %d CPUs (%s), %s/%s", runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH),
		fmt.Sprintf("Control plane: kube-apiserver %s with etcd, kube-controller-manager (client limits lifted: --disable-qps-limits), kube-scheduler and KWOK, all on this machine (hack/cluster.sh)", v.GitVersion),
		fmt.Sprintf("kubeship: commit %s, built with %s; manager flags %s", strings.TrimSpace(commit), runtime.Version(), flags),
		fmt.Sprintf("Load: %d services per run created by %d client workers; the manager and the floor writer never run at once", r.cfg.n, r.cfg.workers),
	}
	return nil
}

func (r *report) write() error {
	if err := os.MkdirAll(r.cfg.out, 0o755); err != nil {
		return err
	}
	if err := writeChart(filepath.Join(r.cfg.out, "converge.png"), r.mixes); err != nil {
		return err
	}
	md := r.markdown()
	fmt.Print(md)
	return os.WriteFile(filepath.Join(r.cfg.out, "README.md"), []byte(md), 0o644)
}

func (r *report) markdown() string {
	var w strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&w, format+"\n", args...) }
	p("# kubeship at fleet scale")
	p("")
	p("Written by `make bench` (hack/bench) on %s in %s. Every figure comes from one run on one cluster;", r.started.Format("2006-01-02 15:04 UTC"), r.duration.Round(time.Second))
	p("ratios compare runs made side by side in it.")
	p("")
	for _, line := range r.machine {
		p("- %s", line)
	}
	p("")
	p("## Convergence: kubeship against the floor")
	p("")
	p("The floor writes the very objects kubeship's builders make for each service, directly with client-go")
	p("(Server-Side Apply, one request per object), and waits for the same readiness: every Deployment")
	p("available with all replicas updated, every dedicated database's StatefulSet ready. kubeship's side creates")
	p("the Microservices and waits for `Ready=True` at their generation. Both are timed with watches.")
	p("")
	p("| mix | services | floor | kubeship | kubeship / floor | kubeship's children ready | Ready after its children p50 / p90 | manager CPU per 1000 converges |")
	p("| --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, m := range r.mixes {
		floor, kubeship := m.meanTimes()
		p("| %s (%s) | %d | %.1f s | %.1f s | **%.2f** | %.1f s | %.1f s / %.1f s | %.1f s |", m.name, m.describe(), m.n, floor.Seconds(), kubeship.Seconds(),
			kubeship.Seconds()/floor.Seconds(), m.children.total.Seconds(), m.lag.p50.Seconds(), m.lag.p90.Seconds(),
			m.cpuSeconds*1000/float64(m.n))
	}
	p("")
	r.rounds(p)
	p("Children ready: when kubeship's own Deployments (and dedicated databases' StatefulSets) met the floor's")
	p("readiness, watched in the same run; Ready after its children: per service, how long after that its")
	p("Microservice said Ready (the manager's queue and status write, not the cluster's rollout).")
	p("")
	p("![Ready services over time, kubeship and floor](converge.png)")
	p("")
	r.processCPU(p)
	r.requestDeltas(p)
	p("## API requests per Microservice")
	p("")
	p("The manager's client requests (`rest_client_requests_total`) during the create, until its queue was")
	p("empty, divided by the number of services; the minimum is one write per child plus two status writes")
	p("(one that says the service is progressing, one that says Ready), which is what kstatus needs.")
	p("")
	p("| mix | GET | LIST | WATCH | POST | PATCH | PUT | DELETE | writes | minimum writes | reconciles |")
	p("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, m := range r.mixes {
		n := float64(m.n)
		c := m.calls.byMethod
		p("| %s | %.2f | %.3f | %.3f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |", m.name, c["GET"]/n, c["LIST"]/n, c["WATCH"]/n,
			c["POST"]/n, c["PATCH"]/n, c["PUT"]/n, c["DELETE"]/n, m.calls.writes()/n, m.minimumWrites(), m.calls.reconciles/n)
	}
	p("")
	p("What the writes were, as kube-apiserver counted them (`apiserver_request_total`, writes only kubeship makes), per Microservice:")
	p("")
	for _, m := range r.mixes {
		p("- %s: %s", m.name, strings.Join(writeParts(m.calls.apiWrites, float64(m.n)), ", "))
	}
	p("")
	r.statusWrites(p)
	p("## Idle, restart and latency")
	p("")
	p("| mix | writes in %s idle | writes from a restart to %s after catching up | restart to caught up | CPU of all processes while idle | of which the manager |", r.cfg.idle, r.cfg.idle)
	p("| --- | --- | --- | --- | --- | --- |")
	for _, m := range r.mixes {
		idle := r.cfg.idle.Seconds()
		p("| %s | %.0f | %.0f | %.2f s | %.2f cores | %.3f cores |", m.name, m.idle.writes(), m.restarted.writes(), m.catchUp.Seconds(),
			m.idleCPU.total()/idle, m.idleCPU["manager"]/idle)
	}
	p("")
	p("Caught up: every Microservice reconciled once by the new manager and its queue empty.")
	p("CPU while idle: what the converged fleet costs the machine per second (autoscalers' syncs, KWOK's")
	p("node and pod heartbeats, leases), paid by each side for as long as its window lasts.")
	for _, m := range r.mixes {
		if parts := writeParts(m.restarted.apiWrites, 1); len(parts) > 0 {
			p("After the restart, %s: %s (kube-apiserver's count, in all).", m.name, strings.Join(parts, ", "))
		}
		if len(m.restarted.statusChanges) > 0 {
			changes := map[string]float64{}
			for k, v := range m.restarted.statusChanges {
				changes[k] = float64(v)
			}
			p("Conditions that changed in that window, %s: %s.", m.name, strings.Join(writeParts(changes, 1), ", "))
		}
	}
	for _, m := range r.mixes {
		if len(m.bumps) == 0 {
			continue
		}
		p("")
		pace := "each after the previous one's rollout finished and the manager's queue emptied"
		if r.cfg.bumpsBackToBack {
			pace = "each as soon as the previous one reached its Deployment, its rollout still running"
		}
		p("Image bump to the Deployment's new template (%d bumps on the converged %s fleet, %s; seen by a watch):", len(m.bumps), m.name, pace)
		p("p50 **%.1f ms**, p90 %.1f ms, p99 **%.1f ms**, max %.1f ms.", ms(percentile(m.bumps, 50)), ms(percentile(m.bumps, 90)),
			ms(percentile(m.bumps, 99)), ms(percentile(m.bumps, 100)))
	}
	p("")
	p("## Manager memory")
	p("")
	p("After a forced garbage collection (pprof heap with gc=1): the Go heap in use (the spans that hold")
	p("objects, their free slots included), the live heap (the bytes of the objects themselves) and the")
	p("resident set. Per Microservice: the growth above the idle manager, divided by the fleet.")
	p("")
	p("| fleet | heap in use | live heap | RSS | heap in use above idle per Microservice | live heap above idle per Microservice |")
	p("| --- | --- | --- | --- | --- | --- |")
	var idle memoryPoint
	for _, pt := range r.memory {
		if pt.microservices == 0 {
			idle = pt
		}
	}
	perMS := func(now, base float64, n int) string { return fmt.Sprintf("%.1f KiB", (now-base)*1024/float64(n)) }
	for _, pt := range r.memory {
		inUse, live := "-", "-"
		if pt.microservices > 0 {
			inUse, live = perMS(pt.heapMiB, idle.heapMiB, pt.microservices), perMS(pt.liveMiB, idle.liveMiB, pt.microservices)
		}
		p("| %s | %.1f MiB | %.1f MiB | %.1f MiB | %s | %s |", pt.label, pt.heapMiB, pt.liveMiB, pt.rssMiB, inUse, live)
	}
	p("")
	p("Reproduce: `make bench` (defaults `BENCH_FLAGS=-n 1000`; see `go run ./hack/bench -h`).")
	return w.String()
}

// writeParts lists writes by verb and resource, each divided by per, in name order.
func writeParts(writes map[string]float64, per float64) []string {
	keys := make([]string, 0, len(writes))
	for k := range writes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("`%s` %.2f", k, writes[k]/per))
	}
	return parts
}

// rounds lists each mix's rounds, when there were several.
func (r *report) rounds(p func(string, ...any)) {
	if len(r.mixes) == 0 || len(r.mixes[0].rounds) < 2 {
		return
	}
	p("Floor and kubeship are the means of %d rounds per mix, run in alternating order so that a cluster", len(r.mixes[0].rounds))
	p("that slows down (or speeds up) over the run favours neither side; each round, in the order run:")
	p("")
	for _, m := range r.mixes {
		p("- %s: %s", m.name, strings.Join(m.roundParts(), "; "))
	}
	p("")
	p("Written by: when the side's last Deployment was written (first seen by its watch). Quiet: how long the")
	p("side waited, before its first write, for the cluster's processes to use less than %.1f cores together", quietCores)
	p("(the previous side's namespace is gone before that, but the control plane may still be busy with it),")
	p("and what they used over the last %s of that wait.", quietSample)
	p("The other columns, the chart and every section below come from the first round.")
	p("")
}

// processCPU tables, for each mix, the CPU every process used while each side
// converged (means over the rounds): where kubeship's extra time goes on a machine the
// control plane keeps busy.
func (r *report) processCPU(p func(string, ...any)) {
	p("## CPU by process while converging")
	p("")
	p("CPU seconds (user and system, from /proc) each process used from a side's first write until its whole")
	p("fleet was ready, means over the rounds. `bench` is this program: the floor's writers or the")
	p("Microservices' creators, and the watches that time both sides.")
	p("")
	p("| mix | process | floor | kubeship | kubeship - floor |")
	p("| --- | --- | --- | --- | --- |")
	for _, m := range r.mixes {
		floor, kubeship := m.meanCPU()
		for _, name := range cpuProcesses {
			if floor[name] == 0 && kubeship[name] == 0 {
				continue
			}
			p("| %s | %s | %.1f s | %.1f s | %+.1f s |", m.name, name, floor[name], kubeship[name], kubeship[name]-floor[name])
		}
		p("| %s | **all** | **%.1f s** | **%.1f s** | **%+.1f s (%+.0f %%)** |", m.name, floor.total(), kubeship.total(),
			kubeship.total()-floor.total(), 100*(kubeship.total()/floor.total()-1))
	}
	p("")
}

// requestDeltas lists, for each mix's first round, the requests kube-apiserver served
// (every client's) whose counts differ most between the floor and kubeship.
func (r *report) requestDeltas(p func(string, ...any)) {
	p("What kube-apiserver served for every client (`apiserver_request_total`) from a side's first write until")
	p("its fleet was ready, per service, first round: the kinds of request whose counts differ most.")
	p("")
	p("| mix | request | floor | kubeship | kubeship - floor |")
	p("| --- | --- | --- | --- | --- |")
	for _, m := range r.mixes {
		for _, d := range largestDeltas(m.floor.requests, m.kubeship.requests, float64(m.n), 12) {
			p("| %s | `%s` | %.2f | %.2f | %+.2f |", m.name, d.key, d.floor, d.kubeship, d.kubeship-d.floor)
		}
		floor, kubeship := m.floor.requests.total()/float64(m.n), m.kubeship.requests.total()/float64(m.n)
		p("| %s | **all** | **%.1f** | **%.1f** | **%+.1f** |", m.name, floor, kubeship, kubeship-floor)
	}
	p("")
}

// meanCPU is each process's CPU on either side, averaged over the rounds.
func (m *mixResult) meanCPU() (floor, kubeship processCPU) {
	floor, kubeship = processCPU{}, processCPU{}
	for _, r := range m.rounds {
		for name, v := range r.floorCPU {
			floor[name] += v / float64(len(m.rounds))
		}
		for name, v := range r.kubeshipCPU {
			kubeship[name] += v / float64(len(m.rounds))
		}
	}
	return floor, kubeship
}

// statusWrites lists what the status writes of each mix's create changed, by kind.
func (r *report) statusWrites(p func(string, ...any)) {
	p("What the status writes changed, seen by a watch on the Microservices until the manager's queue was empty:")
	p("")
	for _, m := range r.mixes {
		for _, s := range m.statusWrites {
			p("- %s, %s (%d): %.2f per Microservice: %s", m.name, s.kind, s.services, float64(s.total)/float64(s.services), strings.Join(s.changes, "; "))
		}
	}
	p("")
}

// meanTimes are the floor's and kubeship's convergence times, averaged over the rounds.
func (m *mixResult) meanTimes() (floor, kubeship time.Duration) {
	if len(m.rounds) == 0 {
		return m.floor.total, m.kubeship.total
	}
	for _, r := range m.rounds {
		floor += r.floor
		kubeship += r.kubeship
	}
	n := time.Duration(len(m.rounds))
	return floor / n, kubeship / n
}

// roundParts describes each round: its times in the order run, and its ratio.
func (m *mixResult) roundParts() []string {
	parts := make([]string, len(m.rounds))
	for i, r := range m.rounds {
		floor := fmt.Sprintf("floor %.1f s (written by %.1f s; %s)", r.floor.Seconds(), r.floorWritten.Seconds(), r.floorQuiet)
		kubeship := fmt.Sprintf("kubeship %.1f s (written by %.1f s; %s)", r.kubeship.Seconds(), r.kubeshipWritten.Seconds(), r.kubeshipQuiet)
		order := floor + ", " + kubeship
		if r.kubeshipFirst {
			order = kubeship + ", " + floor
		}
		parts[i] = fmt.Sprintf("%s (%.2f)", order, r.kubeship.Seconds()/r.floor.Seconds())
	}
	return parts
}

func (m *mixResult) describe() string {
	if len(m.counts) == 1 {
		for k := range m.counts {
			return string(k)
		}
	}
	var parts []string
	for _, k := range []kind{kindStatic, kindAutoscaled, kindDedicated, kindShared} {
		if c := m.counts[k]; c > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c, k))
		}
	}
	return strings.Join(parts, ", ")
}

// minimumWrites is one write per child plus two status writes, averaged over the mix.
func (m *mixResult) minimumWrites() float64 {
	children := map[kind]int{
		kindStatic:     3, // Deployment, Service, PodDisruptionBudget
		kindAutoscaled: 4, // and a HorizontalPodAutoscaler
		kindDedicated:  7, // and the credentials Secret, the database's Service, StatefulSet and NetworkPolicy
		kindShared:     4, // and the credentials Secret
	}
	total := 0
	for k, c := range m.counts {
		total += c * (children[k] + 2)
	}
	return float64(total) / float64(m.n)
}

func percentile(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
