package resources

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

const (
	// MigrationContainerName is the name of the container in a migration Job's pod.
	MigrationContainerName = "migrate"
	// LabelMigration marks a Microservice's migration Jobs and their pods, with the
	// Microservice's name. The pods do not carry LabelMicroservice: the Service and the
	// Deployment select on it, and a migration pod must take no traffic.
	LabelMigration = "apps.kubeship.dev/migration"
	// AnnotationMigrationRevision on a migration Job is the full revision it migrates
	// to; the Job's name holds only a prefix of it.
	AnnotationMigrationRevision = "apps.kubeship.dev/migration-revision"
	// migrationInfix sits between the Microservice's name and the revision in a Job's name.
	migrationInfix = "-migrate-"
	// maxJobName: a Job's name is also a label value on its pods, so 63 characters.
	maxJobName = 63
	// jobRevisionChars is how much of the revision a Job's name shows, when it fits.
	jobRevisionChars = 10
)

// MigrationRevision identifies what ms's migration runs: the service's image together
// with spec.migration as written. Any change of either is a new revision, which is
// migrated once; it is a pure function of the spec, so it survives restarts. "" without
// spec.migration.
func MigrationRevision(ms *v1alpha1.Microservice) string {
	if ms.Spec.Migration == nil {
		return ""
	}
	raw, err := json.Marshal(struct {
		Image     string                  `json:"image"`
		Migration *v1alpha1.MigrationSpec `json:"migration"`
	}{ms.Spec.Image, ms.Spec.Migration})
	if err != nil {
		panic(err) // API types always marshal
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:8])
}

// MigrationJobName is the name of the Job migrating ms to revision: the Microservice's
// name, "-migrate-" and as much of the revision as fits 63 characters (10 characters,
// at least 4 for the longest names; the Job's revision annotation holds all of it).
func MigrationJobName(ms *v1alpha1.Microservice, revision string) string {
	n := min(jobRevisionChars, maxJobName-len(ms.Name)-len(migrationInfix), len(revision))
	return ms.Name + migrationInfix + revision[:max(n, 0)]
}

// MigrationImage is the image the migration runs: spec.migration.image, else spec.image.
func MigrationImage(ms *v1alpha1.Microservice) string {
	if m := ms.Spec.Migration; m != nil && m.Image != "" {
		return m.Image
	}
	return ms.Spec.Image
}

// MigrationLabels are the labels of ms's migration Jobs and of their pods.
func MigrationLabels(ms *v1alpha1.Microservice) map[string]string {
	return map[string]string{LabelName: ms.Name, LabelManagedBy: ManagedByKubeship, LabelMigration: ms.Name}
}

// MigrationJob returns the Job that migrates ms to revision: one pod, never restarted
// in place, under the same pod security as the Deployment's pods, with the database
// credentials. It is created once and never updated (a Job's pod template is immutable).
func MigrationJob(ms *v1alpha1.Microservice, revision string) *batchv1.Job {
	m := ms.Spec.Migration
	labels := Labels(ms)
	labels[LabelMigration] = ms.Name
	c := corev1.Container{
		Name:            MigrationContainerName,
		Image:           MigrationImage(ms),
		Command:         m.Command,
		Args:            m.Args,
		Env:             withDatabaseURL(ms, m.Env),
		EnvFrom:         m.EnvFrom,
		Resources:       m.Resources,
		SecurityContext: convert[corev1.SecurityContext](containerSecurityContext()),
	}
	return &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name:            MigrationJobName(ms, revision),
			Namespace:       ms.Namespace,
			Labels:          labels,
			Annotations:     map[string]string{AnnotationMigrationRevision: revision},
			OwnerReferences: []metav1.OwnerReference{*convert[metav1.OwnerReference](ownerReference(ms))},
		},
		Spec: batchv1.JobSpec{
			Parallelism:           ptr.To[int32](1),
			Completions:           ptr.To[int32](1),
			BackoffLimit:          ptr.To(ptr.Deref(m.BackoffLimit, v1alpha1.DefaultMigrationBackoffLimit)),
			ActiveDeadlineSeconds: ptr.To(ptr.Deref(m.ActiveDeadlineSeconds, v1alpha1.DefaultMigrationDeadlineSeconds)),
			// A replacement pod starts only once the one it replaces is gone, so two
			// migration pods never run at once.
			PodReplacementPolicy: ptr.To(batchv1.Failed),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: MigrationLabels(ms)},
				Spec: corev1.PodSpec{
					RestartPolicy:      corev1.RestartPolicyNever,
					ServiceAccountName: ms.Spec.ServiceAccountName,
					SecurityContext:    convert[corev1.PodSecurityContext](podSecurityContext(ms)),
					Containers:         []corev1.Container{c},
				},
			},
		},
	}
}

// withDatabaseURL puts DATABASE_URL from the credentials Secret before vars, as the
// app container has it, unless ms has no database or vars define it.
func withDatabaseURL(ms *v1alpha1.Microservice, vars []corev1.EnvVar) []corev1.EnvVar {
	if ms.Spec.Database == nil || definesEnv(vars, EnvDatabaseURL) {
		return vars
	}
	return append([]corev1.EnvVar{{
		Name: EnvDatabaseURL,
		ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: DatabaseSecretName(ms)},
			Key:                  SecretKeyURI,
		}},
	}}, vars...)
}
