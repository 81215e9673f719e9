package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// MicroserviceSpec describes one microservice: the container it runs, how it scales,
// and the database it owns.
// +kubebuilder:validation:XValidation:rule="!(has(self.replicas) && has(self.scaling))",message="spec.replicas and spec.scaling are mutually exclusive: remove spec.replicas to let the autoscaler own the replica count",fieldPath=".replicas"
// +kubebuilder:validation:XValidation:rule="!has(self.routes) || self.routes.all(r, has(self.ports) && size(self.ports) > 0 ? (has(r.port) ? self.ports.exists(p, p.name == r.port && p.protocol == 'TCP') : self.ports[0].protocol == 'TCP') : (!has(r.port) || r.port == 'http'))",message="spec.routes[].port must name a TCP port of spec.ports (default: the first port; without spec.ports the port is called http)",fieldPath=".routes"
// +kubebuilder:validation:XValidation:rule="!has(self.readyRequiresRoutes) || !self.readyRequiresRoutes || has(self.routes)",message="spec.readyRequiresRoutes needs spec.routes",fieldPath=".readyRequiresRoutes"
type MicroserviceSpec struct {
	// image is the container image to run, e.g. ghcr.io/acme/payments:1.4.2.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:Pattern=`^\S+$`
	Image string `json:"image"`

	// command overrides the image's entrypoint.
	// +optional
	// +listType=atomic
	Command []string `json:"command,omitempty"`

	// args are the arguments passed to the entrypoint.
	// +optional
	// +listType=atomic
	Args []string `json:"args,omitempty"`

	// ports the service listens on. Each becomes a container port and a port of the
	// ClusterIP Service. When absent, one port {name: http, port: 8080} is used.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	Ports []ServicePort `json:"ports,omitempty"`

	// env lists environment variables for the container.
	// +optional
	// +listType=atomic
	Env []corev1.EnvVar `json:"env,omitempty"`

	// envFrom lists sources (ConfigMaps, Secrets) to populate the container's environment.
	// +optional
	// +listType=atomic
	EnvFrom []corev1.EnvFromSource `json:"envFrom,omitempty"`

	// resources are the container's compute resource requests and limits. The
	// autoscaler's utilization targets are relative to the requests.
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`

	// livenessProbe restarts the container when it fails.
	// +optional
	LivenessProbe *corev1.Probe `json:"livenessProbe,omitempty"`

	// readinessProbe removes the pod from the Service while it fails.
	// +optional
	ReadinessProbe *corev1.Probe `json:"readinessProbe,omitempty"`

	// startupProbe holds off the other probes until the container has started.
	// +optional
	StartupProbe *corev1.Probe `json:"startupProbe,omitempty"`

	// serviceAccountName is the ServiceAccount the pods run as; empty means the
	// namespace's default.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// replicas is the fixed number of pods. Absent means 1, unless scaling is set, in
	// which case the HorizontalPodAutoscaler owns the count and replicas must be absent.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Replicas *int32 `json:"replicas,omitempty"`

	// scaling turns on a HorizontalPodAutoscaler for the service.
	// +optional
	Scaling *ScalingSpec `json:"scaling,omitempty"`

	// database gives the service a database of its own.
	// +optional
	Database *DatabaseSpec `json:"database,omitempty"`

	// disruptionBudget tunes the PodDisruptionBudget created when the service runs at
	// least two replicas.
	// +optional
	DisruptionBudget *DisruptionBudgetSpec `json:"disruptionBudget,omitempty"`

	// securityContext replaces the pod-level security context. By default pods get the
	// Pod Security Standards restricted profile (runAsNonRoot, seccomp RuntimeDefault);
	// set this for images that need something else. Container-level hardening (no
	// privilege escalation, all capabilities dropped) always applies.
	// +optional
	SecurityContext *corev1.PodSecurityContext `json:"securityContext,omitempty"`

	// migration is a schema migration run as a Job before each new version rolls out:
	// when the image or the migration changes, the Deployment keeps its previous pod
	// template until the migration Job succeeded. See docs/migrations.md.
	// +optional
	Migration *MigrationSpec `json:"migration,omitempty"`
	// routes expose the service outside the cluster, by host and path prefix: all
	// through one Gateway (gatewayRef: one Gateway API HTTPRoute named like the
	// service) or all through one Ingress controller (ingressClassName: one Ingress
	// named like the service). The Routed condition reports whether they are served.
	// +optional
	// +listType=map
	// +listMapKey=host
	// +listMapKey=path
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:XValidation:rule="self.all(r, has(r.gatewayRef)) || self.all(r, has(r.ingressClassName))",message="spec.routes: use one kind per service: either every route has gatewayRef (an HTTPRoute) or every route has ingressClassName (an Ingress)"
	// +kubebuilder:validation:XValidation:rule="self.all(r, !has(r.gatewayRef) || (has(self[0].gatewayRef) && r.gatewayRef == self[0].gatewayRef))",message="spec.routes: every route names the same gatewayRef (together they make one HTTPRoute)"
	// +kubebuilder:validation:XValidation:rule="self.all(r, !has(r.ingressClassName) || (has(self[0].ingressClassName) && r.ingressClassName == self[0].ingressClassName))",message="spec.routes: every route names the same ingressClassName (together they make one Ingress)"
	// +kubebuilder:validation:XValidation:rule="!has(self[0].gatewayRef) || self.all(a, self.all(b, self.exists(c, c.host == a.host && c.path == b.path && (has(c.port) ? c.port : '') == (has(b.port) ? b.port : ''))))",message="spec.routes: routes with gatewayRef make one HTTPRoute, whose hostnames apply to all of its paths: every host must list the same paths (with the same ports)"
	// +kubebuilder:validation:XValidation:rule="self.all(a, self.all(b, a.host != b.host || (has(a.tls) ? (has(b.tls) && a.tls.secretName == b.tls.secretName) : !has(b.tls))))",message="spec.routes: routes of one host share one tls setting (TLS is per host)"
	Routes []Route `json:"routes,omitempty"`

	// readyRequiresRoutes makes Ready wait for the Routed condition: the service is
	// Ready only once every route is served. By default (false) routes are reported by
	// Routed alone and do not hold back Ready.
	// +optional
	ReadyRequiresRoutes bool `json:"readyRequiresRoutes,omitempty"`
	// connections lists the services this one calls; see Connection.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:XValidation:rule="self.all(c, self.filter(d, (has(d.name) ? d.name : d.service) == (has(c.name) ? c.name : c.service)).size() == 1)",message="spec.connections: two connections have the same name (name, else service), so their CONNECTION_<NAME>_* variables would collide; set a distinct name on one"
	Connections []Connection `json:"connections,omitempty"`

	// network isolates the service's pods with NetworkPolicies built from connections.
	// +optional
	Network *NetworkSpec `json:"network,omitempty"`
}

// ServicePort is a port the service listens on.
type ServicePort struct {
	// name of the port, unique within the service; an IANA service name (DNS label).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=15
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// port number, 1 to 65535; the container listens on it and the Service exposes it.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port"`

	// protocol of the port: TCP (default), UDP or SCTP.
	// +optional
	// +kubebuilder:default=TCP
	// +kubebuilder:validation:Enum=TCP;UDP;SCTP
	Protocol corev1.Protocol `json:"protocol,omitempty"`
}

