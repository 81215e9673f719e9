package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// leaderElectionID names the Lease the manager replicas compete for.
const leaderElectionID = "kubeship.apps.kubeship.dev"

// leaderElection holds the leader-election flags. The durations are client-go's usual
// ones, which controller-runtime also defaults to.
type leaderElection struct {
	enabled             bool
	namespace           string
	lease, renew, retry time.Duration
}

func (le *leaderElection) bind(fs *flag.FlagSet) {
	fs.BoolVar(&le.enabled, "leader-elect", false, "Enable leader election, so only one manager replica is active.")
	fs.StringVar(&le.namespace, "leader-election-namespace", "",
		"Namespace of the leader-election Lease; it must exist. Default: the operator namespace (--operator-namespace).")
	fs.DurationVar(&le.lease, "leader-election-lease-duration", 15*time.Second,
		"How long followers wait after the leader's last renewal before taking over (a killed leader's replacement waits this long).")
	fs.DurationVar(&le.renew, "leader-election-renew-deadline", 10*time.Second,
		"How long the leader keeps retrying to renew before it gives up leading; below the lease duration.")
	fs.DurationVar(&le.retry, "leader-election-retry-period", 2*time.Second,
		"How often candidates try to acquire, and the leader to renew, the Lease.")
}

// apply sets the leader-election fields of opts; operatorNamespace is the default
// namespace of the Lease.
//
// LeaderElectionReleaseOnCancel is safe because main returns right after Start does:
// nothing runs as a former leader once the Lease is handed back, and a SIGTERMed leader
// hands over in about one retry period instead of a whole lease duration.
func (le *leaderElection) apply(opts *ctrl.Options, operatorNamespace string) {
	opts.LeaderElection = le.enabled
	opts.LeaderElectionID = leaderElectionID
	opts.LeaderElectionNamespace = le.leaseNamespace(operatorNamespace)
	opts.LeaderElectionReleaseOnCancel = true
	opts.LeaseDuration = &le.lease
	opts.RenewDeadline = &le.renew
	opts.RetryPeriod = &le.retry
}

func (le *leaderElection) leaseNamespace(operatorNamespace string) string {
	if le.namespace != "" {
		return le.namespace
	}
	return operatorNamespace
}

// validate rejects durations client-go's leader elector would refuse only once the
// manager starts, with the flag names in the message.
func (le *leaderElection) validate() error {
	if !le.enabled {
		return nil
	}
	// client-go's rules: the renew deadline exceeds one jittered retry period
	// (leaderelection.JitterFactor, 1.2), and the lease outlasts the renew deadline.
	if le.retry <= 0 || float64(le.renew) <= 1.2*float64(le.retry) || le.lease <= le.renew {
		return fmt.Errorf("leader election needs --leader-election-lease-duration (%s) > --leader-election-renew-deadline (%s) > 1.2 x --leader-election-retry-period (%s) > 0",
			le.lease, le.renew, le.retry)
	}
	return nil
}

// checkNamespace fails when the Lease's namespace does not exist: the elector would
// otherwise retry creating the Lease forever while the manager looks healthy and never
// reconciles. Other errors (say, no right to read namespaces) are left to the elector.
func (le *leaderElection) checkNamespace(ctx context.Context, cfg *rest.Config, operatorNamespace string) error {
	if !le.enabled {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return fmt.Errorf("creating a client: %w", err)
	}
	ns := le.leaseNamespace(operatorNamespace)
	err = c.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("leader-election namespace %q does not exist: create it, or name another with --leader-election-namespace", ns)
	}
	return nil
}
