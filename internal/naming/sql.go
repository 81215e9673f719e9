package naming

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf8"
)

const (
	// MaxIdentifierLength is PostgreSQL's identifier limit (NAMEDATALEN-1 bytes); MySQL allows
	// 64 characters for a database. Names made here are ASCII, so bytes and characters agree.
	MaxIdentifierLength = 63
	// MaxMySQLUserLength is MySQL's user name limit since 5.7.8 (MariaDB allows 80). Role
	// keeps MySQL user names within it, so one name works on both.
	MaxMySQLUserLength = 32
	// MaxMySQLDatabaseLength is MySQL's and MariaDB's database name limit, in characters.
	MaxMySQLDatabaseLength = 64
	// hashLength is the number of hex digits of the suffix that keeps cut names unique.
	hashLength = 8
)

// SQLIdentifier returns the shared-database name (and, for PostgreSQL, normally also the role
// name) for the Microservice `name` in `namespace`, per the API contract: `<namespace>_<name>`,
// lowercased, every character outside [a-z0-9_] replaced by `_`. A longer result than 63
// characters is cut to 54 and given `_` plus 8 hex digits of SHA-256 over "<namespace>/<name>",
// so two long names that share a prefix stay apart.
//
// The rule is the contract's, and it is not one-to-one: namespace "team-a" with service "api"
// and namespace "team" with service "a-api" both give "team_a_api". Callers must not treat the
// name alone as proof that an existing database belongs to a Microservice.
func SQLIdentifier(namespace, name string) string {
	return shorten(identifierChars(namespace+"_"+name), namespace+"/"+name, MaxIdentifierLength)
}

// Role returns the login role (PostgreSQL) or user (MySQL) name for the Microservice on a
// shared server.
//
// For PostgreSQL it is SQLIdentifier, except that PostgreSQL reserves role names that start
// with "pg_" (namespace "pg" is common), so those get a leading "_": "pg_app" becomes "_pg_app"
// (cut to 63 with the same hash rule). For MySQL it is the same string cut to 32 characters
// with the same hash rule (23 characters, "_", 8 hex digits), because MySQL user names cannot
// be longer.
func Role(engine, namespace, name string) string {
	s := identifierChars(namespace + "_" + name)
	if engine == EngineMySQL {
		return shorten(s, namespace+"/"+name, MaxMySQLUserLength)
	}
	if strings.HasPrefix(s, "pg_") {
		s = "_" + s
	}
	return shorten(s, namespace+"/"+name, MaxIdentifierLength)
}

// Database returns the SQL database name for the Microservice on a shared server of the given
// engine. For PostgreSQL it is SQLIdentifier. For MySQL it is SQLIdentifier cut shorter where
// needed so that the name still fits MySQL's 64 characters once GRANT's wildcards (`_`, `%`,
// `\`) are backslash-escaped, which MySQL counts towards the limit: a 63-character name with 9
// underscores would need 72. Such names are cut by the same rule (prefix, `_`, 8 hex digits),
// only earlier.
func Database(engine, namespace, name string) string {
	n := SQLIdentifier(namespace, name)
	if engine != EngineMySQL || MySQLGrantLength(n) <= MaxMySQLDatabaseLength {
		return n
	}
	return grantCut(identifierChars(namespace+"_"+name), namespace+"/"+name)
}

// grantCut cuts s so that it, `_` and 8 hex digits of the hash of key fit MySQL's 64
// characters with GRANT's wildcards escaped.
func grantCut(s, key string) string {
	budget := MaxMySQLDatabaseLength - 2 - hashLength // the escaped `_` before the hash takes 2
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
	return s[:cut] + "_" + hashSuffix(key)
}

// DedicatedDatabase is the SQL database name inside the Microservice's own dedicated server:
// the Microservice's name with the identifier rule applied. Microservice names are DNS names of
// at most 50 characters, so PostgreSQL needs no cut; for MySQL a name with many dots and
// dashes ("a-b-c-...", up to 74 characters once GRANT escapes its `_`) is cut as Database
// cuts it, since the image's entrypoint grants the user the database with `_` escaped.
func DedicatedDatabase(engine, microservice string) string {
	s := identifierChars(microservice)
	if engine != EngineMySQL || MySQLGrantLength(s) <= MaxMySQLDatabaseLength {
		return s
	}
	return grantCut(s, microservice)
}

// DedicatedUser is the user name inside the Microservice's dedicated server: the
// Microservice's name with the identifier rule applied, cut for MySQL by the same hash rule
// as Role.
func DedicatedUser(engine, microservice string) string {
	if engine == EngineMySQL {
		return shorten(identifierChars(microservice), microservice, MaxMySQLUserLength)
	}
	return identifierChars(microservice)
}

// MySQLGrantLength is the length MySQL sees of a database name in GRANT ... ON `db`.*, once
// its wildcards are escaped.
func MySQLGrantLength(db string) int {
	return utf8.RuneCountInString(db) + strings.Count(db, "_") + strings.Count(db, "%") + strings.Count(db, `\`)
}

// identifierChars lowercases s and replaces every character outside [a-z0-9_] with '_' (one
// per character, not per byte), so the result is a plain identifier on both engines.
func identifierChars(s string) string {
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

// shorten cuts s to limit characters, ending it with `_` and the hash of key.
func shorten(s, key string, limit int) string {
	if len(s) <= limit {
		return s
	}
	return s[:limit-1-hashLength] + "_" + hashSuffix(key)
}

// hashSuffix is 8 hex digits of SHA-256 over key ("<namespace>/<name>": "/" cannot occur in
// either).
func hashSuffix(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])[:hashLength]
}
