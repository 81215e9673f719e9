package dbadmin

import (
	"strings"
	"testing"

	"github.com/kubeship/kubeship/internal/naming"
)

// The names naming.Database makes for MySQL pass the checks mysql.go makes before it
// creates them.
func TestDatabaseNamesPassMySQLChecks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ namespace, name string }{
		{"shop", "payments"},
		{"a-b-c-d-e-f-g-h-i-j", "k-l-m-n-o-p-q-r-s-t-u-v-w-x-y-z-0-1-2-3-4-5"},
		{"team-alpha", "payments-api-gateway-service-with-a-long-name"},
		{strings.Repeat("a", 63), strings.Repeat("b", 50)},
		{"x", strings.Repeat("y-", 40)},
	} {
		db, user := naming.Database(EngineMySQL, tc.namespace, tc.name), naming.Role(EngineMySQL, tc.namespace, tc.name)
		if err := checkMySQLNames(db, user); err != nil {
			t.Errorf("names %q, %q fail the MySQL checks: %v", db, user, err)
		}
	}
}
