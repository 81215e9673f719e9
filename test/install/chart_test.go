package install

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestChartLint(t *testing.T) {
	out := run(t, nil, helmBinary(t), "lint", "--strict", repoPath("dist", "chart"))
	if !strings.Contains(string(out), "0 chart(s) failed") {
		t.Errorf("helm lint:\n%s", out)
	}
	// Lint the non-default branches of the templates too.
	run(t, nil, helmBinary(t), "lint", "--strict", repoPath("dist", "chart"),
		"--set", "metrics.enabled=false,crds.install=false,replicas=1,leaderElection.enabled=false,watchNamespaces={a,b}")
	run(t, nil, helmBinary(t), "lint", "--strict", repoPath("dist", "chart"),
		"--set", "metrics.serviceMonitor.enabled=true,nodeSelector.disk=ssd,podAnnotations.a=b,extraArgs={--microservice-concurrency=8}")
}

// With default values, released as "kubeship" in kubeship-system, the chart renders the
// objects of dist/install.yaml, each equal once Helm's own labels are dropped. The one
// object it leaves out is the Namespace: Helm does not own its release namespace.
func TestChartMatchesInstaller(t *testing.T) {
	chart := byKey(render(t))
	installer := byKey(readManifest(t, "dist", "install.yaml"))
	delete(installer, "Namespace//"+releaseNamespace)

	var missing, extra []string
	for k := range installer {
		if _, ok := chart[k]; !ok {
			missing = append(missing, k)
		}
	}
	for k := range chart {
		if _, ok := installer[k]; !ok {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing)+len(extra) > 0 {
		t.Errorf("objects only in dist/install.yaml: %v; only in the chart: %v", missing, extra)
	}
	keys := make([]string, 0, len(installer))
	for k := range installer {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c, ok := chart[k]
		if !ok {
			continue
		}
		if diff := cmp.Diff(installer[k].Object, withoutHelmMetadata(c).Object); diff != "" {
			t.Errorf("%s differs (-dist/install.yaml +helm template):\n%s", k, diff)
		}
	}
}

// The chart's CRD templates (make chart-crds) render config/crd/bases as they are, plus
// the chart's labels and, with crds.keep, Helm's keep policy.
func TestChartCRDsMatchConfig(t *testing.T) {
	want := byKey(append(readManifest(t, "config", "crd", "bases", "apps.kubeship.dev_microservices.yaml"),
		readManifest(t, "config", "crd", "bases", "apps.kubeship.dev_databaseservers.yaml")...))
	for _, keep := range []string{"true", "false"} {
		crds := ofKind(render(t, "--set", "crds.keep="+keep), "CustomResourceDefinition")
		got := map[string]*unstructured.Unstructured{}
		for _, crd := range crds {
			policy := crd.GetAnnotations()["helm.sh/resource-policy"]
			if (policy == "keep") != (keep == "true") {
				t.Errorf("crds.keep=%s: %s has resource policy %q", keep, crd.GetName(), policy)
			}
			if crd.GetLabels()["app.kubernetes.io/managed-by"] != "Helm" {
				t.Errorf("%s lacks the chart's labels: %v", crd.GetName(), crd.GetLabels())
			}
			c := withoutHelmMetadata(crd)
			unstructured.RemoveNestedField(c.Object, "metadata", "labels")
			got[key(c)] = c
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("crds.keep=%s: the chart's CRDs differ from config/crd/bases (run `make chart-crds`) (-config +chart):\n%s", keep, diff)
		}
	}
}

func TestChartValues(t *testing.T) {
	for _, tc := range []struct {
		name  string
		set   []string
		check func(t *testing.T, objs []*unstructured.Unstructured)
	}{{
		name: "defaults watch every namespace and read admin Secrets from the release namespace",
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			for _, a := range managerArgs(t, objs) {
				if strings.HasPrefix(a, "--watch-namespaces") || strings.HasPrefix(a, "--operator-namespace") || strings.HasPrefix(a, "--otel-exporter-otlp-endpoint") {
					t.Errorf("unexpected %s", a)
				}
			}
			env, _, _ := unstructured.NestedSlice(managerContainer(t, objs), "env")
			if len(env) != 1 || env[0].(map[string]any)["name"] != "POD_NAMESPACE" {
				t.Errorf("env = %v, want POD_NAMESPACE from the downward API", env)
			}
		},
	}, {
		name:  "watched namespaces become one flag",
		set:   []string{"watchNamespaces={shop,billing}"},
		check: wantArgs("--watch-namespaces=shop,billing"),
	}, {
		name:  "OTLP endpoint for every service's trace identity",
		set:   []string{"otelExporterEndpoint=http://collector.otel:4317"},
		check: wantArgs("--otel-exporter-otlp-endpoint=http://collector.otel:4317"),
	}, {
		name:  "log level and format",
		set:   []string{"log.level=debug", "log.format=console"},
		check: wantArgs("--zap-log-level=debug", "--zap-encoder=console"),
	}, {
		name:  "operator namespace",
		set:   []string{"operatorNamespace=databases"},
		check: wantArgs("--operator-namespace=databases"),
	}, {
		name: "image",
		set:  []string{"image.repository=registry.example/kubeship", "image.tag=v9", "image.pullPolicy=Always"},
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			c := managerContainer(t, objs)
			if c["image"] != "registry.example/kubeship:v9" || c["imagePullPolicy"] != "Always" {
				t.Errorf("image %v, pull policy %v", c["image"], c["imagePullPolicy"])
			}
		},
	}, {
		name: "metrics off: no Service, port, auth roles or ServiceMonitor",
		set:  []string{"metrics.enabled=false", "metrics.serviceMonitor.enabled=true"},
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			wantArgs("--metrics-bind-address=0")(t, objs)
			for _, kind := range []string{"Service", "ServiceMonitor"} {
				if n := len(ofKind(objs, kind)); n != 0 {
					t.Errorf("%d %s objects, want none", n, kind)
				}
			}
			if _, found, _ := unstructured.NestedSlice(managerContainer(t, objs), "ports"); found {
				t.Error("the manager container still declares a metrics port")
			}
			if find(objs, "ClusterRole", "metrics-auth-role") != nil {
				t.Error("metrics auth ClusterRole rendered with metrics off")
			}
		},
	}, {
		name: "ServiceMonitor on",
		set:  []string{"metrics.serviceMonitor.enabled=true", "metrics.serviceMonitor.labels.release=prom"},
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			sm := find(objs, "ServiceMonitor", "metrics-monitor")
			if sm == nil {
				t.Fatal("no ServiceMonitor")
			}
			if sm.GetLabels()["release"] != "prom" {
				t.Errorf("ServiceMonitor labels %v lack release=prom", sm.GetLabels())
			}
			svc := find(objs, "Service", "metrics-service")
			sel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
			for k, v := range sel {
				if svc.GetLabels()[k] != v {
					t.Errorf("ServiceMonitor selects %s=%s, which the metrics Service does not carry", k, v)
				}
			}
			ep, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
			if len(ep) != 1 || ep[0].(map[string]any)["port"] != "https" {
				t.Errorf("endpoints = %v, want the Service's https port", ep)
			}
		},
	}, {
		name: "one replica keeps leader election and drops the disruption budget",
		set:  []string{"replicas=1"},
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			wantArgs("--leader-elect")(t, objs)
			d := find(objs, "Deployment", "controller-manager")
			if r, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas"); r != 1 {
				t.Errorf("replicas = %d, want 1", r)
			}
			if find(objs, "PodDisruptionBudget", "") != nil {
				t.Error("a PodDisruptionBudget of minAvailable 1 over one replica would block every drain")
			}
			if find(objs, "Role", "leader-election-role") == nil {
				t.Error("no leader election Role")
			}
		},
	}, {
		name: "leader election off",
		set:  []string{"leaderElection.enabled=false"},
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			if slices.Contains(managerArgs(t, objs), "--leader-elect") {
				t.Error("--leader-elect with leader election off")
			}
			if find(objs, "Role", "leader-election-role") != nil {
				t.Error("leader election Role rendered with leader election off")
			}
		},
	}, {
		name: "no CRDs",
		set:  []string{"crds.install=false"},
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			if n := len(ofKind(objs, "CustomResourceDefinition")); n != 0 {
				t.Errorf("%d CRDs with crds.install=false", n)
			}
		},
	}, {
		name: "scheduling and pod metadata",
		set: []string{"nodeSelector.disk=ssd", "tolerations[0].key=dedicated", "tolerations[0].operator=Exists",
			"affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=zone",
			"affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=Exists",
			"podAnnotations.team=platform", "podLabels.tier=control", "priorityClassName=system-cluster-critical"},
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			spec, _, _ := unstructured.NestedMap(find(objs, "Deployment", "controller-manager").Object, "spec", "template")
			for _, f := range [][]string{
				{"spec", "nodeSelector", "disk"}, {"spec", "priorityClassName"},
				{"metadata", "annotations", "team"}, {"metadata", "labels", "tier"},
			} {
				if v, _, _ := unstructured.NestedString(spec, f...); v == "" {
					t.Errorf("pod template %s not set", strings.Join(f, "."))
				}
			}
			if tol, _, _ := unstructured.NestedSlice(spec, "spec", "tolerations"); len(tol) != 1 {
				t.Errorf("tolerations = %v", tol)
			}
			if _, found, _ := unstructured.NestedMap(spec, "spec", "affinity", "nodeAffinity"); !found {
				t.Error("no node affinity")
			}
			if sel, _, _ := unstructured.NestedString(spec, "metadata", "labels", "control-plane"); sel != "controller-manager" {
				t.Error("pod labels lost the selector label")
			}
		},
	}, {
		name: "security contexts and resources",
		set:  []string{"podSecurityContext.runAsUser=1000", "securityContext.readOnlyRootFilesystem=false", "resources.limits.memory=1Gi"},
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			d := find(objs, "Deployment", "controller-manager")
			if u, _, _ := unstructured.NestedInt64(d.Object, "spec", "template", "spec", "securityContext", "runAsUser"); u != 1000 {
				t.Errorf("runAsUser = %d", u)
			}
			c := managerContainer(t, objs)
			if ro, _, _ := unstructured.NestedBool(c, "securityContext", "readOnlyRootFilesystem"); ro {
				t.Error("readOnlyRootFilesystem still true")
			}
			if m, _, _ := unstructured.NestedString(c, "resources", "limits", "memory"); m != "1Gi" {
				t.Errorf("memory limit = %q", m)
			}
		},
	}, {
		name: "another release name and namespace prefix the names and bind the right account",
		set:  []string{"fullnameOverride=ops"},
		check: func(t *testing.T, objs []*unstructured.Unstructured) {
			for _, o := range objs {
				if o.GetKind() != "CustomResourceDefinition" && !strings.HasPrefix(o.GetName(), "ops-") {
					t.Errorf("%s is not prefixed ops-", key(o))
				}
			}
			b := find(objs, "ClusterRoleBinding", "manager-rolebinding")
			subjects, _, _ := unstructured.NestedSlice(b.Object, "subjects")
			want := map[string]any{"kind": "ServiceAccount", "name": "ops-controller-manager", "namespace": releaseNamespace}
			if diff := cmp.Diff([]any{want}, subjects); diff != "" {
				t.Errorf("manager binding subjects (-want +got):\n%s", diff)
			}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			args := make([]string, 0, 2*len(tc.set))
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			tc.check(t, render(t, args...))
		})
	}
}

// wantArgs checks that the manager gets each argument.
func wantArgs(want ...string) func(*testing.T, []*unstructured.Unstructured) {
	return func(t *testing.T, objs []*unstructured.Unstructured) {
		t.Helper()
		args := managerArgs(t, objs)
		for _, w := range want {
			if !slices.Contains(args, w) {
				t.Errorf("manager args %v lack %s", args, w)
			}
		}
	}
}
