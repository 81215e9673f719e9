//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestStaticSampleLifecycle(t *testing.T) {
	ns := newNamespace(t)
	// Server-side apply, as Argo CD with ServerSideApply=true does.
	mustKubectl(t, "apply", "--server-side", "-n", ns, "-f", sample("apps_v1alpha1_microservice_static.yaml"))
	mustKubectl(t, "wait", "-n", ns, "--for=condition=Ready", "--timeout=120s", "ms/hello")

	t.Run("columns", func(t *testing.T) {
		out := mustKubectl(t, "get", "ms", "-n", ns)
		header := strings.Fields(strings.Split(out, "\n")[0])
		if strings.Join(header, " ") != "NAME IMAGE READY REPLICAS DATABASE AGE" {
			t.Fatalf("columns %v", header)
		}
		row := strings.Fields(strings.Split(out, "\n")[1])
		if row[0] != "hello" || row[1] != "ghcr.io/acme/hello:1.0.0" || row[2] != "True" || row[3] != "2" {
			t.Fatalf("row %v", row)
		}
		wide := mustKubectl(t, "get", "ms", "-n", ns, "-o", "wide")
		if !strings.Contains(wide, "URL") || !strings.Contains(wide, "REASON") ||
			!strings.Contains(wide, "http://hello."+ns+".svc.cluster.local:8080") {
			t.Fatalf("wide output:\n%s", wide)
		}
		short := mustKubectl(t, "get", "msvc,kubeship", "-n", ns)
		if !strings.Contains(short, "microservice.apps.kubeship.dev/hello") {
			t.Fatalf("short name and category:\n%s", short)
		}
	})

	t.Run("no drift for a GitOps tool", func(t *testing.T) {
		out, err := kubectl("diff", "--server-side", "-n", ns, "-f", sample("apps_v1alpha1_microservice_static.yaml"))
		if err != nil || strings.TrimSpace(out) != "" {
			t.Fatalf("kubectl diff --server-side reports drift (%v):\n%s", err, out)
		}
	})

	t.Run("scale", func(t *testing.T) {
		mustKubectl(t, "scale", "-n", ns, "ms/hello", "--replicas=3")
		eventually(t, 90*time.Second, expectField(ns, "ms/hello", "{.status.readyReplicas}", "3"))
		mustKubectl(t, "wait", "-n", ns, "--for=condition=Ready", "--timeout=60s", "ms/hello")
	})

	t.Run("image bump rolls out", func(t *testing.T) {
		mustKubectl(t, "patch", "-n", ns, "ms/hello", "--type=merge", "-p", `{"spec":{"image":"ghcr.io/acme/hello:1.1.0"}}`)
		gen := strings.TrimSpace(mustKubectl(t, "get", "-n", ns, "ms/hello", "-o", "jsonpath={.metadata.generation}"))
		eventually(t, 120*time.Second, expectField(ns, "ms/hello",
			`{.status.conditions[?(@.type=="Ready")].status}/{.status.conditions[?(@.type=="Ready")].observedGeneration}`, "True/"+gen))
		eventually(t, 30*time.Second, expectField(ns, "deploy/hello", "{.spec.template.spec.containers[0].image}", "ghcr.io/acme/hello:1.1.0"))
		eventually(t, 60*time.Second, expectField(ns, "deploy/hello", "{.status.updatedReplicas}", "3"))
	})

	t.Run("explain", func(t *testing.T) {
		out := mustKubectl(t, "explain", "microservice.spec.scaling")
		for _, want := range []string{"maxReplicas", "minReplicas", "targetCPUUtilizationPercentage", "HorizontalPodAutoscaler"} {
			if !strings.Contains(out, want) {
				t.Fatalf("explain lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("delete removes children through the garbage collector", func(t *testing.T) {
		mustKubectl(t, "delete", "-n", ns, "ms/hello", "--wait=true", "--timeout=60s")
		eventually(t, 60*time.Second, func() error {
			out, err := kubectl("get", "-n", ns, "deploy,svc,pdb", "-l", "apps.kubeship.dev/microservice=hello", "-o", "name")
			if err != nil {
				return err
			}
			if strings.TrimSpace(out) != "" {
				return fmt.Errorf("children remain: %s", out)
			}
			return nil
		})
	})
}

func TestRejectedManifestNamesTheField(t *testing.T) {
	ns := newNamespace(t)
	path := writeManifest(t, `apiVersion: apps.kubeship.dev/v1alpha1
kind: Microservice
metadata: {name: bad}
spec:
  image: ghcr.io/acme/bad:1
  replicas: 2
  scaling: {maxReplicas: 3}
`)
	_, err := kubectl("apply", "-n", ns, "-f", path)
	if err == nil || !strings.Contains(err.Error(), "spec.replicas: Invalid value") {
		t.Fatalf("apply of replicas+scaling: %v", err)
	}
}