// DisruptionBudgetSpec tunes the service's PodDisruptionBudget.
type DisruptionBudgetSpec struct {
	// maxUnavailable is how many pods (a number, or a percentage such as "25%") a
	// voluntary disruption such as a node drain may take down at once. Default 1.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:XIntOrString
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`
}

// MicroserviceStatus is the observed state of a Microservice.
type MicroserviceStatus struct {
	// observedGeneration is the metadata.generation this status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready, Available, DatabaseReady (with a database), ScalingActive
	// (with scaling), MigrationSucceeded (with a migration; Reconciling or Stalled while
	// a migration runs or after it failed) and Routed (with routes).
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// replicas is the Deployment's status.replicas: pods that exist, of any revision.
	// +optional
	Replicas int32 `json:"replicas,omitempty"`

	// readyReplicas is the number of pods that are ready.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`

	// updatedReplicas is the number of pods running the current revision.
	// +optional
	UpdatedReplicas int32 `json:"updatedReplicas,omitempty"`

	// selector is the label selector of the service's pods, in string form; the
	// scale subresource reports it.
	// +optional
	Selector string `json:"selector,omitempty"`

	// url is the service's address. With spec.routes it is the external URL of the
	// first route (e.g. https://shop.example.com/api) once that route is served
	// (Routed); otherwise it is the in-cluster address of the first port,
	// http://<name>.<namespace>.svc.cluster.local:<port>, which the Service always
	// answers on.
	// +optional
	URL string `json:"url,omitempty"`

	// database describes how to reach the service's database.
	// +optional
	Database *DatabaseStatus `json:"database,omitempty"`

	// migration records the last migration that succeeded (with spec.migration).
	// +optional
	Migration *MigrationStatus `json:"migration,omitempty"`
	// connections reports what each of spec.connections resolved to.
	// +optional
	// +listType=map
	// +listMapKey=name
	Connections []ConnectionStatus `json:"connections,omitempty"`
}

