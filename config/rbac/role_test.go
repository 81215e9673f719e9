// Package rbac holds no code: its test checks the installer's roles against the
// API requests the manager makes, so a wildcard or an unused verb fails `make test`.
package rbac

import (
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// grant is one verb on one resource of one API group ("" is core).
type grant struct{ group, resource, verb string }

// managerGrants is exactly what the ClusterRole manager-role (role.yaml, generated from
// the +kubebuilder:rbac markers in controllers/) may hold, each with the code that sends
// the request. "Informer" means the manager's cache, which lists and watches the kind;
// reads through that cache send no get. A direct get is one through the manager's
// API reader (mgr.GetAPIReader) or a plain client.
//
// Evidence beyond the code: the whole e2e suite runs the manager with this role's
// ServiceAccount token, and an audited run of it (kube-apiserver audit log, 2026-12-02)
// saw no request denied. It saw create only as patch: Server-Side Apply of a new object
// is one PATCH, which the API server also authorizes as create (checked: an identity
// with patch but no create gets Forbidden). It saw list only as watch: client-go's
// informers stream their initial list (WatchListClient); list stays for servers and
// clients without it. Grants it did not see are on paths the suite does not take
// (claim growth, HPA/PDB removal, finalizers under OwnerReferencesPermissionEnforcement).
var managerGrants = map[grant]string{
	{"", "namespaces", "get"}:   "main.go leaderElection.checkNamespace reads the Lease's namespace",
	{"", "namespaces", "list"}:  "informer: MicroserviceReconciler watches Namespaces (allowedNamespaces)",
	{"", "namespaces", "watch"}: "informer, as list",

	{"", "secrets", "get"}:    "secretGate.read (admin and CA Secrets) and getChild (credentials Secret missing from the cache)",
	{"", "secrets", "list"}:   "informer: Watches(&corev1.Secret{}) for credentials Secrets, labelled kubeship only",
	{"", "secrets", "watch"}:  "informer, as list",
	{"", "secrets", "create"}: "database_secret.go creates the credentials Secret once",
	{"", "secrets", "patch"}:  "credentials Secret owner and labels (database_secret.go), endpoint (database_endpoint.go), release (database_release.go)",

	{"", "services", "get"}:    "getChild: a Service missing from the cache is confirmed on the API server",
	{"", "services", "list"}:   "informer: Owns(&corev1.Service{})",
	{"", "services", "watch"}:  "informer, as list",
	{"", "services", "create"}: "Server-Side Apply of a new Service is authorized as create",
	{"", "services", "patch"}:  "Server-Side Apply (applyChild) and field-ownership hand-over (takeFieldOwnership)",

	{"", "persistentvolumeclaims", "list"}:  "informer: growClaims lists the dedicated database's claims",
	{"", "persistentvolumeclaims", "watch"}: "informer, as list",
	{"", "persistentvolumeclaims", "patch"}: "growClaims asks for more storage; database_release.go releases claims",

	{"apps", "deployments", "get"}:    "getChild",
	{"apps", "deployments", "list"}:   "informer: Owns(&appsv1.Deployment{})",
	{"apps", "deployments", "watch"}:  "informer, as list",
	{"apps", "deployments", "create"}: "Server-Side Apply of a new Deployment",
	{"apps", "deployments", "patch"}:  "Server-Side Apply, takeFieldOwnership",

	{"apps", "statefulsets", "get"}:    "getChild (dedicated database)",
	{"apps", "statefulsets", "list"}:   "informer: Owns(&appsv1.StatefulSet{})",
	{"apps", "statefulsets", "watch"}:  "informer, as list",
	{"apps", "statefulsets", "create"}: "Server-Side Apply of a new StatefulSet",
	{"apps", "statefulsets", "patch"}:  "Server-Side Apply, takeFieldOwnership, database_release.go",

	{"autoscaling", "horizontalpodautoscalers", "get"}:    "getChild",
	{"autoscaling", "horizontalpodautoscalers", "list"}:   "informer: Owns(&autoscalingv2.HorizontalPodAutoscaler{})",
	{"autoscaling", "horizontalpodautoscalers", "watch"}:  "informer, as list",
	{"autoscaling", "horizontalpodautoscalers", "create"}: "Server-Side Apply of a new HorizontalPodAutoscaler",
	{"autoscaling", "horizontalpodautoscalers", "patch"}:  "Server-Side Apply, takeFieldOwnership",
	{"autoscaling", "horizontalpodautoscalers", "delete"}: "deleteOwned when spec.scaling is removed",

	{"policy", "poddisruptionbudgets", "get"}:    "getChild",
	{"policy", "poddisruptionbudgets", "list"}:   "informer: Owns(&policyv1.PodDisruptionBudget{})",
	{"policy", "poddisruptionbudgets", "watch"}:  "informer, as list",
	{"policy", "poddisruptionbudgets", "create"}: "Server-Side Apply of a new PodDisruptionBudget",
	{"policy", "poddisruptionbudgets", "patch"}:  "Server-Side Apply, takeFieldOwnership",
	{"policy", "poddisruptionbudgets", "delete"}: "deleteOwned when the minimum drops below 2 replicas",

	{"networking.k8s.io", "networkpolicies", "get"}:    "getChild (dedicated database)",
	{"networking.k8s.io", "networkpolicies", "list"}:   "informer: Owns(&networkingv1.NetworkPolicy{})",
	{"networking.k8s.io", "networkpolicies", "watch"}:  "informer, as list",
	{"networking.k8s.io", "networkpolicies", "create"}: "Server-Side Apply of a new NetworkPolicy",
	{"networking.k8s.io", "networkpolicies", "patch"}:  "Server-Side Apply, takeFieldOwnership",
	{"networking.k8s.io", "networkpolicies", "delete"}: "connections.go applyNetworkPolicies removes an isolation policy when spec.network turns it off",

	{"batch", "jobs", "get"}:    "getChild: a migration Job missing from the cache is confirmed on the API server (the Job's name is the lock)",
	{"batch", "jobs", "list"}:   "informer: Owns(&batchv1.Job{}); migrationJobs lists a Microservice's migration Jobs",
	{"batch", "jobs", "watch"}:  "informer, as list",
	{"batch", "jobs", "create"}: "startMigration creates a revision's migration Job (Create, never apply: an existing Job is never taken over)",
	{"batch", "jobs", "delete"}: "deleteMigrationJob: retention of finished migration Jobs (migration_prune.go)",

	{"apps.kubeship.dev", "microservices", "list"}:         "informer: For(&v1alpha1.Microservice{}); readyCollector and requestsFor list from it",
	{"apps.kubeship.dev", "microservices", "watch"}:        "informer, as list",
	{"apps.kubeship.dev", "microservices", "patch"}:        "finalizer (database_finalize.go) and shared-database record (database_shared.go)",
	{"apps.kubeship.dev", "microservices/status", "patch"}: "the one status write per pass (MicroserviceReconciler.Reconcile)",
	// Owner references with blockOwnerDeletion need it where the
	// OwnerReferencesPermissionEnforcement admission plugin runs (OpenShift, hardened
	// clusters); vanilla kube-apiserver does not check it.
	{"apps.kubeship.dev", "microservices/finalizers", "update"}: "controllerutil.SetControllerReference on every child",

	{"apps.kubeship.dev", "databaseservers", "list"}:         "informer: For(&v1alpha1.DatabaseServer{}) and Watches in the Microservice controller",
	{"apps.kubeship.dev", "databaseservers", "watch"}:        "informer, as list",
	{"apps.kubeship.dev", "databaseservers/status", "patch"}: "DatabaseServerReconciler's status write",

	{"networking.k8s.io", "ingresses", "get"}:    "claimChild: an Ingress missing from the cache is confirmed on the API server (routing.go)",
	{"networking.k8s.io", "ingresses", "list"}:   "informer: routeWatches.watchIngresses, started by the first Microservice with routes",
	{"networking.k8s.io", "ingresses", "watch"}:  "informer, as list",
	{"networking.k8s.io", "ingresses", "create"}: "Server-Side Apply of a new Ingress",
	{"networking.k8s.io", "ingresses", "patch"}:  "Server-Side Apply, takeFieldOwnership",
	{"networking.k8s.io", "ingresses", "delete"}: "deleteOwned when spec.routes stops asking for an Ingress",

	{"gateway.networking.k8s.io", "httproutes", "get"}:    "claimFrom: an HTTPRoute missing from the route cache is confirmed on the API server",
	{"gateway.networking.k8s.io", "httproutes", "list"}:   "informer: the HTTPRoute cache routeWatches starts once the Gateway API is installed",
	{"gateway.networking.k8s.io", "httproutes", "watch"}:  "informer, as list",
	{"gateway.networking.k8s.io", "httproutes", "create"}: "Server-Side Apply of a new HTTPRoute",
	{"gateway.networking.k8s.io", "httproutes", "patch"}:  "Server-Side Apply, takeFieldOwnership",
	{"gateway.networking.k8s.io", "httproutes", "delete"}: "deleteOwned when spec.routes stops asking for an HTTPRoute",
	{"gateway.networking.k8s.io", "gateways", "list"}:     "informer in the HTTPRoute cache: parentGateway reads the listeners for status.url",
	{"gateway.networking.k8s.io", "gateways", "watch"}:    "informer, as list",

	{"apiextensions.k8s.io", "customresourcedefinitions", "list"}:  "informer (metadata only, one name): routeWatches learns when the Gateway API is installed",
	{"apiextensions.k8s.io", "customresourcedefinitions", "watch"}: "informer, as list",

	{"events.k8s.io", "events", "create"}: "mgr.GetEventRecorder (client-go tools/events) records a new event",
	{"events.k8s.io", "events", "patch"}:  "the same recorder patches an event series when it repeats",
}

// namedGrants are the grants limited to one object by resourceNames, with its name: a
// rule naming objects must be one of these, and these may not be granted unnamed.
var namedGrants = map[grant]string{
	{"apiextensions.k8s.io", "customresourcedefinitions", "list"}:  "httproutes.gateway.networking.k8s.io",
	{"apiextensions.k8s.io", "customresourcedefinitions", "watch"}: "httproutes.gateway.networking.k8s.io",
}

// leaderElectionGrants: the Role in the operator namespace. client-go's LeaseLock only
// gets, creates and updates its Lease; controller-runtime gives the elector a core
// (v1) event recorder, which creates and patches events about the Lease.
var leaderElectionGrants = map[grant]string{
	{"coordination.k8s.io", "leases", "get"}:    "LeaseLock.Get on every acquire or renew attempt",
	{"coordination.k8s.io", "leases", "create"}: "LeaseLock.Create when no Lease exists",
	{"coordination.k8s.io", "leases", "update"}: "LeaseLock.Update to acquire, renew and release",
	{"", "events", "create"}:                    "LeaderElection events (record.EventRecorder)",
	{"", "events", "patch"}:                     "repeated LeaderElection events are patched (count)",
}

// metricsAuthGrants: filters.WithAuthenticationAndAuthorization checks each scrape of
// the secure metrics endpoint.
var metricsAuthGrants = map[grant]string{
	{"authentication.k8s.io", "tokenreviews", "create"}:        "authenticates the scraper's bearer token",
	{"authorization.k8s.io", "subjectaccessreviews", "create"}: "asks whether the scraper may get /metrics",
}

func TestManagerRole(t *testing.T) {
	checkRole(t, "role.yaml", managerGrants)
}

func TestLeaderElectionRole(t *testing.T) {
	checkRole(t, "leader_election_role.yaml", leaderElectionGrants)
}

func TestMetricsAuthRole(t *testing.T) {
	checkRole(t, "metrics_auth_role.yaml", metricsAuthGrants)
}

// The scrapers' role: get on /metrics and nothing else.
func TestMetricsReaderRole(t *testing.T) {
	rules := readRules(t, "metrics_reader_role.yaml")
	want := []rbacv1.PolicyRule{{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}}}
	if len(rules) != 1 || !slices.Equal(rules[0].NonResourceURLs, want[0].NonResourceURLs) ||
		!slices.Equal(rules[0].Verbs, want[0].Verbs) || len(rules[0].Resources) > 0 {
		t.Errorf("metrics-reader rules = %+v, want %+v", rules, want)
	}
}

