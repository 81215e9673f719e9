package v1alpha1

import corev1 "k8s.io/api/core/v1"

// MigrationSpec is the schema migration a new version of the service runs before it
// takes traffic. kubeship runs it as a Job, once per migration revision (the effective
// image together with this spec), and moves the Deployment to the new pod template only
// after the Job succeeded; until then the previous version keeps serving.
// +kubebuilder:validation:XValidation:rule="has(self.command) || has(self.args)",message="spec.migration needs command or args: without them the Job would start the image's default entrypoint, usually the service itself, which never completes"
type MigrationSpec struct {
	// image runs the migration. Absent means spec.image, so the migration always comes
	// from the version it prepares the schema for.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:Pattern=`^\S+$`
	Image string `json:"image,omitempty"`

	// command overrides the image's entrypoint, e.g. ["/app", "migrate"].
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	Command []string `json:"command,omitempty"`

	// args are the arguments passed to the entrypoint.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	Args []string `json:"args,omitempty"`

	// env lists environment variables for the migration container. It does not inherit
	// spec.env. With spec.database, DATABASE_URL comes first from the credentials
	// Secret (key uri), unless this list defines DATABASE_URL itself.
	// +optional
	// +listType=atomic
	Env []corev1.EnvVar `json:"env,omitempty"`

	// envFrom lists sources (ConfigMaps, Secrets) to populate the migration's environment.
	// +optional
	// +listType=atomic
	EnvFrom []corev1.EnvFromSource `json:"envFrom,omitempty"`

	// resources are the migration container's compute resource requests and limits.
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`

	// activeDeadlineSeconds bounds how long the migration Job may run, retries
	// included; past it the Job fails and the rollout stops. Default 600.
	// +optional
	// +kubebuilder:validation:Minimum=1
	ActiveDeadlineSeconds *int64 `json:"activeDeadlineSeconds,omitempty"`

	// backoffLimit is how many times a failed migration pod is retried before the Job
	// fails. Default 0: a migration that failed half way usually needs a person, not a
	// second run.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10
	BackoffLimit *int32 `json:"backoffLimit,omitempty"`
}

// Defaults of MigrationSpec, applied by the operator.
const (
	DefaultMigrationDeadlineSeconds int64 = 600
	DefaultMigrationBackoffLimit    int32 = 0
)

// MigrationStatus records the last migration that succeeded.
type MigrationStatus struct {
	// revision is the migration revision (a hash of the migration's image and spec)
	// whose Job last succeeded. The Deployment runs a revision's pod template only
	// once its migration is recorded here or its Job is seen succeeded.
	// +optional
	Revision string `json:"revision,omitempty"`
	// jobName is the Job that ran that migration.
	// +optional
	JobName string `json:"jobName,omitempty"`
	// image is the image that migration ran.
	// +optional
	Image string `json:"image,omitempty"`
}

// Migration condition types and reasons.
const (
	// ConditionMigrationSucceeded is True when the migration of the current revision
	// succeeded; it is present only with spec.migration.
	ConditionMigrationSucceeded = "MigrationSucceeded"
	// ConditionReconciling and ConditionStalled follow the kstatus conventions, so
	// kstatus-based tools (Flux, kpt, cli-utils) see a migration as InProgress and a
	// failed one as Failed. They are present only while a migration runs or failed.
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"

	// ReasonMigrating (Ready, MigrationSucceeded, Reconciling): the migration Job of the
	// current revision runs; the previous pod template keeps serving.
	ReasonMigrating = "Migrating"
	// ReasonMigrationFailed (Ready, MigrationSucceeded, Stalled): the migration Job of
	// the current revision failed; the rollout is stopped and the previous pod template
	// keeps serving. A change of the image or of spec.migration retries with a new Job;
	// so does deleting the failed Job.
	ReasonMigrationFailed = "MigrationFailed"
	// ReasonMigrationSucceeded (MigrationSucceeded): the current revision is migrated.
	ReasonMigrationSucceeded = "MigrationSucceeded"
	// ReasonMigrationPending (MigrationSucceeded): the migration waits for the
	// database to be ready before its Job is created.
	ReasonMigrationPending = "MigrationPending"
)
