package dbadmin

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kubeship/kubeship/internal/naming"
)

// FuzzNamesPassChecks: every database and role name internal/naming makes for an
// admission-valid namespace and Microservice name passes the checks EnsureDatabase makes
// before it touches a server, on both engines (so no valid Microservice is refused as
// ErrInvalid, and none gets kubeship's own MySQL database "kubeship"). Inputs the API
// server would refuse (not a DNS label, not a DNS subdomain of at most 50 characters) are
// skipped: they never reach kubeship.
func FuzzNamesPassChecks(f *testing.F) {
	f.Add("shop", "payments")
	f.Add("kubeship", "owners")
	f.Add("pg", "app")
	f.Add("a-b-c-d-e-f-g-h-i-j", "k-l-m-n-o-p-q-r-s-t-u-v-w-x-y-z-0-1-2-3-4-5")
	f.Add(strings.Repeat("a", 63), strings.Repeat("b", 50))
	f.Add("x", strings.Repeat("y.", 24)+"z")
	f.Fuzz(func(t *testing.T, ns, name string) {
		if len(validation.IsDNS1123Label(ns)) > 0 || len(validation.IsDNS1123Subdomain(name)) > 0 || len(name) > 50 {
			t.Skip("the API server refuses this namespace or name")
		}
		if err := checkPGNames(naming.Database(EnginePostgres, ns, name), naming.Role(EnginePostgres, ns, name)); err != nil {
			t.Errorf("PostgreSQL names for %s/%s: %v", ns, name, err)
		}
		if err := checkMySQLNames(naming.Database(EngineMySQL, ns, name), naming.Role(EngineMySQL, ns, name)); err != nil {
			t.Errorf("MySQL names for %s/%s: %v", ns, name, err)
		}
		if err := checkPGNames(naming.DedicatedDatabase(EnginePostgres, name), naming.DedicatedUser(EnginePostgres, name)); err != nil {
			t.Errorf("dedicated PostgreSQL names for %s: %v", name, err)
		}
		if err := checkMySQLNames(naming.DedicatedDatabase(EngineMySQL, name), naming.DedicatedUser(EngineMySQL, name)); err != nil {
			t.Errorf("dedicated MySQL names for %s: %v", name, err)
		}
	})
}
