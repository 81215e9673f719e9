package resources

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// migrating is the test Microservice with a plain migration.
func migrating(mutate func(*v1alpha1.Microservice)) *v1alpha1.Microservice {
	return microservice(func(ms *v1alpha1.Microservice) {
		ms.Spec.Migration = &v1alpha1.MigrationSpec{Command: []string{"/app", "migrate"}}
		if mutate != nil {
			mutate(ms)
		}
	})
}

func TestMigrationJobWhole(t *testing.T) {
	const rev = "0123456789abcdef"
	job := func(mutate func(j *batchv1.Job)) *batchv1.Job {
		meta := childMeta("payments-migrate-0123456789")
		meta.Labels["apps.kubeship.dev/migration"] = "payments"
		meta.Annotations = map[string]string{"apps.kubeship.dev/migration-revision": rev}
		j := &batchv1.Job{
			TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
			ObjectMeta: meta,
			Spec: batchv1.JobSpec{
				Parallelism:           ptr.To[int32](1),
				Completions:           ptr.To[int32](1),
				BackoffLimit:          ptr.To[int32](0),
				ActiveDeadlineSeconds: ptr.To[int64](600),
				PodReplacementPolicy:  ptr.To(batchv1.Failed),
				Template: corev1.PodTemplateSpec{
					// Not the app's selector label: a migration pod takes no traffic.
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{
						"app.kubernetes.io/name":       "payments",
						"app.kubernetes.io/managed-by": "kubeship",
						"apps.kubeship.dev/migration":  "payments",
					}},
					Spec: corev1.PodSpec{
						RestartPolicy: corev1.RestartPolicyNever,
						Containers: []corev1.Container{{
							Name:    "migrate",
							Image:   "ghcr.io/acme/payments:1.4.2",
							Command: []string{"/app", "migrate"},
							SecurityContext: &corev1.SecurityContext{
								AllowPrivilegeEscalation: ptr.To(false),
								Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
							},
						}},
						SecurityContext: &corev1.PodSecurityContext{
							RunAsNonRoot:   ptr.To(true),
							SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
						},
					},
				},
			},
		}
		if mutate != nil {
			mutate(j)
		}
		return j
	}
	databaseURL := corev1.EnvVar{Name: "DATABASE_URL", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "payments-db"}, Key: "uri"}}}
	cases := []struct {
		name   string
		mutate func(*v1alpha1.Microservice)
		want   *batchv1.Job
	}{
		{"defaults: the service's image, restricted, one attempt, ten minutes", nil, job(nil)},
		{"database URL first, then the migration's own variables; the app's env is not inherited", func(ms *v1alpha1.Microservice) {
			ms.Spec.Database = &v1alpha1.DatabaseSpec{Engine: v1alpha1.EnginePostgres}
			ms.Spec.Env = []corev1.EnvVar{{Name: "APP_ONLY", Value: "x"}}
			ms.Spec.Migration.Env = []corev1.EnvVar{{Name: "LOCK_TIMEOUT", Value: "5s"}}
			ms.Spec.Migration.EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "migrate-cfg"}}}}
		}, job(func(j *batchv1.Job) {
			c := &j.Spec.Template.Spec.Containers[0]
			c.Env = []corev1.EnvVar{databaseURL, {Name: "LOCK_TIMEOUT", Value: "5s"}}
			c.EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "migrate-cfg"}}}}
		})},
		{"a DATABASE_URL of the migration's own replaces the Secret's", func(ms *v1alpha1.Microservice) {
			ms.Spec.Database = &v1alpha1.DatabaseSpec{Engine: v1alpha1.EnginePostgres}
			ms.Spec.Migration.Env = []corev1.EnvVar{{Name: "DATABASE_URL", Value: "postgresql://admin@elsewhere/db"}}
		}, job(func(j *batchv1.Job) {
			j.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "DATABASE_URL", Value: "postgresql://admin@elsewhere/db"}}
		})},
		{"image, args, resources, deadline and retries as given", func(ms *v1alpha1.Microservice) {
			ms.Spec.Migration = &v1alpha1.MigrationSpec{
				Image: "ghcr.io/acme/payments-migrations:1.4.2", Args: []string{"up"},
				Resources:             corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}},
				ActiveDeadlineSeconds: ptr.To[int64](30), BackoffLimit: ptr.To[int32](2),
			}
		}, job(func(j *batchv1.Job) {
			j.Spec.ActiveDeadlineSeconds, j.Spec.BackoffLimit = ptr.To[int64](30), ptr.To[int32](2)
			c := &j.Spec.Template.Spec.Containers[0]
			c.Image, c.Command, c.Args = "ghcr.io/acme/payments-migrations:1.4.2", nil, []string{"up"}
			c.Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}
		})},
		{"the pods' security context override and service account, as the Deployment's pods", func(ms *v1alpha1.Microservice) {
			ms.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000)}
			ms.Spec.ServiceAccountName = "payments-sa"
		}, job(func(j *batchv1.Job) {
			j.Spec.Template.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000)}
			j.Spec.Template.Spec.ServiceAccountName = "payments-sa"
		})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, MigrationJob(migrating(tc.mutate), rev)); diff != "" {
				t.Errorf("Job (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMigrationRevision(t *testing.T) {
	base := MigrationRevision(migrating(nil))
	if len(base) != 16 {
		t.Fatalf("revision %q: want 16 hex characters", base)
	}
	if MigrationRevision(microservice(nil)) != "" {
		t.Error("a Microservice without spec.migration has a revision")
	}
	// The revision is a pure function of the spec: no counter, no clock.
	if again := MigrationRevision(migrating(nil)); again != base {
		t.Errorf("same spec, revisions %q and %q", base, again)
	}
	changes := map[string]func(*v1alpha1.Microservice){
		"image":                  func(ms *v1alpha1.Microservice) { ms.Spec.Image = "ghcr.io/acme/payments:1.5.0" },
		"migration command":      func(ms *v1alpha1.Microservice) { ms.Spec.Migration.Command = []string{"/app", "migrate", "--to=7"} },
		"migration image":        func(ms *v1alpha1.Microservice) { ms.Spec.Migration.Image = "ghcr.io/acme/migrations:1" },
		"migration env":          func(ms *v1alpha1.Microservice) { ms.Spec.Migration.Env = []corev1.EnvVar{{Name: "A", Value: "1"}} },
		"migration backoffLimit": func(ms *v1alpha1.Microservice) { ms.Spec.Migration.BackoffLimit = ptr.To[int32](1) },
	}
	for name, mutate := range changes {
		if MigrationRevision(migrating(mutate)) == base {
			t.Errorf("changing the %s keeps the revision", name)
		}
	}
	same := map[string]func(*v1alpha1.Microservice){
		"replicas": func(ms *v1alpha1.Microservice) { ms.Spec.Replicas = ptr.To[int32](5) },
		"app env":  func(ms *v1alpha1.Microservice) { ms.Spec.Env = []corev1.EnvVar{{Name: "A", Value: "1"}} },
	}
	for name, mutate := range same {
		if MigrationRevision(migrating(mutate)) != base {
			t.Errorf("changing %s, which the migration does not run with, makes a new revision", name)
		}
	}
}

func TestMigrationJobNameFits(t *testing.T) {
	rev := MigrationRevision(migrating(nil))
	if got := MigrationJobName(migrating(nil), rev); got != "payments-migrate-"+rev[:10] {
		t.Errorf("job name %q", got)
	}
	long := migrating(func(ms *v1alpha1.Microservice) { ms.Name = strings.Repeat("a", 50) })
	name := MigrationJobName(long, rev)
	if want := strings.Repeat("a", 50) + "-migrate-" + rev[:4]; name != want {
		t.Errorf("job name of a 50-character Microservice: %q, want %q", name, want)
	}
	// The Job's name is a label value on its pods (job-name).
	if errs := validation.IsValidLabelValue(name); len(errs) > 0 {
		t.Errorf("job name %q is no label value: %v", name, errs)
	}
}

func TestDatabaseNetworkPolicyAdmitsTheMigration(t *testing.T) {
	ms := migrating(func(ms *v1alpha1.Microservice) {
		ms.Spec.Database = &v1alpha1.DatabaseSpec{Engine: v1alpha1.EnginePostgres}
	})
	diffWhole(t, &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: childMeta("payments-db"),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"apps.kubeship.dev/database": "payments"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From: []networkingv1.NetworkPolicyPeer{
					{PodSelector: selectPayments},
					{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"apps.kubeship.dev/migration": "payments"}}},
				},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt32(5432))}},
			}},
		},
	}, DatabaseNetworkPolicy(ms))
}
