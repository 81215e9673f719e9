package resources

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

func metaOf(name, ns string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID("uid-" + name)}
}

func caller(name, ns string, conns ...v1alpha1.Connection) *v1alpha1.Microservice {
	ms := shopCallee(name, ns)
	ms.Spec.Connections = conns
	return ms
}

func peerOf(ns, name string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}},
		PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"apps.kubeship.dev/microservice": name}},
	}
}

func portOf(protocol corev1.Protocol, port int) networkingv1.NetworkPolicyPort {
	return networkingv1.NetworkPolicyPort{Protocol: ptr.To(protocol), Port: ptr.To(intstr.FromInt(port))}
}

func policy(name string, spec networkingv1.NetworkPolicySpec) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: childMeta(name),
		Spec:       spec,
	}
}

func TestIngressNetworkPolicyWhole(t *testing.T) {
	isolated := func(mutate func(*v1alpha1.Microservice)) *v1alpha1.Microservice {
		return microservice(func(ms *v1alpha1.Microservice) {
			ms.Spec.Ports = []v1alpha1.ServicePort{{Name: "http", Port: 8080}, {Name: "metrics", Port: 9100}, {Name: "dns", Port: 53, Protocol: corev1.ProtocolUDP}}
			ms.Spec.Network = &v1alpha1.NetworkSpec{Ingress: v1alpha1.NetworkConnections}
			if mutate != nil {
				mutate(ms)
			}
		})
	}
	prometheus := networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "monitoring"}}}
	cases := []struct {
		name    string
		ms      *v1alpha1.Microservice
		callers []*v1alpha1.Microservice
		want    []networkingv1.NetworkPolicyIngressRule
	}{
		{name: "no callers: nothing admitted", ms: isolated(nil)},
		{name: "callers in the own and another namespace, on declared ports", ms: isolated(nil), callers: []*v1alpha1.Microservice{
			caller("orders", "shop", v1alpha1.Connection{Service: "payments", Port: "http"}),
			caller("refunds", "backoffice", v1alpha1.Connection{Service: "payments", Namespace: "shop"}),
		}, want: []networkingv1.NetworkPolicyIngressRule{
			{From: []networkingv1.NetworkPolicyPeer{peerOf("shop", "orders")}, Ports: []networkingv1.NetworkPolicyPort{portOf(corev1.ProtocolTCP, 8080)}},
			{From: []networkingv1.NetworkPolicyPeer{peerOf("backoffice", "refunds")}, Ports: []networkingv1.NetworkPolicyPort{
				portOf(corev1.ProtocolTCP, 8080), portOf(corev1.ProtocolTCP, 9100), portOf(corev1.ProtocolUDP, 53)}},
		}},
		{name: "a second team's caller naming another namespace's payments, or a port payments lacks, is not admitted", ms: isolated(nil), callers: []*v1alpha1.Microservice{
			caller("intruder", "team-b", v1alpha1.Connection{Service: "payments"}), // means team-b/payments
			caller("typo", "shop", v1alpha1.Connection{Service: "payments", Port: "grpc"}),
			caller("both", "shop", v1alpha1.Connection{Service: "payments", Port: "metrics"}, v1alpha1.Connection{Service: "payments", Port: "http", Name: "p2"}),
		}, want: []networkingv1.NetworkPolicyIngressRule{
			{From: []networkingv1.NetworkPolicyPeer{peerOf("shop", "both")}, Ports: []networkingv1.NetworkPolicyPort{portOf(corev1.ProtocolTCP, 8080), portOf(corev1.ProtocolTCP, 9100)}},
		}},
		{name: "allowFrom on every port", ms: isolated(func(ms *v1alpha1.Microservice) {
			ms.Spec.Network.AllowFrom = []networkingv1.NetworkPolicyPeer{prometheus}
		}), want: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{prometheus}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			diffWhole(t, policy("payments", networkingv1.NetworkPolicySpec{
				PodSelector: *selectPayments,
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
				Ingress:     tc.want,
			}), IngressNetworkPolicy(tc.ms, tc.callers))
		})
	}
}