// checkRole fails on any wildcard, on any grant not in want, and on any grant of want
// that the file lacks (a stale justification, or a permission the code will miss).
func checkRole(t *testing.T, file string, want map[grant]string) {
	t.Helper()
	have := map[grant]bool{}
	for _, rule := range readRules(t, file) {
		for _, field := range [][]string{rule.APIGroups, rule.Resources, rule.Verbs, rule.ResourceNames, rule.NonResourceURLs} {
			if slices.ContainsFunc(field, func(s string) bool { return strings.Contains(s, "*") }) {
				t.Errorf("%s: wildcard in rule %+v", file, rule)
			}
		}
		if len(rule.NonResourceURLs) > 0 {
			t.Errorf("%s: unexpected non-resource URLs in rule %+v", file, rule)
		}
		for _, g := range rule.APIGroups {
			for _, r := range rule.Resources {
				for _, v := range rule.Verbs {
					gr := grant{g, r, v}
					if name, named := namedGrants[gr]; named != (len(rule.ResourceNames) > 0) ||
						(named && !slices.Equal(rule.ResourceNames, []string{name})) {
						t.Errorf("%s: %q on %q (group %q) must be limited to resourceNames [%s] exactly; rule %+v", file, v, r, g, name, rule)
					}
					have[gr] = true
				}
			}
		}
	}
	for _, g := range sorted(have) {
		if _, ok := want[g]; !ok {
			t.Errorf("%s grants %q on %q (group %q), which no code uses: remove it, or add it here with where the code needs it",
				file, g.verb, g.resource, g.group)
		}
	}
	for _, g := range sorted(want) {
		if why := want[g]; !have[g] {
			t.Errorf("%s lacks %q on %q (group %q), which %s", file, g.verb, g.resource, g.group, why)
		}
	}
}

// sorted returns m's grants in a stable order, so failures read the same every run.
func sorted[V any](m map[grant]V) []grant {
	gs := slices.Collect(maps.Keys(m))
	slices.SortFunc(gs, func(a, b grant) int {
		return strings.Compare(a.group+"/"+a.resource+"/"+a.verb, b.group+"/"+b.resource+"/"+b.verb)
	})
	return gs
}

func readRules(t *testing.T, file string) []rbacv1.PolicyRule {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// Each file holds one Role or ClusterRole; controller-gen starts its file with "---".
	var role struct {
		Kind  string              `json:"kind"`
		Rules []rbacv1.PolicyRule `json:"rules"`
	}
	if err := yaml.Unmarshal([]byte(strings.TrimPrefix(strings.TrimSpace(string(data)), "---")), &role); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if role.Kind != "Role" && role.Kind != "ClusterRole" {
		t.Fatalf("%s holds a %q, not one Role or ClusterRole", file, role.Kind)
	}
	return role.Rules
}
