package resources

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

func microservice(mutate func(*v1alpha1.Microservice)) *v1alpha1.Microservice {
	ms := &v1alpha1.Microservice{
		ObjectMeta: metav1.ObjectMeta{Name: "payments", Namespace: "shop", UID: "uid-1"},
		Spec:       v1alpha1.MicroserviceSpec{Image: "ghcr.io/acme/payments:1.4.2"},
	}
	if mutate != nil {
		mutate(ms)
	}
	return ms
}

func TestDeploymentReplicas(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*v1alpha1.Microservice)
		want   *int32
	}{
		{"absent means one", nil, ptr.To[int32](1)},
		{"fixed count", func(ms *v1alpha1.Microservice) { ms.Spec.Replicas = ptr.To[int32](3) }, ptr.To[int32](3)},
		{"zero is kept", func(ms *v1alpha1.Microservice) { ms.Spec.Replicas = ptr.To[int32](0) }, ptr.To[int32](0)},
		{"autoscaled leaves replicas out", func(ms *v1alpha1.Microservice) {
			ms.Spec.Scaling = &v1alpha1.ScalingSpec{MaxReplicas: 4}
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Deployment(microservice(tc.mutate)).Spec.Replicas
			if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
				t.Fatalf("replicas = %v, want %v", ptr.Deref(got, -1), ptr.Deref(tc.want, -1))
			}
		})
	}
}

func TestDeploymentMetadataAndSelector(t *testing.T) {
	d := Deployment(microservice(nil))
	wantLabels := map[string]string{
		"app.kubernetes.io/name":         "payments",
		"app.kubernetes.io/managed-by":   "kubeship",
		"apps.kubeship.dev/microservice": "payments",
	}
	if *d.Name != "payments" || *d.Namespace != "shop" {
		t.Fatalf("name %s/%s", *d.Namespace, *d.Name)
	}
	assertMap(t, "labels", d.Labels, wantLabels)
	assertMap(t, "template labels", d.Spec.Template.Labels, wantLabels)
	assertMap(t, "selector", d.Spec.Selector.MatchLabels, map[string]string{"apps.kubeship.dev/microservice": "payments"})
	ref := d.OwnerReferences[0]
	if *ref.Kind != "Microservice" || *ref.UID != "uid-1" || !*ref.Controller || !*ref.BlockOwnerDeletion || *ref.APIVersion != "apps.kubeship.dev/v1alpha1" {
		t.Fatalf("owner reference %+v", ref)
	}
}

func TestDeploymentContainer(t *testing.T) {
	ms := microservice(func(ms *v1alpha1.Microservice) {
		ms.Spec.Command = []string{"/app"}
		ms.Spec.Args = []string{"--verbose"}
		ms.Spec.Ports = []v1alpha1.ServicePort{{Name: "grpc", Port: 9000}, {Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}}
		ms.Spec.Env = []corev1.EnvVar{{Name: "MODE", Value: "live"}}
		ms.Spec.EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}
		ms.Spec.LivenessProbe = &corev1.Probe{PeriodSeconds: 7}
		ms.Spec.ServiceAccountName = "payments-sa"
	})
	pod := Deployment(ms).Spec.Template.Spec
	c := pod.Containers[0]
	if *c.Name != ContainerName || *c.Image != "ghcr.io/acme/payments:1.4.2" {
		t.Fatalf("container %s image %s", *c.Name, *c.Image)
	}
	if len(c.Command) != 1 || c.Command[0] != "/app" || len(c.Args) != 1 || c.Args[0] != "--verbose" {
		t.Fatalf("command %v args %v", c.Command, c.Args)
	}
	if len(c.Ports) != 2 || *c.Ports[0].ContainerPort != 9000 || *c.Ports[0].Protocol != corev1.ProtocolTCP || *c.Ports[1].Protocol != corev1.ProtocolUDP {
		t.Fatalf("ports %+v", c.Ports)
	}
	if len(c.Env) != 1 || *c.Env[0].Name != "MODE" || *c.EnvFrom[0].ConfigMapRef.Name != "cfg" {
		t.Fatalf("env %+v envFrom %+v", c.Env, c.EnvFrom)
	}
	if *c.LivenessProbe.PeriodSeconds != 7 || c.ReadinessProbe != nil || c.Resources != nil {
		t.Fatalf("probes or resources set when not asked: %+v %+v", c.ReadinessProbe, c.Resources)
	}
	if *pod.ServiceAccountName != "payments-sa" {
		t.Fatalf("service account %v", *pod.ServiceAccountName)
	}
}

