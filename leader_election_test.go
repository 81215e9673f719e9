package main

import (
	"flag"
	"testing"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
)

func parseLeaderElection(t *testing.T, args ...string) *leaderElection {
	t.Helper()
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	le := &leaderElection{}
	le.bind(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return le
}

func TestLeaderElectionOptions(t *testing.T) {
	for _, tc := range []struct {
		name                string
		args                []string
		enabled             bool
		namespace           string
		lease, renew, retry time.Duration
	}{
		{name: "defaults follow the operator namespace", namespace: "operator-ns",
			lease: 15 * time.Second, renew: 10 * time.Second, retry: 2 * time.Second},
		{name: "flags", args: []string{"--leader-elect", "--leader-election-namespace=elsewhere",
			"--leader-election-lease-duration=30s", "--leader-election-renew-deadline=20s", "--leader-election-retry-period=4s"},
			enabled: true, namespace: "elsewhere", lease: 30 * time.Second, renew: 20 * time.Second, retry: 4 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			le := parseLeaderElection(t, tc.args...)
			if err := le.validate(); err != nil {
				t.Fatal(err)
			}
			var opts ctrl.Options
			le.apply(&opts, "operator-ns")
			if opts.LeaderElection != tc.enabled || opts.LeaderElectionNamespace != tc.namespace ||
				opts.LeaderElectionID != leaderElectionID || !opts.LeaderElectionReleaseOnCancel {
				t.Errorf("election = %v in %q (ID %q, release on cancel %v), want %v in %q (ID %q, release on cancel)",
					opts.LeaderElection, opts.LeaderElectionNamespace, opts.LeaderElectionID, opts.LeaderElectionReleaseOnCancel,
					tc.enabled, tc.namespace, leaderElectionID)
			}
			if *opts.LeaseDuration != tc.lease || *opts.RenewDeadline != tc.renew || *opts.RetryPeriod != tc.retry {
				t.Errorf("lease/renew/retry = %s/%s/%s, want %s/%s/%s",
					*opts.LeaseDuration, *opts.RenewDeadline, *opts.RetryPeriod, tc.lease, tc.renew, tc.retry)
			}
		})
	}
}

func TestLeaderElectionRejectsDurations(t *testing.T) {
	for _, args := range [][]string{
		{"--leader-election-lease-duration=10s"}, // not above the 10s renew deadline
		{"--leader-election-renew-deadline=2s"},  // not above 1.2 retry periods
		{"--leader-election-retry-period=0s"},
	} {
		le := parseLeaderElection(t, append([]string{"--leader-elect"}, args...)...)
		if le.validate() == nil {
			t.Errorf("%v accepted", args)
		}
		// Without leader election the durations are unused and not checked.
		le.enabled = false
		if err := le.validate(); err != nil {
			t.Errorf("%v without --leader-elect: %v", args, err)
		}
	}
}
