//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// gatewayAPICRDFiles are the standard-channel CRDs of the Gateway API module go.mod pins.
func gatewayAPICRDFiles(t *testing.T) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api")
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("locating the sigs.k8s.io/gateway-api module: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "standard")
	args := make([]string, 0, 6)
	for _, kind := range []string{"gatewayclasses", "gateways", "httproutes"} {
		args = append(args, "-f", filepath.Join(dir, "gateway.networking.k8s.io_"+kind+".yaml"))
	}
	return args
}

// runFakeGatewayController plays a Gateway implementation through kubectl until the
// test ends: every HTTPRoute in ns whose parent Gateway exists gets Accepted and
// ResolvedRefs for its current generation.
func runFakeGatewayController(t *testing.T, ns string) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			acceptHTTPRoutes(ns)
			select {
			case <-ctx.Done():
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
}

func acceptHTTPRoutes(ns string) {
	out, err := kubectl("get", "httproutes", "-n", ns, "-o", "json")
	if err != nil {
		return
	}
	var list struct {
		Items []struct {
			Metadata struct {
				Name       string `json:"name"`
				Generation int64  `json:"generation"`
			} `json:"metadata"`
			Spec struct {
				ParentRefs []map[string]any `json:"parentRefs"`
			} `json:"spec"`
			Status struct {
				Parents []struct {
					Conditions []struct {
						ObservedGeneration int64 `json:"observedGeneration"`
					} `json:"conditions"`
				} `json:"parents"`
			} `json:"status"`
		} `json:"items"`
	}
	if json.Unmarshal([]byte(out), &list) != nil {
		return
	}
	now := time.Now().UTC().Format(time.RFC3339)
	for _, r := range list.Items {
		if p := r.Status.Parents; len(p) > 0 && len(p[0].Conditions) > 0 && p[0].Conditions[0].ObservedGeneration == r.Metadata.Generation {
			continue
		}
		var parents []map[string]any
		for _, ref := range r.Spec.ParentRefs {
			gwNS, _ := ref["namespace"].(string)
			if gwNS == "" {
				gwNS = ns
			}
			if _, err := kubectl("get", "-n", gwNS, "gateway", fmt.Sprint(ref["name"])); err != nil {
				continue
			}
			cond := func(typ string) map[string]any {
				return map[string]any{"type": typ, "status": "True", "reason": typ, "message": "", "observedGeneration": r.Metadata.Generation, "lastTransitionTime": now}
			}
			parents = append(parents, map[string]any{"parentRef": ref, "controllerName": "example.com/fake-gateway",
				"conditions": []any{cond("Accepted"), cond("ResolvedRefs")}})
		}
		if len(parents) == 0 {
			continue
		}
		patch, _ := json.Marshal(map[string]any{"status": map[string]any{"parents": parents}})
		_, _ = kubectl("patch", "httproute", r.Metadata.Name, "-n", ns, "--subresource=status", "--type=merge", "-p", string(patch))
	}
}

func routedMicroservice(name, routes string) string {
	return fmt.Sprintf(`apiVersion: apps.kubeship.dev/v1alpha1
kind: Microservice
metadata:
  name: %s
spec:
  image: ghcr.io/acme/%s:1.0.0
  routes:
%s`, name, name, routes)
}

