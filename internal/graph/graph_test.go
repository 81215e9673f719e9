package graph

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func service(ns, name string, mutate func(*v1alpha1.MicroserviceSpec)) v1alpha1.Microservice {
	ms := v1alpha1.Microservice{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: v1alpha1.MicroserviceSpec{Image: "x"}}
	if mutate != nil {
		mutate(&ms.Spec)
	}
	return ms
}

// Shop is the documented example: frontend -> orders -> payments, orders with a
// dedicated database and a connection to a stock service that does not exist yet,
// payments calling a ledger in another namespace that owns a shared database.
func Shop() []v1alpha1.Microservice {
	isolated := &v1alpha1.NetworkSpec{Ingress: v1alpha1.NetworkConnections, Egress: v1alpha1.NetworkConnections}
	return []v1alpha1.Microservice{
		service("shop", "payments", func(s *v1alpha1.MicroserviceSpec) {
			s.Network = isolated
			s.Connections = []v1alpha1.Connection{{Service: "ledger", Namespace: "finance", Port: "grpc"}}
		}),
		service("shop", "frontend", func(s *v1alpha1.MicroserviceSpec) {
			s.Network = &v1alpha1.NetworkSpec{Ingress: v1alpha1.NetworkAll, Egress: v1alpha1.NetworkConnections}
			s.Connections = []v1alpha1.Connection{{Service: "orders"}}
		}),
		service("shop", "orders", func(s *v1alpha1.MicroserviceSpec) {
			s.Network = isolated
			s.Database = &v1alpha1.DatabaseSpec{Engine: v1alpha1.EnginePostgres}
			s.Connections = []v1alpha1.Connection{{Service: "payments", Port: "http"}, {Service: "stock"}}
		}),
		service("finance", "ledger", func(s *v1alpha1.MicroserviceSpec) {
			s.Ports = []v1alpha1.ServicePort{{Name: "grpc", Port: 9090}}
			s.Database = &v1alpha1.DatabaseSpec{Engine: v1alpha1.EngineMySQL, Mode: v1alpha1.ModeShared, ServerRef: &v1alpha1.ServerReference{Name: "shared-mysql"}}
		}),
	}
}

func TestRender(t *testing.T) {
	g := Build(Shop(), nil, nil)
	for file, got := range map[string]string{"shop.dot": DOT(g), "shop.mmd": Mermaid(g)} {
		path := filepath.Join("testdata", file)
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./internal/graph -update)", err)
		}
		if diff := cmp.Diff(string(want), got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", file, diff)
		}
	}
}

func TestBuildEdges(t *testing.T) {
	orders := Shop()[2]
	payments := Shop()[0]
	cases := []struct {
		name       string
		services   []v1alpha1.Microservice
		outside    map[types.NamespacedName]*v1alpha1.Microservice
		unreadable map[types.NamespacedName]bool
		want       []Edge
	}{
		{"callee in scope; stock missing; own database", []v1alpha1.Microservice{orders, payments}, nil, nil, []Edge{
			{From: "shop/orders", To: "shop/payments", Label: "http"},
			{From: "shop/orders", To: "shop/stock", Label: "CalleeNotFound", Unresolved: true},
			{From: "shop/orders", To: "shop/orders/database", Database: true},
			{From: "shop/payments", To: "finance/ledger", Label: "grpc CalleeNotFound", Unresolved: true},
		}},
		{"callee read outside the namespace (-n shop)", []v1alpha1.Microservice{payments},
			map[types.NamespacedName]*v1alpha1.Microservice{{Namespace: "finance", Name: "ledger"}: &Shop()[3]}, nil, []Edge{
				{From: "shop/payments", To: "finance/ledger", Label: "grpc"},
			}},
		{"a callee the user may not read: the caller's status decides", []v1alpha1.Microservice{func() v1alpha1.Microservice {
			p := payments
			p.Status.Connections = []v1alpha1.ConnectionStatus{{Name: "ledger", Resolved: true}}
			return p
		}()}, nil, map[types.NamespacedName]bool{{Namespace: "finance", Name: "ledger"}: true}, []Edge{
			{From: "shop/payments", To: "finance/ledger", Label: "grpc"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Build(tc.services, tc.outside, tc.unreadable).Edges); diff != "" {
				t.Errorf("edges (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOutsideIsolatedNode: an isolated callee read outside the namespace is drawn once,
// with one fill colour.
func TestOutsideIsolatedNode(t *testing.T) {
	ledger := Shop()[3]
	ledger.Spec.Network = &v1alpha1.NetworkSpec{Ingress: v1alpha1.NetworkConnections}
	g := Build([]v1alpha1.Microservice{Shop()[0]}, map[types.NamespacedName]*v1alpha1.Microservice{{Namespace: "finance", Name: "ledger"}: &ledger}, nil)
	want := `"finance/ledger" [label="ledger\nisolated: ingress", fillcolor="#d9f2d9", penwidth=2];`
	if got := DOT(g); !strings.Contains(got, want) {
		t.Errorf("DOT lacks %s:\n%s", want, got)
	}
}
