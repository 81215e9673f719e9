package resources

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

const (
	// LabelDatabase marks the pods of a dedicated database. They deliberately lack
	// LabelMicroservice, so the service's own Service and Deployment never select them.
	LabelDatabase = "apps.kubeship.dev/database"
	// DataVolume is the claim template of a dedicated database.
	DataVolume = "data"
	// databaseUID is the uid (and gid) of the postgres and mysql users in the official images.
	databaseUID int64 = 999
)

// engineSpec is what differs between the engines' official images.
type engineSpec struct {
	image, mountPath, portName string
	// userEnv, passwordEnv and databaseEnv are the variables the image makes its user
	// and database from; they are read from the credentials Secret.
	userEnv, passwordEnv, databaseEnv string
	extraEnv                          corev1.EnvVar
	readiness                         string // a shell command
}

var engines = map[v1alpha1.DatabaseEngine]engineSpec{
	v1alpha1.EnginePostgres: {
		image: "postgres", mountPath: "/var/lib/postgresql/data", portName: "postgres",
		userEnv: "POSTGRES_USER", passwordEnv: "POSTGRES_PASSWORD", databaseEnv: "POSTGRES_DB",
		// A subdirectory: the volume's root may hold lost+found, which initdb refuses.
		extraEnv:  corev1.EnvVar{Name: "PGDATA", Value: "/var/lib/postgresql/data/pgdata"},
		readiness: `pg_isready -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"`,
	},
	v1alpha1.EngineMySQL: {
		image: "mysql", mountPath: "/var/lib/mysql", portName: "mysql",
		userEnv: "MYSQL_USER", passwordEnv: "MYSQL_PASSWORD", databaseEnv: "MYSQL_DATABASE",
		// Nobody needs root: the image generates a random one and prints it once.
		extraEnv:  corev1.EnvVar{Name: "MYSQL_RANDOM_ROOT_PASSWORD", Value: "yes"},
		readiness: `mysqladmin ping -h 127.0.0.1 --silent`,
	},
}

// env is the database container's environment, the credentials read from secret.
func (e engineSpec) env(secret string) []corev1.EnvVar {
	return []corev1.EnvVar{
		secretEnv(e.userEnv, secret, SecretKeyUsername),
		secretEnv(e.passwordEnv, secret, SecretKeyPassword),
		secretEnv(e.databaseEnv, secret, SecretKeyDatabase),
		e.extraEnv,
	}
}

func secretEnv(name, secret, key string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key,
	}}}
}

// DatabaseVersion is the engine version of ms's dedicated database.
func DatabaseVersion(db *v1alpha1.DatabaseSpec) string {
	switch {
	case db.Version != "":
		return db.Version
	case db.Engine == v1alpha1.EngineMySQL:
		return v1alpha1.DefaultMySQLVersion
	}
	return v1alpha1.DefaultPostgresVersion
}

// DatabaseStorage is the volume size ms asks for.
func DatabaseStorage(db *v1alpha1.DatabaseSpec) resource.Quantity {
	if db.Storage != nil {
		return *db.Storage
	}
	return resource.MustParse(v1alpha1.DefaultStorage)
}

// DatabaseSelectorLabels select the dedicated database's pods (StatefulSet, headless
// Service, NetworkPolicy).
func DatabaseSelectorLabels(ms *v1alpha1.Microservice) map[string]string {
	return map[string]string{LabelDatabase: ms.Name}
}

// databaseLabels are the labels of the dedicated database's objects and pods.
func databaseLabels(ms *v1alpha1.Microservice) map[string]string {
	return map[string]string{LabelName: ms.Name, LabelManagedBy: ManagedByKubeship, LabelDatabase: ms.Name}
}

