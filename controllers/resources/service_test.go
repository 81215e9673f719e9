package resources

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

func TestService(t *testing.T) {
	service := func(ports ...corev1.ServicePort) *corev1.Service {
		return &corev1.Service{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
			ObjectMeta: childMeta("payments"),
			Spec: corev1.ServiceSpec{
				Type:     corev1.ServiceTypeClusterIP,
				Selector: map[string]string{"apps.kubeship.dev/microservice": "payments"},
				Ports:    ports,
			},
		}
	}
	cases := []struct {
		name  string
		ports []v1alpha1.ServicePort
		want  *corev1.Service
	}{
		{"default port", nil, service(corev1.ServicePort{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("http")})},
		{"one port per spec.ports, TCP unless told", []v1alpha1.ServicePort{{Name: "http", Port: 80}, {Name: "admin", Port: 9000, Protocol: corev1.ProtocolSCTP}}, service(
			corev1.ServicePort{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString("http")},
			corev1.ServicePort{Name: "admin", Port: 9000, Protocol: corev1.ProtocolSCTP, TargetPort: intstr.FromString("admin")},
		)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			diffWhole(t, tc.want, Service(microservice(func(ms *v1alpha1.Microservice) { ms.Spec.Ports = tc.ports })))
		})
	}
}

func TestURLAndSelector(t *testing.T) {
	ms := microservice(func(ms *v1alpha1.Microservice) { ms.Spec.Ports = []v1alpha1.ServicePort{{Name: "web", Port: 3000}} })
	if got := URL(ms); got != "http://payments.shop.svc.cluster.local:3000" {
		t.Fatalf("URL %s", got)
	}
	if got := Selector(ms); got != "apps.kubeship.dev/microservice=payments" {
		t.Fatalf("selector %s", got)
	}
}
