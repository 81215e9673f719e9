package resources

import (
	"net"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// LabelNamespaceName is the label the API server puts on every namespace with its name;
// policies select callers' namespaces by it.
const LabelNamespaceName = "kubernetes.io/metadata.name"

// egressSuffix ends the name of a Microservice's egress NetworkPolicy.
const egressSuffix = "-egress"

// IngressIsolated tells whether ms admits only its declared callers.
func IngressIsolated(ms *v1alpha1.Microservice) bool {
	return ms.Spec.Network != nil && ms.Spec.Network.Ingress == v1alpha1.NetworkConnections
}

// EgressIsolated tells whether ms's pods may call only their connections.
func EgressIsolated(ms *v1alpha1.Microservice) bool {
	return ms.Spec.Network != nil && ms.Spec.Network.Egress == v1alpha1.NetworkConnections
}

// IngressPolicyName and EgressPolicyName name ms's isolation policies.
func IngressPolicyName(ms *v1alpha1.Microservice) string { return ms.Name }

// EgressPolicyName is <name>-egress.
func EgressPolicyName(ms *v1alpha1.Microservice) string { return ms.Name + egressSuffix }

// IngressNetworkPolicy admits to ms's pods exactly the pods of the callers whose
// connections name ms, each on the ports it declared (all of ms's ports when it named
// none), plus allowFrom on every port. callers are Microservices in any namespace; the
// rules follow their order, so pass them sorted. A caller naming a port ms does not have
// is admitted nowhere.
func IngressNetworkPolicy(ms *v1alpha1.Microservice, callers []*v1alpha1.Microservice) *networkingv1ac.NetworkPolicyApplyConfiguration {
	spec := networkingv1ac.NetworkPolicySpec().
		WithPodSelector(labelSelector(ms)).
		WithPolicyTypes("Ingress")
	for _, caller := range callers {
		ports := callerPorts(ms, caller)
		if len(ports) == 0 {
			continue
		}
		rule := networkingv1ac.NetworkPolicyIngressRule().WithFrom(podsOf(caller.Namespace, caller.Name))
		for _, p := range ports {
			rule.WithPorts(policyPort(p.Protocol, p.Port))
		}
		spec.WithIngress(rule)
	}
	if peers := ms.Spec.Network.AllowFrom; len(peers) > 0 {
		rule := networkingv1ac.NetworkPolicyIngressRule()
		for _, p := range peers {
			rule.WithFrom(convert[networkingv1ac.NetworkPolicyPeerApplyConfiguration](p))
		}
		spec.WithIngress(rule)
	}
	n := networkingv1ac.NetworkPolicy(IngressPolicyName(ms), ms.Namespace).WithSpec(spec)
	n.ObjectMetaApplyConfiguration = objectMeta(ms, IngressPolicyName(ms))
	return n
}

// callerPorts are ms's ports that caller's connections to ms admit, in ms's port order.
func callerPorts(ms, caller *v1alpha1.Microservice) []v1alpha1.ServicePort {
	var names []string
	for _, c := range caller.Spec.Connections {
		if key := CalleeKey(caller, c); key.Namespace != ms.Namespace || key.Name != ms.Name {
			continue
		}
		for _, p := range admittedPorts(ms, c.Port) {
			names = append(names, p.Name)
		}
	}
	var out []v1alpha1.ServicePort
	for _, p := range Ports(ms) {
		if slices.Contains(names, p.Name) {
			out = append(out, p)
		}
	}
	return out
}

// DNSPort is where pods resolve names: kube-dns (CoreDNS) in kube-system.
const DNSPort = 53

// EgressNetworkPolicy lets ms's pods reach only DNS, the resolved targets on their
// admitted ports, and ms's own database: the dedicated database's pods, or the shared
// server's port (at its address when the host is an IP; a host name cannot be expressed
// in a NetworkPolicy, so then the port on any address). server is ms's DatabaseServer
// when its database is shared and the server exists, else nil.
func EgressNetworkPolicy(ms *v1alpha1.Microservice, targets []ConnectionTarget, server *v1alpha1.DatabaseServer) *networkingv1ac.NetworkPolicyApplyConfiguration {
	spec := networkingv1ac.NetworkPolicySpec().
		WithPodSelector(labelSelector(ms)).
		WithPolicyTypes("Egress").
		WithEgress(dnsEgress())
	for _, t := range targets {
		if !t.Resolved() {
			continue
		}
		rule := networkingv1ac.NetworkPolicyEgressRule().WithTo(podsOf(t.Namespace, t.Service))
		for _, p := range t.Ports {
			rule.WithPorts(policyPort(p.Protocol, p.Port))
		}
		spec.WithEgress(rule)
	}
	if rule := databaseEgress(ms, server); rule != nil {
		spec.WithEgress(rule)
	}
	n := networkingv1ac.NetworkPolicy(EgressPolicyName(ms), ms.Namespace).WithSpec(spec)
	n.ObjectMetaApplyConfiguration = objectMeta(ms, EgressPolicyName(ms))
	return n
}

// dnsEgress admits kube-dns (CoreDNS) in kube-system on port 53, UDP and TCP.
func dnsEgress() *networkingv1ac.NetworkPolicyEgressRuleApplyConfiguration {
	return networkingv1ac.NetworkPolicyEgressRule().
		WithTo(networkingv1ac.NetworkPolicyPeer().
			WithNamespaceSelector(metav1LabelSelector(map[string]string{LabelNamespaceName: "kube-system"})).
			WithPodSelector(metav1ac.LabelSelector().WithMatchExpressions(metav1ac.LabelSelectorRequirement().
				WithKey("k8s-app").WithOperator("In").WithValues("kube-dns", "coredns")))).
		WithPorts(policyPort(corev1.ProtocolUDP, DNSPort), policyPort(corev1.ProtocolTCP, DNSPort))
}

// databaseEgress is the rule that lets ms reach its own database, or nil.
func databaseEgress(ms *v1alpha1.Microservice, server *v1alpha1.DatabaseServer) *networkingv1ac.NetworkPolicyEgressRuleApplyConfiguration {
	db := ms.Spec.Database
	switch {
	case db == nil:
		return nil
	case db.Mode != v1alpha1.ModeShared:
		return networkingv1ac.NetworkPolicyEgressRule().
			WithTo(networkingv1ac.NetworkPolicyPeer().WithPodSelector(metav1LabelSelector(DatabaseSelectorLabels(ms)))).
			WithPorts(policyPort(corev1.ProtocolTCP, EnginePort(db.Engine)))
	case server == nil:
		return nil
	}
	rule := networkingv1ac.NetworkPolicyEgressRule().WithPorts(policyPort(corev1.ProtocolTCP, server.Spec.Port))
	if ip := net.ParseIP(server.Spec.Host); ip != nil {
		bits := "/32"
		if ip.To4() == nil {
			bits = "/128"
		}
		rule.WithTo(networkingv1ac.NetworkPolicyPeer().WithIPBlock(networkingv1ac.IPBlock().WithCIDR(ip.String() + bits)))
	}
	return rule
}

// podsOf selects the pods of the Microservice name in namespace ns.
func podsOf(ns, name string) *networkingv1ac.NetworkPolicyPeerApplyConfiguration {
	return networkingv1ac.NetworkPolicyPeer().
		WithNamespaceSelector(metav1LabelSelector(map[string]string{LabelNamespaceName: ns})).
		WithPodSelector(metav1LabelSelector(map[string]string{LabelMicroservice: name}))
}

func policyPort(protocol corev1.Protocol, port int32) *networkingv1ac.NetworkPolicyPortApplyConfiguration {
	return networkingv1ac.NetworkPolicyPort().WithProtocol(protocol).WithPort(intstr.FromInt32(port))
}
