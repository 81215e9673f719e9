package controllers

import (
	"context"
	"strings"
	"testing"
)

// TestAdmissionOfConnections sends spec.connections and spec.network to the real
// kube-apiserver: a careless manifest is refused with a message naming the field.
func TestAdmissionOfConnections(t *testing.T) {
	ns := newNamespace(t)
	rejected := []struct{ name, spec, want string }{
		{"two connections of one name", "spec: {image: x, connections: [{service: orders}, {service: orders, namespace: other}]}",
			`spec.connections: Invalid value: spec.connections: two connections have the same name`},
		{"a name equal to another's service", "spec: {image: x, connections: [{service: orders}, {service: stock, name: orders}]}",
			`spec.connections: two connections have the same name`},
		{"a service that is no DNS label", "spec: {image: x, connections: [{service: Orders}]}", `spec.connections[0].service: Invalid value: "Orders"`},
		{"a port that is no port name", "spec: {image: x, connections: [{service: orders, port: 'http port'}]}", `spec.connections[0].port: Invalid value`},
		{"no service", "spec: {image: x, connections: [{port: http}]}", `spec.connections[0].service: Required value`},
		{"an unknown ingress mode", "spec: {image: x, network: {ingress: Declared}}", `spec.network.ingress: Unsupported value: "Declared"`},
		{"an unknown egress mode", "spec: {image: x, network: {egress: None}}", `spec.network.egress: Unsupported value: "None"`},
		{"allowFrom without isolation", "spec: {image: x, network: {allowFrom: [{namespaceSelector: {}}]}}",
			`spec.network.allowFrom: Invalid value: spec.network.allowFrom applies only with spec.network.ingress: Connections`},
	}
	for _, tc := range rejected {
		t.Run(tc.name, func(t *testing.T) {
			err := k8s.Create(context.Background(), manifest(t, ns, msHeader+tc.spec))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a rejection containing %q", err, tc.want)
			}
		})
	}
	accepted := []struct{ name, spec string }{
		{"two ports of one service, named apart", "spec: {image: x, connections: [{service: orders}, {service: orders, port: grpc, name: orders-grpc}]}"},
		{"one service in two namespaces, named apart", "spec: {image: x, connections: [{service: orders}, {service: orders, namespace: b, name: orders-b}]}"},
		{"empty network takes the defaults", "spec: {image: x, network: {}}"},
		{"isolation with allowFrom", "spec: {image: x, network: {ingress: Connections, egress: Connections, allowFrom: [{ipBlock: {cidr: 10.0.0.0/8}}]}}"},
	}
	for i, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			u := manifest(t, ns, msHeader+tc.spec)
			u.SetName("conn-" + string(rune('a'+i)))
			if err := k8s.Create(context.Background(), u); err != nil {
				t.Fatalf("rejected a valid manifest: %v", err)
			}
		})
	}
}
