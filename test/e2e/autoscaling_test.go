//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
)

const spikeManifest = `apiVersion: apps.kubeship.dev/v1alpha1
kind: Microservice
metadata: {name: spiky}
spec:
  image: ghcr.io/acme/spiky:1.0.0
  resources:
    requests: {cpu: 100m, memory: 64Mi}
  scaling:
    minReplicas: 2
    maxReplicas: 6
    targetCPUUtilizationPercentage: 50
    behavior:
      scaleUp: {stabilizationWindowSeconds: 0}
      scaleDown:
        stabilizationWindowSeconds: 5
        policies: [{type: Percent, value: 100, periodSeconds: 5}]
`

// setUsage sets KWOK's simulated CPU usage on every pod of the service, new ones included.
func setUsage(ns, cpu string) error {
	_, err := kubectl("annotate", "pods", "-n", ns, "-l", "apps.kubeship.dev/microservice=spiky",
		"kwok.x-k8s.io/usage-cpu="+cpu, "--overwrite")
	return err
}

// sampleNotReady returns the Ready condition's reason and message when it is not True;
// a failed read is not a sample.
func sampleNotReady(ns string) []string {
	out, err := jsonpath(ns, "ms/spiky", `{.status.conditions[?(@.type=="Ready")].status}|{.status.conditions[?(@.type=="Ready")].reason}|{.status.conditions[?(@.type=="Ready")].message}`)
	if err != nil || strings.HasPrefix(out, "True|") {
		return nil
	}
	return []string{out}
}

func statusReplicas(ns string) (int, error) {
	out, err := jsonpath(ns, "ms/spiky", "{.status.replicas}")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(out))
}

// TestLoadSpike: usage rises far above target, the autoscaler scales toward max and
// `kubectl get ms` shows it; re-applying the manifest mid-spike changes nothing; usage
// falls and it scales back to min.
func TestLoadSpike(t *testing.T) {
	ns := newNamespace(t)
	path := writeManifest(t, spikeManifest)
	mustKubectl(t, "apply", "-n", ns, "-f", path)
	mustKubectl(t, "wait", "-n", ns, "--for=condition=Ready", "--timeout=120s", "ms/spiky")
	eventually(t, 60*time.Second, expectField(ns, "ms/spiky", "{.status.replicas}", "2"))
	if err := setUsage(ns, "20m"); err != nil {
		t.Fatal(err)
	}
	// Metrics flowing: kubectl top and the HPA both see the simulated usage.
	eventually(t, 120*time.Second, func() error {
		_, err := kubectl("top", "pods", "-n", ns, "-l", "apps.kubeship.dev/microservice=spiky")
		return err
	})
	mustKubectl(t, "wait", "-n", ns, "--for=condition=ScalingActive", "--timeout=120s", "ms/spiky")

	spike := time.Now()
	var firstUp time.Duration
	var notReady []string // Ready must not flap while the autoscaler scales
	eventually(t, 180*time.Second, func() error {
		if err := setUsage(ns, "300m"); err != nil {
			return err
		}
		notReady = append(notReady, sampleNotReady(ns)...)
		n, err := statusReplicas(ns)
		if err != nil {
			return err
		}
		if n > 2 && firstUp == 0 {
			firstUp = time.Since(spike)
		}
		if n < 6 {
			return fmt.Errorf("%d replicas", n)
		}
		return nil
	})
	toMax := time.Since(spike)
	t.Logf("spike to first scale-up: %s; to max (6): %s", firstUp.Round(time.Second), toMax.Round(time.Second))
	if len(notReady) > 0 {
		t.Fatalf("Ready was not True while the autoscaler scaled up: %v", notReady)
	}
	row := strings.Fields(strings.Split(mustKubectl(t, "get", "ms", "-n", ns), "\n")[1])
	if row[3] != "6" {
		t.Fatalf("kubectl get ms shows %v", row)
	}

	// Argo CD style re-apply during the spike: the autoscaler keeps the count.
	mustKubectl(t, "apply", "-n", ns, "-f", path)
	mustKubectl(t, "apply", "--server-side", "-n", ns, "-f", path)
	consistently(t, 2*time.Second, func() error {
		if got := mustKubectl(t, "get", "-n", ns, "deploy/spiky", "-o", "jsonpath={.spec.replicas}"); got != "6" {
			return fmt.Errorf("re-applying the manifest changed replicas to %s", got)
		}
		return nil
	})
	var d appsv1.Deployment
	if err := json.Unmarshal([]byte(mustKubectl(t, "get", "-n", ns, "deploy/spiky", "--show-managed-fields", "-o", "json")), &d); err != nil {
		t.Fatal(err)
	}
	for _, mf := range d.ManagedFields {
		if mf.Manager == "kubeship" && mf.FieldsV1 != nil && strings.Contains(mf.FieldsV1.GetRawString(), `"f:replicas"`) {
			t.Fatalf("kubeship owns spec.replicas while scaling is set: %s", mf.FieldsV1.GetRawString())
		}
	}

	calm := time.Now()
	eventually(t, 180*time.Second, func() error {
		if err := setUsage(ns, "10m"); err != nil {
			return err
		}
		notReady = append(notReady, sampleNotReady(ns)...)
		if n, err := statusReplicas(ns); err != nil || n != 2 {
			return fmt.Errorf("%d replicas (%v)", n, err)
		}
		return nil
	})
	t.Logf("calm to back at min (2): %s", time.Since(calm).Round(time.Second))
	if len(notReady) > 0 {
		t.Fatalf("Ready was not True while the autoscaler scaled down: %v", notReady)
	}
	mustKubectl(t, "wait", "-n", ns, "--for=condition=Ready", "--timeout=60s", "ms/spiky")
}
