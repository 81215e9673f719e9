//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// The manager's leader-election defaults (main.go's flags), which these tests run with.
const (
	leaseName     = "kubeship.apps.kubeship.dev"
	leaseDuration = 15 * time.Second
	retryPeriod   = 2 * time.Second
	// A candidate retries every retryPeriod plus up to 1.2 retryPeriods of jitter
	// (client-go's JitterFactor).
	maxRetryInterval = retryPeriod + retryPeriod*12/10
)

// lease is the part of the leader-election Lease the tests read.
type lease struct {
	Spec struct {
		HolderIdentity       string    `json:"holderIdentity"`
		LeaseDurationSeconds int       `json:"leaseDurationSeconds"`
		AcquireTime          time.Time `json:"acquireTime"`
		LeaseTransitions     int       `json:"leaseTransitions"`
	} `json:"spec"`
}

func readLease() (lease, error) {
	var l lease
	out, err := kubectl("get", "lease", "-n", operatorNamespace, leaseName, "-o", "json")
	if err != nil {
		return l, err
	}
	return l, json.Unmarshal([]byte(out), &l)
}

// reconciles is how many Microservice passes m has run.
func reconciles(m *managerProcess) (float64, error) {
	return m.metric("controller_runtime_reconcile_total", `controller="microservice"`)
}

// handover is one measured change of leader.
type handover struct {
	signal         string
	holder, replay time.Duration // to the new holder in the Lease, to its first reconcile
}

func TestLeaderElection(t *testing.T) {
	g := NewWithT(t)
	// The suite's manager runs without leader election and would reconcile alongside.
	pauseSuiteManager(t)
	ns := newNamespace(t)
	flags := []string{"--leader-elect", "--leader-election-namespace=" + operatorNamespace}
	pair := []*managerProcess{manager.another("leader-a", flags...), manager.another("leader-b", flags...)}
	for _, m := range pair {
		if err := m.start(); err != nil {
			t.Fatalf("starting a replica: %v", err)
		}
		t.Cleanup(func() { _ = m.stop() })
	}

	// Only one replica reconciles, and it converges what users ask for.
	mustKubectl(t, "apply", "-n", ns, "-f", sample("apps_v1alpha1_microservice_static.yaml"))
	mustKubectl(t, "wait", "-n", ns, "--for=condition=Ready", "--timeout=120s", "ms/hello")
	var leader, follower *managerProcess
	g.Eventually(func() error {
		var err error
		leader, follower, err = leaderOf(pair)
		return err
	}).WithTimeout(30 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())
	mustKubectl(t, "patch", "-n", ns, "ms/hello", "--type=merge", "-p", `{"spec":{"replicas":3}}`)
	g.Eventually(expectField(ns, "ms/hello", "{.status.readyReplicas}", "3")).WithTimeout(60 * time.Second).Should(Succeed())
	g.Consistently(func() (float64, error) { return reconciles(follower) }).
		WithTimeout(3*time.Second).WithPolling(200*time.Millisecond).Should(BeZero(), "the follower reconciled")
	l, err := readLease()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(l.Spec.LeaseDurationSeconds).To(Equal(int(leaseDuration.Seconds())))

	figures := make([]handover, 0, 6)
	replicas := 3
	for round := range 6 {
		sig := syscall.SIGTERM
		// SIGTERM releases the Lease on the way out: the follower takes over at its next
		// retry. SIGKILL releases nothing: the follower waits out the lease.
		bound := 2*maxRetryInterval + time.Second
		if round >= 3 {
			sig = syscall.SIGKILL
			bound = leaseDuration + 2*maxRetryInterval + time.Second
		}
		h := takeOver(t, g, leader, follower, sig)
		figures = append(figures, h)
		t.Logf("%s of the leader: new holder in the Lease after %s, its first reconcile after %s",
			h.signal, h.holder.Round(10*time.Millisecond), h.replay.Round(10*time.Millisecond))
		g.Expect(h.holder).To(BeNumerically("<=", bound), "%s: the Lease changed hands too late", h.signal)

		// The new leader converges a change.
		replicas = 5 - replicas // 3, 2, 3, ...
		mustKubectl(t, "patch", "-n", ns, "ms/hello", "--type=merge", "-p", fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas))
		g.Eventually(expectField(ns, "ms/hello", "{.status.readyReplicas}", strconv.Itoa(replicas))).
			WithTimeout(60 * time.Second).Should(Succeed())

		// The former leader comes back as the follower (a new process, a new identity).
		if err := leader.start(); err != nil {
			t.Fatalf("restarting the former leader: %v", err)
		}
		leader, follower = follower, leader
	}
	report(t, figures)
}

