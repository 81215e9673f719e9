package controllers

import (
	"context"
	"strings"
	"testing"
)

// spec.routes' rules are CEL and schema in the CRD: a careless manifest fails at
// kubectl apply with a message naming the field.
func TestAdmissionRejectsInvalidRoutes(t *testing.T) {
	ns := newNamespace(t)
	gw := "gatewayRef: {name: edge}"
	cases := []struct {
		name, spec, want string
	}{
		{"neither kind", "spec: {image: x, routes: [{host: a.example.com}]}",
			`spec.routes[0]: Invalid value: set exactly one of gatewayRef (a Gateway API HTTPRoute) and ingressClassName (an Ingress)`},
		{"both kinds in one route", "spec: {image: x, routes: [{host: a.example.com, " + gw + ", ingressClassName: nginx}]}",
			`spec.routes[0]: Invalid value: set exactly one of gatewayRef`},
		{"two kinds in one service", "spec: {image: x, routes: [{host: a.example.com, " + gw + "}, {host: b.example.com, ingressClassName: nginx}]}",
			`spec.routes: Invalid value: spec.routes: use one kind per service`},
		{"two Gateways", "spec: {image: x, routes: [{host: a.example.com, " + gw + "}, {host: a.example.com, path: /x, gatewayRef: {name: other}}]}",
			`spec.routes: every route names the same gatewayRef`},
		{"two Ingress classes", "spec: {image: x, routes: [{host: a.example.com, ingressClassName: nginx}, {host: b.example.com, ingressClassName: traefik}]}",
			`spec.routes: every route names the same ingressClassName`},
		{"HTTPRoute hosts with different paths", "spec: {image: x, routes: [{host: a.example.com, " + gw + "}, {host: b.example.com, path: /api, " + gw + "}]}",
			`spec.routes: routes with gatewayRef make one HTTPRoute, whose hostnames apply to all of its paths`},
		{"tls on a Gateway route", "spec: {image: x, routes: [{host: a.example.com, " + gw + ", tls: {secretName: t}}]}",
			`spec.routes[0]: Invalid value: tls is for Ingress routes (ingressClassName)`},
		{"two tls settings for one host", "spec: {image: x, routes: [{host: a.example.com, ingressClassName: nginx, tls: {secretName: t}}, {host: a.example.com, path: /x, ingressClassName: nginx}]}",
			`spec.routes: routes of one host share one tls setting`},
		{"uppercase host", "spec: {image: x, routes: [{host: Shop.example.com, " + gw + "}]}", `spec.routes[0].host: Invalid value: "Shop.example.com"`},
		{"wildcard host", "spec: {image: x, routes: [{host: '*.example.com', " + gw + "}]}", `spec.routes[0].host: Invalid value: "*.example.com"`},
		{"IP address host", "spec: {image: x, routes: [{host: 192.0.2.1, " + gw + "}]}", `spec.routes[0].host: Invalid value: "192.0.2.1": host must be a DNS name, not an IP address`},
		{"relative path", "spec: {image: x, routes: [{host: a.example.com, path: api, " + gw + "}]}", `spec.routes[0].path: Invalid value: "api"`},
		{"trailing slash", "spec: {image: x, routes: [{host: a.example.com, path: /api/, " + gw + "}]}", `spec.routes[0].path: Invalid value: "/api/"`},
		{"dot-dot segment", "spec: {image: x, routes: [{host: a.example.com, path: /a/../b, " + gw + "}]}", `spec.routes[0].path: Invalid value: "/a/../b": path must not contain '.' or '..' segments`},
		{"encoded slash", "spec: {image: x, routes: [{host: a.example.com, path: /a%2Fb, " + gw + "}]}", `spec.routes[0].path: Invalid value: "/a%2Fb": path must not contain an encoded slash`},
		{"same host and path twice", "spec: {image: x, routes: [{host: a.example.com, ingressClassName: nginx}, {host: a.example.com, path: /, ingressClassName: nginx}]}",
			`spec.routes[1]: Duplicate value`},
		{"unknown port", "spec: {image: x, ports: [{name: web, port: 80}], routes: [{host: a.example.com, port: admin, " + gw + "}]}",
			`spec.routes: Invalid value: spec.routes[].port must name a TCP port of spec.ports`},
		{"default port name without spec.ports", "spec: {image: x, routes: [{host: a.example.com, port: web, " + gw + "}]}",
			`spec.routes[].port must name a TCP port of spec.ports`},
		{"UDP first port", "spec: {image: x, ports: [{name: dns, port: 53, protocol: UDP}], routes: [{host: a.example.com, " + gw + "}]}",
			`spec.routes[].port must name a TCP port of spec.ports`},
		{"readyRequiresRoutes without routes", "spec: {image: x, readyRequiresRoutes: true}", `spec.readyRequiresRoutes: Invalid value: spec.readyRequiresRoutes needs spec.routes`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := k8s.Create(context.Background(), manifest(t, ns, msHeader+tc.spec))
			if err == nil {
				t.Fatalf("created; want rejection naming the field: %s", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q\ndoes not contain %q", err.Error(), tc.want)
			}
		})
	}
	t.Run("valid routes are accepted", func(t *testing.T) {
		for i, spec := range []string{
			"spec: {image: x, routes: [{host: a.example.com, " + gw + "}]}",
			"spec: {image: x, ports: [{name: web, port: 80}, {name: admin, port: 81}], routes: [" +
				"{host: a.example.com, path: /api, " + gw + "}, {host: b.example.com, path: /api, " + gw + "}, " +
				"{host: a.example.com, path: /admin, port: admin, " + gw + "}, {host: b.example.com, path: /admin, port: admin, " + gw + "}]}",
			"spec: {image: x, readyRequiresRoutes: true, routes: [{host: a.example.com, ingressClassName: nginx, tls: {secretName: a-tls}}, {host: b.example.com, path: /v1.2/x~y, ingressClassName: nginx}]}",
		} {
			u := manifest(t, ns, msHeader+spec)
			u.SetName("valid-" + string(rune('a'+i)))
			if err := k8s.Create(context.Background(), u); err != nil {
				t.Errorf("case %d rejected: %v", i, err)
			}
		}
	})
}
