package v1alpha1

import (
	networkingv1 "k8s.io/api/networking/v1"
)

// Connection is a service this Microservice calls. Each connection gives the pods
// environment variables with the callee's address (CONNECTION_<NAME>_URL, _HOST and
// _PORT) and, where the callee isolates itself (spec.network.ingress: Connections), is
// what admits this service's pods to it.
type Connection struct {
	// service is the name of the called Microservice.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Service string `json:"service"`

	// namespace of the called Microservice; default: this Microservice's namespace.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace,omitempty"`

	// port is the name of the callee's port (one of its spec.ports) this service calls.
	// Default: all of its ports are admitted, and the environment variables describe its
	// first port.
	// +optional
	// +kubebuilder:validation:MaxLength=15
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Port string `json:"port,omitempty"`

	// name of the connection in its environment variables' names: CONNECTION_<NAME>_URL
	// with name uppercased and '-' turned into '_'. Default: service. Names must be
	// unique within spec.connections: set it to call two services of one name (in two
	// namespaces), or two ports of one service.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name,omitempty"`
}

// NetworkMode says which traffic a service's network isolation admits.
// +kubebuilder:validation:Enum=All;Connections
type NetworkMode string

const (
	// NetworkAll admits all traffic: no NetworkPolicy (the default).
	NetworkAll NetworkMode = "All"
	// NetworkConnections admits only what spec.connections declare.
	NetworkConnections NetworkMode = "Connections"
)

// NetworkSpec isolates a service's pods with NetworkPolicies built from connections.
// +kubebuilder:validation:XValidation:rule="!has(self.allowFrom) || size(self.allowFrom) == 0 || self.ingress == 'Connections'",message="spec.network.allowFrom applies only with spec.network.ingress: Connections",fieldPath=".allowFrom"
type NetworkSpec struct {
	// ingress: All (default) admits every caller; Connections admits only the pods of
	// the Microservices whose spec.connections name this one (in any namespace), on the
	// ports they declare, plus the allowFrom peers. kubeship owns a NetworkPolicy with
	// the Microservice's name for it.
	// +optional
	// +kubebuilder:default=All
	Ingress NetworkMode `json:"ingress,omitempty"`

	// allowFrom lists NetworkPolicy peers admitted to every port besides the declared
	// callers, for platform traffic such as an ingress controller or Prometheus. Only
	// with ingress: Connections.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	AllowFrom []networkingv1.NetworkPolicyPeer `json:"allowFrom,omitempty"`

	// egress: All (default) lets the pods call anything; Connections lets them reach
	// only DNS (kube-dns in kube-system), the declared connections and the service's own
	// database. kubeship owns a NetworkPolicy <name>-egress for it.
	// +optional
	// +kubebuilder:default=All
	Egress NetworkMode `json:"egress,omitempty"`
}

// ConnectionStatus is what one of spec.connections resolved to.
type ConnectionStatus struct {
	// name of the connection (its environment variables are CONNECTION_<NAME>_*).
	// +required
	Name string `json:"name"`
	// service is the called Microservice's name.
	// +required
	Service string `json:"service"`
	// namespace is the called Microservice's namespace.
	// +required
	Namespace string `json:"namespace"`
	// resolved is true when the callee exists and has the declared port.
	// +required
	Resolved bool `json:"resolved"`
	// url is the callee's address given to the pods, when resolved.
	// +optional
	URL string `json:"url,omitempty"`
	// reason is CalleeNotFound or PortNotFound when not resolved.
	// +optional
	Reason string `json:"reason,omitempty"`
	// message explains an unresolved connection.
	// +optional
	Message string `json:"message,omitempty"`
}

// ConditionConnectionsResolved is True when every one of spec.connections names an
// existing Microservice and port. It is only present with spec.connections, and never
// holds Ready back: services stay independently deployable.
const ConditionConnectionsResolved = "ConnectionsResolved"

// Reasons of the ConnectionsResolved condition (and of status.connections[].reason).
const (
	// ReasonConnectionsResolved: every connection's callee and port exist.
	ReasonConnectionsResolved = "ConnectionsResolved"
	// ReasonCalleeNotFound: no Microservice of that name exists (yet) in that namespace
	// (or the manager does not watch that namespace).
	ReasonCalleeNotFound = "CalleeNotFound"
	// ReasonPortNotFound: the callee exists but has no port of the declared name.
	ReasonPortNotFound = "PortNotFound"
)
