package naming

import (
	"net"
	"strconv"
	"strings"
)

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
	return scheme + "://" + EscapeURIPart(user) + ":" + EscapeURIPart(password) + "@" +
		net.JoinHostPort(host, strconv.Itoa(port)) + "/" + EscapeURIPart(db)
}

// EscapeURIPart percent-encodes every byte of s except RFC 3986's unreserved characters.
func EscapeURIPart(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := range len(s) {
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
