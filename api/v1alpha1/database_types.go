package v1alpha1

import "k8s.io/apimachinery/pkg/api/resource"

// DatabaseEngine is a database server's kind.
// +kubebuilder:validation:Enum=postgres;mysql
type DatabaseEngine string

// The supported database engines.
const (
	EnginePostgres DatabaseEngine = "postgres"
	EngineMySQL    DatabaseEngine = "mysql"
)

// DatabaseEngines lists every engine the Enum marker on DatabaseEngine allows.
var DatabaseEngines = []DatabaseEngine{EnginePostgres, EngineMySQL}

// DatabaseMode says where a service's database runs.
// +kubebuilder:validation:Enum=dedicated;shared
type DatabaseMode string

// The database modes.
const (
	// ModeDedicated runs a database server of the service's own in a StatefulSet.
	ModeDedicated DatabaseMode = "dedicated"
	// ModeShared creates a database and a role of the service's own on a DatabaseServer.
	ModeShared DatabaseMode = "shared"
)

// DeletionPolicy says what happens to a service's data when the Microservice is deleted.
// +kubebuilder:validation:Enum=Retain;Delete
type DeletionPolicy string

// The deletion policies.
const (
	// DeletionRetain keeps the data: shared database and role stay, dedicated claims are kept.
	DeletionRetain DeletionPolicy = "Retain"
	// DeletionDelete drops the shared database and role, and deletes the dedicated claims.
	DeletionDelete DeletionPolicy = "Delete"
)

// Defaults applied by the operator (not by the schema, since shared databases forbid
// version and storage).
const (
	DefaultPostgresVersion = "16"
	DefaultMySQLVersion    = "8.4"
	DefaultStorage         = "1Gi"
)

