package resources

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// FuzzBuilders builds every child of a random Microservice the CRD admits and checks the
// rules the API server would apply to them that a builder controls: names, labels,
// selectors that match their pod templates, ports, env names, autoscaler bounds, which
// children exist. k8s.io/kubernetes' own validation is not a cheap import, hence the list.
//
// Three rules the CRD does not enforce are the API server's to refuse (issue 12, item 4
// reports them as Ready=False); for those specs the one check they break is left out, and
// every other still runs (see crdGaps).
func FuzzBuilders(f *testing.F) {
	f.Add("payments", "shop", "nginx:1.27", []byte{}, "", int32(0), int32(0), int32(0), uint16(0))
	f.Add("api", "team-a", "registry.example/x@sha256:00", []byte("http\x1f\x90"), "A,B_C", int32(3), int32(0), int32(0), uint16(1|1<<8))
	f.Add("web", "pg", "img", []byte("abcdefghijklmnop"), "DATABASE_URL,X", int32(0), int32(2), int32(7), uint16(2|4|8|1<<4|2<<5|1<<8|1<<9))
	f.Add(strings.Repeat("n", 50), strings.Repeat("s", 63), "i", []byte("zzzzzzzz"), "", int32(-5), int32(-1), int32(1), uint16(3|4|4<<5|1<<4))
	f.Add("1a-b-c", "x", "i", []byte{0, 0, 0, 79, 1, 1, 0, 79}, "1x,a=b,é", int32(1), int32(1), int32(1), uint16(1))
	f.Add(strings.Repeat("m", 50), "shop", "img:2", []byte{}, "A", int32(2), int32(0), int32(0), uint16(1|1<<5|1<<10))
	f.Fuzz(func(t *testing.T, name, namespace, image string, ports []byte, envNames string, replicas, minReplicas, spread int32, flags uint16) {
		ms := fuzzMicroservice(t, fuzzInput{name, namespace, image, envNames, ports, replicas, minReplicas, spread, flags})
		gaps := crdGaps(ms)
		checkDeployment(t, ms, gaps)
		checkService(t, ms, gaps)
		checkAutoscaler(t, ms)
		checkDisruptionBudget(t, ms)
		if ms.Spec.Database != nil {
			checkDatabaseChildren(t, ms, gaps)
		}
		if ms.Spec.Migration != nil {
			checkMigrationJob(t, ms)
		}
	})
}

// checkMigrationJob: a Job name that is also a valid label value (its pods' job-name),
// pods the Deployment and the Service never select, and the database admitting them.
func checkMigrationJob(t *testing.T, ms *v1alpha1.Microservice) {
	t.Helper()
	job := MigrationJob(ms, MigrationRevision(ms))
	if errs := append(validation.IsDNS1123Label(job.Name), validation.IsValidLabelValue(job.Name)...); len(errs) > 0 {
		t.Errorf("migration Job name %q: %v", job.Name, errs)
	}
	checkLabels(t, "migration Job", job.Labels)
	pod := job.Spec.Template.Labels
	checkLabels(t, "migration pod template", pod)
	selected := true
	for k, v := range Deployment(ms).Spec.Selector.MatchLabels {
		selected = selected && pod[k] == v
	}
	if selected {
		t.Errorf("the Deployment's selector matches the migration pods %v", pod)
	}
	if db := ms.Spec.Database; db != nil && db.Mode == v1alpha1.ModeDedicated {
		from := DatabaseNetworkPolicy(ms).Spec.Ingress[0].From
		if len(from) != 2 {
			t.Fatalf("the database NetworkPolicy admits %d peers, want the app and its migration", len(from))
		}
		checkSelects(t, "NetworkPolicy migration peer", from[1].PodSelector.MatchLabels, pod)
	}
}

// gaps lists the API-server rules a CRD-admitted spec still breaks.
type gaps struct {
	serviceName bool // metadata.name is a DNS-1123 label (may start with a digit), Services need a DNS-1035 label
	portName    bool // a port name matches the CRD's pattern but is no IANA service name
	portNumber  bool // two ports share number and protocol: a Service refuses that
	envName     bool // env names are free strings in the CRD
}

func crdGaps(ms *v1alpha1.Microservice) gaps {
	var g gaps
	g.serviceName = len(validation.IsDNS1035Label(ms.Name)) > 0
	seen := map[string]bool{}
	for _, p := range Ports(ms) {
		g.portName = g.portName || len(validation.IsValidPortName(p.Name)) > 0
		key := fmt.Sprint(p.Port, p.Protocol)
		g.portNumber = g.portNumber || seen[key]
		seen[key] = true
	}
	for _, e := range ms.Spec.Env {
		g.envName = g.envName || len(validation.IsRelaxedEnvVarName(e.Name)) > 0
	}
	return g
}

