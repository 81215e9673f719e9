//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onsi/gomega"
)

// hostileDir holds the hostile-input corpus: invalid/ (refused at admission), update/
// (pairs whose second apply a transition rule refuses), runtime/ (admitted, but a child
// is refused by the API server), valid/ (edge cases that must become Ready).
var hostileDir = filepath.Join("testdata", "hostile")

// hostileCase is one manifest of the corpus with the directives of its leading comments:
// `# expect: <text>` (what the error or Ready message must contain) and
// `# namespace: long` (apply it in a namespace of the maximum 63 characters).
type hostileCase struct {
	name, path, expect string
	longNamespace      bool
}

func readHostileCases(t *testing.T, dir string) []hostileCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(hostileDir, dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cases := make([]hostileCase, 0, len(files))
	for _, f := range files {
		cases = append(cases, readHostileCase(t, strings.TrimSuffix(filepath.Base(f), ".yaml"), f))
	}
	return cases
}

func readHostileCase(t *testing.T, name, path string) hostileCase {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c := hostileCase{name: name, path: path}
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "#") {
			break
		}
		if v, ok := strings.CutPrefix(line, "# expect: "); ok {
			c.expect = strings.TrimSpace(v)
		}
		if strings.TrimSpace(line) == "# namespace: long" {
			c.longNamespace = true
		}
	}
	return c
}

// readUpdateCases reads update/<case>/before.yaml and after.yaml; the expectation is after's.
func readUpdateCases(t *testing.T) [][2]hostileCase {
	t.Helper()
	dirs, err := os.ReadDir(filepath.Join(hostileDir, "update"))
	if err != nil {
		t.Fatal(err)
	}
	pairs := make([][2]hostileCase, 0, len(dirs))
	for _, d := range dirs {
		base := filepath.Join(hostileDir, "update", d.Name())
		pairs = append(pairs, [2]hostileCase{
			readHostileCase(t, d.Name(), filepath.Join(base, "before.yaml")),
			readHostileCase(t, d.Name(), filepath.Join(base, "after.yaml")),
		})
	}
	return pairs
}

// checkHostileCorpus holds the corpus to its promised size, and every refusal to a
// stated expectation, so a file cannot pass by asserting nothing.
func checkHostileCorpus(t *testing.T, invalid, valid, runtime []hostileCase, updates [][2]hostileCase) {
	t.Helper()
	g := gomega.NewWithT(t)
	g.Expect(len(invalid)).To(gomega.BeNumerically(">=", 60), "invalid manifests")
	g.Expect(len(valid)).To(gomega.BeNumerically(">=", 10), "valid manifests")
	g.Expect(runtime).NotTo(gomega.BeEmpty(), "runtime-refused manifests")
	g.Expect(updates).NotTo(gomega.BeEmpty(), "update pairs")
	refused := append(append([]hostileCase{}, invalid...), runtime...)
	for _, p := range updates {
		refused = append(refused, p[1])
	}
	for _, c := range refused {
		g.Expect(c.expect).NotTo(gomega.BeEmpty(), "%s has no '# expect:' line", c.path)
	}
}

// longNamespaceName is a namespace name of exactly 63 characters, the maximum.
func longNamespaceName() string {
	ns := fmt.Sprintf("hostile-%d-", time.Now().Unix()%100000)
	return ns + strings.Repeat("x", 63-len(ns))
}

func newLongNamespace(t *testing.T) string {
	t.Helper()
	return restrictedNamespace(t, longNamespaceName())
}

// applyStrict applies a manifest as a user would, with schema validation of unknown
// fields; its error carries kubectl's stderr.
func applyStrict(ns, path string) error {
	_, err := kubectl("apply", "--server-side", "--validate=strict", "-n", ns, "-f", path)
	return err
}

