package netpol

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mattfenwick/cyclonus/pkg/matcher"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

// pod is one pod of the small shop and the ports it listens on.
type pod struct {
	name, namespace string
	labels          map[string]string
	ports           []port
}

type port struct {
	name     string
	number   int
	protocol corev1.Protocol
}

// path is one source pod calling one destination pod on one port, as "src -> dst:port".
type path string

func pathOf(src, dst pod, p port) path {
	return path(fmt.Sprintf("%s -> %s:%s/%s", src.name, dst.name, p.name, p.protocol))
}

// shop is the small shop: frontend -> orders -> payments, orders with a dedicated
// PostgreSQL, all three isolated both ways; the ingress controller may reach frontend
// (allowFrom). It returns the Microservices as the cluster would hold them.
func shop() []*v1alpha1.Microservice {
	isolated := func(name string, conns ...v1alpha1.Connection) *v1alpha1.Microservice {
		return &v1alpha1.Microservice{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", UID: types.UID("uid-" + name)},
			Spec: v1alpha1.MicroserviceSpec{
				Image:       "ghcr.io/acme/" + name + ":1.0",
				Connections: conns,
				Network:     &v1alpha1.NetworkSpec{Ingress: v1alpha1.NetworkConnections, Egress: v1alpha1.NetworkConnections},
			},
		}
	}
	frontend := isolated("frontend", v1alpha1.Connection{Service: "orders"})
	frontend.Spec.Network.AllowFrom = []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{
		MatchLabels: map[string]string{resources.LabelNamespaceName: "ingress-nginx"}}}}
	orders := isolated("orders", v1alpha1.Connection{Service: "payments", Port: "http"})
	orders.Spec.Database = &v1alpha1.DatabaseSpec{Engine: v1alpha1.EnginePostgres}
	payments := isolated("payments")
	return []*v1alpha1.Microservice{frontend, orders, payments}
}

// pods are the shop's pods, labelled as kubeship labels them, and their neighbours.
func pods(fleet []*v1alpha1.Microservice) []pod {
	http := port{"http", 8080, corev1.ProtocolTCP}
	out := []pod{}
	for _, ms := range fleet {
		out = append(out, pod{ms.Name, ms.Namespace, resources.Labels(ms), []port{http}})
		if ms.Spec.Database != nil {
			// The dedicated database's pod template labels (see DatabaseStatefulSet).
			sts := typed[struct {
				Spec struct {
					Template corev1.PodTemplateSpec `json:"template"`
				} `json:"spec"`
			}](resources.DatabaseStatefulSet(ms, resources.DatabaseStorage(ms.Spec.Database)))
			out = append(out, pod{ms.Name + "-db", ms.Namespace, sts.Spec.Template.Labels, []port{{"postgres", 5432, corev1.ProtocolTCP}}})
		}
	}
	return append(out,
		pod{"ingress-nginx", "ingress-nginx", map[string]string{"app.kubernetes.io/name": "ingress-nginx"}, []port{{"https", 443, corev1.ProtocolTCP}}},
		pod{"coredns", "kube-system", map[string]string{"k8s-app": "kube-dns"}, []port{{"dns", 53, corev1.ProtocolUDP}, {"dns-tcp", 53, corev1.ProtocolTCP}}},
		pod{"stranger", "team-b", map[string]string{"app": "stranger"}, []port{http}},
	)
}

// policies are every NetworkPolicy kubeship builds for fleet, with its own builders
// and the fan-in the controller computes (callers found by their connections).
func policies(fleet []*v1alpha1.Microservice) []*networkingv1.NetworkPolicy {
	byKey := map[types.NamespacedName]*v1alpha1.Microservice{}
	for _, ms := range fleet {
		byKey[types.NamespacedName{Namespace: ms.Namespace, Name: ms.Name}] = ms
	}
	var out []*networkingv1.NetworkPolicy
	for _, ms := range fleet {
		if resources.IngressIsolated(ms) {
			var callers []*v1alpha1.Microservice
			for _, c := range fleet {
				for _, conn := range c.Spec.Connections {
					if resources.CalleeKey(c, conn) == (types.NamespacedName{Namespace: ms.Namespace, Name: ms.Name}) && !slices.Contains(callers, c) {
						callers = append(callers, c)
					}
				}
			}
			out = append(out, typed[networkingv1.NetworkPolicy](resources.IngressNetworkPolicy(ms, callers)))
		}
		if resources.EgressIsolated(ms) {
			out = append(out, typed[networkingv1.NetworkPolicy](resources.EgressNetworkPolicy(ms, resources.ResolveConnections(ms, byKey), nil)))
		}
		if ms.Spec.Database != nil {
			out = append(out, typed[networkingv1.NetworkPolicy](resources.DatabaseNetworkPolicy(ms)))
		}
	}
	return out
}

