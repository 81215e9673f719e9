package resources

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// Service returns the ClusterIP Service in front of ms's pods, one port per spec.ports.
func Service(ms *v1alpha1.Microservice) *corev1ac.ServiceApplyConfiguration {
	spec := corev1ac.ServiceSpec().
		WithType(corev1.ServiceTypeClusterIP).
		WithSelector(SelectorLabels(ms))
	for _, p := range Ports(ms) {
		spec.WithPorts(corev1ac.ServicePort().
			WithName(p.Name).
			WithPort(p.Port).
			WithProtocol(p.Protocol).
			WithTargetPort(intstr.FromString(p.Name)))
	}
	s := corev1ac.Service(ms.Name, ms.Namespace).WithSpec(spec)
	s.ObjectMetaApplyConfiguration = objectMeta(ms, ms.Name)
	return s
}
