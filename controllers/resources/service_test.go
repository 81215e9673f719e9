package resources

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

func TestService(t *testing.T) {
	cases := []struct {
		name      string
		ports     []v1alpha1.ServicePort
		wantNames []string
		wantPorts []int32
	}{
		{"default port", nil, []string{"http"}, []int32{8080}},
		{"one port per spec.ports", []v1alpha1.ServicePort{{Name: "http", Port: 80}, {Name: "admin", Port: 9000, Protocol: corev1.ProtocolSCTP}}, []string{"http", "admin"}, []int32{80, 9000}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := Service(microservice(func(ms *v1alpha1.Microservice) { ms.Spec.Ports = tc.ports }))
			if *s.Spec.Type != corev1.ServiceTypeClusterIP {
				t.Fatalf("type %v", *s.Spec.Type)
			}
			assertMap(t, "selector", s.Spec.Selector, map[string]string{LabelMicroservice: "payments"})
			if len(s.Spec.Ports) != len(tc.wantNames) {
				t.Fatalf("ports %+v", s.Spec.Ports)
			}
			for i, p := range s.Spec.Ports {
				if *p.Name != tc.wantNames[i] || *p.Port != tc.wantPorts[i] || p.TargetPort.StrVal != tc.wantNames[i] {
					t.Fatalf("port %d = %+v", i, p)
				}
			}
			if *s.OwnerReferences[0].UID != "uid-1" {
				t.Fatal("no owner reference")
			}
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
