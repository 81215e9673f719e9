package naming

import (
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

// maxMicroserviceName is the CRD's limit on a Microservice's metadata.name.
const maxMicroserviceName = 50

var sqlNameChars = regexp.MustCompile(`^[a-z0-9_]+$`)

// dnsName keeps a valid name as it is and otherwise maps fuzz bytes onto the characters a DNS-1123 name may hold (dots only when
// subdomain is set), cut to max, so nearly every input becomes a name the API server
// accepts instead of being skipped. What the mapping cannot repair (an empty result, a
// dash or dot at an end, "..") fails validation and is skipped: the API server would refuse
// such a namespace or name, so kubeship never sees it.
func dnsName(t *testing.T, s string, maxLen int, subdomain bool) string {
	t.Helper()
	valid := func(n string) []string {
		if subdomain {
			return validation.IsDNS1123Subdomain(n)
		}
		return validation.IsDNS1123Label(n)
	}
	if len(s) <= maxLen && len(valid(s)) == 0 {
		return s // already a name: seeds mean what they say
	}
	alphabet := "abcdefghijklmnopqrstuvwxyz0123456789-"
	if subdomain {
		alphabet += "."
	}
	b := []byte(s)
	if len(b) > maxLen {
		b = b[:maxLen]
	}
	for i, c := range b {
		b[i] = alphabet[int(c)%len(alphabet)]
	}
	name := string(b)
	if errs := valid(name); len(errs) > 0 {
		t.Skipf("%q is not a name the API server accepts: %v", name, errs)
	}
	return name
}

// fuzzSeeds are (namespace, name) pairs that sit on the rules' edges: the 63-character cut,
// MySQL's 32-character user names, runs of `_` for the GRANT escaping, and pg_.
func fuzzSeeds() [][2]string {
	return [][2]string{
		{"shop", "payments"},
		{"pg", "app"},
		{"team-a", "api"},
		{"team", "a-api"},
		{strings.Repeat("a", 63), strings.Repeat("b", 50)},
		{"a-b-c-d-e-f-g-h-i-j", "k-l-m-n-o-p-q-r-s-t-u-v-w-x-y-z-0-1-2-3-4-5"},
		{"production", "payments-gateway-service"},
		{"x", "y.z.w-v"},
		{"x", strings.Repeat("y.", 24) + "z"}, // 73 characters as a MySQL GRANT pattern
	}
}

// FuzzNames checks that every name kubeship derives from an admission-valid namespace and
// Microservice name is valid where it is used: Kubernetes object names and label values,
// and SQL identifiers within each engine's limits.
func FuzzNames(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, rawNamespace, rawName string) {
		ns := dnsName(t, rawNamespace, validation.DNS1123LabelMaxLength, false)
		name := dnsName(t, rawName, maxMicroserviceName, true)
		checkObjectNames(t, name)
		checkSQLNames(t, ns, name)
	})
}

func checkObjectNames(t *testing.T, name string) {
	t.Helper()
	obj := DatabaseObjectName(name)
	if errs := validation.IsDNS1123Subdomain(obj); len(errs) > 0 {
		t.Errorf("DatabaseObjectName(%q) = %q: %v", name, obj, errs)
	}
	// Services need a DNS-1035 label; the suffix must keep a valid one valid.
	if len(validation.IsDNS1035Label(name)) == 0 {
		if errs := validation.IsDNS1035Label(obj); len(errs) > 0 {
			t.Errorf("DatabaseObjectName(%q) = %q is no Service name: %v", name, obj, errs)
		}
	}
	// Every child is labelled with the Microservice's name.
	if errs := validation.IsValidLabelValue(name); len(errs) > 0 {
		t.Errorf("label value %q: %v", name, errs)
	}
}

