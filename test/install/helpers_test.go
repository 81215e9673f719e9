// Package install checks the two ways to install kubeship, dist/install.yaml and the Helm
// chart in dist/chart, without a cluster: the installer is up to date with config/, the
// chart passes `helm lint` and renders, with default values, what the installer installs.
// test/e2e/install_test.go installs both into the local cluster.
package install

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

var repoRoot = func() string {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		panic(err)
	}
	return root
}()

func repoPath(parts ...string) string {
	return filepath.Join(append([]string{repoRoot}, parts...)...)
}

// helmBinary is the pinned Helm CLI that `make helm` builds (HELM overrides it).
func helmBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("HELM")
	if bin == "" {
		bin = repoPath("bin", "helm")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("no Helm CLI at %s (run `make helm`, or set HELM): %v", bin, err)
	}
	return bin
}

// run runs a command in the repository root and returns its stdout. The command gets
// this process's environment without the variables named in unset.
func run(t *testing.T, unset []string, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = repoRoot
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		n, _, _ := strings.Cut(kv, "=")
		return slices.Contains(unset, n)
	})
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// release is the release name and namespace under which the chart renders what
// dist/install.yaml installs.
const (
	releaseName      = "kubeship"
	releaseNamespace = "kubeship-system"
)

// render runs `helm template` on dist/chart with extra arguments (--set ...) and parses
// what it prints.
func render(t *testing.T, args ...string) []*unstructured.Unstructured {
	t.Helper()
	cmd := append([]string{"template", releaseName, repoPath("dist", "chart"), "--namespace", releaseNamespace}, args...)
	return parse(t, run(t, nil, helmBinary(t), cmd...))
}

// parse reads a multi-document YAML manifest as the API server would (integers stay
// int64); empty documents are skipped.
func parse(t *testing.T, manifest []byte) []*unstructured.Unstructured {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(manifest)))
	var objs []*unstructured.Unstructured
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("reading manifest: %v", err)
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			t.Fatalf("parsing manifest: %v\n%s", err, doc)
		}
		if string(js) == "null" {
			continue
		}
		o := &unstructured.Unstructured{}
		if err := o.UnmarshalJSON(js); err != nil {
			t.Fatalf("parsing object: %v\n%s", err, doc)
		}
		objs = append(objs, o)
	}
}

func readManifest(t *testing.T, parts ...string) []*unstructured.Unstructured {
	t.Helper()
	raw, err := os.ReadFile(repoPath(parts...))
	if err != nil {
		t.Fatal(err)
	}
	return parse(t, raw)
}

// key names an object in error messages and maps: kind/namespace/name.
func key(o *unstructured.Unstructured) string {
	return fmt.Sprintf("%s/%s/%s", o.GetKind(), o.GetNamespace(), o.GetName())
}

func byKey(objs []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
	m := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		m[key(o)] = o
	}
	return m
}

// find returns the one object of a kind whose name ends with suffix, or nil.
func find(objs []*unstructured.Unstructured, kind, suffix string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && strings.HasSuffix(o.GetName(), suffix) {
			return o
		}
	}
	return nil
}

func ofKind(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// helmOnlyLabels are what a Helm release adds to its objects and a kubectl install
// cannot have; the comparison with dist/install.yaml ignores them.
var helmOnlyLabels = []string{"helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/instance", "app.kubernetes.io/version"}

// withoutHelmMetadata returns a copy of o without the Helm-only labels (on the object and
// on a pod template) and without Helm's keep policy annotation.
func withoutHelmMetadata(o *unstructured.Unstructured) *unstructured.Unstructured {
	c := o.DeepCopy()
	for _, path := range [][]string{{"metadata"}, {"spec", "template", "metadata"}} {
		for _, field := range []string{"labels", "annotations"} {
			m, found, _ := unstructured.NestedStringMap(c.Object, append(path, field)...)
			if !found {
				continue
			}
			for _, k := range helmOnlyLabels {
				delete(m, k)
			}
			delete(m, "helm.sh/resource-policy")
			if len(m) == 0 {
				unstructured.RemoveNestedField(c.Object, append(path, field)...)
			} else {
				_ = unstructured.SetNestedStringMap(c.Object, m, append(path, field)...)
			}
		}
	}
	return c
}

// managerContainer returns the manager Deployment's first container.
func managerContainer(t *testing.T, objs []*unstructured.Unstructured) map[string]any {
	t.Helper()
	d := find(objs, "Deployment", "controller-manager")
	if d == nil {
		t.Fatal("no manager Deployment")
	}
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	if len(containers) != 1 {
		t.Fatalf("manager Deployment has %d containers, want 1", len(containers))
	}
	return containers[0].(map[string]any)
}

func managerArgs(t *testing.T, objs []*unstructured.Unstructured) []string {
	t.Helper()
	args, _, err := unstructured.NestedStringSlice(managerContainer(t, objs), "args")
	if err != nil {
		t.Fatal(err)
	}
	return args
}
