//go:build e2e

package e2e

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// migratingManifest is a Microservice with a dedicated database and a migration. KWOK's
// pod-complete stage makes a Job's pod succeed as soon as it runs.
func migratingManifest(image string) string {
	return fmt.Sprintf(`apiVersion: apps.kubeship.dev/v1alpha1
kind: Microservice
metadata:
  name: shop
spec:
  image: %s
  replicas: 2
  database: {engine: postgres}
  migration:
    command: ["/app", "migrate"]
`, image)
}

// migrationJobs lists the migration Jobs of Microservice shop as
// "name image succeeded/failed" lines, oldest first.
func migrationJobs(t *testing.T, ns string) []string {
	t.Helper()
	out := mustKubectl(t, "get", "jobs", "-n", ns, "-l", "apps.kubeship.dev/migration=shop", "--sort-by=.metadata.creationTimestamp", "-o",
		`jsonpath={range .items[*]}{.metadata.name} {.spec.template.spec.containers[0].image} {.status.succeeded}/{.status.failed}{"\n"}{end}`)
	return strings.Split(strings.TrimSpace(out), "\n")
}

// readyForGeneration waits until ms/name is Ready=True for its current generation.
func readyForGeneration(t *testing.T, ns, name string, timeout time.Duration) {
	t.Helper()
	gen := strings.TrimSpace(mustKubectl(t, "get", "-n", ns, "ms/"+name, "-o", "jsonpath={.metadata.generation}"))
	eventually(t, timeout, expectField(ns, "ms/"+name,
		`{.status.conditions[?(@.type=="Ready")].status}/{.status.conditions[?(@.type=="Ready")].observedGeneration}`, "True/"+gen))
}

// templateChangedAfter fails t if the Deployment's current ReplicaSet (its pod template)
// was made before the Job finished: the template may change only after success.
func templateChangedAfter(t *testing.T, ns, deployment, image, job string) {
	t.Helper()
	completed := strings.TrimSpace(mustKubectl(t, "get", "-n", ns, "job/"+job, "-o", "jsonpath={.status.completionTime}"))
	rsets := mustKubectl(t, "get", "rs", "-n", ns, "-l", "apps.kubeship.dev/microservice="+deployment, "-o",
		`jsonpath={range .items[*]}{.spec.template.spec.containers[0].image} {.metadata.creationTimestamp}{"\n"}{end}`)
	for _, line := range strings.Split(strings.TrimSpace(rsets), "\n") {
		img, created, _ := strings.Cut(line, " ")
		done, err1 := time.Parse(time.RFC3339, completed)
		made, err2 := time.Parse(time.RFC3339, created)
		if err1 != nil || err2 != nil {
			t.Fatalf("timestamps %q %q: %v %v", completed, created, err1, err2)
		}
		if img == image && made.Before(done) {
			t.Fatalf("the ReplicaSet of %s was made at %s, before migration Job %s completed at %s", image, created, job, completed)
		}
	}
}

