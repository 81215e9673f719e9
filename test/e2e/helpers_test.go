//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onsi/gomega"
)

var nsCounter atomic.Int64

// newNamespace makes a namespace that enforces the restricted Pod Security Standard, so
// every pod kubeship creates is proven to pass it.
func newNamespace(t *testing.T) string {
	t.Helper()
	return restrictedNamespace(t, fmt.Sprintf("e2e-%d-%d", time.Now().Unix()%100000, nsCounter.Add(1)))
}

// restrictedNamespace creates namespace ns enforcing the restricted pod security standard.
// When the test ends, before the namespace is deleted, it fails the test if admission
// refused a pod of a workload kubeship made there: every pod kubeship generates must be
// admitted under restricted.
func restrictedNamespace(t *testing.T, ns string) string {
	t.Helper()
	mustKubectl(t, "create", "namespace", ns)
	mustKubectl(t, "label", "namespace", ns, "pod-security.kubernetes.io/enforce=restricted")
	t.Cleanup(func() {
		expectKubeshipPodsAdmitted(t, ns)
		_, _ = kubectl("delete", "namespace", ns, "--wait=false")
	})
	return ns
}

// expectKubeshipPodsAdmitted fails t for each FailedCreate event (the ReplicaSet or
// StatefulSet controller could not create a pod) on a workload with kubeship's labels.
func expectKubeshipPodsAdmitted(t *testing.T, ns string) {
	t.Helper()
	owned, err := kubectl("get", "-n", ns, "replicasets,statefulsets", "-l", "app.kubernetes.io/managed-by=kubeship",
		"-o", `jsonpath={range .items[*]}{.kind}/{.metadata.name}{"\n"}{end}`)
	if err != nil {
		t.Errorf("listing kubeship's workloads in %s: %v", ns, err)
		return
	}
	events, err := kubectl("get", "events", "-n", ns, "--field-selector", "reason=FailedCreate",
		"-o", `jsonpath={range .items[*]}{.involvedObject.kind}/{.involvedObject.name}{"\t"}{.message}{"\n"}{end}`)
	if err != nil {
		t.Errorf("listing FailedCreate events in %s: %v", ns, err)
		return
	}
	ours := map[string]bool{}
	for _, name := range strings.Fields(owned) {
		ours[name] = true
	}
	for _, line := range strings.Split(strings.TrimSpace(events), "\n") {
		if object, message, ok := strings.Cut(line, "\t"); ok && ours[object] {
			t.Errorf("admission refused a pod of %s in %s (restricted): %s", object, ns, message)
		}
	}
}

func mustKubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := kubectl(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sample(name string) string {
	return filepath.Join(repoRoot, "config", "samples", name)
}

// eventually retries check every 250ms until it returns nil, and fails t if it has not
// after timeout.
func eventually(t *testing.T, timeout time.Duration, check func() error) {
	t.Helper()
	gomega.NewWithT(t).Eventually(check).WithTimeout(timeout).WithPolling(250 * time.Millisecond).Should(gomega.Succeed())
}

// consistently runs check every 250ms for duration and fails t the first time it
// returns an error.
func consistently(t *testing.T, duration time.Duration, check func() error) {
	t.Helper()
	gomega.NewWithT(t).Consistently(check).WithTimeout(duration).WithPolling(250 * time.Millisecond).Should(gomega.Succeed())
}

// jsonpath reads one field of an object.
func jsonpath(ns, object, path string) (string, error) {
	return kubectl("get", "-n", ns, object, "-o", "jsonpath="+path)
}

func expectField(ns, object, path, want string) func() error {
	return func() error {
		got, err := jsonpath(ns, object, path)
		if err != nil {
			return err
		}
		if strings.TrimSpace(got) != want {
			return fmt.Errorf("%s %s = %q, want %q", object, path, got, want)
		}
		return nil
	}
}

// writeManifest writes a manifest for the test and returns its path.
func writeManifest(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "manifest.yaml")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
