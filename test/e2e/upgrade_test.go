//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/onsi/gomega"

	"github.com/kubeship/kubeship/internal/testdb"
)

// upgradeFleet is a mix of what the first release ran: a static service with a probe,
// environment and a disruption budget, an autoscaled one, one with a dedicated
// PostgreSQL and one with a database on a shared server. Only fields the first
// release's CRD knows are used.
const upgradeFleet = `apiVersion: apps.kubeship.dev/v1alpha1
kind: DatabaseServer
metadata: {name: %[1]s}
spec:
  engine: postgres
  host: %[2]s
  port: %[3]d
  adminSecretRef: {namespace: %[4]s, name: pg-admin}
  sslMode: require
  allowedNamespaces: {matchLabels: {kubeship.dev/upgrade: %[5]s}}
---
apiVersion: apps.kubeship.dev/v1alpha1
kind: Microservice
metadata: {name: web, namespace: %[5]s}
spec:
  image: ghcr.io/acme/web:1.0.0
  replicas: 2
  ports: [{name: http, port: 8080}, {name: admin, port: 9090}]
  env: [{name: MODE, value: live}]
  resources: {requests: {cpu: 50m, memory: 64Mi}, limits: {memory: 128Mi}}
  readinessProbe: {httpGet: {path: /healthz, port: http}}
---
apiVersion: apps.kubeship.dev/v1alpha1
kind: Microservice
metadata: {name: checkout, namespace: %[5]s}
spec:
  image: ghcr.io/acme/checkout:2.3.1
  resources: {requests: {cpu: 100m, memory: 128Mi}}
  scaling:
    minReplicas: 2
    maxReplicas: 4
    targetCPUUtilizationPercentage: 70
---
apiVersion: apps.kubeship.dev/v1alpha1
kind: Microservice
metadata: {name: orders, namespace: %[5]s}
spec:
  image: ghcr.io/acme/orders:3.0.0
  database: {engine: postgres, storage: 1Gi}
---
apiVersion: apps.kubeship.dev/v1alpha1
kind: Microservice
metadata: {name: ledger, namespace: %[5]s}
spec:
  image: ghcr.io/acme/ledger:1.1.0
  database: {engine: postgres, mode: shared, serverRef: {name: %[1]s}}
`

// upgradeServices are the Microservices of upgradeFleet.
var upgradeServices = []string{"web", "checkout", "orders", "ledger"}

