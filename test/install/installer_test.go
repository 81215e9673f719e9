package install

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// dist/install.yaml is generated and committed, like the CRDs: rebuilding it from config/
// with the Makefile's image must give the committed file byte for byte.
func TestInstallerIsUpToDate(t *testing.T) {
	// The Makefile's defaults, not the caller's (an outer make passes its command-line
	// variables in MAKEFLAGS).
	unset := []string{"IMG", "RELEASE_IMG", "INSTALLER", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"}
	got := run(t, unset, "make", "--no-print-directory", "-s", "installer", "INSTALLER=-")
	want, err := os.ReadFile(repoPath("dist", "install.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("dist/install.yaml is not what config/ builds; run `make build-installer`. Diff (-committed +built):\n%s",
			cmp.Diff(strings.Split(string(want), "\n"), strings.Split(string(got), "\n")))
	}
}

// The installer's own promises, which an equality with the chart cannot show.
func TestInstallerIsHardened(t *testing.T) {
	objs := readManifest(t, "dist", "install.yaml")

	ns := find(objs, "Namespace", "kubeship-system")
	if ns == nil {
		t.Fatal("no Namespace kubeship-system")
	}
	if got := ns.GetLabels()["pod-security.kubernetes.io/enforce"]; got != "restricted" {
		t.Errorf("namespace enforces %q, want restricted", got)
	}
	for _, o := range objs {
		if o.GetNamespace() != "" && o.GetNamespace() != "kubeship-system" {
			t.Errorf("%s is outside kubeship-system", key(o))
		}
	}
	if n := len(ofKind(objs, "CustomResourceDefinition")); n != 2 {
		t.Errorf("%d CRDs, want 2 (Microservice, DatabaseServer)", n)
	}

	d := find(objs, "Deployment", "controller-manager")
	if d == nil {
		t.Fatal("no manager Deployment")
	}
	if r, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas"); r != 2 {
		t.Errorf("replicas = %d, want 2", r)
	}
	args := managerArgs(t, objs)
	for _, want := range []string{"--leader-elect", "--metrics-bind-address=:8443"} {
		if !slices.Contains(args, want) {
			t.Errorf("manager args %v lack %s", args, want)
		}
	}
	if slices.Contains(args, "--metrics-secure=false") {
		t.Errorf("metrics are served without authentication: %v", args)
	}
	c := managerContainer(t, objs)
	if img, _, _ := unstructured.NestedString(c, "image"); !strings.HasPrefix(img, "ghcr.io/kubeship/kubeship:") {
		t.Errorf("image = %q, want the release image", img)
	}
	for _, f := range [][]string{
		{"securityContext", "readOnlyRootFilesystem"}, {"securityContext", "allowPrivilegeEscalation"},
	} {
		v, found, _ := unstructured.NestedBool(c, f...)
		want := f[1] == "readOnlyRootFilesystem"
		if !found || v != want {
			t.Errorf("container %s = %v (set: %v), want %v", strings.Join(f, "."), v, found, want)
		}
	}
	if drop, _, _ := unstructured.NestedStringSlice(c, "securityContext", "capabilities", "drop"); !slices.Equal(drop, []string{"ALL"}) {
		t.Errorf("capabilities dropped: %v, want ALL", drop)
	}
	if v, _, _ := unstructured.NestedBool(d.Object, "spec", "template", "spec", "securityContext", "runAsNonRoot"); !v {
		t.Error("pod runAsNonRoot is not true")
	}
	if v, _, _ := unstructured.NestedString(d.Object, "spec", "template", "spec", "securityContext", "seccompProfile", "type"); v != "RuntimeDefault" {
		t.Errorf("pod seccompProfile = %q, want RuntimeDefault", v)
	}
	for _, f := range []string{"requests", "limits"} {
		for _, r := range []string{"cpu", "memory"} {
			if v, _, _ := unstructured.NestedString(c, "resources", f, r); v == "" {
				t.Errorf("no %s.%s", f, r)
			}
		}
	}
	for _, p := range []string{"livenessProbe", "readinessProbe"} {
		if _, found, _ := unstructured.NestedMap(c, p); !found {
			t.Errorf("no %s", p)
		}
	}

	pdb := find(objs, "PodDisruptionBudget", "controller-manager")
	if pdb == nil {
		t.Fatal("no PodDisruptionBudget for the manager")
	}
	if v, _, _ := unstructured.NestedInt64(pdb.Object, "spec", "minAvailable"); v != 1 {
		t.Errorf("PodDisruptionBudget minAvailable = %d, want 1", v)
	}
	svc := find(objs, "Service", "metrics-service")
	if svc == nil {
		t.Fatal("no metrics Service")
	}
	ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
	if len(ports) != 1 || ports[0].(map[string]any)["port"] != int64(8443) {
		t.Errorf("metrics Service ports = %v, want 8443", ports)
	}
	for _, name := range []string{"metrics-auth-role", "metrics-reader", "manager-role"} {
		if find(objs, "ClusterRole", name) == nil {
			t.Errorf("no ClusterRole *%s", name)
		}
	}
}
