//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// The installer and the chart put the operator's own manager pods into the cluster. KWOK
// marks them Running without running them, so they never reconcile against the suite's
// manager; what these tests prove is that the objects apply, that the API server's
// PodSecurity admission lets the hardened pods into namespaces enforcing `restricted`,
// and that the Deployments become Available. The CRDs they carry are the suite's own
// (main_test.go installed them from config/crd/bases): they are applied again with the
// same content and never deleted.

const (
	installerNamespace  = "kubeship-system"
	installerDeployment = "deployment/kubeship-controller-manager"
)

var crdNames = []string{"microservices.apps.kubeship.dev", "databaseservers.apps.kubeship.dev"}

func TestInstallWithKubectl(t *testing.T) {
	g := NewWithT(t)
	installer := filepath.Join(repoRoot, "dist", "install.yaml")
	mustKubectl(t, "apply", "--server-side", "-f", installer)
	t.Cleanup(func() { removeInstalledManager(t) })

	enforce := mustKubectl(t, "get", "namespace", installerNamespace, "-o", `jsonpath={.metadata.labels.pod-security\.kubernetes\.io/enforce}`)
	g.Expect(enforce).To(Equal("restricted"))
	mustKubectl(t, "wait", "-n", installerNamespace, "--for=condition=Available", "--timeout=120s", installerDeployment)
	g.Expect(mustKubectl(t, "get", "-n", installerNamespace, installerDeployment, "-o", "jsonpath={.status.readyReplicas}")).To(Equal("2"))
	expectNoFailedCreate(t, installerNamespace)
	expectUnhardenedCopyRefused(t, installerNamespace, installerDeployment)
	for _, crd := range crdNames {
		mustKubectl(t, "wait", "--for=condition=Established", "--timeout=30s", "crd/"+crd)
	}
}

// removeInstalledManager deletes the one object dist/install.yaml adds to what the suite
// itself installed: the manager Deployment. The CRDs, the namespace, the ServiceAccount, the
// RBAC, the metrics Service and the disruption budget are the suite's own (main_test.go
// applied the same objects from config/default), and the suite's manager runs with that
// ServiceAccount's token: deleting them would take its rights away mid-suite.
func removeInstalledManager(t *testing.T) {
	if _, err := kubectl("delete", "-n", installerNamespace, "--ignore-not-found", "--wait=true", "--timeout=120s", installerDeployment); err != nil {
		t.Errorf("removing the installed manager: %v", err)
	}
}

func TestInstallWithHelm(t *testing.T) {
	g := NewWithT(t)
	ns := newNamespace(t) // enforces restricted
	const release = "kubeship-e2e"
	deployment := "deployment/" + release + "-controller-manager"
	chart := filepath.Join(repoRoot, "dist", "chart")

	// The CRDs exist already (installed with kubectl, as an earlier kubectl install
	// leaves them): the release takes them over, as Helm does for objects that name it.
	adoptCRDs(t, release, ns)

	mustHelm(t, "install", release, chart, "-n", ns, "--wait", "--timeout=3m")
	expectNoFailedCreate(t, ns)
	g.Expect(mustKubectl(t, "get", "-n", ns, deployment, "-o", "jsonpath={.status.readyReplicas}")).To(Equal("2"))
	for _, crd := range crdNames {
		g.Expect(mustKubectl(t, "get", "crd", crd, "-o", `jsonpath={.metadata.labels.app\.kubernetes\.io/managed-by}`)).
			To(Equal("Helm"), "the release manages CRD %s", crd)
	}

	mustHelm(t, "upgrade", release, chart, "-n", ns, "--reuse-values", "--set", "replicas=3,log.level=debug", "--wait", "--timeout=3m")
	g.Expect(mustKubectl(t, "get", "-n", ns, deployment, "-o", "jsonpath={.spec.template.spec.containers[0].args}")).
		To(ContainSubstring("--zap-log-level=debug"))
	g.Eventually(func() (string, error) {
		return kubectl("get", "-n", ns, deployment, "-o", "jsonpath={.status.availableReplicas}")
	}).WithTimeout(2 * time.Minute).WithPolling(time.Second).Should(Equal("3"))
	expectNoFailedCreate(t, ns)

	// Uninstall must keep the CRDs: check the release says so before running it.
	manifest := mustHelm(t, "get", "manifest", release, "-n", ns)
	g.Expect(strings.Count(manifest, "helm.sh/resource-policy: keep")).To(Equal(len(crdNames)), "the release's CRDs carry the keep policy")
	mustHelm(t, "uninstall", release, "-n", ns, "--wait", "--timeout=2m")
	for _, obj := range []string{deployment, "clusterrole/" + release + "-manager-role", "clusterrolebinding/" + release + "-manager-rolebinding"} {
		out, err := kubectl("get", "-n", ns, obj, "--ignore-not-found", "-o", "name")
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(out).To(BeEmpty(), "%s is left after helm uninstall", obj)
	}
	for _, crd := range crdNames {
		mustKubectl(t, "wait", "--for=condition=Established", "--timeout=10s", "crd/"+crd)
	}
}

