package resources

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// fromSecret is the variable name read from key of the credentials Secret payments-db.
func fromSecret(name, key string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "payments-db"}, Key: key,
	}}}
}

func TestDatabaseStatefulSetWhole(t *testing.T) {
	databaseLabels := map[string]string{
		"app.kubernetes.io/name":       "payments",
		"app.kubernetes.io/managed-by": "kubeship",
		"apps.kubeship.dev/database":   "payments",
	}
	// statefulSet is the whole StatefulSet of an engine's database of 3Gi; the pods
	// carry no apps.kubeship.dev/microservice label, so the app's selector misses them.
	statefulSet := func(image, mount, port string, portNumber int32, probe string, retention appsv1.PersistentVolumeClaimRetentionPolicyType, env ...corev1.EnvVar) *appsv1.StatefulSet {
		return &appsv1.StatefulSet{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
			ObjectMeta: childMeta("payments-db"),
			Spec: appsv1.StatefulSetSpec{
				Replicas:    ptr.To[int32](1),
				ServiceName: "payments-db",
				Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"apps.kubeship.dev/database": "payments"}},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: databaseLabels},
					Spec: corev1.PodSpec{
						Containers: []corev1.Container{{
							Name:         "database",
							Image:        image,
							Ports:        []corev1.ContainerPort{{Name: port, ContainerPort: portNumber, Protocol: corev1.ProtocolTCP}},
							Env:          env,
							VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: mount}},
							ReadinessProbe: &corev1.Probe{
								ProbeHandler:   corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"sh", "-c", probe}}},
								PeriodSeconds:  5,
								TimeoutSeconds: 3, FailureThreshold: 6,
							},
							SecurityContext: &corev1.SecurityContext{
								AllowPrivilegeEscalation: ptr.To(false),
								Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
							},
						}},
						EnableServiceLinks: ptr.To(false),
						SecurityContext: &corev1.PodSecurityContext{
							RunAsNonRoot: ptr.To(true),
							RunAsUser:    ptr.To[int64](999), RunAsGroup: ptr.To[int64](999), FSGroup: ptr.To[int64](999),
							SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
						},
					},
				},
				VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
					TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
					ObjectMeta: metav1.ObjectMeta{Name: "data", Labels: databaseLabels},
					Spec: corev1.PersistentVolumeClaimSpec{
						AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
						Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("3Gi")}},
					},
				}},
				PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
					WhenDeleted: retention,
					WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
				},
			},
		}
	}
	postgresEnv := []corev1.EnvVar{
		fromSecret("POSTGRES_USER", "username"), fromSecret("POSTGRES_PASSWORD", "password"), fromSecret("POSTGRES_DB", "database"),
		{Name: "PGDATA", Value: "/var/lib/postgresql/data/pgdata"},
	}
	const pgProbe = `pg_isready -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"`
	cases := []struct {
		name string
		db   v1alpha1.DatabaseSpec
		want *appsv1.StatefulSet
	}{
		{"postgres defaults: version 16, claims retained", v1alpha1.DatabaseSpec{Engine: v1alpha1.EnginePostgres},
			statefulSet("postgres:16", "/var/lib/postgresql/data", "postgres", 5432, pgProbe, appsv1.RetainPersistentVolumeClaimRetentionPolicyType, postgresEnv...)},
		{"postgres 15, Delete deletes the claims with it", v1alpha1.DatabaseSpec{Engine: v1alpha1.EnginePostgres, Version: "15", DeletionPolicy: v1alpha1.DeletionDelete},
			statefulSet("postgres:15", "/var/lib/postgresql/data", "postgres", 5432, pgProbe, appsv1.DeletePersistentVolumeClaimRetentionPolicyType, postgresEnv...)},
		{"mysql defaults: version 8.4, a random root password", v1alpha1.DatabaseSpec{Engine: v1alpha1.EngineMySQL},
			statefulSet("mysql:8.4", "/var/lib/mysql", "mysql", 3306, "mysqladmin ping -h 127.0.0.1 --silent", appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
				fromSecret("MYSQL_USER", "username"), fromSecret("MYSQL_PASSWORD", "password"), fromSecret("MYSQL_DATABASE", "database"),
				corev1.EnvVar{Name: "MYSQL_RANDOM_ROOT_PASSWORD", Value: "yes"})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The claim size is passed in (the live template's once the set exists), not read from the spec.
			diffWhole(t, tc.want, DatabaseStatefulSet(withDatabase(tc.db), resource.MustParse("3Gi")))
		})
	}
}
