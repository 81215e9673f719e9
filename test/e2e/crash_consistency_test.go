//go:build e2e

package e2e

import (
	"encoding/base64"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubeship/kubeship/internal/naming"
	"github.com/kubeship/kubeship/internal/testdb"
)

// crashKind is one kind of service in the crash-consistency fleet.
type crashKind int

const (
	crashStatic crashKind = iota
	crashAutoscaled
	crashDedicated
	crashSharedPG
	crashSharedMySQL
	crashKinds
)

func (k crashKind) spec(i int, pgServer, myServer string) string {
	engines := []string{"postgres", "mysql"}
	switch k {
	case crashStatic:
		return "  replicas: 2\n"
	case crashAutoscaled:
		return "  scaling: {minReplicas: 1, maxReplicas: 3}\n"
	case crashDedicated:
		return "  database: {engine: " + engines[i%2] + ", deletionPolicy: Delete}\n"
	case crashSharedPG:
		return "  database: {engine: postgres, mode: shared, serverRef: {name: " + pgServer + "}, deletionPolicy: Delete}\n"
	default:
		return "  database: {engine: mysql, mode: shared, serverRef: {name: " + myServer + "}, deletionPolicy: Delete}\n"
	}
}

// TestCrashConsistency SIGKILLs the manager at random moments, round after round, while
// a fleet of Microservices (static, autoscaled, dedicated databases, shared databases on
// a real PostgreSQL and MariaDB) converges. Afterwards every one is Ready with exactly
// its children (one StatefulSet, or one database and one role), every shared password
// logs in, no Secret's data changed since it was first written, and deleting them all
// leaves no object, finalizer, database or role behind.
//
// KUBESHIP_E2E_CRASH_SERVICES and KUBESHIP_E2E_CRASH_ROUNDS size it: 200 services and
// 12 rounds, or 50 and 10 under CI=true.
func TestCrashConsistency(t *testing.T) {
	services := scaled("KUBESHIP_E2E_CRASH_SERVICES", 200, 50)
	rounds := scaled("KUBESHIP_E2E_CRASH_ROUNDS", 12, 10)
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Logf("%d services, %d rounds, seed %d", services, rounds, seed)

	m := ownManager(t, "crash-consistency")
	servers := map[string]*testdb.Server{"postgres": testdb.StartPostgres(t), "mysql": testdb.StartMySQL(t)}
	adminNS, ns := newNamespace(t), newNamespace(t)
	pgServer, myServer := registerServer(t, adminNS, "postgres", servers["postgres"]), registerServer(t, adminNS, "mysql", servers["mysql"])
	provideVolumes(t, "crash", services/int(crashKinds)+1)
	secrets := watchSecrets(t, ns)

	kinds := map[string]crashKind{}
	docs := make([]string, 0, services)
	for i := range services {
		name := fmt.Sprintf("svc-%03d", i)
		kinds[name] = crashKind(i % int(crashKinds))
		docs = append(docs, fmt.Sprintf("apiVersion: apps.kubeship.dev/v1alpha1\nkind: Microservice\nmetadata: {name: %s}\nspec:\n  image: ghcr.io/acme/%s:1.0\n%s",
			name, name, kinds[name].spec(i, pgServer, myServer)))
	}
	mustKubectl(t, "apply", "--server-side", "-n", ns, "-f", writeManifest(t, strings.Join(docs, "---\n")))

	// Kill rounds: the manager is killed at a random moment, and a new one starts. Two
	// rounds in three wait for the manager's first pass, so that the kill lands in the
	// middle of API writes and database statements; the third may land in its start-up.
	passes := make([]int, 0, rounds)
	killsBegan := time.Now()
	for round := range rounds {
		if round%3 != 0 {
			eventually(t, 60*time.Second, func() error {
				if n, err := m.metric("controller_runtime_reconcile_total", `controller="microservice"`); err != nil || n == 0 {
					return fmt.Errorf("no pass yet (%v)", err)
				}
				return nil
			})
		}
		<-time.After(time.Duration(rng.IntN(1500)) * time.Millisecond) // the random moment of the kill
		n, _ := m.metric("controller_runtime_reconcile_total", `controller="microservice"`)
		if err := m.kill(); err == nil || !strings.Contains(err.Error(), "killed") {
			t.Fatalf("round %d: the manager exited before SIGKILL: %v", round, err)
		}
		passes = append(passes, int(n))
		if err := m.start(); err != nil {
			t.Fatalf("round %d: starting the manager: %v", round, err)
		}
	}
	ready := func() int {
		out, _ := kubectl("get", "ms", "-n", ns, "-o", `jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}`)
		return strings.Count(out, "True")
	}
	t.Logf("survived %d SIGKILLs in %s; passes of each killed manager %v; %d of %d Ready after the last kill",
		rounds, time.Since(killsBegan).Round(100*time.Millisecond), passes, ready(), services)

	began := time.Now()
	mustKubectl(t, "wait", "-n", ns, "--for=condition=Ready", "--all", "ms", "--timeout=300s")
	t.Logf("all %d Ready %s after the last restart", services, time.Since(began).Round(100*time.Millisecond))

	checkFleetChildren(t, ns, kinds)
	checkFleetDatabases(t, ns, kinds, servers)
	checkFleetSecrets(t, ns, kinds, secrets, servers)

	mustKubectl(t, "delete", "ms", "--all", "-n", ns, "--timeout=300s")
	checkNothingLeft(t, ns, servers)
}