// DatabaseStatus tells where the service's database lives.
type DatabaseStatus struct {
	// secretName is the Secret holding the credentials (keys host, port, database,
	// username, password, uri).
	// +optional
	SecretName string `json:"secretName,omitempty"`
	// host is the database server's address.
	// +optional
	Host string `json:"host,omitempty"`
	// name is the database's name on its server.
	// +optional
	Name string `json:"name,omitempty"`
	// provisioned records what kubeship created for this Microservice on a shared
	// DatabaseServer, once it succeeded. Only what is recorded here is ever dropped.
	// +optional
	Provisioned *ProvisionedDatabase `json:"provisioned,omitempty"`
}

// ProvisionedDatabase is a database and login role kubeship created on a DatabaseServer.
type ProvisionedDatabase struct {
	// server is the DatabaseServer's name.
	// +required
	Server string `json:"server"`
	// serverUID is the DatabaseServer's metadata.uid when the database was created; a
	// DatabaseServer recreated under the same name is another server.
	// +required
	ServerUID string `json:"serverUID"`
	// database is the database's name on the server.
	// +required
	Database string `json:"database"`
	// role is the login role's (MySQL: user's) name on the server.
	// +required
	Role string `json:"role"`
}

// Microservice is one independently deployable service: its container, its scaling
// policy and its own database. The operator creates and maintains a Deployment, a
// Service, and when asked a HorizontalPodAutoscaler, a PodDisruptionBudget and a database.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.replicas,selectorpath=.status.selector
// +kubebuilder:resource:shortName=ms;msvc,categories=kubeship
// +kubebuilder:printcolumn:name="Image",type=string,JSONPath=`.spec.image`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Replicas",type=integer,JSONPath=`.status.replicas`
// +kubebuilder:printcolumn:name="Database",type=string,JSONPath=`.spec.database.engine`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.status.url`,priority=1
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 50",message="metadata.name must be at most 50 characters: child objects add suffixes to it"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must be a DNS label (lowercase letters, digits and '-', no dots): it names the Service and the Deployment"
type Microservice struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec describes the desired service.
	// +required
	Spec MicroserviceSpec `json:"spec"`

	// status is the observed state, written by the operator. Until the operator first
	// reports, it reads observedGeneration 0 (a schema default): behind metadata.generation,
	// so kstatus-based tools see the new service as InProgress, not Current.
	// +optional
	// +kubebuilder:default={observedGeneration: 0}
	Status MicroserviceStatus `json:"status,omitempty"`
}

// MicroserviceList is a list of Microservices.
// +kubebuilder:object:root=true
type MicroserviceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Microservice `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Microservice{}, &MicroserviceList{})
}
