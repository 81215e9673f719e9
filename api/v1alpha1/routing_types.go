package v1alpha1

// Route exposes one host and path prefix of the service outside the cluster, through a
// Gateway API Gateway (gatewayRef: kubeship writes an HTTPRoute) or an Ingress
// controller (ingressClassName: kubeship writes a networking.k8s.io/v1 Ingress).
// +kubebuilder:validation:XValidation:rule="has(self.gatewayRef) != has(self.ingressClassName)",message="set exactly one of gatewayRef (a Gateway API HTTPRoute) and ingressClassName (an Ingress)"
// +kubebuilder:validation:XValidation:rule="!has(self.tls) || has(self.ingressClassName)",message="tls is for Ingress routes (ingressClassName); with gatewayRef, TLS is set on the Gateway's listener"
type Route struct {
	// host is the DNS name clients use, e.g. shop.example.com. Lowercase, no wildcard,
	// no IP address. A host and path are served by one Microservice only: when two
	// claim the same, the older one keeps it and both report RouteConflict.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +kubebuilder:validation:XValidation:rule="!self.matches('^[0-9]+([.][0-9]+){3}$')",message="host must be a DNS name, not an IP address"
	Host string `json:"host"`

	// path is the URL path prefix routed to the service, matched by whole path
	// segments (/api matches /api and /api/orders, not /apis). Default "/". It starts
	// with "/" and has no trailing "/", empty segments, "." or ".." segments, or %2F.
	// +optional
	// +kubebuilder:default="/"
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^(/|(/[-A-Za-z0-9._~!$&'()*+,;=:@%]+)+)$`
	// +kubebuilder:validation:XValidation:rule="!self.matches('(^|/)[.][.]?(/|$)')",message="path must not contain '.' or '..' segments"
	// +kubebuilder:validation:XValidation:rule="!self.contains('%2f') && !self.contains('%2F')",message="path must not contain an encoded slash (%2F)"
	Path string `json:"path,omitempty"`

	// port is the name of the spec.ports entry (a TCP port) traffic goes to. Default:
	// the first port.
	// +optional
	// +kubebuilder:validation:MaxLength=15
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Port string `json:"port,omitempty"`

	// gatewayRef is the Gateway API Gateway the route attaches to. All routes of a
	// service name the same Gateway: they make one HTTPRoute named like the service.
	// +optional
	GatewayRef *GatewayRef `json:"gatewayRef,omitempty"`

	// ingressClassName is the IngressClass of the Ingress controller that serves the
	// route. All routes of a service name the same class: they make one Ingress named
	// like the service.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	IngressClassName *string `json:"ingressClassName,omitempty"`

	// tls terminates TLS for the host on the Ingress controller (Ingress routes only).
	// +optional
	TLS *RouteTLS `json:"tls,omitempty"`
}

// GatewayRef names a Gateway API Gateway and optionally one of its listeners.
type GatewayRef struct {
	// name of the Gateway.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// namespace of the Gateway; default the Microservice's namespace. The Gateway's
	// listeners must allow routes from the Microservice's namespace.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Namespace string `json:"namespace,omitempty"`

	// sectionName is the name of the Gateway listener to attach to; default every
	// listener that accepts the route.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	SectionName string `json:"sectionName,omitempty"`
}

// RouteTLS is TLS termination on the Ingress controller.
type RouteTLS struct {
	// secretName is the kubernetes.io/tls Secret, in the Microservice's namespace,
	// holding the host's certificate and key.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	SecretName string `json:"secretName"`
}
