//go:build e2e

package e2e

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kubeship/kubeship/internal/testdb"
)

func TestDedicatedPostgresSample(t *testing.T) {
	ns := newNamespace(t)
	mustKubectl(t, "apply", "-n", ns, "-f", sample("apps_v1alpha1_microservice_dedicated_postgres.yaml"))
	mustKubectl(t, "wait", "-n", ns, "--for=condition=DatabaseReady", "--timeout=120s", "ms/orders")
	mustKubectl(t, "wait", "-n", ns, "--for=condition=Ready", "--timeout=120s", "ms/orders")
	if got := mustKubectl(t, "get", "-n", ns, "pvc", "data-orders-db-0", "-o", "jsonpath={.status.phase}"); got != "Bound" {
		t.Fatalf("claim phase %q", got)
	}
	// Client-side apply and diff, as a plain `kubectl apply` user sees it: no drift.
	if out, err := kubectl("diff", "-n", ns, "-f", sample("apps_v1alpha1_microservice_dedicated_postgres.yaml")); err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("kubectl diff reports drift (%v):\n%s", err, out)
	}
	out := mustKubectl(t, "get", "ms", "-n", ns)
	if !strings.Contains(strings.Split(out, "\n")[1], "postgres") {
		t.Fatalf("the Database column:\n%s", out)
	}
	uri := mustKubectl(t, "get", "-n", ns, "secret", "orders-db", "-o", "jsonpath={.data.uri}")
	decoded, _ := base64.StdEncoding.DecodeString(uri)
	if !strings.HasPrefix(string(decoded), "postgresql://orders:") || !strings.HasSuffix(string(decoded), "@orders-db."+ns+".svc.cluster.local:5432/orders") {
		t.Fatal("unexpected uri shape") // the password is not printed
	}

	// Deleted by mistake under Retain: the claim and the Secret stay.
	mustKubectl(t, "delete", "-n", ns, "ms/orders", "--wait=true", "--timeout=60s")
	eventually(t, 60*time.Second, func() error {
		if out, _ := kubectl("get", "-n", ns, "sts", "orders-db", "-o", "name"); strings.TrimSpace(out) != "" {
			return fmt.Errorf("StatefulSet still there")
		}
		return nil
	})
	mustKubectl(t, "get", "-n", ns, "pvc", "data-orders-db-0")
	mustKubectl(t, "get", "-n", ns, "secret", "orders-db")
}

func TestSharedDatabaseOnARealServer(t *testing.T) {
	srv := testdb.StartPostgres(t)
	adminNS := newNamespace(t)
	mustKubectl(t, "create", "secret", "generic", "pg-admin", "-n", adminNS,
		"--from-literal=username="+srv.User, "--from-literal=password="+srv.Password)
	// Outside the operator's namespace, kubeship reads only Secrets labelled for it.
	mustKubectl(t, "label", "secret", "pg-admin", "-n", adminNS, "apps.kubeship.dev/database-server-secret=true")
	ns := newNamespace(t)
	mustKubectl(t, "label", "namespace", ns, "kubeship.dev/databases=e2e")
	server := "e2e-pg-" + ns
	path := writeManifest(t, fmt.Sprintf(`apiVersion: apps.kubeship.dev/v1alpha1
kind: DatabaseServer
metadata: {name: %s}
spec:
  engine: postgres
  host: %s
  port: %d
  adminSecretRef: {namespace: %s, name: pg-admin}
  sslMode: require
  allowedNamespaces: {matchLabels: {kubeship.dev/databases: e2e}}
---
apiVersion: apps.kubeship.dev/v1alpha1
kind: Microservice
metadata: {name: inventory, namespace: %s}
spec:
  image: ghcr.io/acme/inventory:1.2.0
  database: {engine: postgres, mode: shared, serverRef: {name: %s}, deletionPolicy: Delete}
`, server, srv.Host, srv.Port, adminNS, ns, server))
	t.Cleanup(func() { _, _ = kubectl("delete", "databaseserver", server, "--wait=false") })
	mustKubectl(t, "apply", "-f", path)
	mustKubectl(t, "wait", "--for=condition=Ready", "--timeout=60s", "databaseserver/"+server)
	mustKubectl(t, "wait", "-n", ns, "--for=condition=Ready", "--timeout=120s", "ms/inventory")
	if got := mustKubectl(t, "get", "-n", ns, "ms/inventory", "-o", "jsonpath={.metadata.finalizers}"); !strings.Contains(got, "apps.kubeship.dev/database") {
		t.Fatalf("finalizers %s", got)
	}
	mustKubectl(t, "delete", "-n", ns, "ms/inventory", "--wait=true", "--timeout=60s")
}