// leaderOf tells which of pair has reconciled; it fails unless exactly one has.
func leaderOf(pair []*managerProcess) (leader, follower *managerProcess, err error) {
	var active []*managerProcess
	for _, m := range pair {
		n, err := reconciles(m)
		if err != nil {
			return nil, nil, err
		}
		if n > 0 {
			active = append(active, m)
		}
	}
	if len(active) != 1 {
		return nil, nil, fmt.Errorf("%d of %d replicas reconciled, want exactly one", len(active), len(pair))
	}
	if active[0] == pair[0] {
		return pair[0], pair[1], nil
	}
	return pair[1], pair[0], nil
}

// takeOver signals the leader and measures the time until the follower holds the Lease
// (its acquireTime, written by the follower's own clock, this machine's) and until it
// has run its first reconcile.
func takeOver(t *testing.T, g *WithT, leader, follower *managerProcess, sig syscall.Signal) handover {
	t.Helper()
	before, err := readLease()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(before.Spec.HolderIdentity).NotTo(BeEmpty())
	h := handover{signal: sig.String()}
	sent := time.Now()
	g.Expect(leader.signal(sig)).To(Succeed())
	g.Eventually(func() (float64, error) { return reconciles(follower) }).
		WithTimeout(leaseDuration+4*maxRetryInterval).WithPolling(50*time.Millisecond).
		Should(BeNumerically(">", 0), "the follower never reconciled after %s of the leader", sig)
	h.replay = time.Since(sent)
	if sig == syscall.SIGKILL {
		g.Expect(leader.kill()).To(MatchError(ContainSubstring("killed")), "the leader exited before SIGKILL")
	} else {
		g.Expect(leader.wait()).To(Succeed(), "the leader did not exit cleanly on SIGTERM")
	}
	after, err := readLease()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(after.Spec.HolderIdentity).NotTo(BeElementOf("", before.Spec.HolderIdentity))
	g.Expect(after.Spec.LeaseTransitions).To(Equal(before.Spec.LeaseTransitions + 1))
	h.holder = after.Spec.AcquireTime.Sub(sent)
	return h
}

func report(t *testing.T, figures []handover) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "leader handovers (lease %s, retry %s):\n", leaseDuration, retryPeriod)
	for _, h := range figures {
		fmt.Fprintf(&b, "  %-7s new holder %6.2fs  first reconcile %6.2fs\n", h.signal, h.holder.Seconds(), h.replay.Seconds())
	}
	t.Log(b.String())
}

// A Lease namespace that does not exist is an error at start, not a manager that looks
// healthy and never leads.
func TestLeaderElectionNamespaceMissing(t *testing.T) {
	m := manager.another("leader-missing-ns", "--leader-elect", "--leader-election-namespace=kubeship-no-such-namespace")
	err := m.start()
	if err == nil {
		_ = m.stop()
		t.Fatal("the manager started with a leader-election namespace that does not exist")
	}
	log, readErr := os.ReadFile(m.logPath)
	if readErr != nil {
		t.Fatal(readErr)
	}
	if !strings.Contains(string(log), "kubeship-no-such-namespace") || !strings.Contains(string(log), "does not exist") {
		t.Fatalf("start failed (%v) without naming the missing namespace; log:\n%s", err, log)
	}
}
