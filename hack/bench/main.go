// Command bench measures kubeship at fleet scale on a private local cluster, side by
// side with the floor the control plane sets, and writes a markdown report and a chart.
//
//	go run ./hack/bench -n 1000            (what `make bench` runs, from the repo root)
//
// For each mix of services (static; realistic: static, autoscaled, dedicated and shared
// databases) it first writes the very children kubeship would write, built by kubeship's
// own builders, directly with client-go (the floor), then creates the same number of
// Microservices and lets the manager write them; both are timed to the same readiness
// with watches, by the same number of client workers. The ratio of the two is kubeship's
// overhead. Then, on the converged static fleet: API requests per Microservice by verb
// (the manager's client metrics), writes while idle and after a restart, the time a
// restart takes to catch up, image-bump-to-Deployment latency, manager CPU, and memory at
// 0, N and a larger fleet, with and without unrelated Secrets and ConfigMaps.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

type config struct {
	root       string
	clusterDir string
	out        string
	n          int
	workers    int
	// rounds of floor and kubeship per mix, in ABBA order (see moreRounds).
	rounds int
	mixes  []string
	bumps  int
	// bumpsBackToBack: the next bump follows the last one's template change at once,
	// while its rollout still runs.
	bumpsBackToBack bool
	memoryN         int
	unrelated       int
	idle            time.Duration
	flags           []string
	// managerEnv: extra environment for the manager alone (e.g. GODEBUG=memprofilerate=1).
	managerEnv []string
	// profile: record CPU profiles over each side of every mix's first round.
	profile bool
}

func main() {
	var cfg config
	var mixes, flags, managerEnv string
	flag.IntVar(&cfg.n, "n", 1000, "Services per run (floor and kubeship each).")
	flag.IntVar(&cfg.rounds, "rounds", 2, "Rounds of floor and kubeship per mix, the order alternating (floor first, then kubeship first, ...); the table reports their means.")
	flag.IntVar(&cfg.workers, "workers", 16, "Client workers creating objects, for the floor and for kubeship alike.")
	flag.StringVar(&mixes, "mixes", "static,realistic", "Mixes to run, comma-separated: static, realistic.")
	flag.IntVar(&cfg.bumps, "bumps", 200, "Image bumps timed, one after the other, on the converged static fleet.")
	flag.BoolVar(&cfg.bumpsBackToBack, "bumps-back-to-back", false, "Time each image bump as soon as the last one reached its Deployment, instead of after its rollout finished.")
	flag.IntVar(&cfg.memoryN, "memory-n", 5000, "Microservices (1 replica each) for the large memory point; 0 skips it.")
	flag.IntVar(&cfg.unrelated, "unrelated", 10000, "Unrelated Secrets and as many ConfigMaps created to check they cost the manager no memory; 0 skips.")
	flag.DurationVar(&cfg.idle, "idle", 30*time.Second, "How long writes are counted while idle (and after a restart).")
	flag.StringVar(&cfg.out, "out", "docs/benchmarks", "Directory for the report (README.md) and the chart (converge.png).")
	flag.StringVar(&cfg.clusterDir, "cluster-dir", "", "Private cluster directory (default ~/.cache/kubeship/bench-cluster); wiped at start.")
	flag.StringVar(&flags, "manager-flags", "", "Extra manager flags, space-separated (e.g. --microservice-concurrency=8).")
	flag.StringVar(&managerEnv, "manager-env", "", "Extra environment for the manager alone, space-separated NAME=value (e.g. GODEBUG=memprofilerate=1 for exact heap profiles).")
	flag.BoolVar(&cfg.profile, "profile", false, "Record CPU profiles of kube-apiserver (and the manager) over each side of every mix's first round, from its first write until it is ready, in 10s pieces, into the -out directory's profiles/.")
	flag.Parse()
	// The bench reports through its own log; controller-runtime's client has nothing to
	// add, and without a logger it prints a stack trace after 30 seconds.
	ctrllog.SetLogger(logr.Discard())
	cfg.mixes = splitList(mixes, ",")
	cfg.flags = splitList(flags, " ")
	cfg.managerEnv = splitList(managerEnv, " ")
	root, err := os.Getwd()
	if err != nil {
		fatal(err)
	}
	cfg.root = root
	if cfg.clusterDir == "" {
		home, _ := os.UserHomeDir()
		cfg.clusterDir = filepath.Join(home, ".cache", "kubeship", "bench-cluster")
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := run(ctx, cfg); err != nil {
		fatal(err)
	}
}

func run(ctx context.Context, cfg config) error {
	start := time.Now()
	b, err := setUp(ctx, cfg)
	if err != nil {
		return err
	}
	defer b.tearDown()
	rep := &report{cfg: cfg, started: start.UTC()}
	if err := rep.describeMachine(ctx, b); err != nil {
		return err
	}
	if err := b.measureIdleMemory(ctx, rep); err != nil {
		return err
	}
	for _, mix := range cfg.mixes {
		m, err := mixNamed(mix)
		if err != nil {
			return err
		}
		res, err := b.runMix(ctx, m, mix == cfg.mixes[0])
		if err != nil {
			return fmt.Errorf("mix %s: %w", mix, err)
		}
		rep.mixes = append(rep.mixes, res)
	}
	if cfg.memoryN > 0 {
		mem, err := b.measureLargeFleet(ctx, cfg.memoryN)
		if err != nil {
			return fmt.Errorf("memory at %d: %w", cfg.memoryN, err)
		}
		rep.memory = append(rep.memory, mem)
	}
	rep.memory = append(b.memory, rep.memory...)
	rep.duration = time.Since(start)
	return rep.write()
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s >> %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
