package resources

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// shopCallee is a Microservice "orders" in namespace shop with two ports.
func shopCallee(name, ns string, ports ...v1alpha1.ServicePort) *v1alpha1.Microservice {
	return &v1alpha1.Microservice{
		ObjectMeta: metaOf(name, ns),
		Spec:       v1alpha1.MicroserviceSpec{Image: "ghcr.io/acme/" + name + ":2.0", Ports: ports},
	}
}

func TestResolveConnections(t *testing.T) {
	orders := shopCallee("orders", "shop", v1alpha1.ServicePort{Name: "http", Port: 8080}, v1alpha1.ServicePort{Name: "grpc", Port: 9090})
	ledger := shopCallee("ledger", "finance") // default port
	callees := map[types.NamespacedName]*v1alpha1.Microservice{
		{Namespace: "shop", Name: "orders"}:    orders,
		{Namespace: "finance", Name: "ledger"}: ledger,
	}
	ms := microservice(func(ms *v1alpha1.Microservice) {
		ms.Spec.Connections = []v1alpha1.Connection{
			{Service: "orders"},
			{Service: "orders", Port: "grpc", Name: "orders-grpc"},
			{Service: "ledger", Namespace: "finance"},
			{Service: "orders", Port: "admin", Name: "orders-admin"},
			{Service: "stock"},
		}
	})
	tcp := func(name string, port int32) v1alpha1.ServicePort {
		return v1alpha1.ServicePort{Name: name, Port: port, Protocol: corev1.ProtocolTCP}
	}
	want := []ConnectionTarget{
		{Name: "orders", Service: "orders", Namespace: "shop", Ports: []v1alpha1.ServicePort{tcp("http", 8080), tcp("grpc", 9090)}},
		{Name: "orders-grpc", Service: "orders", Namespace: "shop", Ports: []v1alpha1.ServicePort{tcp("grpc", 9090)}},
		{Name: "ledger", Service: "ledger", Namespace: "finance", Ports: []v1alpha1.ServicePort{tcp("http", 8080)}},
		{Name: "orders-admin", Service: "orders", Namespace: "shop", Reason: v1alpha1.ReasonPortNotFound,
			Message: `connection orders-admin: Microservice shop/orders has no port named "admin"`},
		{Name: "stock", Service: "stock", Namespace: "shop", Reason: v1alpha1.ReasonCalleeNotFound,
			Message: "connection stock: Microservice shop/stock does not exist"},
	}
	got := ResolveConnections(ms, callees)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("targets (-want +got):\n%s", diff)
	}
	wantEnv := []corev1.EnvVar{
		{Name: "CONNECTION_ORDERS_URL", Value: "http://orders.shop.svc.cluster.local:8080"},
		{Name: "CONNECTION_ORDERS_HOST", Value: "orders.shop.svc.cluster.local"},
		{Name: "CONNECTION_ORDERS_PORT", Value: "8080"},
		{Name: "CONNECTION_ORDERS_GRPC_URL", Value: "http://orders.shop.svc.cluster.local:9090"},
		{Name: "CONNECTION_ORDERS_GRPC_HOST", Value: "orders.shop.svc.cluster.local"},
		{Name: "CONNECTION_ORDERS_GRPC_PORT", Value: "9090"},
		{Name: "CONNECTION_LEDGER_URL", Value: "http://ledger.finance.svc.cluster.local:8080"},
		{Name: "CONNECTION_LEDGER_HOST", Value: "ledger.finance.svc.cluster.local"},
		{Name: "CONNECTION_LEDGER_PORT", Value: "8080"},
	}
	if diff := cmp.Diff(wantEnv, ConnectionEnv(got)); diff != "" {
		t.Errorf("env (-want +got), unresolved connections give none:\n%s", diff)
	}
}

func TestImageTag(t *testing.T) {
	for image, want := range map[string]string{
		"ghcr.io/acme/payments:1.4.2":          "1.4.2",
		"localhost:5000/payments":              "",
		"localhost:5000/payments:v2":           "v2",
		"payments@sha256:abcd":                 "",
		"ghcr.io/acme/payments:1.4.2@sha256:0": "1.4.2",
		"nginx":                                "",
	} {
		if got := ImageTag(image); got != want {
			t.Errorf("ImageTag(%q) = %q, want %q", image, got, want)
		}
	}
}