func checkSQLNames(t *testing.T, ns, name string) {
	t.Helper()
	names := []struct {
		what  string
		value string
		limit int
	}{
		{"SQLIdentifier", SQLIdentifier(ns, name), MaxIdentifierLength},
		{"Role(postgres)", Role(EnginePostgres, ns, name), MaxIdentifierLength},
		{"Role(mysql)", Role(EngineMySQL, ns, name), MaxMySQLUserLength},
		{"Database(postgres)", Database(EnginePostgres, ns, name), MaxIdentifierLength},
		{"Database(mysql)", Database(EngineMySQL, ns, name), MaxMySQLDatabaseLength},
		{"DedicatedDatabase(postgres)", DedicatedDatabase(EnginePostgres, name), MaxIdentifierLength},
		{"DedicatedDatabase(mysql)", DedicatedDatabase(EngineMySQL, name), MaxMySQLDatabaseLength},
		{"DedicatedUser(postgres)", DedicatedUser(EnginePostgres, name), MaxIdentifierLength},
		{"DedicatedUser(mysql)", DedicatedUser(EngineMySQL, name), MaxMySQLUserLength},
	}
	for _, n := range names {
		if len(n.value) > n.limit || !sqlNameChars.MatchString(n.value) {
			t.Errorf("%s(%q, %q) = %q: want 1..%d of [a-z0-9_]", n.what, ns, name, n.value, n.limit)
		}
	}
	if r := Role(EnginePostgres, ns, name); strings.HasPrefix(r, "pg_") {
		t.Errorf("PostgreSQL role %q uses the reserved pg_ prefix", r)
	}
	for _, db := range []string{Database(EngineMySQL, ns, name), DedicatedDatabase(EngineMySQL, name)} {
		if MySQLGrantLength(db) > MaxMySQLDatabaseLength {
			t.Errorf("MySQL database %q is %d characters once GRANT-escaped", db, MySQLGrantLength(db))
		}
	}
	if again := SQLIdentifier(ns, name); again != names[0].value {
		t.Errorf("SQLIdentifier is not deterministic: %q then %q", names[0].value, again)
	}
}

// FuzzNamesDistinct checks that two different Microservices get different shared-server
// names, except where the scheme cannot tell them apart by design:
//
//   - The contract's rule itself is not one-to-one: team-a/api and team/a-api both become
//     team_a_api before any cut. dbadmin detects that collision with its ownership marker
//     (the second service gets ErrConflict, see claim.go), so it is allowed here.
//   - A cut name ends in 8 hex digits of SHA-256 over "<namespace>/<name>". Two cut names
//     collide only when those 32 bits collide, and an uncut name equals a cut one only when
//     it spells out that very hash; both are again caught by the ownership marker.
//
// Any other equal pair (say, a cut without the hash) fails.
func FuzzNamesDistinct(f *testing.F) {
	seeds := fuzzSeeds()
	for i := range seeds {
		a, b := seeds[i], seeds[(i+1)%len(seeds)]
		f.Add(a[0], a[1], b[0], b[1])
	}
	long := strings.Repeat("n", 40)
	f.Add(long, long+"-one", long, long+"-two")
	f.Add("shop", strings.Repeat("y-", 24)+"1", "shop", strings.Repeat("y-", 24)+"2")
	f.Fuzz(func(t *testing.T, rawNs1, rawName1, rawNs2, rawName2 string) {
		ns1 := dnsName(t, rawNs1, validation.DNS1123LabelMaxLength, false)
		name1 := dnsName(t, rawName1, maxMicroserviceName, true)
		ns2 := dnsName(t, rawNs2, validation.DNS1123LabelMaxLength, false)
		name2 := dnsName(t, rawName2, maxMicroserviceName, true)
		if ns1 == ns2 && name1 == name2 {
			return // the same Microservice: equal names are the point
		}
		k1, k2 := ns1+"/"+name1, ns2+"/"+name2
		uncut := func(ns, name string) string { return identifierChars(ns + "_" + name) }
		uncutRole := func(ns, name string) string {
			if s := uncut(ns, name); !strings.HasPrefix(s, "pg_") {
				return s
			}
			return "_" + uncut(ns, name)
		}
		for _, c := range []struct {
			what   string
			a, b   string
			ua, ub string
		}{
			{"Database(postgres)", Database(EnginePostgres, ns1, name1), Database(EnginePostgres, ns2, name2), uncut(ns1, name1), uncut(ns2, name2)},
			{"Database(mysql)", Database(EngineMySQL, ns1, name1), Database(EngineMySQL, ns2, name2), uncut(ns1, name1), uncut(ns2, name2)},
			{"Role(postgres)", Role(EnginePostgres, ns1, name1), Role(EnginePostgres, ns2, name2), uncutRole(ns1, name1), uncutRole(ns2, name2)},
			{"Role(mysql)", Role(EngineMySQL, ns1, name1), Role(EngineMySQL, ns2, name2), uncut(ns1, name1), uncut(ns2, name2)},
		} {
			if c.a != c.b || c.ua == c.ub {
				continue
			}
			if !collisionExplained(c.a, c.ua, k1) && !collisionExplained(c.b, c.ub, k2) {
				t.Errorf("%s: %s and %s both get %q, and neither was cut with its hash", c.what, k1, k2, c.a)
			}
		}
	})
}

// collisionExplained reports whether got is the uncut form cut down and ended with the hash
// of key: the one way two inputs that differ before the cut may end up equal.
func collisionExplained(got, uncut, key string) bool {
	return got != uncut && strings.HasSuffix(got, "_"+hashSuffix(key)) &&
		strings.HasPrefix(uncut, strings.TrimSuffix(got, "_"+hashSuffix(key)))
}
