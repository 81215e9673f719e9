package resources

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// DefaultPort is the port a Microservice without spec.ports listens on.
var DefaultPort = v1alpha1.ServicePort{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}

// Ports returns the ports ms listens on, with defaults filled in.
func Ports(ms *v1alpha1.Microservice) []v1alpha1.ServicePort {
	if len(ms.Spec.Ports) == 0 {
		return []v1alpha1.ServicePort{DefaultPort}
	}
	ports := make([]v1alpha1.ServicePort, len(ms.Spec.Ports))
	for i, p := range ms.Spec.Ports {
		if p.Protocol == "" {
			p.Protocol = corev1.ProtocolTCP
		}
		ports[i] = p
	}
	return ports
}

// Replicas returns the replica count kubeship writes to the Deployment, or nil when
// the HorizontalPodAutoscaler owns it.
func Replicas(ms *v1alpha1.Microservice) *int32 {
	if ms.Spec.Scaling != nil {
		return nil
	}
	return ptr.To(ptr.Deref(ms.Spec.Replicas, 1))
}

// MinReplicas is the lowest replica count ms runs at in steady state: the autoscaler's
// minimum, or the fixed count.
func MinReplicas(ms *v1alpha1.Microservice) int32 {
	if s := ms.Spec.Scaling; s != nil {
		return ptr.Deref(s.MinReplicas, 1)
	}
	return *Replicas(ms)
}

// URL is the in-cluster address of ms's first port.
func URL(ms *v1alpha1.Microservice) string {
	return fmt.Sprintf("http://%s.%s.svc.cluster.local:%d", ms.Name, ms.Namespace, Ports(ms)[0].Port)
}