// adoptCRDs marks the CRDs as the release's, and on cleanup removes the marks and the
// labels only Helm sets, so no later release finds them owned by this one.
func adoptCRDs(t *testing.T, release, ns string) {
	for _, crd := range crdNames {
		mustKubectl(t, "label", "--overwrite", "crd", crd, "app.kubernetes.io/managed-by=Helm")
		mustKubectl(t, "annotate", "--overwrite", "crd", crd, "meta.helm.sh/release-name="+release, "meta.helm.sh/release-namespace="+ns)
	}
	t.Cleanup(func() {
		for _, crd := range crdNames {
			_, _ = kubectl("annotate", "crd", crd, "meta.helm.sh/release-name-", "meta.helm.sh/release-namespace-", "helm.sh/resource-policy-")
			_, _ = kubectl("label", "crd", crd, "app.kubernetes.io/managed-by-", "app.kubernetes.io/instance-",
				"app.kubernetes.io/version-", "helm.sh/chart-")
		}
	})
}

// expectNoFailedCreate checks that no ReplicaSet in ns was refused a pod (PodSecurity
// admission reports a refused pod as a FailedCreate event on its ReplicaSet).
func expectNoFailedCreate(t *testing.T, ns string) {
	t.Helper()
	out := mustKubectl(t, "get", "events", "-n", ns, "--field-selector", "reason=FailedCreate", "-o", "jsonpath={.items[*].message}")
	if strings.TrimSpace(out) != "" {
		t.Errorf("pods were refused in %s: %s", ns, out)
	}
}

// expectUnhardenedCopyRefused shows that the namespace's admission does refuse: the
// manager's pod without its security contexts is rejected (server-side dry run).
func expectUnhardenedCopyRefused(t *testing.T, ns, deployment string) {
	t.Helper()
	image := mustKubectl(t, "get", "-n", ns, deployment, "-o", "jsonpath={.spec.template.spec.containers[0].image}")
	pod := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: unhardened-manager
  namespace: %s
spec:
  containers:
  - name: manager
    image: %s
`, ns, image)
	out, err := kubectl("apply", "--dry-run=server", "-f", writeManifest(t, pod))
	if err == nil {
		t.Fatalf("a pod without security contexts was admitted into %s: %s", ns, out)
	}
	if !strings.Contains(err.Error(), `violates PodSecurity "restricted`) {
		t.Fatalf("refused, but not by PodSecurity: %v", err)
	}
}

// helmBinary is the pinned Helm CLI `make helm` builds into ./bin (HELM overrides it).
func helmBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("HELM")
	if bin == "" {
		bin = filepath.Join(repoRoot, "bin", "helm")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("no Helm CLI at %s (run `make helm`, or set HELM): %v", bin, err)
	}
	return bin
}

// mustHelm runs helm against the test cluster, with its caches in a temporary directory.
func mustHelm(t *testing.T, args ...string) string {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(helmBinary(t), args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig,
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"), "HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}
