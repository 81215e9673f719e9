//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scaleServices is how many services each side of BenchmarkConvergeAtScale creates.
const scaleServices = 300

// BenchmarkConvergeAtScale measures, side by side on the local cluster, how long
// scaleServices services take to become ready when their Deployment and Service are
// written directly (the floor set by the control plane) and when kubeship writes them
// from Microservices. The ratio of the two is kubeship's overhead; the manager's
// resident memory after the run is reported too.
func BenchmarkConvergeAtScale(b *testing.B) {
	b.Run("direct", func(b *testing.B) {
		for b.Loop() {
			ns := benchNamespace(b)
			seconds := timeApply(b, ns, directManifests, "deploy", "condition=Available")
			b.ReportMetric(seconds, "s/converge")
		}
	})
	b.Run("kubeship", func(b *testing.B) {
		for b.Loop() {
			ns := benchNamespace(b)
			seconds := timeApply(b, ns, microserviceManifests, "ms", "condition=Ready")
			b.ReportMetric(seconds, "s/converge")
		}
		b.ReportMetric(managerRSSMiB(b), "MiB-manager-rss")
	})
}

func benchNamespace(b *testing.B) string {
	ns := fmt.Sprintf("bench-%d", time.Now().UnixNano()%1000000)
	if _, err := kubectl("create", "namespace", ns); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _, _ = kubectl("delete", "namespace", ns, "--wait=false") })
	return ns
}

// timeApply applies the manifests for scaleServices services and waits until every
// object of kind meets cond; it returns the seconds that took.
func timeApply(b *testing.B, ns string, manifests func(i int) string, kind, cond string) float64 {
	docs := make([]string, 0, scaleServices)
	for i := range scaleServices {
		docs = append(docs, manifests(i))
	}
	path := filepath.Join(b.TempDir(), "all.yaml")
	if err := os.WriteFile(path, []byte(strings.Join(docs, "---\n")), 0o644); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if _, err := kubectl("apply", "--server-side", "-n", ns, "-f", path); err != nil {
		b.Fatal(err)
	}
	if _, err := kubectl("wait", "-n", ns, "--for="+cond, "--all", kind, "--timeout=600s"); err != nil {
		b.Fatal(err)
	}
	return time.Since(start).Seconds()
}

// directManifests is what kubeship would create for one service, written by hand.
func directManifests(i int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: svc-%[1]d, labels: {app.kubernetes.io/name: svc-%[1]d}}
spec:
  replicas: 1
  selector: {matchLabels: {apps.kubeship.dev/microservice: svc-%[1]d}}
  template:
    metadata: {labels: {apps.kubeship.dev/microservice: svc-%[1]d}}
    spec:
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: app
        image: ghcr.io/acme/svc:1
        ports: [{name: http, containerPort: 8080}]
        securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
---
apiVersion: v1
kind: Service
metadata: {name: svc-%[1]d}
spec:
  selector: {apps.kubeship.dev/microservice: svc-%[1]d}
  ports: [{name: http, port: 8080, targetPort: http}]
`, i)
}

func microserviceManifests(i int) string {
	return fmt.Sprintf(`apiVersion: apps.kubeship.dev/v1alpha1
kind: Microservice
metadata: {name: svc-%d}
spec:
  image: ghcr.io/acme/svc:1
`, i)
}

// managerRSSMiB reads the manager process's resident memory.
func managerRSSMiB(b *testing.B) float64 {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", manager.cmd.Process.Pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
