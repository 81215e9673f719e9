//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// legacyManifests are a Deployment and a Service made with kubectl before kubeship:
// three replicas of a container called main, selecting kubeship's own pod label.
const legacyManifests = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: legacy
spec:
  replicas: 3
  selector:
    matchLabels: {apps.kubeship.dev/microservice: legacy}
  template:
    metadata:
      labels: {apps.kubeship.dev/microservice: legacy}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: main
        image: nginx:1.27
        securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
---
apiVersion: v1
kind: Service
metadata:
  name: legacy
spec:
  selector: {app: legacy}
  ports:
  - {name: web, port: 80, targetPort: 8000}
`

const legacyMicroservice = `apiVersion: apps.kubeship.dev/v1alpha1
kind: Microservice
metadata:
  name: legacy
spec:
  image: ghcr.io/acme/legacy:1.0.0
  replicas: 2
`

// fingerprint is what must stay as it is on an object kubeship does not own: its spec,
// generation, owner references and labels (the resourceVersion moves with status).
func fingerprint(t *testing.T, ns, object string) string {
	t.Helper()
	return mustKubectl(t, "get", "-n", ns, object, "-o",
		"jsonpath={.metadata.uid} {.metadata.generation} {.metadata.ownerReferences} {.metadata.labels} {.spec}")
}

func TestForeignWorkloadSurvivesDeletingTheMicroservice(t *testing.T) {
	ns := newNamespace(t)
	mustKubectl(t, "create", "-n", ns, "-f", writeManifest(t, legacyManifests))
	eventually(t, 60*time.Second, expectField(ns, "deploy/legacy", "{.status.readyReplicas}", "3"))
	deployBefore, svcBefore := fingerprint(t, ns, "deploy/legacy"), fingerprint(t, ns, "svc/legacy")

	mustKubectl(t, "apply", "--server-side", "-n", ns, "-f", writeManifest(t, legacyMicroservice))
	eventually(t, 60*time.Second, expectField(ns, "ms/legacy", `{.status.conditions[?(@.type=="Ready")].reason}`, "ResourceNotOwned"))
	msg := mustKubectl(t, "get", "-n", ns, "ms/legacy", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].message}`)
	for _, want := range []string{"Deployment legacy exists and is not controlled", "Service legacy exists and is not controlled", "apps.kubeship.dev/adopt: legacy"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("Ready message %q lacks %q", msg, want)
		}
	}
	if got := fingerprint(t, ns, "deploy/legacy"); got != deployBefore {
		t.Fatalf("the foreign Deployment changed:\nbefore %s\nafter  %s", deployBefore, got)
	}
	if got := fingerprint(t, ns, "svc/legacy"); got != svcBefore {
		t.Fatalf("the foreign Service changed:\nbefore %s\nafter  %s", svcBefore, got)
	}
	warnings := mustKubectl(t, "get", "events.events.k8s.io", "-n", ns, "--field-selector", "regarding.name=legacy,regarding.kind=Microservice,type=Warning",
		"-o", "jsonpath={range .items[*]}{.reason}{\"\\n\"}{end}")
	if strings.TrimSpace(warnings) != "ResourceNotOwned" {
		t.Fatalf("Warning events %q, want one ResourceNotOwned", warnings)
	}

	// A sentinel the Microservice owns shows when the garbage collector has acted on
	// the deletion; the foreign objects must outlive it.
	uid := mustKubectl(t, "get", "-n", ns, "ms/legacy", "-o", "jsonpath={.metadata.uid}")
	mustKubectl(t, "create", "-n", ns, "-f", writeManifest(t, fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: sentinel
  ownerReferences:
  - {apiVersion: apps.kubeship.dev/v1alpha1, kind: Microservice, name: legacy, uid: %s}
`, uid)))
	mustKubectl(t, "delete", "-n", ns, "ms/legacy", "--wait=true", "--timeout=60s")
	eventually(t, 60*time.Second, func() error {
		if _, err := kubectl("get", "-n", ns, "configmap/sentinel"); err == nil {
			return fmt.Errorf("the garbage collector has not removed the sentinel yet")
		}
		return nil
	})
	if got := fingerprint(t, ns, "deploy/legacy"); got != deployBefore {
		t.Fatalf("the foreign Deployment changed after deleting the Microservice:\nbefore %s\nafter  %s", deployBefore, got)
	}
	if got := fingerprint(t, ns, "svc/legacy"); got != svcBefore {
		t.Fatalf("the foreign Service changed after deleting the Microservice:\nbefore %s\nafter  %s", svcBefore, got)
	}
	eventually(t, 30*time.Second, expectField(ns, "deploy/legacy", "{.status.readyReplicas}", "3"))
}

// pods lists the names and UIDs of the pods a Microservice's selector matches.
func pods(ns, name string) (string, error) {
	return kubectl("get", "pods", "-n", ns, "-l", "apps.kubeship.dev/microservice="+name,
		"-o", "jsonpath={range .items[*]}{.metadata.name}/{.metadata.uid} {end}")
}

func TestAdoptionKeepsTheDeploymentAndItsPods(t *testing.T) {
	// The pods kubeship would build, read from a Microservice of the same name elsewhere.
	scratch := newNamespace(t)
	mustKubectl(t, "apply", "--server-side", "-n", scratch, "-f", writeManifest(t, legacyMicroservice))
	eventually(t, 60*time.Second, func() error { _, err := kubectl("get", "-n", scratch, "deploy/legacy"); return err })
	spec := mustKubectl(t, "get", "-n", scratch, "deploy/legacy", "-o", "jsonpath={.spec}")

	// The team's existing Deployment runs exactly those pods, made with kubectl.
	ns := newNamespace(t)
	mustKubectl(t, "create", "-n", ns, "-f", writeManifest(t, fmt.Sprintf(
		`{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "legacy", "labels": {"team": "legacy"}}, "spec": %s}`, spec)))
	eventually(t, 60*time.Second, expectField(ns, "deploy/legacy", "{.status.readyReplicas}", "2"))
	mustKubectl(t, "annotate", "-n", ns, "deploy/legacy", "apps.kubeship.dev/adopt=legacy")
	eventually(t, 60*time.Second, func() error {
		gen, err := jsonpath(ns, "deploy/legacy", "{.metadata.generation}")
		if err != nil {
			return err
		}
		return expectField(ns, "deploy/legacy", "{.status.observedGeneration}", gen)()
	})
	uid := mustKubectl(t, "get", "-n", ns, "deploy/legacy", "-o", "jsonpath={.metadata.uid}")
	generation := mustKubectl(t, "get", "-n", ns, "deploy/legacy", "-o", "jsonpath={.metadata.generation}")
	podsBefore, err := pods(ns, "legacy")
	if err != nil || len(strings.Fields(podsBefore)) != 2 {
		t.Fatalf("pods before adoption: %q, %v", podsBefore, err)
	}

	mustKubectl(t, "apply", "--server-side", "-n", ns, "-f", writeManifest(t, legacyMicroservice))
	mustKubectl(t, "wait", "-n", ns, "--for=condition=Ready", "--timeout=120s", "ms/legacy")
	eventually(t, 30*time.Second, expectField(ns, "deploy/legacy", "{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].controller}", "Microservice/true"))
	eventually(t, 30*time.Second, expectField(ns, "deploy/legacy", "{.metadata.labels.app\\.kubernetes\\.io/managed-by}", "kubeship"))
	eventually(t, 30*time.Second, expectField(ns, "svc/legacy", "{.metadata.ownerReferences[0].kind}", "Microservice"))
	if got := mustKubectl(t, "get", "-n", ns, "deploy/legacy", "-o", "jsonpath={.metadata.uid}"); got != uid {
		t.Fatalf("the Deployment was recreated: UID %s, was %s", got, uid)
	}
	if got := mustKubectl(t, "get", "-n", ns, "deploy/legacy", "-o", "jsonpath={.metadata.generation}"); got != generation {
		t.Fatalf("adoption changed the Deployment's spec: generation %s, was %s", got, generation)
	}
	if got, err := pods(ns, "legacy"); err != nil || got != podsBefore {
		t.Fatalf("pods restarted on adoption:\nbefore %s\nafter  %s (%v)", podsBefore, got, err)
	}
	if rs := mustKubectl(t, "get", "replicasets", "-n", ns, "-o", "name"); len(strings.Fields(rs)) != 1 {
		t.Fatalf("adoption started a rollout: ReplicaSets %q", rs)
	}
}
