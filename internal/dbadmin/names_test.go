package dbadmin

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var nameChars = regexp.MustCompile(`^[a-z0-9_]+$`)

func TestName(t *testing.T) {
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
		// The contract's rule is not one-to-one; see Name's doc.
		{"team-a", "api", "team_a_api"},
		{"team", "a-api", "team_a_api"},
	}
	for _, tc := range tests {
		got := Name(tc.namespace, tc.name)
		if got != tc.want {
			t.Errorf("Name(%q, %q) = %q, want %q", tc.namespace, tc.name, got, tc.want)
		}
		if len(got) > MaxNameLength || !nameChars.MatchString(got) {
			t.Errorf("Name(%q, %q) = %q: not 1..63 of [a-z0-9_]", tc.namespace, tc.name, got)
		}
	}
}

func TestNameCutKeepsLongNamesApart(t *testing.T) {
	t.Parallel()
	ns := "a-very-long-namespace-name-that-fills-most-of-the-budget"
	a, b := Name(ns, "payments-service-one"), Name(ns, "payments-service-two")
	if a == b {
		t.Fatalf("two services share %q", a)
	}
	if len(a) != MaxNameLength || len(b) != MaxNameLength || a[:54] != b[:54] {
		t.Errorf("want 63 characters with a shared 54-character prefix: %q, %q", a, b)
	}
	// Same input, same name: the operator finds its database again on every reconcile.
	if again := Name(ns, "payments-service-one"); again != a {
		t.Errorf("Name is not deterministic: %q then %q", a, again)
	}
	// Inputs that sanitise alike but are cut get different hashes.
	if Name(ns+"-x", "payments-service-one") == Name(ns, "x-payments-service-one") {
		t.Error("cut names of different inputs collide")
	}
}

func TestRoleName(t *testing.T) {
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
		if got := RoleName(tc.engine, tc.namespace, tc.name); got != tc.want {
			t.Errorf("RoleName(%s, %q, %q) = %q, want %q", tc.engine, tc.namespace, tc.name, got, tc.want)
		}
	}
	long := strings.Repeat("x", 60)
	if got := RoleName(EnginePostgres, "pg", long); len(got) != MaxNameLength || !strings.HasPrefix(got, "_pg_") {
		t.Errorf("long pg_ role name %q", got)
	}
	a, b := RoleName(EngineMySQL, "shop", "payments-one"+long), RoleName(EngineMySQL, "shop", "payments-two"+long)
	if a == b || len(a) != MaxMySQLUserLength || len(b) != MaxMySQLUserLength {
		t.Errorf("MySQL user names %q, %q: want distinct, 32 characters", a, b)
	}
	if RoleName(EnginePostgres, "shop", long) != Name("shop", long) {
		t.Error("PostgreSQL role name differs from Name without a pg_ prefix")
	}
}

func TestURI(t *testing.T) {
	t.Parallel()
	if got, want := URI(EnginePostgres, "shop_payments", "s3cret", "pg.databases.svc", 5432, "shop_payments"),
		"postgresql://shop_payments:s3cret@pg.databases.svc:5432/shop_payments"; got != want {
		t.Errorf("URI = %q, want %q", got, want)
	}
	if got, want := URI(EngineMySQL, "u", "p", "::1", 3306, "d"), "mysql://u:p@[::1]:3306/d"; got != want {
		t.Errorf("URI = %q, want %q", got, want)
	}
	tests := []struct{ user, password, db string }{
		{"user", `p@ss:w/o?r#d%[]`, "db"},
		{"us:er@", `'";\ $&+,=!*()~`, "d/b?x"},
		{"ünï", "pässwörd 😀", "dätä"},
		{"u", "+plus and space", "d"},
	}
	for _, tc := range tests {
		uri := URI(EnginePostgres, tc.user, tc.password, "h", 1, tc.db)
		u, err := url.Parse(uri)
		if err != nil {
			t.Errorf("URI %q does not parse: %v", uri, err)
			continue
		}
		pw, _ := u.User.Password()
		if u.Scheme != "postgresql" || u.User.Username() != tc.user || pw != tc.password || u.Path != "/"+tc.db || u.Host != "h:1" {
			t.Errorf("URI %q reads back as user %q password %q path %q host %q", uri, u.User.Username(), pw, u.Path, u.Host)
		}
	}
}

func TestDatabaseName(t *testing.T) {
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
		pg, my := DatabaseName(EnginePostgres, tc.namespace, tc.name), DatabaseName(EngineMySQL, tc.namespace, tc.name)
		if pg != Name(tc.namespace, tc.name) {
			t.Errorf("PostgreSQL DatabaseName %q differs from Name", pg)
		}
		if myGrantLen(my) > 64 || len(my) > MaxNameLength || !nameChars.MatchString(my) {
			t.Errorf("MySQL DatabaseName(%q, %q) = %q: %d escaped characters", tc.namespace, tc.name, my, myGrantLen(my))
		}
		if myGrantLen(pg) <= 64 && my != pg {
			t.Errorf("MySQL DatabaseName %q differs from Name %q though Name fits", my, pg)
		}
		if seen[my] {
			t.Errorf("duplicate %q", my)
		}
		seen[my] = true
		if err := checkMySQLNames(my, "u"); err != nil {
			t.Errorf("DatabaseName %q fails the MySQL checks: %v", my, err)
		}
	}
	if got, want := DatabaseName(EngineMySQL, "shop", "payments"), "shop_payments"; got != want {
		t.Errorf("DatabaseName = %q, want %q", got, want)
	}
	a, b := DatabaseName(EngineMySQL, "x", strings.Repeat("y-", 40)+"1"), DatabaseName(EngineMySQL, "x", strings.Repeat("y-", 40)+"2")
	if a == b || a[:len(a)-8] != b[:len(b)-8] {
		t.Errorf("long MySQL names sharing a prefix: %q, %q", a, b)
	}
}
