//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// load is the manager's reconcile count and CPU time at one moment.
type load struct {
	at           time.Time
	passes, cpuS float64
	// requeued and failed are the passes that asked for another after a wait and those
	// that returned an error: what keeps a converged fleet busy, if anything does.
	requeued, failed float64
	apiRequests      int
}

func sampleLoad(t *testing.T, m *managerProcess, p *faultProxy) load {
	t.Helper()
	passes, err := m.metric("controller_runtime_reconcile_total", "")
	if err != nil {
		t.Fatal(err)
	}
	requeued, err := m.metric("controller_runtime_reconcile_total", `result="requeue_after"`)
	if err != nil {
		t.Fatal(err)
	}
	failed, err := m.metric("controller_runtime_reconcile_total", `result="error"`)
	if err != nil {
		t.Fatal(err)
	}
	cpu, err := cpuSeconds(m.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	return load{at: time.Now(), passes: passes, requeued: requeued, failed: failed, cpuS: cpu, apiRequests: p.injected()["requests"]}
}

// between is the reconcile rate (passes/s), the manager's CPU use (% of one core) and
// the API request rate from a to b.
func between(a, b load) (passesPerS, cpuPercent, requestsPerS float64) {
	s := b.at.Sub(a.at).Seconds()
	return (b.passes - a.passes) / s, 100 * (b.cpuS - a.cpuS) / s, float64(b.apiRequests-a.apiRequests) / s
}

// TestAPIFaults runs the manager through a proxy that answers part of its API requests
// with 429 (Retry-After), 500 and 409 (writes), delays others and cuts every watch
// mid-way. The fleet converges anyway, and the reconcile rate and the manager's CPU stay
// bounded while the faults go on with nothing left to do and after they stop: failures
// back off, nothing loops.
//
// KUBESHIP_E2E_FAULT_SERVICES and KUBESHIP_E2E_FAULT_WINDOW size it: 60 services and
// 30 s per measured window, or 30 and 15 s under CI=true.
func TestAPIFaults(t *testing.T) {
	services := scaled("KUBESHIP_E2E_FAULT_SERVICES", 60, 30)
	window := time.Duration(scaled("KUBESHIP_E2E_FAULT_WINDOW", 30, 15)) * time.Second
	p := startFaultProxy(t, faultRates{
		TooManyRequests: 0.05, InternalError: 0.05, ConflictOnWrite: 0.10, Slow: 0.05,
		SlowMin: 200 * time.Millisecond, SlowMax: 2 * time.Second,
		CutMin: 2 * time.Second, CutMax: 10 * time.Second,
	})
	// The manager starts without faults: a failed discovery request at start makes it
	// exit, for its Deployment to restart it (a crash loop is not what this measures).
	m := ownManager(t, "api-faults", "--kubeconfig="+p.kubeconfig(t))
	// The namespaces earlier tests deleted take their Microservices with them, and this
	// manager sees those go: work that is not this test's. It ends before faults begin.
	eventually(t, 2*time.Minute, func() error {
		out, err := kubectl("get", "namespaces", "-o", `jsonpath={range .items[?(@.metadata.deletionTimestamp)]}{.metadata.name} {end}`)
		if err != nil || out != "" {
			return fmt.Errorf("namespaces still being deleted: %q (%v)", out, err)
		}
		return nil
	})
	p.begin()
	ns := newNamespace(t)
	provideVolumes(t, "faults", services/6+1)
	docs := make([]string, 0, services)
	for i := range services {
		spec := "  replicas: 2\n"
		switch i % 3 {
		case 1:
			spec = "  scaling: {minReplicas: 1, maxReplicas: 3}\n"
		case 2:
			if i%6 == 5 {
				spec = "  database: {engine: postgres, deletionPolicy: Delete}\n"
			}
		}
		docs = append(docs, fmt.Sprintf("apiVersion: apps.kubeship.dev/v1alpha1\nkind: Microservice\nmetadata: {name: svc-%03d}\nspec:\n  image: ghcr.io/acme/svc:1.0\n%s", i, spec))
	}

	start := sampleLoad(t, m, p)
	mustKubectl(t, "apply", "--server-side", "-n", ns, "-f", writeManifest(t, strings.Join(docs, "---\n")))
	mustKubectl(t, "wait", "-n", ns, "--for=condition=Ready", "--all", "ms", "--timeout=300s")
	converged := sampleLoad(t, m, p)
	logAtConverged := logSize(m)
	// Nothing to do, faults on: what remains is the manager's own retries and resyncs.
	<-time.After(window) // a measuring window, not a wait for a state
	faulty := sampleLoad(t, m, p)
	injected := p.injected()
	p.end()
	// Faults off: the informers' watches reconnect, then quiet.
	<-time.After(window / 3)
	calmFrom := sampleLoad(t, m, p)
	<-time.After(window)
	calm := sampleLoad(t, m, p)

	convRate, convCPU, convReq := between(start, converged)
	faultRate, faultCPU, faultReq := between(converged, faulty)
	calmRate, calmCPU, calmReq := between(calmFrom, calm)
	perService := (converged.passes - start.passes) / float64(services)
	requests := injected["requests"]
	delete(injected, "requests")
	t.Logf("faults injected in %d API requests: %s", requests, formatCounts(injected))
	t.Logf("converging %d services under faults: %s, %.1f passes/s, %.1f passes per service, manager CPU %.0f%%, %.1f API requests/s",
		services, converged.at.Sub(start.at).Round(100*time.Millisecond), convRate, perService, convCPU, convReq)
	t.Logf("converged, faults on (%s): %.2f passes/s (%.0f requeued after a wait, %.0f failed), CPU %.1f%%, %.1f API requests/s",
		window, faultRate, faulty.requeued-converged.requeued, faulty.failed-converged.failed, faultCPU, faultReq)
	t.Logf("faults stopped (%s): %.2f passes/s, CPU %.1f%%, %.1f API requests/s", window, calmRate, calmCPU, calmReq)

	for kind, n := range map[string]int{"429 Too Many Requests": 1, "500 Internal Server Error": 1, "409 Conflict (write)": 1, "slow answer": 1, "watch cut": 5} {
		if injected[kind] < n {
			t.Errorf("only %d faults of kind %q injected, want at least %d: the test did not test it", injected[kind], kind, n)
		}
	}
	// Generous bounds that a hot loop still breaks: a pass that retries at once under
	// faults runs hundreds of times a second and burns a core.
	if perService > 30 {
		t.Errorf("%.1f passes per service to converge under faults: failures do not back off", perService)
	}
	// A converged fleet has nothing to retry: the informers' lists after each cut watch
	// re-deliver versions already seen, which wake nothing (before they did, 2 to 3
	// passes/s here).
	if faultRate > 0.5 || faultCPU > 30 {
		t.Errorf("converged under faults: %.2f passes/s and %.1f%% CPU: a hot loop; the manager's errors meanwhile:\n%s",
			faultRate, faultCPU, reconcilerErrors(m, logAtConverged))
	}
	if calmRate > 2 || calmCPU > 10 {
		t.Errorf("after the faults stopped: %.2f passes/s and %.1f%% CPU: a hot loop", calmRate, calmCPU)
	}
	mustKubectl(t, "delete", "ms", "--all", "-n", ns, "--timeout=120s")
}

// logSize is the length of m's log so far.
func logSize(m *managerProcess) int64 {
	info, err := os.Stat(m.logPath)
	if err != nil {
		return 0
	}
	return info.Size()
}

// reconcilerErrors returns the error lines of m's log after offset.
func reconcilerErrors(m *managerProcess, offset int64) string {
	log, err := os.ReadFile(m.logPath)
	if err != nil || int64(len(log)) < offset {
		return fmt.Sprintf("(log unreadable: %v)", err)
	}
	var failed []string
	for line := range strings.Lines(string(log[offset:])) {
		if strings.Contains(line, `"level":"error"`) {
			failed = append(failed, strings.TrimSpace(line))
		}
	}
	if len(failed) == 0 {
		return fmt.Sprintf("(none in %d bytes of log)", len(log)-int(offset))
	}
	return strings.Join(failed, "\n")
}
