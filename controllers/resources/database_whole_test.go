package resources

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

func TestDatabaseServiceAndNetworkPolicyWhole(t *testing.T) {
	cases := []struct {
		engine   v1alpha1.DatabaseEngine
		portName string
		port     int32
	}{
		{v1alpha1.EnginePostgres, "postgres", 5432},
		{v1alpha1.EngineMySQL, "mysql", 3306},
	}
	for _, tc := range cases {
		t.Run(string(tc.engine), func(t *testing.T) {
			ms := withDatabase(v1alpha1.DatabaseSpec{Engine: tc.engine})
			databasePods := map[string]string{LabelDatabase: "payments"}
			diffWhole(t, &corev1.Service{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
				ObjectMeta: childMeta("payments-db"),
				Spec: corev1.ServiceSpec{
					ClusterIP: corev1.ClusterIPNone,
					Selector:  databasePods,
					Ports:     []corev1.ServicePort{{Name: tc.portName, Port: tc.port, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromString(tc.portName)}},
				},
			}, DatabaseService(ms))
			diffWhole(t, &networkingv1.NetworkPolicy{
				TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
				ObjectMeta: childMeta("payments-db"),
				Spec: networkingv1.NetworkPolicySpec{
					PodSelector: metav1.LabelSelector{MatchLabels: databasePods},
					PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
					Ingress: []networkingv1.NetworkPolicyIngressRule{{
						From:  []networkingv1.NetworkPolicyPeer{{PodSelector: selectPayments}},
						Ports: []networkingv1.NetworkPolicyPort{{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt32(tc.port))}},
					}},
				},
			}, DatabaseNetworkPolicy(ms))
		})
	}
}