func TestMigrationGatesTheRollout(t *testing.T) {
	ns := newNamespace(t)
	apply := func(manifest string) {
		mustKubectl(t, "apply", "--server-side", "-n", ns, "-f", writeManifest(t, manifest))
	}
	templateImage := func() string {
		return strings.TrimSpace(mustKubectl(t, "get", "-n", ns, "deploy/shop", "-o", "jsonpath={.spec.template.spec.containers[0].image}"))
	}

	out := mustKubectl(t, "explain", "microservice.spec.migration")
	for _, want := range []string{"activeDeadlineSeconds", "backoffLimit", "envFrom", "Absent means spec.image", "DATABASE_URL"} {
		if !strings.Contains(out, want) {
			t.Fatalf("kubectl explain lacks %q:\n%s", want, out)
		}
	}
	if _, err := kubectl("apply", "-n", ns, "-f", writeManifest(t, migratingManifest("ghcr.io/acme/shop:1.0.0")+"    args: []\n")); err == nil ||
		!strings.Contains(err.Error(), "spec.migration.args") {
		t.Fatalf("an empty args list was not refused naming the field: %v", err)
	}

	apply(migratingManifest("ghcr.io/acme/shop:1.0.0"))
	mustKubectl(t, "wait", "-n", ns, "--for=condition=Ready", "--timeout=180s", "ms/shop")
	jobs := migrationJobs(t, ns)
	if len(jobs) != 1 || !strings.HasSuffix(jobs[0], " ghcr.io/acme/shop:1.0.0 1/") {
		t.Fatalf("first migration Jobs: %q", jobs)
	}
	first := strings.Fields(jobs[0])[0]
	if env := mustKubectl(t, "get", "-n", ns, "job/"+first, "-o", `jsonpath={.spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.name}`); env != "shop-db" {
		t.Fatalf("the migration reads DATABASE_URL from %q", env)
	}
	mustKubectl(t, "wait", "-n", ns, "--for=condition=MigrationSucceeded", "--timeout=10s", "ms/shop")

	t.Run("an image bump migrates once, then rolls; a SIGKILL right after the Job is created changes nothing", func(t *testing.T) {
		apply(migratingManifest("ghcr.io/acme/shop:2.0.0"))
		eventually(t, 30*time.Second, func() error {
			if got := migrationJobs(t, ns); len(got) < 2 {
				return fmt.Errorf("jobs %q", got)
			}
			return nil
		})
		if err := manager.kill(); err != nil && !strings.Contains(err.Error(), "killed") {
			t.Fatalf("killing the manager: %v", err)
		}
		if err := manager.start(); err != nil {
			t.Fatalf("restarting the manager: %v", err)
		}
		readyForGeneration(t, ns, "shop", 120*time.Second)
		jobs := migrationJobs(t, ns)
		if len(jobs) != 2 || !strings.HasSuffix(jobs[1], " ghcr.io/acme/shop:2.0.0 1/") {
			t.Fatalf("Jobs after the bump: %q", jobs)
		}
		if got := templateImage(); got != "ghcr.io/acme/shop:2.0.0" {
			t.Fatalf("template image %s", got)
		}
		templateChangedAfter(t, ns, "shop", "ghcr.io/acme/shop:2.0.0", strings.Fields(jobs[1])[0])
	})

	t.Run("a failing migration leaves the old template serving", func(t *testing.T) {
		rsBefore := mustKubectl(t, "get", "rs", "-n", ns, "-l", "apps.kubeship.dev/microservice=shop", "-o", "name")
		// The test's failure: a pod no node can take, and a deadline. The Job fails with
		// DeadlineExceeded, as a migration that hangs on a lock would.
		apply(migratingManifest("ghcr.io/acme/shop:3.0.0") + `    resources: {requests: {cpu: "100000"}}
    activeDeadlineSeconds: 3
`)
		eventually(t, 90*time.Second, expectField(ns, "ms/shop", `{.status.conditions[?(@.type=="Ready")].reason}`, "MigrationFailed"))
		jobs := migrationJobs(t, ns)
		failed := strings.Fields(jobs[len(jobs)-1])[0]
		msg := mustKubectl(t, "get", "-n", ns, "ms/shop", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].message}`)
		if !strings.Contains(msg, "Migration Job "+failed+" failed (DeadlineExceeded") {
			t.Fatalf("Ready message: %s", msg)
		}
		consistently(t, 3*time.Second, func() error {
			if got := templateImage(); got != "ghcr.io/acme/shop:2.0.0" {
				return fmt.Errorf("template image %s while the migration failed", got)
			}
			return nil
		})
		if after := mustKubectl(t, "get", "rs", "-n", ns, "-l", "apps.kubeship.dev/microservice=shop", "-o", "name"); after != rsBefore {
			t.Fatalf("ReplicaSets changed: %s -> %s", rsBefore, after)
		}
		mustKubectl(t, "wait", "-n", ns, "--for=condition=Stalled", "--timeout=10s", "ms/shop")
		eventually(t, 30*time.Second, func() error {
			out, err := kubectl("get", "events", "-n", ns, "--field-selector", "reason=MigrationFailed,type=Warning",
				"-o", `jsonpath={range .items[*]}{.involvedObject.name}/{.related.kind}/{.related.name}{"\n"}{end}`)
			if err != nil {
				return err
			}
			if !strings.Contains(out, "shop/Job/"+failed) {
				return fmt.Errorf("no Warning event pointing at Job %s: %q", failed, out)
			}
			return nil
		})

		// The fix is a spec change: a new revision, a new Job; the failed one stays.
		apply(migratingManifest("ghcr.io/acme/shop:3.0.0"))
		readyForGeneration(t, ns, "shop", 120*time.Second)
		jobs = migrationJobs(t, ns)
		if len(jobs) != 4 || !strings.HasSuffix(jobs[3], " ghcr.io/acme/shop:3.0.0 1/") {
			t.Fatalf("Jobs after the fix: %q", jobs)
		}
		if !slices.ContainsFunc(jobs, func(j string) bool { return strings.HasPrefix(j, failed+" ") }) {
			t.Fatalf("the failed Job %s was not kept: %q", failed, jobs)
		}
		templateChangedAfter(t, ns, "shop", "ghcr.io/acme/shop:3.0.0", strings.Fields(jobs[3])[0])
	})
}

// TestMigrationLatency measures what a migration adds to an image bump: the time from
// the change to Ready for the new generation, with and without spec.migration.
func TestMigrationLatency(t *testing.T) {
	ns := newNamespace(t)
	manifest := func(name, image string, migrate bool) string {
		m := fmt.Sprintf("apiVersion: apps.kubeship.dev/v1alpha1\nkind: Microservice\nmetadata: {name: %s}\nspec:\n  image: %s\n", name, image)
		if migrate {
			m += "  migration: {command: [\"/app\", \"migrate\"]}\n"
		}
		return m
	}
	const rounds = 7
	durations := map[bool][]time.Duration{}
	for _, migrate := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "migrating"}[migrate]
		mustKubectl(t, "apply", "-n", ns, "-f", writeManifest(t, manifest(name, "ghcr.io/acme/x:0", migrate)))
		mustKubectl(t, "wait", "-n", ns, "--for=condition=Ready", "--timeout=120s", "ms/"+name)
		for i := 1; i <= rounds; i++ {
			start := time.Now()
			mustKubectl(t, "apply", "-n", ns, "-f", writeManifest(t, manifest(name, fmt.Sprintf("ghcr.io/acme/x:%d", i), migrate)))
			readyForGeneration(t, ns, name, 120*time.Second)
			durations[migrate] = append(durations[migrate], time.Since(start))
		}
	}
	p50 := func(ds []time.Duration) time.Duration {
		s := slices.Clone(ds)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return s[len(s)/2]
	}
	plain, migrating := p50(durations[false]), p50(durations[true])
	t.Logf("image bump to Ready, p50 of %d: without migration %v, with migration %v: the migration adds %v (polling every 250ms)",
		rounds, plain.Round(time.Millisecond), migrating.Round(time.Millisecond), (migrating - plain).Round(time.Millisecond))
}

// TestMigrationSample: the sample becomes Ready, as test/cluster's `make run` check
// expects of every sample, after exactly one migration Job.
func TestMigrationSample(t *testing.T) {
	ns := newNamespace(t)
	mustKubectl(t, "apply", "-n", ns, "-f", sample("apps_v1alpha1_microservice_migration.yaml"))
	mustKubectl(t, "wait", "-n", ns, "--for=condition=Ready", "--timeout=180s", "ms/catalog")
	out := mustKubectl(t, "get", "jobs", "-n", ns, "-l", "apps.kubeship.dev/migration=catalog", "-o", "name")
	if n := len(strings.Fields(out)); n != 1 {
		t.Fatalf("%d migration Jobs: %s", n, out)
	}
}
