//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kubeship/kubeship/internal/testdb"
)

// checkLongNamesOnRealServers gives two Microservices with 50-character names that differ
// only in their last character, in a 63-character namespace, a shared database each on a
// real PostgreSQL and a real MariaDB. "<namespace>_<name>" is 114 characters, so every
// database and role name is cut: both services must still become Ready, with names that
// fit the engine's limits and do not collide.
func checkLongNamesOnRealServers(t *testing.T, longNS string) {
	servers := map[string]*testdb.Server{"postgres": testdb.StartPostgres(t), "mysql": testdb.StartMySQL(t)}
	limits := map[string]struct{ database, role int }{"postgres": {63, 63}, "mysql": {64, 32}}
	adminNS := newNamespace(t)
	for engine, srv := range servers {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			server := registerServer(t, adminNS, engine, srv)
			prefix := strings.Repeat(engine[:1], 49)
			seen := map[string]string{}
			for _, name := range []string{prefix + "a", prefix + "b"} {
				path := writeManifest(t, fmt.Sprintf(`apiVersion: apps.kubeship.dev/v1alpha1
kind: Microservice
metadata: {name: %s}
spec:
  image: ghcr.io/acme/app:1.0
  database: {engine: %s, mode: shared, serverRef: {name: %s}, deletionPolicy: Delete}
`, name, engine, server))
				if err := applyStrict(longNS, path); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _, _ = kubectl("delete", "-n", longNS, "ms/"+name, "--timeout=60s") })
				mustKubectl(t, "wait", "-n", longNS, "--for=condition=Ready", "--timeout=120s", "ms/"+name)
				db := mustKubectl(t, "get", "-n", longNS, "ms/"+name, "-o", "jsonpath={.status.database.provisioned.database}")
				role := mustKubectl(t, "get", "-n", longNS, "ms/"+name, "-o", "jsonpath={.status.database.provisioned.role}")
				if db == "" || role == "" {
					t.Fatalf("%s: status.database.provisioned is %q/%q", name, db, role)
				}
				if n := utf8.RuneCountInString(db); n > limits[engine].database {
					t.Errorf("%s: database name %q has %d characters", name, db, n)
				}
				if n := utf8.RuneCountInString(role); n > limits[engine].role {
					t.Errorf("%s: role name %q has %d characters", name, role, n)
				}
				for _, id := range []string{"database " + db, "role " + role} {
					if other, ok := seen[id]; ok {
						t.Errorf("%s and %s share the %s", other, name, id)
					}
					seen[id] = name
				}
			}
		})
	}
}

// registerServer makes a DatabaseServer for srv that allows every namespace and waits
// until the operator can log in.
func registerServer(t *testing.T, adminNS, engine string, srv *testdb.Server) string {
	t.Helper()
	secret := engine + "-admin"
	mustKubectl(t, "create", "secret", "generic", secret, "-n", adminNS,
		"--from-literal=username="+srv.User, "--from-literal=password="+srv.Password)
	mustKubectl(t, "label", "secret", secret, "-n", adminNS, "apps.kubeship.dev/database-server-secret=true")
	server := "hostile-" + engine + "-" + adminNS
	path := writeManifest(t, fmt.Sprintf(`apiVersion: apps.kubeship.dev/v1alpha1
kind: DatabaseServer
metadata: {name: %s}
spec:
  engine: %s
  host: %s
  port: %d
  adminSecretRef: {namespace: %s, name: %s}
  sslMode: require
  allowedNamespaces: {}
`, server, engine, srv.Host, srv.Port, adminNS, secret))
	mustKubectl(t, "apply", "--server-side", "-f", path)
	t.Cleanup(func() { _, _ = kubectl("delete", "databaseserver", server, "--wait=false") })
	mustKubectl(t, "wait", "--for=condition=Ready", "--timeout=60s", "databaseserver/"+server)
	return server
}
