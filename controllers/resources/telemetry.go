package resources

import (
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// OpenTelemetry SDK variables kubeship sets on the app container.
const (
	EnvOTELServiceName        = "OTEL_SERVICE_NAME"
	EnvOTELResourceAttributes = "OTEL_RESOURCE_ATTRIBUTES"
	EnvOTELExporterEndpoint   = "OTEL_EXPORTER_OTLP_ENDPOINT"
	// The downward-API variables OTEL_RESOURCE_ATTRIBUTES refers to, named as the
	// OpenTelemetry Operator names them.
	EnvOTELPodName  = "OTEL_RESOURCE_ATTRIBUTES_POD_NAME"
	EnvOTELPodUID   = "OTEL_RESOURCE_ATTRIBUTES_POD_UID"
	EnvOTELNodeName = "OTEL_RESOURCE_ATTRIBUTES_NODE_NAME"
)

// TelemetryWanted tells whether ms's pods get the trace identity variables: when the
// manager exports to an OTLP endpoint (the platform team's deliberate, fleet-wide
// choice), or when ms uses connections or network isolation (a change of its own spec).
// Other services keep their pod template as it was, so upgrading kubeship rolls no pods.
func TelemetryWanted(ms *v1alpha1.Microservice, endpoint string) bool {
	return endpoint != "" || len(ms.Spec.Connections) > 0 || ms.Spec.Network != nil
}

// TelemetryEnv is ms's trace identity: OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
// (service.*, and k8s.* with the pod's own name, uid and node from the downward API) and,
// when endpoint is set, OTEL_EXPORTER_OTLP_ENDPOINT.
func TelemetryEnv(ms *v1alpha1.Microservice, endpoint string) []corev1.EnvVar {
	attrs := []string{
		"service.name=" + ms.Name,
		"service.namespace=" + ms.Namespace,
	}
	if v := ImageTag(ms.Spec.Image); v != "" {
		attrs = append(attrs, "service.version="+v)
	}
	attrs = append(attrs,
		"k8s.namespace.name="+ms.Namespace,
		"k8s.deployment.name="+ms.Name,
		"k8s.pod.name=$("+EnvOTELPodName+")",
		"k8s.pod.uid=$("+EnvOTELPodUID+")",
		"k8s.node.name=$("+EnvOTELNodeName+")",
	)
	out := []corev1.EnvVar{
		fieldEnv(EnvOTELPodName, "metadata.name"),
		fieldEnv(EnvOTELPodUID, "metadata.uid"),
		fieldEnv(EnvOTELNodeName, "spec.nodeName"),
		{Name: EnvOTELServiceName, Value: ms.Name},
		{Name: EnvOTELResourceAttributes, Value: strings.Join(attrs, ",")},
	}
	if endpoint != "" {
		out = append(out, corev1.EnvVar{Name: EnvOTELExporterEndpoint, Value: endpoint})
	}
	return out
}

func fieldEnv(name, path string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
}

// ImageTag is the tag of an image reference ("1.4.2" in ghcr.io/acme/payments:1.4.2), or
// "" when it has none (a digest only, or no tag: a registry port is not a tag). Tags are
// [A-Za-z0-9_.-], so they need no escaping in OTEL_RESOURCE_ATTRIBUTES.
func ImageTag(image string) string {
	name, _, _ := strings.Cut(image, "@")
	i := strings.LastIndex(name, ":")
	if i < 0 || strings.Contains(name[i+1:], "/") {
		return ""
	}
	return name[i+1:]
}

// PodEnv is everything kubeship adds to ms's app container besides DATABASE_URL: the
// connections' discovery variables, then the trace identity when wanted.
func PodEnv(ms *v1alpha1.Microservice, targets []ConnectionTarget, endpoint string) []corev1.EnvVar {
	out := ConnectionEnv(targets)
	if TelemetryWanted(ms, endpoint) {
		out = append(out, TelemetryEnv(ms, endpoint)...)
	}
	return out
}