// TestUpgradeFromFirstRelease installs the first release (CRDs and manager, built from
// baselineCommit), lets it run a mix of services, then upgrades in place to the working
// tree's CRDs and manager. Nothing that runs may notice: every child keeps its UID, no
// pod template changes (no new ReplicaSet or revision, no pod replaced), Secrets keep
// their data, field owners stay the same, and the shared database is claimed (marked as
// the service's) without being dropped or re-created, while its password keeps working.
func TestUpgradeFromFirstRelease(t *testing.T) {
	g := gomega.NewWithT(t)
	old := buildBaseline(t)
	srv := testdb.StartPostgres(t)
	adminNS := newNamespace(t)
	mustKubectl(t, "create", "secret", "generic", "pg-admin", "-n", adminNS,
		"--from-literal=username="+srv.User, "--from-literal=password="+srv.Password)
	// The working tree reads admin Secrets outside its namespace only when labelled; the
	// first release read any. Labelled, both may read it.
	mustKubectl(t, "label", "secret", "pg-admin", "-n", adminNS, "apps.kubeship.dev/database-server-secret=true")
	ns := newNamespace(t)
	mustKubectl(t, "label", "namespace", ns, "kubeship.dev/upgrade="+ns)
	server := "upgrade-pg-" + ns
	t.Cleanup(func() { _, _ = kubectl("delete", "databaseserver", server, "--wait=false") })

	// The first release runs the fleet.
	handOverSuiteManager(t)
	if err := installCRDs(old.crds()); err != nil {
		t.Fatalf("installing the %s CRDs: %v", baselineCommit, err)
	}
	oldManager := startBaselineManager(t, old)
	mustKubectl(t, "apply", "-f", writeManifest(t, fmt.Sprintf(upgradeFleet, server, srv.Host, srv.Port, adminNS, ns)))
	mustKubectl(t, "wait", "--for=condition=Ready", "--timeout=60s", "databaseserver/"+server)
	mustKubectl(t, "wait", "-n", ns, "--for=condition=Ready", "--timeout=150s", "ms", "--all")
	if err := oldManager.stop(); err != nil {
		t.Fatalf("stopping the %s manager: %v", baselineCommit, err)
	}
	// With kubeship stopped, this is what the first release left.
	before := recordWorkloads(t, ns)
	t.Logf("recorded under %s: %v", baselineCommit, countKinds(before))
	for _, key := range []string{"Deployment/checkout", "Secret/ledger-db", "Microservice/ledger"} {
		t.Logf("field managers of %s: %v", key, before[key].Managers)
	}
	g.Expect(before["Deployment/web"].Managers).To(gomega.ContainElement("kubeship Apply"), "managedFields were read")
	for _, key := range []string{"Deployment/web", "PodDisruptionBudget/web", "HorizontalPodAutoscaler/checkout", "StatefulSet/orders-db",
		"PersistentVolumeClaim/data-orders-db-0", "Secret/orders-db", "Secret/ledger-db"} {
		g.Expect(before).To(gomega.HaveKey(key), "the first release made no %s", key)
	}
	ledger := credentials(t, ns, "ledger-db")
	g.Expect(logsIn(ledger["uri"])).To(gomega.Succeed(), "the shared database's credentials under %s", baselineCommit)
	dbBefore := inspectShared(t, srv, ledger["username"], ledger["database"])
	g.Expect(dbBefore.RoleComment).To(gomega.BeEmpty(), "the first release marks no role")

	// The upgrade: the working tree's CRDs, then its manager, as the suite runs it.
	if err := installCRDs(filepath.Join(repoRoot, "config", "crd", "bases")); err != nil {
		t.Fatalf("installing the working tree's CRDs: %v", err)
	}
	if err := manager.start(); err != nil {
		t.Fatalf("starting the working tree's manager: %v", err)
	}
	start := time.Now()
	g.Eventually(func(g gomega.Gomega) {
		for _, name := range upgradeServices {
			g.Expect(readyAtCurrentGeneration(ns, name)).To(gomega.Succeed())
		}
		// The new status field: the shared database is recorded as provisioned, which
		// the working tree does only once it owns (has claimed) the role and database.
		g.Expect(jsonpath(ns, "ms/ledger", "{.status.database.provisioned.role}")).To(gomega.Equal(ledger["username"]))
		g.Expect(initialPassDone()).To(gomega.Succeed())
	}).WithTimeout(120 * time.Second).WithPolling(time.Second).Should(gomega.Succeed())
	t.Logf("every Microservice Ready under the working tree's manager %s after its start", time.Since(start).Round(100*time.Millisecond))

	// Nothing the services run on changed, then or in the next seconds.
	unchanged := func() string { return cmp.Diff(before, recordWorkloads(t, ns)) }
	if diff := unchanged(); diff != "" {
		t.Fatalf("the upgrade changed running services (-%s +working tree):\n%s", baselineCommit, diff)
	}
	g.Consistently(unchanged).WithTimeout(5*time.Second).WithPolling(time.Second).Should(gomega.BeEmpty(),
		"the working tree's manager changed running services after they were Ready")

	// The shared database: the same role and database (not dropped and re-created),
	// now marked as the Microservice's, and the unchanged password still logs in.
	uid := mustKubectl(t, "get", "-n", ns, "ms/ledger", "-o", "jsonpath={.metadata.uid}")
	dbAfter := inspectShared(t, srv, ledger["username"], ledger["database"])
	g.Expect(dbAfter).To(gomega.Equal(sharedDatabase{
		RoleOID: dbBefore.RoleOID, DatabaseOID: dbBefore.DatabaseOID,
		RoleComment: "kubeship:" + uid, DatabaseComment: "kubeship:" + uid,
		DatabaseOwnedByRole: true,
	}))
	g.Expect(credentials(t, ns, "ledger-db")).To(gomega.Equal(ledger))
	g.Expect(logsIn(ledger["uri"])).To(gomega.Succeed(), "the shared database's credentials after the upgrade")
	var provisioned map[string]string
	g.Expect(json.Unmarshal([]byte(mustKubectl(t, "get", "-n", ns, "ms/ledger", "-o", "jsonpath={.status.database.provisioned}")), &provisioned)).To(gomega.Succeed())
	serverUID := mustKubectl(t, "get", "databaseserver", server, "-o", "jsonpath={.metadata.uid}")
	g.Expect(provisioned).To(gomega.Equal(map[string]string{
		"server": server, "serverUID": serverUID, "database": ledger["database"], "role": ledger["username"],
	}))
}

// readyAtCurrentGeneration checks that a Microservice is Ready for its current spec:
// status and the Ready condition both observed the current generation.
func readyAtCurrentGeneration(ns, name string) error {
	out, err := jsonpath(ns, "ms/"+name, `{.metadata.generation}|{.status.observedGeneration}|{.status.conditions[?(@.type=="Ready")].status}|{.status.conditions[?(@.type=="Ready")].observedGeneration}|{.status.conditions[?(@.type=="Ready")].reason}`)
	if err != nil {
		return err
	}
	f := strings.Split(out, "|")
	if len(f) != 5 || f[0] != f[1] || f[2] != "True" || f[3] != f[0] {
		return fmt.Errorf("ms/%s: generation|observedGeneration|Ready|its observedGeneration|reason = %s", name, out)
	}
	return nil
}

// initialPassDone checks that the suite's manager has been through every Microservice
// of the cluster since it started: its workers started after the initial list had
// queued them all, so an empty queue with no busy worker, after at least as many passes
// as there are Microservices, means each had its pass.
func initialPassDone() error {
	out, err := kubectl("get", "ms", "-A", "-o", "name")
	if err != nil {
		return err
	}
	total := len(strings.Fields(out))
	for _, m := range []struct {
		name, selector string
		done           func(float64) bool
	}{
		{"controller_runtime_reconcile_total", `controller="microservice"`, func(v float64) bool { return int(v) >= total }},
		{"workqueue_depth", `name="microservice"`, func(v float64) bool { return v == 0 }},
		{"controller_runtime_active_workers", `controller="microservice"`, func(v float64) bool { return v == 0 }},
	} {
		v, err := manager.metric(m.name, m.selector)
		if err != nil {
			return err
		}
		if !m.done(v) {
			return fmt.Errorf("%s{%s} = %v (%d Microservices)", m.name, m.selector, v, total)
		}
	}
	return nil
}