func TestEgressNetworkPolicyWhole(t *testing.T) {
	dns := networkingv1.NetworkPolicyEgressRule{
		To: []networkingv1.NetworkPolicyPeer{{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "kube-system"}},
			PodSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "k8s-app", Operator: metav1.LabelSelectorOpIn, Values: []string{"kube-dns", "coredns"}}}},
		}},
		Ports: []networkingv1.NetworkPolicyPort{portOf(corev1.ProtocolUDP, 53), portOf(corev1.ProtocolTCP, 53)},
	}
	ledger := ConnectionTarget{Name: "ledger", Service: "ledger", Namespace: "finance",
		Ports: []v1alpha1.ServicePort{{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}, {Name: "grpc", Port: 9090, Protocol: corev1.ProtocolTCP}}}
	missing := ConnectionTarget{Name: "stock", Service: "stock", Namespace: "shop", Reason: v1alpha1.ReasonCalleeNotFound}
	ledgerRule := networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{peerOf("finance", "ledger")},
		Ports: []networkingv1.NetworkPolicyPort{portOf(corev1.ProtocolTCP, 8080), portOf(corev1.ProtocolTCP, 9090)}}
	server := func(host string, port int32) *v1alpha1.DatabaseServer {
		return &v1alpha1.DatabaseServer{Spec: v1alpha1.DatabaseServerSpec{Engine: v1alpha1.EnginePostgres, Host: host, Port: port}}
	}
	shared := &v1alpha1.DatabaseSpec{Engine: v1alpha1.EnginePostgres, Mode: v1alpha1.ModeShared, ServerRef: &v1alpha1.ServerReference{Name: "pg"}}
	cases := []struct {
		name    string
		db      *v1alpha1.DatabaseSpec
		targets []ConnectionTarget
		server  *v1alpha1.DatabaseServer
		want    []networkingv1.NetworkPolicyEgressRule
	}{
		{name: "nothing declared: DNS only", want: []networkingv1.NetworkPolicyEgressRule{dns}},
		{name: "resolved callees on their ports; an unresolved one stays closed", targets: []ConnectionTarget{missing, ledger},
			want: []networkingv1.NetworkPolicyEgressRule{dns, ledgerRule}},
		{name: "dedicated database: its pods on its port", db: &v1alpha1.DatabaseSpec{Engine: v1alpha1.EngineMySQL},
			want: []networkingv1.NetworkPolicyEgressRule{dns, {
				To:    []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"apps.kubeship.dev/database": "payments"}}}},
				Ports: []networkingv1.NetworkPolicyPort{portOf(corev1.ProtocolTCP, 3306)},
			}}},
		{name: "shared server at an IPv4 address", db: shared, server: server("10.0.0.7", 5432),
			want: []networkingv1.NetworkPolicyEgressRule{dns, {
				To:    []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.7/32"}}},
				Ports: []networkingv1.NetworkPolicyPort{portOf(corev1.ProtocolTCP, 5432)},
			}}},
		{name: "shared server at an IPv6 address", db: shared, server: server("fd00::7", 5433),
			want: []networkingv1.NetworkPolicyEgressRule{dns, {
				To:    []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "fd00::7/128"}}},
				Ports: []networkingv1.NetworkPolicyPort{portOf(corev1.ProtocolTCP, 5433)},
			}}},
		{name: "shared server by host name: its port on any address", db: shared, server: server("pg.databases.svc.cluster.local", 5432),
			want: []networkingv1.NetworkPolicyEgressRule{dns, {Ports: []networkingv1.NetworkPolicyPort{portOf(corev1.ProtocolTCP, 5432)}}}},
		{name: "shared server missing: no database rule", db: shared, want: []networkingv1.NetworkPolicyEgressRule{dns}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ms := microservice(func(ms *v1alpha1.Microservice) {
				ms.Spec.Database = tc.db
				ms.Spec.Network = &v1alpha1.NetworkSpec{Egress: v1alpha1.NetworkConnections}
			})
			diffWhole(t, policy("payments-egress", networkingv1.NetworkPolicySpec{
				PodSelector: *selectPayments,
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
				Egress:      tc.want,
			}), EgressNetworkPolicy(ms, tc.targets, tc.server))
		})
	}
}

// TestDatabaseNetworkPolicyEgressIsolated: with egress isolation the dedicated
// database's pods may call only DNS; without it the policy is as it always was.
func TestDatabaseNetworkPolicyEgressIsolated(t *testing.T) {
	ms := withDatabase(v1alpha1.DatabaseSpec{Engine: v1alpha1.EnginePostgres})
	plain := typed[networkingv1.NetworkPolicy](t, DatabaseNetworkPolicy(ms))
	ms.Spec.Network = &v1alpha1.NetworkSpec{Egress: v1alpha1.NetworkConnections}
	want := plain.DeepCopy()
	want.Spec.PolicyTypes = append(want.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
	want.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{*typed[networkingv1.NetworkPolicyEgressRule](t, dnsEgress())}
	diffWhole(t, want, DatabaseNetworkPolicy(ms))
	if len(plain.Spec.PolicyTypes) != 1 || plain.Spec.Egress != nil {
		t.Errorf("without spec.network the database policy changed: %+v", plain.Spec)
	}
}