// checkFleetChildren: each service has its Deployment, the autoscaled ones an
// autoscaler, and each dedicated database exactly one StatefulSet.
func checkFleetChildren(t *testing.T, ns string, kinds map[string]crashKind) {
	t.Helper()
	names := func(kind string) []string {
		out := mustKubectl(t, "get", kind, "-n", ns, "-l", "app.kubernetes.io/managed-by=kubeship", "-o", `jsonpath={range .items[*]}{.metadata.name}{"\n"}{end}`)
		got := strings.Fields(out)
		slices.Sort(got)
		return got
	}
	deployments := make([]string, 0, len(kinds))
	var autoscalers, statefulsets []string
	for name, k := range kinds {
		deployments = append(deployments, name)
		switch k {
		case crashAutoscaled:
			autoscalers = append(autoscalers, name)
		case crashDedicated:
			statefulsets = append(statefulsets, name+"-db")
		}
	}
	for kind, want := range map[string][]string{"deployments": deployments, "hpa": autoscalers, "statefulsets": statefulsets} {
		slices.Sort(want)
		if got := names(kind); !slices.Equal(got, want) {
			t.Errorf("%s: got %d (%v), want %d", kind, len(got), diffNames(got, want), len(want))
		}
	}
}

// checkFleetDatabases: each shared service has exactly one database and one role on its
// server, named as naming says, and nothing else carries the namespace's prefix.
func checkFleetDatabases(t *testing.T, ns string, kinds map[string]crashKind, servers map[string]*testdb.Server) {
	t.Helper()
	prefix := strings.ReplaceAll(ns, "-", "_") + "_"
	for engine, kind := range map[string]crashKind{"postgres": crashSharedPG, "mysql": crashSharedMySQL} {
		var roles, databases []string
		for name, k := range kinds {
			if k == kind {
				roles = append(roles, naming.Role(engine, ns, name))
				databases = append(databases, naming.Database(engine, ns, name))
			}
		}
		slices.Sort(roles)
		slices.Sort(databases)
		if got := rolesLike(t, servers[engine], prefix); !slices.Equal(got, roles) {
			t.Errorf("%s roles: %d, want %d: %v", engine, len(got), len(roles), diffNames(got, roles))
		}
		if got := databasesLike(t, servers[engine], prefix); !slices.Equal(got, databases) {
			t.Errorf("%s databases: %d, want %d: %v", engine, len(got), len(databases), diffNames(got, databases))
		}
	}
}

// checkFleetSecrets: every credentials Secret holds what it held when first written,
// and every shared one logs in to its server.
func checkFleetSecrets(t *testing.T, ns string, kinds map[string]crashKind, watch *secretWatch, servers map[string]*testdb.Server) {
	t.Helper()
	if changed := watch.changes(); len(changed) > 0 {
		t.Errorf("Secrets whose data changed after they were first written: %v", changed)
	}
	loggedIn, compared := 0, 0
	for name, k := range kinds {
		if k != crashDedicated && k != crashSharedPG && k != crashSharedMySQL {
			continue
		}
		creds := credentials(t, ns, name+"-db")
		first := watch.firstSeen(name + "-db")
		decoded := map[string]string{}
		for key, v := range first {
			b, _ := base64.StdEncoding.DecodeString(v)
			decoded[key] = string(b)
		}
		if !maps.Equal(creds, decoded) {
			t.Errorf("Secret %s-db differs from its first-seen data (first seen: %v)", name, first != nil)
		}
		compared++
		if len(creds["password"]) < 32 {
			t.Errorf("Secret %s-db holds a password of %d characters", name, len(creds["password"]))
		}
		srv := servers["postgres"]
		switch k {
		case crashDedicated:
			continue // its server is a simulated pod; the Secret's stability is the check
		case crashSharedMySQL:
			srv = servers["mysql"]
		}
		if err := logInWith(creds, srv); err != nil {
			t.Errorf("%s: the Secret's password does not log in: %v", name, err)
			continue
		}
		loggedIn++
	}
	t.Logf("%d shared passwords logged in; %d Secrets compared with the data first seen", loggedIn, compared)
}

// checkNothingLeft: once every Microservice is deleted, no kubeship object, claim,
// database or role of the namespace remains.
func checkNothingLeft(t *testing.T, ns string, servers map[string]*testdb.Server) {
	t.Helper()
	eventually(t, 120*time.Second, func() error {
		out, err := kubectl("get", "ms,deploy,svc,hpa,pdb,sts,networkpolicy,secret,pvc", "-n", ns, "-o", "name")
		if err != nil {
			return err
		}
		var left []string
		for _, o := range strings.Fields(out) {
			if !strings.HasPrefix(o, "secret/default-token") && o != "service/kubernetes" {
				left = append(left, o)
			}
		}
		if len(left) > 0 {
			return fmt.Errorf("%d objects left in %s, e.g. %v", len(left), ns, left[:min(5, len(left))])
		}
		return nil
	})
	prefix := strings.ReplaceAll(ns, "-", "_") + "_"
	for engine, srv := range servers {
		if got := rolesLike(t, srv, prefix); len(got) > 0 {
			t.Errorf("%s roles left: %v", engine, got)
		}
		if got := databasesLike(t, srv, prefix); len(got) > 0 {
			t.Errorf("%s databases left: %v", engine, got)
		}
	}
}

// diffNames shows what got lacks and what it has too many of, against want.
func diffNames(got, want []string) string {
	count := map[string]int{}
	for _, n := range want {
		count[n]++
	}
	for _, n := range got {
		count[n]--
	}
	var missing, extra []string
	for n, c := range count {
		switch {
		case c > 0:
			missing = append(missing, n)
		case c < 0:
			extra = append(extra, fmt.Sprintf("%s x%d", n, -c))
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	return fmt.Sprintf("missing %v, extra %v", missing, extra)
}
