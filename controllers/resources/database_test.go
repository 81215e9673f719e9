package resources

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

func withDatabase(db v1alpha1.DatabaseSpec) *v1alpha1.Microservice {
	return microservice(func(ms *v1alpha1.Microservice) { ms.Spec.Database = &db })
}

func TestDatabaseStatefulSetPerEngine(t *testing.T) {
	cases := []struct {
		name                     string
		db                       v1alpha1.DatabaseSpec
		image, mount, probe, env string
		port                     int32
		retention                appsv1.PersistentVolumeClaimRetentionPolicyType
	}{
		{"postgres defaults", v1alpha1.DatabaseSpec{Engine: v1alpha1.EnginePostgres}, "postgres:16", "/var/lib/postgresql/data", "pg_isready", "POSTGRES_PASSWORD", 5432, appsv1.RetainPersistentVolumeClaimRetentionPolicyType},
		{"postgres 15, Delete", v1alpha1.DatabaseSpec{Engine: v1alpha1.EnginePostgres, Version: "15", DeletionPolicy: v1alpha1.DeletionDelete}, "postgres:15", "/var/lib/postgresql/data", "pg_isready", "POSTGRES_DB", 5432, appsv1.DeletePersistentVolumeClaimRetentionPolicyType},
		{"mysql defaults", v1alpha1.DatabaseSpec{Engine: v1alpha1.EngineMySQL}, "mysql:8.4", "/var/lib/mysql", "mysqladmin ping", "MYSQL_PASSWORD", 3306, appsv1.RetainPersistentVolumeClaimRetentionPolicyType},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ms := withDatabase(tc.db)
			s := DatabaseStatefulSet(ms, resource.MustParse("3Gi"))
			if *s.Name != "payments-db" || *s.Spec.ServiceName != "payments-db" || *s.Spec.Replicas != 1 {
				t.Fatalf("name %s service %s replicas %d", *s.Name, *s.Spec.ServiceName, *s.Spec.Replicas)
			}
			if _, ok := s.Spec.Template.Labels[LabelMicroservice]; ok {
				t.Fatal("database pods carry the app's selector label")
			}
			c := s.Spec.Template.Spec.Containers[0]
			if *c.Image != tc.image || *c.VolumeMounts[0].MountPath != tc.mount || *c.Ports[0].ContainerPort != tc.port {
				t.Fatalf("image %s mount %s port %d", *c.Image, *c.VolumeMounts[0].MountPath, *c.Ports[0].ContainerPort)
			}
			if !strings.Contains(c.ReadinessProbe.Exec.Command[2], tc.probe) {
				t.Fatalf("probe %v", c.ReadinessProbe.Exec.Command)
			}
			var found bool
			for _, e := range c.Env {
				if *e.Name == tc.env {
					found = e.ValueFrom == nil || *e.ValueFrom.SecretKeyRef.Name == "payments-db"
				}
			}
			if !found {
				t.Fatalf("env %s missing or not from the Secret", tc.env)
			}
			pod := s.Spec.Template.Spec.SecurityContext
			if !*pod.RunAsNonRoot || *pod.RunAsUser != 999 || *pod.FSGroup != 999 || *pod.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Fatalf("pod security context %+v", pod)
			}
			if *c.SecurityContext.AllowPrivilegeEscalation || c.SecurityContext.Capabilities.Drop[0] != "ALL" {
				t.Fatalf("container security context %+v", c.SecurityContext)
			}
			claim := s.Spec.VolumeClaimTemplates[0]
			if got := (*claim.Spec.Resources.Requests)[corev1.ResourceStorage]; got.String() != "3Gi" {
				t.Fatalf("claim size %s", got.String())
			}
			if *s.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted != tc.retention {
				t.Fatalf("retention %s", *s.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted)
			}
		})
	}
}

func TestDatabaseServiceAndNetworkPolicy(t *testing.T) {
	ms := withDatabase(v1alpha1.DatabaseSpec{Engine: v1alpha1.EngineMySQL})
	svc := DatabaseService(ms)
	if *svc.Spec.ClusterIP != corev1.ClusterIPNone || *svc.Spec.Ports[0].Port != 3306 {
		t.Fatalf("service %+v", svc.Spec)
	}
	assertMap(t, "service selector", svc.Spec.Selector, map[string]string{LabelDatabase: "payments"})
	np := DatabaseNetworkPolicy(ms)
	assertMap(t, "policy pods", np.Spec.PodSelector.MatchLabels, map[string]string{LabelDatabase: "payments"})
	rule := np.Spec.Ingress[0]
	assertMap(t, "allowed peers", rule.From[0].PodSelector.MatchLabels, map[string]string{LabelMicroservice: "payments"})
	if len(rule.From) != 1 || rule.Ports[0].Port.IntVal != 3306 || np.Spec.PolicyTypes[0] != "Ingress" {
		t.Fatalf("rule %+v", rule)
	}
}

func TestDatabaseDefaults(t *testing.T) {
	cases := []struct {
		db            v1alpha1.DatabaseSpec
		version, size string
	}{
		{v1alpha1.DatabaseSpec{Engine: v1alpha1.EnginePostgres}, "16", "1Gi"},
		{v1alpha1.DatabaseSpec{Engine: v1alpha1.EngineMySQL}, "8.4", "1Gi"},
		{v1alpha1.DatabaseSpec{Engine: v1alpha1.EngineMySQL, Version: "8.0", Storage: ptrQuantity("20Gi")}, "8.0", "20Gi"},
	}
	for _, tc := range cases {
		if v := DatabaseVersion(&tc.db); v != tc.version {
			t.Errorf("%s version %s, want %s", tc.db.Engine, v, tc.version)
		}
		if s := DatabaseStorage(&tc.db); s.String() != tc.size {
			t.Errorf("%s storage %s, want %s", tc.db.Engine, s.String(), tc.size)
		}
	}
}

func ptrQuantity(s string) *resource.Quantity {
	q := resource.MustParse(s)
	return &q
}

func TestCredentials(t *testing.T) {
	pg := DedicatedCredentials(withDatabase(v1alpha1.DatabaseSpec{Engine: v1alpha1.EnginePostgres}), "pw")
	if pg.URI() != "postgresql://payments:pw@payments-db.shop.svc.cluster.local:5432/payments" {
		t.Fatalf("uri %s", pg.URI())
	}
	long := microservice(func(ms *v1alpha1.Microservice) {
		ms.Name = "Order.Service-with-a-name-well-beyond-thirty-two"
		ms.Spec.Database = &v1alpha1.DatabaseSpec{Engine: v1alpha1.EngineMySQL}
	})
	my := DedicatedCredentials(long, "pw")
	if my.Database != "order_service_with_a_name_well_beyond_thirty_two" || len(my.Username) != 32 || my.Port != 3306 {
		t.Fatalf("mysql credentials %+v", my)
	}
	if !strings.HasPrefix(my.URI(), "mysql://") {
		t.Fatalf("uri %s", my.URI())
	}

	secret := CredentialsSecret(long, my)
	for _, key := range []string{"host", "port", "database", "username", "password", "uri"} {
		if len(secret.Data[key]) == 0 {
			t.Fatalf("secret lacks %s", key)
		}
	}
	back, err := CredentialsFromSecret(v1alpha1.EngineMySQL, secret)
	if err != nil || back != my {
		t.Fatalf("read back %+v, %v", back, err)
	}
	delete(secret.Data, "password")
	if _, err := CredentialsFromSecret(v1alpha1.EngineMySQL, secret); err == nil || !strings.Contains(err.Error(), `"password"`) {
		t.Fatalf("missing password not reported: %v", err)
	}
}