func checkMeta(t *testing.T, kind string, m *metav1ac.ObjectMetaApplyConfiguration, ms *v1alpha1.Microservice, wantName string) {
	t.Helper()
	if m == nil || ptr.Deref(m.Name, "") != wantName || ptr.Deref(m.Namespace, "") != ms.Namespace {
		t.Fatalf("%s: metadata %+v, want %s/%s", kind, m, ms.Namespace, wantName)
	}
	if errs := validation.IsDNS1123Subdomain(wantName); len(errs) > 0 {
		t.Errorf("%s name %q: %v", kind, wantName, errs)
	}
	checkLabels(t, kind, m.Labels)
	if len(m.OwnerReferences) != 1 || ptr.Deref(m.OwnerReferences[0].Name, "") != ms.Name ||
		!ptr.Deref(m.OwnerReferences[0].Controller, false) {
		t.Errorf("%s: owner references %+v, want ms as the one controller", kind, m.OwnerReferences)
	}
}

func checkLabels(t *testing.T, what string, labels map[string]string) {
	t.Helper()
	for k, v := range labels {
		if errs := append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...); len(errs) > 0 {
			t.Errorf("%s label %q=%q: %v", what, k, v, errs)
		}
	}
}

// checkSelects requires a non-empty selector whose every label the pod template carries.
func checkSelects(t *testing.T, what string, selector, podLabels map[string]string) {
	t.Helper()
	if len(selector) == 0 {
		t.Errorf("%s: empty selector", what)
	}
	for k, v := range selector {
		if podLabels[k] != v {
			t.Errorf("%s: selector %s=%s does not match the pod labels %v", what, k, v, podLabels)
		}
	}
}

func checkDeployment(t *testing.T, ms *v1alpha1.Microservice, g gaps) {
	t.Helper()
	d := Deployment(ms)
	checkMeta(t, "Deployment", d.ObjectMetaApplyConfiguration, ms, ms.Name)
	tpl := d.Spec.Template
	checkLabels(t, "pod template", tpl.Labels)
	checkSelects(t, "Deployment", d.Spec.Selector.MatchLabels, tpl.Labels)
	if (d.Spec.Replicas == nil) != (ms.Spec.Scaling != nil) || ptr.Deref(d.Spec.Replicas, 0) < 0 {
		t.Errorf("Deployment replicas %v with scaling %v", d.Spec.Replicas, ms.Spec.Scaling)
	}
	if len(tpl.Spec.Containers) != 1 {
		t.Fatalf("%d containers", len(tpl.Spec.Containers))
	}
	c := tpl.Spec.Containers[0]
	names := map[string]bool{}
	for _, p := range c.Ports {
		n, num := ptr.Deref(p.Name, ""), ptr.Deref(p.ContainerPort, 0)
		if errs := validation.IsValidPortName(n); len(errs) > 0 && !g.portName {
			t.Errorf("container port name %q: %v", n, errs)
		}
		if names[n] || num < 1 || num > 65535 {
			t.Errorf("container port %q %d: duplicate or out of range", n, num)
		}
		names[n] = true
	}
	if len(c.Ports) != len(Ports(ms)) {
		t.Errorf("%d container ports for %d spec ports", len(c.Ports), len(Ports(ms)))
	}
	checkEnv(t, ms, c.Env, g)
}

func checkEnv(t *testing.T, ms *v1alpha1.Microservice, env []corev1ac.EnvVarApplyConfiguration, g gaps) {
	t.Helper()
	urls := 0
	for _, e := range env {
		n := ptr.Deref(e.Name, "")
		if errs := validation.IsRelaxedEnvVarName(n); len(errs) > 0 && !g.envName {
			t.Errorf("env name %q: %v", n, errs)
		}
		if n == EnvDatabaseURL {
			urls++
		}
	}
	if ms.Spec.Database != nil && urls == 0 {
		t.Error("no DATABASE_URL for a Microservice with a database")
	}
	if urls > 1 && !definesEnvTwice(ms.Spec.Env, EnvDatabaseURL) {
		t.Errorf("DATABASE_URL defined %d times", urls)
	}
	want := len(ms.Spec.Env)
	if ms.Spec.Database != nil && !definesEnv(ms.Spec.Env, EnvDatabaseURL) {
		want++
	}
	if len(env) != want {
		t.Errorf("%d env vars, want %d", len(env), want)
	}
}

func definesEnvTwice(vars []corev1.EnvVar, name string) bool {
	n := 0
	for _, v := range vars {
		if v.Name == name {
			n++
		}
	}
	return n > 1
}

func checkService(t *testing.T, ms *v1alpha1.Microservice, g gaps) {
	t.Helper()
	s := Service(ms)
	checkMeta(t, "Service", s.ObjectMetaApplyConfiguration, ms, ms.Name)
	if errs := validation.IsDNS1035Label(ms.Name); len(errs) > 0 && !g.serviceName {
		t.Errorf("Service name %q: %v", ms.Name, errs)
	}
	checkSelects(t, "Service", s.Spec.Selector, Deployment(ms).Spec.Template.Labels)
	containerPorts := map[string]bool{}
	for _, p := range Deployment(ms).Spec.Template.Spec.Containers[0].Ports {
		containerPorts[ptr.Deref(p.Name, "")] = true
	}
	seen := map[string]bool{}
	for _, p := range s.Spec.Ports {
		key := fmt.Sprint(ptr.Deref(p.Port, 0), ptr.Deref(p.Protocol, ""))
		if seen[key] && !g.portNumber {
			t.Errorf("Service port %s twice", key)
		}
		seen[key] = true
		if !containerPorts[p.TargetPort.String()] {
			t.Errorf("Service targetPort %q names no container port", p.TargetPort.String())
		}
	}
}