// TestRouting drives routing as users do: first on a cluster without the Gateway API
// (Routed=False GatewayAPINotInstalled, the service Ready all the same), then with its
// CRDs installed through kubectl: the HTTPRoute attached to the named Gateway, accepted
// by the test's gateway controller, status.url the external URL; two teams claiming
// one host and path; an Ingress for ingressClassName.
func TestRouting(t *testing.T) {
	crds := gatewayAPICRDFiles(t)
	// Start without the Gateway API, whatever an earlier run left.
	mustKubectl(t, append([]string{"delete", "--ignore-not-found", "--wait=true"}, crds...)...)
	ns := newNamespace(t)
	routed := func(object, status, reason string) func() error {
		return expectField(ns, object, `{.status.conditions[?(@.type=="Routed")].status}/{.status.conditions[?(@.type=="Routed")].reason}`, status+"/"+reason)
	}
	shopRoute := "  - {host: shop.example.test, gatewayRef: {name: edge}}\n"
	mustKubectl(t, "apply", "--server-side", "-n", ns, "-f", writeManifest(t, routedMicroservice("shop", shopRoute)))
	mustKubectl(t, "wait", "-n", ns, "--for=condition=Ready", "--timeout=120s", "ms/shop")
	eventually(t, 60*time.Second, routed("ms/shop", "False", "GatewayAPINotInstalled"))

	t.Run("the Gateway API arrives: the HTTPRoute is accepted and status.url is external", func(t *testing.T) {
		mustKubectl(t, append([]string{"apply", "--server-side"}, crds...)...)
		mustKubectl(t, append([]string{"wait", "--for=condition=Established", "--timeout=60s"}, crds...)...)
		t.Cleanup(func() { _, _ = kubectl(append([]string{"delete", "--ignore-not-found", "--wait=false"}, crds...)...) })
		mustKubectl(t, "apply", "-n", ns, "-f", writeManifest(t, `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: edge}
spec:
  gatewayClassName: fake
  listeners:
  - {name: http, protocol: HTTP, port: 80}
`))
		eventually(t, 60*time.Second, expectField(ns, "httproute/shop", "{.spec.parentRefs[0].name}/{.spec.hostnames[0]}/{.metadata.ownerReferences[0].name}", "edge/shop.example.test/shop"))
		eventually(t, 30*time.Second, routed("ms/shop", "False", "RoutePending"))
		runFakeGatewayController(t, ns)
		eventually(t, 60*time.Second, routed("ms/shop", "True", "Routed"))
		eventually(t, 30*time.Second, expectField(ns, "ms/shop", "{.status.url}", "http://shop.example.test"))
		if wide := mustKubectl(t, "get", "ms/shop", "-n", ns, "-o", "wide"); !strings.Contains(wide, "http://shop.example.test") {
			t.Fatalf("kubectl get -o wide does not show the external URL:\n%s", wide)
		}
		mustKubectl(t, "wait", "-n", ns, "--for=condition=Ready", "--timeout=60s", "ms/shop")

		t.Run("a second service claiming the same host and path: both are told and the older keeps it", func(t *testing.T) {
			mustKubectl(t, "apply", "--server-side", "-n", ns, "-f", writeManifest(t, routedMicroservice("rival", shopRoute)))
			eventually(t, 60*time.Second, routed("ms/rival", "False", "RouteConflict"))
			eventually(t, 60*time.Second, routed("ms/shop", "True", "RouteConflict"))
			msg, err := jsonpath(ns, "ms/rival", `{.status.conditions[?(@.type=="Routed")].message}`)
			if err != nil || !strings.Contains(msg, "shop.example.test/ is also claimed by the older Microservice "+ns+"/shop, which keeps it") {
				t.Fatalf("rival's Routed message %q (%v)", msg, err)
			}
			if out, _ := kubectl("get", "-n", ns, "httproute/rival", "--ignore-not-found", "-o", "name"); strings.TrimSpace(out) != "" {
				t.Fatalf("the younger claimant got an HTTPRoute: %s", out)
			}
			eventually(t, 30*time.Second, expectField(ns, "httproute/shop", "{.spec.hostnames[0]}", "shop.example.test"))
			mustKubectl(t, "wait", "-n", ns, "--for=condition=Ready", "--timeout=60s", "ms/rival")
		})
	})

	t.Run("ingressClassName makes an Ingress", func(t *testing.T) {
		route := "  - {host: web.example.test, path: /app, ingressClassName: nginx, tls: {secretName: web-tls}}\n"
		mustKubectl(t, "apply", "--server-side", "-n", ns, "-f", writeManifest(t, routedMicroservice("web", route)))
		eventually(t, 60*time.Second, expectField(ns, "ingress/web",
			"{.spec.ingressClassName} {.spec.rules[0].host} {.spec.rules[0].http.paths[0].path} {.spec.tls[0].secretName}", "nginx web.example.test /app web-tls"))
		eventually(t, 30*time.Second, routed("ms/web", "False", "RoutePending"))
		mustKubectl(t, "patch", "ingress/web", "-n", ns, "--subresource=status", "--type=merge",
			"-p", `{"status":{"loadBalancer":{"ingress":[{"ip":"192.0.2.80"}]}}}`)
		eventually(t, 60*time.Second, routed("ms/web", "True", "Routed"))
		eventually(t, 30*time.Second, expectField(ns, "ms/web", "{.status.url}", "https://web.example.test/app"))
	})
}
