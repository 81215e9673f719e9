package dbadmin

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"strconv"
	"strings"
	"unicode/utf8"
)

const (
	// MaxNameLength is PostgreSQL's identifier limit (NAMEDATALEN-1 bytes); MySQL allows 64
	// characters for a database. Names from Name are ASCII, so bytes and characters agree.
	MaxNameLength = 63
	// MaxMySQLUserLength is MySQL's user name limit since 5.7.8 (MariaDB allows 80). RoleName
	// keeps MySQL user names within it, so one name works on both.
	MaxMySQLUserLength = 32
	// hashLength is the number of hex digits of the suffix that keeps cut names unique.
	hashLength = 8
)

// Name returns the database name (and, for PostgreSQL, normally also the role name) for the
// Microservice `name` in `namespace`, per the API contract: `<namespace>_<name>`, lowercased,
// every character outside [a-z0-9_] replaced by `_`. A longer result than 63 characters is cut
// to 54 and given `_` plus 8 hex digits of SHA-256 over "<namespace>/<name>", so two long names
// that share a prefix stay apart.
//
// The rule is the contract's, and it is not one-to-one: namespace "team-a" with service "api"
// and namespace "team" with service "a-api" both give "team_a_api". Callers must not treat the
// name alone as proof that an existing database belongs to a Microservice.
func Name(namespace, name string) string {
	return shorten(sanitize(namespace+"_"+name), namespace, name, MaxNameLength)
}

// RoleName returns the login role (PostgreSQL) or user (MySQL) name for the Microservice.
//
// For PostgreSQL it is Name, except that PostgreSQL reserves role names that start with "pg_"
// (namespace "pg" is common), so those get a leading "_": "pg_app" becomes "_pg_app" (cut to 63
// with the same hash rule). For MySQL it is the same string cut to 32 characters with the same
// hash rule (23 characters, "_", 8 hex digits), because MySQL user names cannot be longer.
func RoleName(engine, namespace, name string) string {
	s := sanitize(namespace + "_" + name)
	if engine == EngineMySQL {
		return shorten(s, namespace, name, MaxMySQLUserLength)
	}
	if strings.HasPrefix(s, "pg_") {
		s = "_" + s
	}
	return shorten(s, namespace, name, MaxNameLength)
}

// DatabaseName returns the database name for the Microservice on the given engine. For
// PostgreSQL it is Name. For MySQL it is Name cut shorter where needed so that the name still
// fits MySQL's 64 characters once GRANT's wildcards (`_`, `%`, `\`) are backslash-escaped,
// which MySQL counts towards the limit: a 63-character name with 9 underscores would need 72.
// Such names are cut by the same rule (prefix, `_`, 8 hex digits), only earlier.
func DatabaseName(engine, namespace, name string) string {
	n := Name(namespace, name)
	if engine != EngineMySQL || myGrantLen(n) <= maxMySQLDBChars {
		return n
	}
	s := sanitize(namespace + "_" + name)
	budget := maxMySQLDBChars - 2 - hashLength // the escaped `_` before the hash takes 2
	cut := 0
	for used := 0; cut < len(s); cut++ {
		w := 1
		if s[cut] == '_' {
			w = 2
		}
		if used+w > budget {
			break
		}
		used += w
	}
	return s[:cut] + "_" + hashSuffix(namespace, name)
}

// myGrantLen is the length MySQL sees of a database name in GRANT ... ON `db`.*, after
// myGrantDB escaped it.
func myGrantLen(db string) int {
	return utf8.RuneCountInString(db) + strings.Count(db, "_") + strings.Count(db, "%") + strings.Count(db, `\`)
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

func shorten(s, namespace, name string, max int) string {
	if len(s) <= max {
		return s
	}
	return s[:max-1-hashLength] + "_" + hashSuffix(namespace, name)
}

// hashSuffix is 8 hex digits of SHA-256 over "<namespace>/<name>" ("/" cannot occur in either).
func hashSuffix(namespace, name string) string {
	sum := sha256.Sum256([]byte(namespace + "/" + name))
	return hex.EncodeToString(sum[:])[:hashLength]
}

// URI returns the connection URI for the credentials Secret's `uri` key:
// postgresql://user:password@host:port/database or mysql://user:password@host:port/database.
// User, password and database are percent-encoded except for RFC 3986's unreserved characters
// (A-Z a-z 0-9 - . _ ~), which every URI parser reads back unchanged; an IPv6 host is
// bracketed.
func URI(engine, user, password, host string, port int, db string) string {
	scheme := "postgresql"
	if engine == EngineMySQL {
		scheme = "mysql"
	}
	return scheme + "://" + escapeURIPart(user) + ":" + escapeURIPart(password) + "@" +
		net.JoinHostPort(host, strconv.Itoa(port)) + "/" + escapeURIPart(db)
}

func escapeURIPart(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}