func checkAutoscaler(t *testing.T, ms *v1alpha1.Microservice) {
	t.Helper()
	h := HorizontalPodAutoscaler(ms)
	if (h == nil) != (ms.Spec.Scaling == nil) {
		t.Fatalf("autoscaler %v for scaling %v", h, ms.Spec.Scaling)
	}
	if h == nil {
		return
	}
	checkMeta(t, "HorizontalPodAutoscaler", h.ObjectMetaApplyConfiguration, ms, ms.Name)
	lo, hi := ptr.Deref(h.Spec.MinReplicas, 0), ptr.Deref(h.Spec.MaxReplicas, 0)
	if lo < 1 || lo > hi {
		t.Errorf("autoscaler min %d max %d", lo, hi)
	}
	if len(h.Spec.Metrics) == 0 || ptr.Deref(h.Spec.ScaleTargetRef.Name, "") != ms.Name {
		t.Errorf("autoscaler metrics %d, target %v", len(h.Spec.Metrics), h.Spec.ScaleTargetRef.Name)
	}
	for _, m := range h.Spec.Metrics {
		if u := ptr.Deref(m.Resource.Target.AverageUtilization, 0); u < 1 {
			t.Errorf("utilization target %d", u)
		}
	}
}

func checkDisruptionBudget(t *testing.T, ms *v1alpha1.Microservice) {
	t.Helper()
	p := PodDisruptionBudget(ms)
	if (p != nil) != (MinReplicas(ms) >= 2) {
		t.Fatalf("PodDisruptionBudget %v at minimum %d replicas", p, MinReplicas(ms))
	}
	if p == nil {
		return
	}
	checkMeta(t, "PodDisruptionBudget", p.ObjectMetaApplyConfiguration, ms, ms.Name)
	checkSelects(t, "PodDisruptionBudget", p.Spec.Selector.MatchLabels, Deployment(ms).Spec.Template.Labels)
	if p.Spec.MaxUnavailable == nil || p.Spec.MinAvailable != nil {
		t.Errorf("PodDisruptionBudget sets minAvailable %v, maxUnavailable %v", p.Spec.MinAvailable, p.Spec.MaxUnavailable)
	}
}

func checkDatabaseChildren(t *testing.T, ms *v1alpha1.Microservice, g gaps) {
	t.Helper()
	secret := CredentialsSecret(ms, DedicatedCredentials(ms, "pw"))
	if errs := validation.IsDNS1123Subdomain(secret.Name); len(errs) > 0 {
		t.Errorf("Secret name %q: %v", secret.Name, errs)
	}
	checkLabels(t, "Secret", secret.Labels)
	if ms.Spec.Database.Mode != v1alpha1.ModeDedicated {
		return
	}
	name := DatabaseObjectName(ms)
	sts := DatabaseStatefulSet(ms, resource.MustParse("1Gi"))
	checkMeta(t, "StatefulSet", sts.ObjectMetaApplyConfiguration, ms, name)
	checkLabels(t, "database pod template", sts.Spec.Template.Labels)
	checkSelects(t, "StatefulSet", sts.Spec.Selector.MatchLabels, sts.Spec.Template.Labels)
	svc := DatabaseService(ms)
	checkMeta(t, "database Service", svc.ObjectMetaApplyConfiguration, ms, name)
	if errs := validation.IsDNS1035Label(name); len(errs) > 0 && !g.serviceName {
		t.Errorf("database Service name %q: %v", name, errs)
	}
	checkSelects(t, "database Service", svc.Spec.Selector, sts.Spec.Template.Labels)
	np := DatabaseNetworkPolicy(ms)
	checkMeta(t, "NetworkPolicy", np.ObjectMetaApplyConfiguration, ms, name)
	checkSelects(t, "NetworkPolicy", np.Spec.PodSelector.MatchLabels, sts.Spec.Template.Labels)
	checkSelects(t, "NetworkPolicy peer", np.Spec.Ingress[0].From[0].PodSelector.MatchLabels, Deployment(ms).Spec.Template.Labels)
	for _, c := range sts.Spec.Template.Spec.Containers {
		for _, e := range c.Env {
			if errs := validation.IsEnvVarName(ptr.Deref(e.Name, "")); len(errs) > 0 {
				t.Errorf("database env name %q: %v", ptr.Deref(e.Name, ""), errs)
			}
		}
	}
	if ptr.Deref(sts.Spec.ServiceName, "") != name {
		t.Errorf("StatefulSet serviceName %v, want %s", sts.Spec.ServiceName, name)
	}
}
