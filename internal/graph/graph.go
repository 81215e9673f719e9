// Package graph draws the service graph of a fleet of Microservices: who calls whom,
// which services are isolated, which connections are unresolved, which own a database.
// It is pure: the kubectl plugin (internal/kubectlplugin) reads the Microservices and
// hands them here.
package graph

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/types"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
	"github.com/kubeship/kubeship/internal/naming"
)

// Node is a Microservice, a database, or a callee that was not found.
type Node struct {
	// ID is unique in the graph: "<namespace>/<name>" for services, with a suffix for databases.
	ID        string
	Namespace string
	Name      string
	Kind      NodeKind
	// IngressIsolated and EgressIsolated mirror spec.network.
	IngressIsolated, EgressIsolated bool
	// Detail is a second label line: the database's engine and mode, a reason.
	Detail string
}

// NodeKind tells what a node stands for.
type NodeKind int

const (
	// Service is a Microservice in scope.
	Service NodeKind = iota
	// Outside is a callee outside the listed namespaces, shown for its incoming edges.
	Outside
	// Missing is a callee that does not exist.
	Missing
	// Database is a service's own database: a dedicated server, or its database on a shared one.
	Database
)

// Edge is a connection (From calls To), or a service's link to its database.
type Edge struct {
	From, To string
	Label    string
	// Unresolved marks a connection whose callee or port does not exist.
	Unresolved bool
	// Database marks the link from a service to its own database.
	Database bool
}

// Graph is what Build found, in a stable order.
type Graph struct {
	Nodes []Node
	Edges []Edge
}

// Build makes the graph of services, the Microservices in scope. outside holds callees
// read outside the scope (-n), and unreadable the callees that could not be read at
// all, whose state is then taken from the caller's status.connections.
func Build(services []v1alpha1.Microservice, outside map[types.NamespacedName]*v1alpha1.Microservice, unreadable map[types.NamespacedName]bool) Graph {
	known := map[types.NamespacedName]*v1alpha1.Microservice{}
	for k, v := range outside {
		known[k] = v
	}
	var g Graph
	nodes := map[string]bool{}
	add := func(n Node) {
		if !nodes[n.ID] {
			nodes[n.ID] = true
			g.Nodes = append(g.Nodes, n)
		}
	}
	sorted := slices.Clone(services)
	slices.SortFunc(sorted, func(a, b v1alpha1.Microservice) int {
		return strings.Compare(idOf(a.Namespace, a.Name), idOf(b.Namespace, b.Name))
	})
	for i := range sorted {
		ms := &sorted[i]
		known[types.NamespacedName{Namespace: ms.Namespace, Name: ms.Name}] = ms
		add(Node{ID: idOf(ms.Namespace, ms.Name), Namespace: ms.Namespace, Name: ms.Name, Kind: Service,
			IngressIsolated: resources.IngressIsolated(ms), EgressIsolated: resources.EgressIsolated(ms)})
	}
	for i := range sorted {
		ms := &sorted[i]
		from := idOf(ms.Namespace, ms.Name)
		for j, t := range resources.ResolveConnections(ms, known) {
			key := types.NamespacedName{Namespace: t.Namespace, Name: t.Service}
			to := idOf(t.Namespace, t.Service)
			e := Edge{From: from, To: to, Label: edgeLabel(ms.Spec.Connections[j], t)}
			switch {
			case unreadable[key]:
				e.Unresolved = !statusResolved(ms, t.Name)
				add(Node{ID: to, Namespace: t.Namespace, Name: t.Service, Kind: Outside})
			case t.Reason == v1alpha1.ReasonCalleeNotFound:
				e.Unresolved = true
				add(Node{ID: to, Namespace: t.Namespace, Name: t.Service, Kind: Missing, Detail: "not found"})
			case !t.Resolved():
				e.Unresolved = true
			}
			if callee := outside[key]; callee != nil {
				add(Node{ID: to, Namespace: t.Namespace, Name: t.Service, Kind: Outside,
					IngressIsolated: resources.IngressIsolated(callee), EgressIsolated: resources.EgressIsolated(callee)})
			}
			if e.Unresolved && t.Reason != "" {
				e.Label = strings.TrimSpace(e.Label + " " + t.Reason)
			}
			g.Edges = append(g.Edges, e)
		}
		if db := ms.Spec.Database; db != nil {
			n := Node{ID: from + "/database", Namespace: ms.Namespace, Name: resources.DatabaseObjectName(ms), Kind: Database,
				Detail: fmt.Sprintf("%s, dedicated", db.Engine)}
			if db.Mode == v1alpha1.ModeShared && db.ServerRef != nil {
				n.Name = "database " + naming.Database(string(db.Engine), ms.Namespace, ms.Name)
				n.Detail = fmt.Sprintf("%s, on server %s", db.Engine, db.ServerRef.Name)
			}
			add(n)
			g.Edges = append(g.Edges, Edge{From: from, To: n.ID, Database: true})
		}
	}
	return g
}

func idOf(ns, name string) string { return ns + "/" + name }

// edgeLabel is the port a connection names, and its name when that differs from the service.
func edgeLabel(c v1alpha1.Connection, t resources.ConnectionTarget) string {
	var parts []string
	if t.Name != t.Service {
		parts = append(parts, t.Name)
	}
	if c.Port != "" {
		parts = append(parts, c.Port)
	}
	return strings.Join(parts, ":")
}

// statusResolved reads the operator's verdict on the connection called name.
func statusResolved(ms *v1alpha1.Microservice, name string) bool {
	for _, s := range ms.Status.Connections {
		if s.Name == name {
			return s.Resolved
		}
	}
	return false
}
