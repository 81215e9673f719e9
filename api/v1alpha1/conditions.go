package v1alpha1

// Condition types reported in Microservice and DatabaseServer status.
const (
	// ConditionReady is True when the current generation is fully rolled out and
	// available, and its database (if any) is ready.
	ConditionReady = "Ready"
	// ConditionAvailable mirrors the Deployment's minimum availability.
	ConditionAvailable = "Available"
	// ConditionDatabaseReady is True when the service's database and its credentials
	// Secret exist and (dedicated mode) the database has a ready replica.
	ConditionDatabaseReady = "DatabaseReady"
	// ConditionScalingActive mirrors the HorizontalPodAutoscaler's ScalingActive
	// condition; it is only present when spec.scaling is set.
	ConditionScalingActive = "ScalingActive"
)

// Reasons of the Ready condition.
const (
	// ReasonReady: everything the service needs is in place for the current generation.
	ReasonReady = "Ready"
	// ReasonRolloutInProgress: the Deployment is still rolling out the current revision.
	ReasonRolloutInProgress = "RolloutInProgress"
	// ReasonObservedGenerationStale: the Deployment controller has not yet seen the
	// Deployment revision written for this generation.
	ReasonObservedGenerationStale = "ObservedGenerationStale"
	// ReasonDatabaseNotReady: the rollout is done but the database is not ready yet.
	ReasonDatabaseNotReady = "DatabaseNotReady"
	// ReasonProgressDeadlineExceeded: the Deployment gave up progressing; the rollout failed.
	ReasonProgressDeadlineExceeded = "ProgressDeadlineExceeded"
	// ReasonInvalidSpec: the spec passed admission but cannot be realised; only the
	// user can fix it.
	ReasonInvalidSpec = "InvalidSpec"
	// ReasonDatabaseFailed: provisioning the database failed in a way that needs attention.
	ReasonDatabaseFailed = "DatabaseFailed"
	// ReasonReconcileError: the operator could not write a child object; it retries.
	ReasonReconcileError = "ReconcileError"
	// ReasonResourceNotOwned: an object with a child's name exists that this
	// Microservice does not control, and its owner has not consented to adoption (the
	// annotation apps.kubeship.dev/adopt); kubeship leaves it untouched.
	ReasonResourceNotOwned = "ResourceNotOwned"
	// ReasonAdoptionRefused: an object with a child's name carries the adoption
	// annotation for this Microservice, but kubeship cannot take it over as it is (e.g.
	// a Deployment's selector, which is immutable, differs from the one kubeship uses);
	// kubeship leaves it untouched.
	ReasonAdoptionRefused = "AdoptionRefused"
)

// Reasons of the Available condition.
const (
	// ReasonMinimumReplicasAvailable: the Deployment reports minimum availability.
	ReasonMinimumReplicasAvailable = "MinimumReplicasAvailable"
	// ReasonMinimumReplicasUnavailable: the Deployment lacks minimum availability.
	ReasonMinimumReplicasUnavailable = "MinimumReplicasUnavailable"
	// ReasonDeploymentNotFound: the Deployment has not been created yet.
	ReasonDeploymentNotFound = "DeploymentNotFound"
	// Available is also ResourceNotOwned (see the Ready reasons) when a Deployment with
	// the Microservice's name exists that kubeship may not write.
)

// Reasons of the ScalingActive condition besides those copied from the autoscaler.
const (
	// ReasonAutoscalerPending: the HorizontalPodAutoscaler has not reported ScalingActive yet.
	ReasonAutoscalerPending = "AutoscalerPending"
)

// Reasons of the DatabaseReady condition.
const (
	// ReasonDatabaseReady: the database is ready to accept connections.
	ReasonDatabaseReady = "DatabaseReady"
	// ReasonDatabaseProvisioning: the database is being created or started.
	ReasonDatabaseProvisioning = "DatabaseProvisioning"
	// ReasonNamespaceNotAllowed: the DatabaseServer does not admit this namespace.
	ReasonNamespaceNotAllowed = "NamespaceNotAllowed"
	// ReasonServerNotReady: the referenced DatabaseServer is missing or not Ready.
	ReasonServerNotReady = "ServerNotReady"
	// ReasonProvisioningFailed: creating the database or role on the server failed.
	ReasonProvisioningFailed = "ProvisioningFailed"
)

// Reasons of the DatabaseServer Ready condition.
const (
	// ReasonConnected: the operator logged in with the admin credentials.
	ReasonConnected = "Connected"
	// ReasonSecretNotFound: the admin Secret does not exist.
	ReasonSecretNotFound = "SecretNotFound"
	// ReasonInvalidSecret: the admin Secret lacks the username or password key.
	ReasonInvalidSecret = "InvalidSecret"
	// ReasonAuthenticationFailed: the server refused the admin credentials.
	ReasonAuthenticationFailed = "AuthenticationFailed"
	// ReasonUnreachable: the server could not be reached.
	ReasonUnreachable = "Unreachable"
	// ReasonSecretNotAllowed: the admin or CA Secret is outside the operator's namespace
	// and not labelled for kubeship, so kubeship does not read it.
	ReasonSecretNotAllowed = "SecretNotAllowed"
)

// AdoptAnnotation is the annotation an existing object's owner sets to a Microservice's
// name to consent to that Microservice taking the object over as its child.
const AdoptAnnotation = "apps.kubeship.dev/adopt"

// AdminSecretLabel is the label that, set to "true" on a Secret outside the operator's
// namespace, allows DatabaseServers to name it as their admin or CA Secret.
const AdminSecretLabel = "apps.kubeship.dev/database-server-secret"
