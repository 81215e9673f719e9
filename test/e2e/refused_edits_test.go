//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// Edits that would break a running database are refused by `kubectl apply` itself, with
// a message naming the field, and the stored object keeps its old value.
func TestRefusedDatabaseEdits(t *testing.T) {
	ns := newNamespace(t)
	manifest := func(name, database string) string {
		return writeManifest(t, fmt.Sprintf(`apiVersion: apps.kubeship.dev/v1alpha1
kind: Microservice
metadata: {name: %s, namespace: %s}
spec:
  image: ghcr.io/acme/app:1.0.0
  database: %s
`, name, ns, database))
	}
	cases := []struct {
		name, before, after, field, want string
	}{
		{"serverref", "{engine: postgres, mode: shared, serverRef: {name: pg-a}}", "{engine: postgres, mode: shared, serverRef: {name: pg-b}}",
			"{.spec.database.serverRef.name}", "spec.database.serverRef is immutable"},
		{"major", "{engine: postgres, version: '16'}", "{engine: postgres, version: '17'}",
			"{.spec.database.version}", "16 to 17 changes the PostgreSQL major version"},
		{"downgrade", "{engine: postgres, version: '16'}", "{engine: postgres, version: '9.6'}",
			"{.spec.database.version}", "9.6 is older than 16"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mustKubectl(t, "apply", "--server-side", "-f", manifest(tc.name, tc.before))
			before := mustKubectl(t, "get", "-n", ns, "ms/"+tc.name, "-o", "jsonpath="+tc.field)
			_, err := kubectl("apply", "--server-side", "-f", manifest(tc.name, tc.after))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "spec.database.") {
				t.Fatalf("kubectl apply: %v\nwant a refusal naming the field: %q", err, tc.want)
			}
			if after := mustKubectl(t, "get", "-n", ns, "ms/"+tc.name, "-o", "jsonpath="+tc.field); after != before {
				t.Fatalf("%s changed from %q to %q although the edit was refused", tc.field, before, after)
			}
		})
	}
	t.Run("minor upgrade is accepted", func(t *testing.T) {
		mustKubectl(t, "apply", "--server-side", "-f", manifest("minor", "{engine: postgres, version: '16.4'}"))
		mustKubectl(t, "apply", "--server-side", "-f", manifest("minor", "{engine: postgres, version: '16.6'}"))
		if got := mustKubectl(t, "get", "-n", ns, "ms/minor", "-o", "jsonpath={.spec.database.version}"); got != "16.6" {
			t.Fatalf("version %q after a minor upgrade, want 16.6", got)
		}
	})
}
