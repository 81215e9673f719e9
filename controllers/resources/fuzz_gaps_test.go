package resources

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// TestCRDGaps pins what FuzzBuilders found: specs the CRD admits whose children the API
// server refuses. crdGaps must name each, or FuzzBuilders would either fail on them or skip
// a check it should run. When the CRD learns one of these rules, its case here turns false
// and the exemption can go.
func TestCRDGaps(t *testing.T) {
	t.Parallel()
	ms := func(name string, ports []v1alpha1.ServicePort, env ...string) *v1alpha1.Microservice {
		m := &v1alpha1.Microservice{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}}
		m.Spec.Ports = ports
		for _, e := range env {
			m.Spec.Env = append(m.Spec.Env, corev1.EnvVar{Name: e})
		}
		return m
	}
	tests := []struct {
		what string
		ms   *v1alpha1.Microservice
		want gaps
	}{
		{"plain", ms("api", nil, "A"), gaps{}},
		{"a dot in the name", ms("api.v1", nil), gaps{serviceName: true}},
		{"a leading digit", ms("1api", nil), gaps{serviceName: true}},
		{"a numeric port name", ms("api", []v1alpha1.ServicePort{{Name: "8080", Port: 8080}}), gaps{portName: true}},
		{"a double dash in a port name", ms("api", []v1alpha1.ServicePort{{Name: "a--b", Port: 1}}), gaps{portName: true}},
		{"one number twice", ms("api", []v1alpha1.ServicePort{{Name: "a", Port: 80}, {Name: "b", Port: 80}}), gaps{portNumber: true}},
		{"one number, two protocols", ms("api", []v1alpha1.ServicePort{{Name: "a", Port: 53}, {Name: "b", Port: 53, Protocol: corev1.ProtocolUDP}}), gaps{}},
		{"= in an env name", ms("api", nil, "A=B"), gaps{envName: true}},
		{"non-ASCII env name", ms("api", nil, "é"), gaps{envName: true}},
	}
	for _, tc := range tests {
		if got := crdGaps(tc.ms); got != tc.want {
			t.Errorf("%s: crdGaps = %+v, want %+v", tc.what, got, tc.want)
		}
	}
}