func TestDeploymentDefaultPort(t *testing.T) {
	c := Deployment(microservice(nil)).Spec.Template.Spec.Containers[0]
	if len(c.Ports) != 1 || *c.Ports[0].Name != "http" || *c.Ports[0].ContainerPort != 8080 {
		t.Fatalf("ports %+v", c.Ports)
	}
}

func TestDeploymentSecurityContext(t *testing.T) {
	t.Run("restricted by default", func(t *testing.T) {
		pod := Deployment(microservice(nil)).Spec.Template.Spec
		if !*pod.SecurityContext.RunAsNonRoot || *pod.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Fatalf("pod security context %+v", pod.SecurityContext)
		}
		sc := pod.Containers[0].SecurityContext
		if *sc.AllowPrivilegeEscalation || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
			t.Fatalf("container security context %+v", sc)
		}
	})
	t.Run("user override replaces the pod level only", func(t *testing.T) {
		ms := microservice(func(ms *v1alpha1.Microservice) {
			ms.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000), FSGroup: ptr.To[int64](2000)}
		})
		pod := Deployment(ms).Spec.Template.Spec
		if pod.SecurityContext.RunAsNonRoot != nil || *pod.SecurityContext.RunAsUser != 1000 || *pod.SecurityContext.FSGroup != 2000 {
			t.Fatalf("pod security context %+v", pod.SecurityContext)
		}
		if *pod.Containers[0].SecurityContext.AllowPrivilegeEscalation {
			t.Fatal("container hardening dropped")
		}
	})
}

func TestDeploymentDatabaseURL(t *testing.T) {
	t.Run("wired from the credentials Secret, first", func(t *testing.T) {
		ms := microservice(func(ms *v1alpha1.Microservice) {
			ms.Spec.Database = &v1alpha1.DatabaseSpec{Engine: v1alpha1.EnginePostgres}
			ms.Spec.Env = []corev1.EnvVar{{Name: "OTHER", Value: "$(DATABASE_URL)"}}
		})
		env := Deployment(ms).Spec.Template.Spec.Containers[0].Env
		if len(env) != 2 || *env[0].Name != "DATABASE_URL" || *env[0].ValueFrom.SecretKeyRef.Name != "payments-db" || *env[0].ValueFrom.SecretKeyRef.Key != "uri" {
			t.Fatalf("env %+v", env)
		}
	})
	t.Run("a user-defined DATABASE_URL wins", func(t *testing.T) {
		ms := microservice(func(ms *v1alpha1.Microservice) {
			ms.Spec.Database = &v1alpha1.DatabaseSpec{Engine: v1alpha1.EngineMySQL}
			ms.Spec.Env = []corev1.EnvVar{{Name: "DATABASE_URL", Value: "mysql://elsewhere"}}
		})
		env := Deployment(ms).Spec.Template.Spec.Containers[0].Env
		if len(env) != 1 || *env[0].Value != "mysql://elsewhere" {
			t.Fatalf("env %+v", env)
		}
	})
	t.Run("absent without a database", func(t *testing.T) {
		if env := Deployment(microservice(nil)).Spec.Template.Spec.Containers[0].Env; len(env) != 0 {
			t.Fatalf("env %+v", env)
		}
	})
}

func TestDeploymentRestartAnnotation(t *testing.T) {
	ms := microservice(func(ms *v1alpha1.Microservice) {
		ms.Annotations = map[string]string{AnnotationRestartedAt: "2026-11-26T10:00:00Z", "unrelated": "x"}
	})
	assertMap(t, "template annotations", Deployment(ms).Spec.Template.Annotations, map[string]string{AnnotationRestartedAt: "2026-11-26T10:00:00Z"})
	if a := Deployment(microservice(nil)).Spec.Template.Annotations; len(a) != 0 {
		t.Fatalf("annotations %v without a restart", a)
	}
}

func assertMap(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s = %v, want %v", what, got, want)
		}
	}
}
