//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// shopManifest is docs/connections-shop.yaml without its Namespaces, moved into the
// test's own namespaces.
func shopManifest(t *testing.T, shop, finance string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "docs", "connections-shop.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var docs []string
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		if strings.Contains(doc, "kind: Namespace") {
			continue
		}
		doc = strings.ReplaceAll(doc, "namespace: shop\n", "namespace: "+shop+"\n")
		doc = strings.ReplaceAll(doc, "namespace: finance\n", "namespace: "+finance+"\n")
		docs = append(docs, doc)
	}
	return writeManifest(t, strings.Join(docs, "\n---\n"))
}

// TestConnectionsShop applies the documented shop: the services become Ready (an
// unresolved connection never holds that back), the isolation policies exist, and
// `kubectl kubeship graph -A` draws the connections.
func TestConnectionsShop(t *testing.T) {
	shop, finance := newNamespace(t), newNamespace(t)
	mustKubectl(t, "apply", "--server-side", "-f", shopManifest(t, shop, finance))
	mustKubectl(t, "wait", "-n", shop, "--for=condition=Ready", "--timeout=180s", "ms/frontend", "ms/orders", "ms/payments")
	eventually(t, 60*time.Second, expectField(shop, "ms/frontend", `{.status.conditions[?(@.type=="ConnectionsResolved")].status}`, "True"))
	eventually(t, 60*time.Second, expectField(shop, "ms/payments", `{.status.conditions[?(@.type=="ConnectionsResolved")].status}`, "True"))
	eventually(t, 60*time.Second, expectField(shop, "ms/orders", `{.status.conditions[?(@.type=="ConnectionsResolved")].reason}`, "CalleeNotFound"))
	eventually(t, 30*time.Second, expectField(shop, "deploy/frontend",
		`{.spec.template.spec.containers[0].env[?(@.name=="CONNECTION_ORDERS_URL")].value}`, "http://orders."+shop+".svc.cluster.local:8080"))
	eventually(t, 30*time.Second, expectField(shop, "networkpolicies",
		`{range .items[*]}{.metadata.name}{" "}{end}`, "frontend frontend-egress orders orders-db orders-egress payments payments-egress"))
	eventually(t, 30*time.Second, expectField(shop, "networkpolicy/payments",
		`{.spec.ingress[0].from[0].podSelector.matchLabels.apps\.kubeship\.dev/microservice}`, "orders"))

	t.Run("kubectl kubeship graph -A", func(t *testing.T) {
		bin := t.TempDir()
		build := exec.Command("go", "build", "-o", filepath.Join(bin, "kubectl-kubeship"), "./hack/kubectl-kubeship")
		build.Dir = repoRoot
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("building the plugin: %v\n%s", err, out)
		}
		graph := exec.Command("kubectl", "kubeship", "graph", "-A")
		graph.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := graph.Output()
		if err != nil {
			t.Fatalf("kubectl kubeship graph -A: %v", err)
		}
		for _, want := range []string{
			`"` + shop + `/frontend" -> "` + shop + `/orders";`,
			`"` + shop + `/orders" -> "` + shop + `/payments" [label="http"];`,
			`"` + shop + `/payments" -> "` + finance + `/ledger" [label="grpc"];`,
			`"` + shop + `/orders" -> "` + shop + `/stock" [label="CalleeNotFound", style=dashed`,
			`"` + shop + `/orders" -> "` + shop + `/orders/database" [arrowhead=none`,
			`"` + shop + `/payments" [label="payments\nisolated: ingress, egress"`,
		} {
			if !strings.Contains(string(out), want) {
				t.Errorf("graph lacks %s:\n%s", want, out)
			}
		}
	})
}
