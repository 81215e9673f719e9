package naming

import (
	"regexp"
	"strings"
	"testing"
)

var nameChars = regexp.MustCompile(`^[a-z0-9_]+$`)

func TestSQLIdentifier(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("n", 40)
	tests := []struct {
		namespace, name, want string
	}{
		{"shop", "payments", "shop_payments"},
		{"Shop", "PayMents", "shop_payments"},
		{"my-ns", "api.v1", "my_ns_api_v1"},
		{"café", "naïve", "caf__na_ve"},   // one `_` per character, not per byte
		{"a'b", `c";DROP`, "a_b_c__drop"}, // quotes and semicolons
		{"a`b", "c\x00d\xff", "a_b_c_d_"}, // backtick, NUL, invalid UTF-8
		{"", "", "_"},                     // degenerate, still a name
		{strings.Repeat("a", 31), strings.Repeat("b", 31), strings.Repeat("a", 31) + "_" + strings.Repeat("b", 31)}, // exactly 63: kept
		{long, long, long + "_" + strings.Repeat("n", 13) + "_d1b49caa"},                                            // 81: cut, hashed
		// The contract's rule is not one-to-one; see SQLIdentifier's doc.
		{"team-a", "api", "team_a_api"},
		{"team", "a-api", "team_a_api"},
	}
	for _, tc := range tests {
		got := SQLIdentifier(tc.namespace, tc.name)
		if got != tc.want {
			t.Errorf("SQLIdentifier(%q, %q) = %q, want %q", tc.namespace, tc.name, got, tc.want)
		}
		if len(got) > MaxIdentifierLength || !nameChars.MatchString(got) {
			t.Errorf("SQLIdentifier(%q, %q) = %q: not 1..63 of [a-z0-9_]", tc.namespace, tc.name, got)
		}
	}
}

func TestSQLIdentifierCutKeepsLongNamesApart(t *testing.T) {
	t.Parallel()
	ns := "a-very-long-namespace-name-that-fills-most-of-the-budget"
	a, b := SQLIdentifier(ns, "payments-service-one"), SQLIdentifier(ns, "payments-service-two")
	if a == b {
		t.Fatalf("two services share %q", a)
	}
	if len(a) != MaxIdentifierLength || len(b) != MaxIdentifierLength || a[:54] != b[:54] {
		t.Errorf("want 63 characters with a shared 54-character prefix: %q, %q", a, b)
	}
	// Same input, same name: the operator finds its database again on every reconcile.
	if again := SQLIdentifier(ns, "payments-service-one"); again != a {
		t.Errorf("SQLIdentifier is not deterministic: %q then %q", a, again)
	}
	// Inputs that sanitise alike but are cut get different hashes.
	if SQLIdentifier(ns+"-x", "payments-service-one") == SQLIdentifier(ns, "x-payments-service-one") {
		t.Error("cut names of different inputs collide")
	}
}

func TestRole(t *testing.T) {
	t.Parallel()
	tests := []struct {
		engine, namespace, name, want string
	}{
		{EnginePostgres, "shop", "payments", "shop_payments"},
		{EngineMySQL, "shop", "payments", "shop_payments"},
		{EnginePostgres, "pg", "app", "_pg_app"},                               // PostgreSQL reserves pg_*
		{EnginePostgres, "PG-prod", "app", "_pg_prod_app"},                     // after lowercasing too
		{EngineMySQL, "pg", "app", "pg_app"},                                   // MySQL has no such rule
		{EngineMySQL, "production", "payments-api", "production_payments_api"}, // 23: fits
		{EngineMySQL, "production", "payments-gateway-service", "production_payments_gat_380f6fdc"},
	}
	for _, tc := range tests {
		if got := Role(tc.engine, tc.namespace, tc.name); got != tc.want {
			t.Errorf("Role(%s, %q, %q) = %q, want %q", tc.engine, tc.namespace, tc.name, got, tc.want)
		}
	}
	long := strings.Repeat("x", 60)
	if got := Role(EnginePostgres, "pg", long); len(got) != MaxIdentifierLength || !strings.HasPrefix(got, "_pg_") {
		t.Errorf("long pg_ role name %q", got)
	}
	a, b := Role(EngineMySQL, "shop", "payments-one"+long), Role(EngineMySQL, "shop", "payments-two"+long)
	if a == b || len(a) != MaxMySQLUserLength || len(b) != MaxMySQLUserLength {
		t.Errorf("MySQL user names %q, %q: want distinct, 32 characters", a, b)
	}
	if Role(EnginePostgres, "shop", long) != SQLIdentifier("shop", long) {
		t.Error("PostgreSQL role name differs from SQLIdentifier without a pg_ prefix")
	}
}

func TestDatabase(t *testing.T) {
	t.Parallel()
	tests := []struct{ namespace, name string }{
		{"shop", "payments"},
		{"a-b-c-d-e-f-g-h-i-j", "k-l-m-n-o-p-q-r-s-t-u-v-w-x-y-z-0-1-2-3-4-5"}, // 63 with 31 `_`
		{"team-alpha", "payments-api-gateway-service-with-a-long-name"},
		{strings.Repeat("a", 63), strings.Repeat("b", 50)},
		{"x", strings.Repeat("y-", 40)},
	}
	seen := map[string]bool{}
	for _, tc := range tests {
		pg, my := Database(EnginePostgres, tc.namespace, tc.name), Database(EngineMySQL, tc.namespace, tc.name)
		if pg != SQLIdentifier(tc.namespace, tc.name) {
			t.Errorf("PostgreSQL Database %q differs from SQLIdentifier", pg)
		}
		if MySQLGrantLength(my) > 64 || len(my) > MaxIdentifierLength || !nameChars.MatchString(my) {
			t.Errorf("MySQL Database(%q, %q) = %q: %d escaped characters", tc.namespace, tc.name, my, MySQLGrantLength(my))
		}
		if MySQLGrantLength(pg) <= 64 && my != pg {
			t.Errorf("MySQL Database %q differs from SQLIdentifier %q though Name fits", my, pg)
		}
		if seen[my] {
			t.Errorf("duplicate %q", my)
		}
		seen[my] = true
	}
	if got, want := Database(EngineMySQL, "shop", "payments"), "shop_payments"; got != want {
		t.Errorf("Database = %q, want %q", got, want)
	}
	a, b := Database(EngineMySQL, "x", strings.Repeat("y-", 40)+"1"), Database(EngineMySQL, "x", strings.Repeat("y-", 40)+"2")
	if a == b || a[:len(a)-8] != b[:len(b)-8] {
		t.Errorf("long MySQL names sharing a prefix: %q, %q", a, b)
	}
}
