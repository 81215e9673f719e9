package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// SSLMode says how the operator secures its connection to a DatabaseServer.
// +kubebuilder:validation:Enum=disable;require;verify-full
type SSLMode string

// The SSL modes.
const (
	SSLDisable    SSLMode = "disable"
	SSLRequire    SSLMode = "require"
	SSLVerifyFull SSLMode = "verify-full"
)

// DatabaseServerSpec describes an existing database server.
type DatabaseServerSpec struct {
	// engine of the server: postgres or mysql.
	// +required
	Engine DatabaseEngine `json:"engine"`

	// host is the server's address, e.g. pg.databases.svc.cluster.local.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Host string `json:"host"`

	// port the server listens on.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port"`

	// adminSecretRef names the Secret with the admin credentials (keys username and
	// password) the operator uses to create databases and roles. kubeship reads it only
	// when it is in the operator's own namespace or carries the label
	// apps.kubeship.dev/database-server-secret: "true"; otherwise Ready is False with
	// reason SecretNotAllowed.
	// +required
	AdminSecretRef SecretReference `json:"adminSecretRef"`

	// sslMode for the operator's connections: disable, require (default) or verify-full.
	// +optional
	// +kubebuilder:default=require
	SSLMode SSLMode `json:"sslMode,omitempty"`

	// caSecretRef names a Secret whose key ca.crt holds the PEM certificates that sign
	// the server's certificate, for sslMode verify-full with a private CA. Absent means
	// the system's roots. Like adminSecretRef it must be in the operator's namespace or
	// carry the label apps.kubeship.dev/database-server-secret: "true".
	// +optional
	CASecretRef *SecretReference `json:"caSecretRef,omitempty"`

	// allowedNamespaces selects the namespaces whose Microservices may get a database
	// here. Absent allows none; {} allows all.
	// +optional
	AllowedNamespaces *metav1.LabelSelector `json:"allowedNamespaces,omitempty"`
}

// SecretReference names a Secret in a namespace.
type SecretReference struct {
	// namespace of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace"`
	// name of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// DatabaseServerStatus is the observed state of a DatabaseServer.
type DatabaseServerStatus struct {
	// observedGeneration is the metadata.generation this status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready is True when the operator can log in with the admin credentials.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// DatabaseServer is an existing database server on which Microservices with a shared
// database each get a database and a role of their own.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=dbs,categories=kubeship
// +kubebuilder:printcolumn:name="Engine",type=string,JSONPath=`.spec.engine`
// +kubebuilder:printcolumn:name="Host",type=string,JSONPath=`.spec.host`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
type DatabaseServer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec describes the server.
	// +required
	Spec DatabaseServerSpec `json:"spec"`

	// status is the observed state, written by the operator. Until the operator first
	// checks the server, it reads observedGeneration 0 (a schema default): behind
	// metadata.generation, so kstatus-based tools see it as InProgress, not Current.
	// +optional
	// +kubebuilder:default={observedGeneration: 0}
	Status DatabaseServerStatus `json:"status,omitempty"`
}

// DatabaseServerList is a list of DatabaseServers.
// +kubebuilder:object:root=true
type DatabaseServerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DatabaseServer `json:"items"`
}

func init() {
	SchemeBuilder.Register(&DatabaseServer{}, &DatabaseServerList{})
}
