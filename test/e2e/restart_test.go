//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// resourceVersions lists kind/name=resourceVersion for a namespace's Microservices and
// everything kubeship made for them.
func resourceVersions(t *testing.T, ns string) string {
	t.Helper()
	return mustKubectl(t, "get", "-n", ns, "ms,deploy,svc,pdb,hpa,sts,secret,networkpolicy",
		"-l", "app.kubernetes.io/managed-by=kubeship", "-o",
		`jsonpath={range .items[*]}{.kind}/{.metadata.name}={.metadata.resourceVersion}{"\n"}{end}`) +
		mustKubectl(t, "get", "-n", ns, "ms", "-o",
			`jsonpath={range .items[*]}{.kind}/{.metadata.name}={.metadata.resourceVersion}{"\n"}{end}`)
}

func TestManagerRestart(t *testing.T) {
	ns := newNamespace(t)
	mustKubectl(t, "apply", "-n", ns, "-f", sample("apps_v1alpha1_microservice_static.yaml"))
	mustKubectl(t, "wait", "-n", ns, "--for=condition=Ready", "--timeout=120s", "ms/hello")

	// Changed while the manager is down: the next manager converges it.
	if err := manager.stop(); err != nil {
		t.Fatalf("stopping the manager: %v", err)
	}
	mustKubectl(t, "patch", "-n", ns, "ms/hello", "--type=merge", "-p", `{"spec":{"replicas":3}}`)
	if err := manager.start(); err != nil {
		t.Fatalf("restarting the manager: %v", err)
	}
	eventually(t, 90*time.Second, expectField(ns, "ms/hello", "{.status.readyReplicas}", "3"))
	mustKubectl(t, "wait", "-n", ns, "--for=condition=Ready", "--timeout=60s", "ms/hello")

	// Converged: a restart reconciles every Microservice and writes nothing.
	before := resourceVersions(t, ns)
	if err := manager.stop(); err != nil {
		t.Fatalf("stopping the manager: %v", err)
	}
	if err := manager.start(); err != nil {
		t.Fatalf("restarting the manager: %v", err)
	}
	total := len(strings.Fields(mustKubectl(t, "get", "ms", "-A", "-o", "name")))
	eventually(t, 60*time.Second, func() error {
		n, err := manager.metric("controller_runtime_reconcile_total", `controller="microservice"`)
		if err != nil {
			return err
		}
		if int(n) < total {
			return fmt.Errorf("%v of %d Microservices reconciled", n, total)
		}
		return nil
	})
	if after := resourceVersions(t, ns); after != before {
		t.Fatalf("a restart with nothing to do wrote:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