// TestDeploymentWithConnectionsWhole is the Deployment of a service that opted in: the
// discovery variables, then the trace identity, between DATABASE_URL and the user's own
// variables; a variable the user defines wins.
func TestDeploymentWithConnectionsWhole(t *testing.T) {
	field := func(name, path string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
	}
	attrs := "service.name=payments,service.namespace=shop,service.version=1.4.2,k8s.namespace.name=shop,k8s.deployment.name=payments," +
		"k8s.pod.name=$(OTEL_RESOURCE_ATTRIBUTES_POD_NAME),k8s.pod.uid=$(OTEL_RESOURCE_ATTRIBUTES_POD_UID),k8s.node.name=$(OTEL_RESOURCE_ATTRIBUTES_NODE_NAME)"
	databaseURL := corev1.EnvVar{Name: "DATABASE_URL", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "payments-db"}, Key: "uri"}}}
	identity := []corev1.EnvVar{
		field("OTEL_RESOURCE_ATTRIBUTES_POD_NAME", "metadata.name"),
		field("OTEL_RESOURCE_ATTRIBUTES_POD_UID", "metadata.uid"),
		field("OTEL_RESOURCE_ATTRIBUTES_NODE_NAME", "spec.nodeName"),
		{Name: "OTEL_SERVICE_NAME", Value: "payments"},
		{Name: "OTEL_RESOURCE_ATTRIBUTES", Value: attrs},
	}
	ledger := ConnectionTarget{Name: "ledger", Service: "ledger", Namespace: "finance",
		Ports: []v1alpha1.ServicePort{{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}}}
	ledgerEnv := []corev1.EnvVar{
		{Name: "CONNECTION_LEDGER_URL", Value: "http://ledger.finance.svc.cluster.local:8080"},
		{Name: "CONNECTION_LEDGER_HOST", Value: "ledger.finance.svc.cluster.local"},
		{Name: "CONNECTION_LEDGER_PORT", Value: "8080"},
	}
	cases := []struct {
		name     string
		mutate   func(*v1alpha1.Microservice)
		targets  []ConnectionTarget
		endpoint string
		wantEnv  []corev1.EnvVar
	}{
		{name: "no connections, no network, no endpoint: unchanged"},
		{name: "the manager's endpoint: identity for every service", endpoint: "http://collector.otel:4317",
			wantEnv: append(append([]corev1.EnvVar{}, identity...), corev1.EnvVar{Name: "OTEL_EXPORTER_OTLP_ENDPOINT", Value: "http://collector.otel:4317"})},
		{name: "network isolation alone opts in", mutate: func(ms *v1alpha1.Microservice) {
			ms.Spec.Network = &v1alpha1.NetworkSpec{Ingress: v1alpha1.NetworkConnections}
		}, wantEnv: identity},
		{name: "connections, database and user env in order; the user's OTEL_SERVICE_NAME wins", mutate: func(ms *v1alpha1.Microservice) {
			ms.Spec.Connections = []v1alpha1.Connection{{Service: "ledger", Namespace: "finance"}, {Service: "stock"}}
			ms.Spec.Database = &v1alpha1.DatabaseSpec{Engine: v1alpha1.EnginePostgres}
			ms.Spec.Env = []corev1.EnvVar{{Name: "OTEL_SERVICE_NAME", Value: "pay"}, {Name: "LEDGER", Value: "$(CONNECTION_LEDGER_URL)"}}
		}, targets: []ConnectionTarget{ledger, {Name: "stock", Service: "stock", Namespace: "shop", Reason: v1alpha1.ReasonCalleeNotFound}},
			wantEnv: append(append(append([]corev1.EnvVar{databaseURL}, ledgerEnv...), identity[0], identity[1], identity[2], identity[4]),
				corev1.EnvVar{Name: "OTEL_SERVICE_NAME", Value: "pay"}, corev1.EnvVar{Name: "LEDGER", Value: "$(CONNECTION_LEDGER_URL)"})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ms := microservice(tc.mutate)
			want := typed[appsv1.Deployment](t, Deployment(ms))
			want.Spec.Template.Spec.Containers[0].Env = tc.wantEnv
			d := Deployment(ms)
			WithEnv(d, ms, PodEnv(ms, tc.targets, tc.endpoint))
			diffWhole(t, want, d)
		})
	}
}

// TestFirstReleaseServicesGetNoConnectionEnv: the Microservices written against the
// first release (testdata/first-release) use neither spec.connections nor spec.network;
// what the controller adds to their Deployment (WithEnv of PodEnv, the manager without
// an OTLP endpoint) leaves it exactly as Deployment builds it, so upgrading rolls no pod.
func TestFirstReleaseServicesGetNoConnectionEnv(t *testing.T) {
	for _, ms := range firstReleaseServices(t, "testdata/first-release/microservices.yaml") {
		t.Run(ms.Name, func(t *testing.T) {
			d := Deployment(ms)
			WithEnv(d, ms, PodEnv(ms, ResolveConnections(ms, nil), ""))
			diffWhole(t, typed[appsv1.Deployment](t, Deployment(ms)), d)
		})
	}
}