// truthTable evaluates every pod-to-pod path of the shop: each source pod to each other
// pod on each of its ports. It returns the open paths and the table, one row per source.
func truthTable(fleet []*v1alpha1.Microservice) ([]path, string) {
	policy := matcher.BuildNetworkPolicies(true, policies(fleet))
	all := pods(fleet)
	var open []path
	var b strings.Builder
	var header []string
	for _, dst := range all {
		for _, p := range dst.ports {
			header = append(header, fmt.Sprintf("%s:%d/%s", dst.name, p.number, p.protocol))
		}
	}
	fmt.Fprintf(&b, "%-14s %s\n", "from \\ to", strings.Join(header, " "))
	for _, src := range all {
		var cells []string
		for _, dst := range all {
			for _, p := range dst.ports {
				cell := "-"
				if src.name != dst.name {
					allowed := policy.IsTrafficAllowed(&matcher.Traffic{
						Source:       peer(src, "192.0.2.10"),
						Destination:  peer(dst, "192.0.2.20"),
						ResolvedPort: p.number, ResolvedPortName: p.name, Protocol: p.protocol,
					}).IsAllowed()
					cell = "."
					if allowed {
						cell = "OPEN"
						open = append(open, pathOf(src, dst, p))
					}
				}
				cells = append(cells, fmt.Sprintf("%-*s", len(fmt.Sprintf("%s:%d/%s", dst.name, p.number, p.protocol)), cell))
			}
		}
		fmt.Fprintf(&b, "%-14s %s\n", src.name, strings.Join(cells, " "))
	}
	return open, b.String()
}

func peer(p pod, ip string) *matcher.TrafficPeer {
	return &matcher.TrafficPeer{IP: ip, Internal: &matcher.InternalPeer{
		PodLabels: p.labels, Namespace: p.namespace,
		NamespaceLabels: map[string]string{resources.LabelNamespaceName: p.namespace},
	}}
}

// unmanaged are the pods no kubeship policy selects: paths between them stay open
// whatever kubeship does, and only their paths to kube-dns are expected besides.
var unmanaged = []string{"ingress-nginx", "coredns", "stranger"}

// expected is the truth table the declared connections call for: each declared path,
// allowFrom, every pod's DNS, and the unmanaged pods' paths among themselves.
func expected(fleet []*v1alpha1.Microservice, declared ...path) []path {
	var out []path
	all := pods(fleet)
	for _, src := range all {
		for _, dst := range all {
			for _, p := range dst.ports {
				if src.name == dst.name {
					continue
				}
				pp := pathOf(src, dst, p)
				if dst.name == "coredns" || (slices.Contains(unmanaged, src.name) && slices.Contains(unmanaged, dst.name)) || slices.Contains(declared, pp) {
					out = append(out, pp)
				}
			}
		}
	}
	return out
}

func TestShopTruthTable(t *testing.T) {
	declared := []path{
		"frontend -> orders:http/TCP",
		"orders -> payments:http/TCP",
		"orders -> orders-db:postgres/TCP",
		"ingress-nginx -> frontend:http/TCP", // allowFrom
	}
	check := func(t *testing.T, fleet []*v1alpha1.Microservice, declared []path) {
		t.Helper()
		open, table := truthTable(fleet)
		t.Logf("allowed pod-to-pod paths (OPEN allowed, . denied), evaluated by cyclonus:\n%s", table)
		want := expected(fleet, declared...)
		for _, p := range want {
			if !slices.Contains(open, p) {
				t.Errorf("declared path %s is closed", p)
			}
		}
		for _, p := range open {
			if !slices.Contains(want, p) {
				t.Errorf("undeclared path %s is open", p)
			}
		}
	}
	t.Run("the shop as declared", func(t *testing.T) { check(t, shop(), declared) })
	t.Run("orders drops its connection to payments: that path closes", func(t *testing.T) {
		fleet := shop()
		fleet[1].Spec.Connections = nil
		check(t, fleet, slices.DeleteFunc(slices.Clone(declared), func(p path) bool { return p == "orders -> payments:http/TCP" }))
	})
	t.Run("frontend adds a connection to payments: that path opens", func(t *testing.T) {
		fleet := shop()
		fleet[0].Spec.Connections = append(fleet[0].Spec.Connections, v1alpha1.Connection{Service: "payments"})
		check(t, fleet, append(slices.Clone(declared), "frontend -> payments:http/TCP"))
	})
}

// typed turns an apply configuration into the object it would apply.
func typed[T any](ac any) *T {
	raw, err := json.Marshal(ac)
	if err != nil {
		panic(err)
	}
	out := new(T)
	if err := json.Unmarshal(raw, out); err != nil {
		panic(err)
	}
	return out
}