func TestHostileInput(t *testing.T) {
	invalid := readHostileCases(t, "invalid")
	valid := readHostileCases(t, "valid")
	runtime := readHostileCases(t, "runtime")
	updates := readUpdateCases(t)
	checkHostileCorpus(t, invalid, valid, runtime, updates)

	ns, longNS := newNamespace(t), newLongNamespace(t)
	nsFor := func(c hostileCase) string {
		if c.longNamespace {
			return longNS
		}
		return ns
	}

	// The groups run one after another; the cases within a group run in parallel.
	t.Run("rejected", func(t *testing.T) {
		for _, c := range invalid {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				err := applyStrict(nsFor(c), c.path)
				if err == nil {
					_, _ = kubectl("delete", "-n", nsFor(c), "-f", c.path)
					t.Fatalf("%s was admitted; want an error containing %q", c.path, c.expect)
				}
				gomega.NewWithT(t).Expect(err.Error()).To(gomega.ContainSubstring(c.expect))
			})
		}
	})
	t.Run("update-rejected", func(t *testing.T) {
		for _, p := range updates {
			before, after := p[0], p[1]
			t.Run(before.name, func(t *testing.T) {
				t.Parallel()
				if err := applyStrict(ns, before.path); err != nil {
					t.Fatalf("the starting manifest must be admitted: %v", err)
				}
				err := applyStrict(ns, after.path)
				if err == nil {
					t.Fatalf("%s was admitted over %s; want an error containing %q", after.path, before.path, after.expect)
				}
				gomega.NewWithT(t).Expect(err.Error()).To(gomega.ContainSubstring(after.expect))
				// Gone before the next groups, whose quiet would otherwise include its passes.
				mustKubectl(t, "delete", "-n", ns, "-f", before.path, "--wait=false")
			})
		}
	})
	t.Run("accepted-and-ready", func(t *testing.T) {
		for _, c := range valid {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				if err := applyStrict(nsFor(c), c.path); err != nil {
					t.Fatalf("a valid edge case was refused: %v", err)
				}
				mustKubectl(t, "wait", "-n", nsFor(c), "--for=condition=Ready", "--timeout=90s", "-f", c.path)
			})
		}
	})
	t.Run("refused-child-is-invalid-spec", func(t *testing.T) {
		for _, c := range runtime {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				checkInvalidSpecSettles(t, ns, c)
			})
		}
	})
	t.Run("invalid-specs-cost-no-passes", func(t *testing.T) { checkNoFailingPasses(t, 4*time.Second) })
	t.Run("long-names-on-real-servers", func(t *testing.T) { checkLongNamesOnRealServers(t, longNS) })
	checkManagerNeverPanicked(t)
}

// checkInvalidSpecSettles applies a manifest the CRD admits but whose child the API
// server refuses: Ready must turn False with reason InvalidSpec and a message naming the
// field, and then nothing may move: no status write (resourceVersion), no manager log.
func checkInvalidSpecSettles(t *testing.T, ns string, c hostileCase) {
	t.Helper()
	if err := applyStrict(ns, c.path); err != nil {
		t.Fatalf("the CRD cannot know this one, so it must be admitted: %v", err)
	}
	name, err := kubectl("get", "-n", ns, "-f", c.path, "-o", "jsonpath={.metadata.name}")
	if err != nil {
		t.Fatal(err)
	}
	object := "microservice/" + name
	eventually(t, 60*time.Second, func() error {
		if err := expectField(ns, object, `{.status.conditions[?(@.type=="Ready")].reason}`, "InvalidSpec")(); err != nil {
			return err
		}
		msg, err := jsonpath(ns, object, `{.status.conditions[?(@.type=="Ready")].message}`)
		if err != nil {
			return err
		}
		if !strings.Contains(msg, c.expect) {
			return fmt.Errorf("Ready message %q does not contain %q", msg, c.expect)
		}
		return expectField(ns, object, `{.status.conditions[?(@.type=="Ready")].status}`, "False")()
	})
	rv, err := jsonpath(ns, object, "{.metadata.resourceVersion}")
	if err != nil {
		t.Fatal(err)
	}
	logLines := managerLogLinesAbout(t, ns, name)
	consistently(t, 4*time.Second, func() error {
		if err := expectField(ns, object, "{.metadata.resourceVersion}", rv)(); err != nil {
			return fmt.Errorf("status churns after InvalidSpec: %w", err)
		}
		if n := managerLogLinesAbout(t, ns, name); n != logLines {
			return fmt.Errorf("the manager logged %d more lines about %s/%s after reporting InvalidSpec", n-logLines, ns, name)
		}
		return nil
	})
}

// managerLogLinesAbout counts the manager's log lines that name the Microservice
// ns/name (controller-runtime's JSON logs carry "name" and "namespace" keys).
func managerLogLinesAbout(t *testing.T, ns, name string) int {
	t.Helper()
	data, err := os.ReadFile(manager.logPath)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, `"name":"`+name+`"`) && strings.Contains(line, `"namespace":"`+ns+`"`) {
			n++
		}
	}
	return n
}

func checkManagerNeverPanicked(t *testing.T) {
	t.Helper()
	data, err := os.ReadFile(manager.logPath)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToLower(string(data)), "panic") {
		t.Fatalf("the manager log %s mentions a panic", manager.logPath)
	}
}

// checkNoFailingPasses holds that, with every Microservice either Ready or settled on
// InvalidSpec, the manager runs no failing reconcile pass: the error counters stay put.
func checkNoFailingPasses(t *testing.T, quiet time.Duration) {
	t.Helper()
	counters := func() (string, error) {
		ours, err := manager.metric("kubeship_reconcile_errors_total", `controller="microservice"`)
		if err != nil {
			return "", err
		}
		runtime, err := manager.metric("controller_runtime_reconcile_errors_total", `controller="microservice"`)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("kubeship_reconcile_errors_total=%v controller_runtime_reconcile_errors_total=%v", ours, runtime), nil
	}
	before, err := counters()
	if err != nil {
		t.Fatal(err)
	}
	consistently(t, quiet, func() error {
		now, err := counters()
		if err != nil {
			return err
		}
		if now != before {
			return fmt.Errorf("failing passes after the specs settled: %s, was %s", now, before)
		}
		return nil
	})
}