// DatabaseStatefulSet returns the StatefulSet of ms's dedicated database. claimSize is
// the size of its claim template: the spec's storage at creation, then the live value,
// since a StatefulSet's claim templates cannot change (growth resizes the claims).
func DatabaseStatefulSet(ms *v1alpha1.Microservice, claimSize resource.Quantity) *appsv1ac.StatefulSetApplyConfiguration {
	db := ms.Spec.Database
	e := engines[db.Engine]
	secret := DatabaseSecretName(ms)
	c := corev1ac.Container().
		WithName("database").
		WithImage(e.image + ":" + DatabaseVersion(db)).
		WithPorts(corev1ac.ContainerPort().WithName(e.portName).WithContainerPort(EnginePort(db.Engine)).WithProtocol(corev1.ProtocolTCP)).
		WithVolumeMounts(corev1ac.VolumeMount().WithName(DataVolume).WithMountPath(e.mountPath)).
		WithReadinessProbe(corev1ac.Probe().
			WithExec(corev1ac.ExecAction().WithCommand("sh", "-c", e.readiness)).
			WithPeriodSeconds(5).WithTimeoutSeconds(3).WithFailureThreshold(6)).
		WithSecurityContext(containerSecurityContext())
	for _, v := range e.env(secret) {
		c.WithEnv(convert[corev1ac.EnvVarApplyConfiguration](v))
	}
	pod := corev1ac.PodSpec().
		WithContainers(c).
		WithEnableServiceLinks(false).
		// The images' entrypoints switch to uid 999 when started as root; starting them as
		// 999 directly satisfies the restricted profile, and fsGroup makes the volume theirs.
		WithSecurityContext(corev1ac.PodSecurityContext().
			WithRunAsNonRoot(true).
			WithRunAsUser(databaseUID).WithRunAsGroup(databaseUID).WithFSGroup(databaseUID).
			WithSeccompProfile(corev1ac.SeccompProfile().WithType(corev1.SeccompProfileTypeRuntimeDefault)))
	retention := appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	if db.DeletionPolicy == v1alpha1.DeletionDelete {
		retention = appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	}
	labels := databaseLabels(ms)
	spec := appsv1ac.StatefulSetSpec().
		WithReplicas(1).
		WithServiceName(DatabaseObjectName(ms)).
		WithSelector(metav1LabelSelector(DatabaseSelectorLabels(ms))).
		WithTemplate(corev1ac.PodTemplateSpec().WithLabels(labels).WithSpec(pod)).
		WithVolumeClaimTemplates(corev1ac.PersistentVolumeClaim(DataVolume, "").
			WithLabels(labels).
			WithSpec(corev1ac.PersistentVolumeClaimSpec().
				WithAccessModes(corev1.ReadWriteOnce).
				WithResources(corev1ac.VolumeResourceRequirements().
					WithRequests(corev1.ResourceList{corev1.ResourceStorage: claimSize})))).
		WithPersistentVolumeClaimRetentionPolicy(appsv1ac.StatefulSetPersistentVolumeClaimRetentionPolicy().
			WithWhenDeleted(retention).
			WithWhenScaled(appsv1.RetainPersistentVolumeClaimRetentionPolicyType))
	s := appsv1ac.StatefulSet(DatabaseObjectName(ms), ms.Namespace).WithSpec(spec)
	s.ObjectMetaApplyConfiguration = objectMeta(ms, DatabaseObjectName(ms))
	return s
}

// DatabaseService returns the headless Service that gives the database pod its DNS name.
func DatabaseService(ms *v1alpha1.Microservice) *corev1ac.ServiceApplyConfiguration {
	e := engines[ms.Spec.Database.Engine]
	port := EnginePort(ms.Spec.Database.Engine)
	s := corev1ac.Service(DatabaseObjectName(ms), ms.Namespace).WithSpec(corev1ac.ServiceSpec().
		WithClusterIP(corev1.ClusterIPNone).
		WithSelector(map[string]string{LabelDatabase: ms.Name}).
		WithPorts(corev1ac.ServicePort().WithName(e.portName).WithPort(port).
			WithProtocol(corev1.ProtocolTCP).WithTargetPort(intstr.FromString(e.portName))))
	s.ObjectMetaApplyConfiguration = objectMeta(ms, DatabaseObjectName(ms))
	return s
}

// DatabaseNetworkPolicy admits only ms's own pods (and its migration's), and only on the
// database port. With spec.network.egress: Connections the database's pods may call
// nothing but DNS.
func DatabaseNetworkPolicy(ms *v1alpha1.Microservice) *networkingv1ac.NetworkPolicyApplyConfiguration {
	port := intstr.FromInt32(EnginePort(ms.Spec.Database.Engine))
	rule := networkingv1ac.NetworkPolicyIngressRule().
		WithFrom(networkingv1ac.NetworkPolicyPeer().WithPodSelector(labelSelector(ms)))
	if ms.Spec.Migration != nil {
		// The migration Job's pods do not carry the app's selector label (they must take
		// no traffic), so they are admitted by their own.
		rule.WithFrom(networkingv1ac.NetworkPolicyPeer().WithPodSelector(metav1LabelSelector(map[string]string{LabelMigration: ms.Name})))
	}
	spec := networkingv1ac.NetworkPolicySpec().
		WithPodSelector(metav1LabelSelector(map[string]string{LabelDatabase: ms.Name})).
		WithPolicyTypes("Ingress").
		WithIngress(rule.WithPorts(networkingv1ac.NetworkPolicyPort().WithProtocol(corev1.ProtocolTCP).WithPort(port)))
	if EgressIsolated(ms) {
		spec.WithPolicyTypes("Egress").WithEgress(dnsEgress())
	}
	n := networkingv1ac.NetworkPolicy(DatabaseObjectName(ms), ms.Namespace).WithSpec(spec)
	n.ObjectMetaApplyConfiguration = objectMeta(ms, DatabaseObjectName(ms))
	return n
}