// DatabaseSpec gives a service a database that belongs to it alone.
// +kubebuilder:validation:XValidation:rule="self.mode != 'shared' || has(self.serverRef)",message="spec.database.serverRef is required when spec.database.mode is shared",fieldPath=".serverRef"
// +kubebuilder:validation:XValidation:rule="self.mode == 'shared' || !has(self.serverRef)",message="spec.database.serverRef is only allowed when spec.database.mode is shared",fieldPath=".serverRef"
// +kubebuilder:validation:XValidation:rule="self.mode != 'shared' || !has(self.version)",message="spec.database.version is only allowed when spec.database.mode is dedicated",fieldPath=".version"
// +kubebuilder:validation:XValidation:rule="self.mode != 'shared' || !has(self.storage)",message="spec.database.storage is only allowed when spec.database.mode is dedicated",fieldPath=".storage"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.storage) || has(self.storage)",message="spec.database.storage cannot be removed once set: that would shrink the volume",fieldPath=".storage"
// +kubebuilder:validation:XValidation:rule="(has(oldSelf.version) ? oldSelf.version : (oldSelf.engine == 'postgres' ? '16' : '8.4')) == (has(self.version) ? self.version : (self.engine == 'postgres' ? '16' : '8.4')) || ((has(oldSelf.version) ? oldSelf.version : (oldSelf.engine == 'postgres' ? '16' : '8.4')).matches('^[0-9]+([.][0-9]+)*') && (has(self.version) ? self.version : (self.engine == 'postgres' ? '16' : '8.4')).matches('^[0-9]+([.][0-9]+)*'))",messageExpression="'spec.database.version: cannot tell whether ' + (has(oldSelf.version) ? oldSelf.version : (oldSelf.engine == 'postgres' ? '16' : '8.4')) + ' to ' + (has(self.version) ? self.version : (self.engine == 'postgres' ? '16' : '8.4')) + ' is an upgrade; a version can only change between numeric versions such as 16.4 and 16.6'",fieldPath=".version"
// +kubebuilder:validation:XValidation:rule="(has(oldSelf.version) ? oldSelf.version : (oldSelf.engine == 'postgres' ? '16' : '8.4')) == (has(self.version) ? self.version : (self.engine == 'postgres' ? '16' : '8.4')) || !((has(oldSelf.version) ? oldSelf.version : (oldSelf.engine == 'postgres' ? '16' : '8.4')).matches('^[0-9]+([.][0-9]+)*') && (has(self.version) ? self.version : (self.engine == 'postgres' ? '16' : '8.4')).matches('^[0-9]+([.][0-9]+)*')) || ((has(self.version) ? self.version : (self.engine == 'postgres' ? '16' : '8.4')).find('^[0-9]+([.][0-9]+)*').split('.').map(x, int(x)) + [0, 0])[0] > ((has(oldSelf.version) ? oldSelf.version : (oldSelf.engine == 'postgres' ? '16' : '8.4')).find('^[0-9]+([.][0-9]+)*').split('.').map(x, int(x)) + [0, 0])[0] || (((has(self.version) ? self.version : (self.engine == 'postgres' ? '16' : '8.4')).find('^[0-9]+([.][0-9]+)*').split('.').map(x, int(x)) + [0, 0])[0] == ((has(oldSelf.version) ? oldSelf.version : (oldSelf.engine == 'postgres' ? '16' : '8.4')).find('^[0-9]+([.][0-9]+)*').split('.').map(x, int(x)) + [0, 0])[0] && (((has(self.version) ? self.version : (self.engine == 'postgres' ? '16' : '8.4')).find('^[0-9]+([.][0-9]+)*').split('.').map(x, int(x)) + [0, 0])[1] > ((has(oldSelf.version) ? oldSelf.version : (oldSelf.engine == 'postgres' ? '16' : '8.4')).find('^[0-9]+([.][0-9]+)*').split('.').map(x, int(x)) + [0, 0])[1] || (((has(self.version) ? self.version : (self.engine == 'postgres' ? '16' : '8.4')).find('^[0-9]+([.][0-9]+)*').split('.').map(x, int(x)) + [0, 0])[1] == ((has(oldSelf.version) ? oldSelf.version : (oldSelf.engine == 'postgres' ? '16' : '8.4')).find('^[0-9]+([.][0-9]+)*').split('.').map(x, int(x)) + [0, 0])[1] && ((has(self.version) ? self.version : (self.engine == 'postgres' ? '16' : '8.4')).find('^[0-9]+([.][0-9]+)*').split('.').map(x, int(x)) + [0, 0])[2] >= ((has(oldSelf.version) ? oldSelf.version : (oldSelf.engine == 'postgres' ? '16' : '8.4')).find('^[0-9]+([.][0-9]+)*').split('.').map(x, int(x)) + [0, 0])[2])))",messageExpression="'spec.database.version: ' + (has(self.version) ? self.version : (self.engine == 'postgres' ? '16' : '8.4')) + ' is older than ' + (has(oldSelf.version) ? oldSelf.version : (oldSelf.engine == 'postgres' ? '16' : '8.4')) + '; a database cannot be downgraded in place'",fieldPath=".version"
// +kubebuilder:validation:XValidation:rule="self.engine != 'postgres' || (has(oldSelf.version) ? oldSelf.version : (oldSelf.engine == 'postgres' ? '16' : '8.4')) == (has(self.version) ? self.version : (self.engine == 'postgres' ? '16' : '8.4')) || !((has(oldSelf.version) ? oldSelf.version : (oldSelf.engine == 'postgres' ? '16' : '8.4')).matches('^[0-9]+([.][0-9]+)*') && (has(self.version) ? self.version : (self.engine == 'postgres' ? '16' : '8.4')).matches('^[0-9]+([.][0-9]+)*')) || (((has(oldSelf.version) ? oldSelf.version : (oldSelf.engine == 'postgres' ? '16' : '8.4')).find('^[0-9]+([.][0-9]+)*').split('.').map(x, int(x)) + [0, 0])[0] >= 10 ? ((has(oldSelf.version) ? oldSelf.version : (oldSelf.engine == 'postgres' ? '16' : '8.4')).find('^[0-9]+([.][0-9]+)*').split('.').map(x, int(x)) + [0, 0])[0] : ((has(oldSelf.version) ? oldSelf.version : (oldSelf.engine == 'postgres' ? '16' : '8.4')).find('^[0-9]+([.][0-9]+)*').split('.').map(x, int(x)) + [0, 0])[0] * 100 + ((has(oldSelf.version) ? oldSelf.version : (oldSelf.engine == 'postgres' ? '16' : '8.4')).find('^[0-9]+([.][0-9]+)*').split('.').map(x, int(x)) + [0, 0])[1]) == (((has(self.version) ? self.version : (self.engine == 'postgres' ? '16' : '8.4')).find('^[0-9]+([.][0-9]+)*').split('.').map(x, int(x)) + [0, 0])[0] >= 10 ? ((has(self.version) ? self.version : (self.engine == 'postgres' ? '16' : '8.4')).find('^[0-9]+([.][0-9]+)*').split('.').map(x, int(x)) + [0, 0])[0] : ((has(self.version) ? self.version : (self.engine == 'postgres' ? '16' : '8.4')).find('^[0-9]+([.][0-9]+)*').split('.').map(x, int(x)) + [0, 0])[0] * 100 + ((has(self.version) ? self.version : (self.engine == 'postgres' ? '16' : '8.4')).find('^[0-9]+([.][0-9]+)*').split('.').map(x, int(x)) + [0, 0])[1])",messageExpression="'spec.database.version: ' + (has(oldSelf.version) ? oldSelf.version : (oldSelf.engine == 'postgres' ? '16' : '8.4')) + ' to ' + (has(self.version) ? self.version : (self.engine == 'postgres' ? '16' : '8.4')) + ' changes the PostgreSQL major version; a data directory cannot be opened by another major version (dump and restore into a new database instead)'",fieldPath=".version"
type DatabaseSpec struct {
	// engine is the database engine: postgres or mysql. Immutable.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.database.engine is immutable"
	Engine DatabaseEngine `json:"engine"`

	// mode is dedicated (default: a database server of the service's own) or shared
	// (a database and role on the DatabaseServer named by serverRef). Immutable.
	// +optional
	// +kubebuilder:default=dedicated
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.database.mode is immutable"
	Mode DatabaseMode `json:"mode,omitempty"`

	// version is the engine's image version for dedicated databases. Default 16 for
	// postgres, 8.4 for mysql. It may move to a newer minor version; a downgrade and
	// (postgres) a change of major version are refused, since the data directory
	// would not open.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9._-]*$`
	Version string `json:"version,omitempty"`

	// storage is the volume size for dedicated databases. Default 1Gi. It may grow but
	// never shrink.
	// +optional
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).compareTo(quantity(string(oldSelf))) >= 0",message="spec.database.storage may grow but never shrink"
	// +kubebuilder:validation:XValidation:rule="quantity(string(self)).isGreaterThan(quantity('0'))",message="spec.database.storage must be greater than zero"
	Storage *resource.Quantity `json:"storage,omitempty"`

	// serverRef names the DatabaseServer for shared databases; required with mode
	// shared, forbidden otherwise. Immutable: the database lives on that server.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.database.serverRef is immutable: the database and its data live on the server it names"
	ServerRef *ServerReference `json:"serverRef,omitempty"`

	// deletionPolicy: Retain (default) keeps the data when the Microservice is deleted;
	// Delete drops it.
	// +optional
	// +kubebuilder:default=Retain
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`
}

// ServerReference names a cluster-scoped DatabaseServer.
type ServerReference struct {
	// name of the DatabaseServer.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}
