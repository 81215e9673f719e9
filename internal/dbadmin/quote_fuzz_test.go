package dbadmin

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// The fuzz targets below read each quoted form back with a small parser of the SQL lexer's
// rules and require the original: so the quoting can neither lose a character nor let a
// terminator through (a parse that stops early leaves text over, which fails).

// quoteSeeds are the hostile strings plus the bytes the quoting rules turn on.
func quoteSeeds() []string {
	return append([]string{"", "\x00", "a\x00b", "\xff", `\`, `'`, `"`, "`", `\'`, `''\\`, `_%\`, "\u2028"}, hostileStrings...)
}

// FuzzQuoteLiteral: quoteLiteral either refuses s as invalid or returns a literal that
// PostgreSQL reads back as exactly s.
func FuzzQuoteLiteral(f *testing.F) {
	for _, s := range quoteSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		lit, err := quoteLiteral(s)
		valid := s != "" && !strings.ContainsRune(s, 0) && utf8.ValidString(s)
		if !valid {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("quoteLiteral(%q) = %q, %v; want ErrInvalid", s, lit, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("quoteLiteral(%q): %v", s, err)
		}
		got, err := parsePGLiteral(lit)
		if err != nil || got != s {
			t.Fatalf("quoteLiteral(%q) = %q reads back as %q, %v", s, lit, got, err)
		}
	})
}

// parsePGLiteral reads ` '...'` (standard string) or ` E'...'` (escape string) the way
// PostgreSQL does and fails on anything after the closing quote. A standard string must
// hold no backslash: with standard_conforming_strings=off the server would read it as an
// escape, so the same text would mean something else.
func parsePGLiteral(lit string) (string, error) {
	rest, ok := strings.CutPrefix(lit, " ")
	if !ok {
		return "", errors.New("no leading space")
	}
	escape := strings.HasPrefix(rest, "E")
	rest = strings.TrimPrefix(rest, "E")
	rest, ok = strings.CutPrefix(rest, "'")
	if !ok {
		return "", errors.New("no opening quote")
	}
	var b strings.Builder
	for i := 0; i < len(rest); i++ {
		switch c := rest[i]; {
		case c == '\'' && i+1 < len(rest) && rest[i+1] == '\'':
			b.WriteByte('\'')
			i++
		case c == '\'':
			if i != len(rest)-1 {
				return "", errors.New("text after the closing quote: " + rest[i+1:])
			}
			return b.String(), nil
		case c == '\\' && !escape:
			return "", errors.New("backslash in a standard string")
		case c == '\\':
			// The quoting makes only \\ ; any other escape would mean something else.
			if i+1 >= len(rest) || rest[i+1] != '\\' {
				return "", errors.New("an escape other than \\\\")
			}
			b.WriteByte('\\')
			i++
		default:
			b.WriteByte(c)
		}
	}
	return "", errors.New("no closing quote")
}

// FuzzPGIdent: every name checkPGNames lets through quotes to an identifier that reads back
// as exactly that name, and what it refuses (NUL, which Sanitize would silently drop,
// invalid UTF-8, over 63 bytes, which PostgreSQL would silently truncate) is refused as
// invalid.
func FuzzPGIdent(f *testing.F) {
	for _, s := range quoteSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := checkPGNames(s, "role")
		valid := s != "" && !strings.ContainsRune(s, 0) && utf8.ValidString(s) && len(s) <= 63
		if valid != (err == nil) || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Fatalf("checkPGNames(%q) = %v, want valid=%v", s, err, valid)
		}
		if !valid {
			return
		}
		got, err := parseQuoted(pgIdent(s), '"')
		if err != nil || got != s {
			t.Fatalf("pgIdent(%q) = %q reads back as %q, %v", s, pgIdent(s), got, err)
		}
	})
}

// FuzzMySQLIdent: myIdent reads back as the name, and myGrantDB, once MySQL removes the
// backslash escapes, names exactly the database, with no `_` or `%` left to act as a
// wildcard.
func FuzzMySQLIdent(f *testing.F) {
	for _, s := range quoteSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, err := parseQuoted(myIdent(s), '`'); err != nil || got != s {
			t.Fatalf("myIdent(%q) = %q reads back as %q, %v", s, myIdent(s), got, err)
		}
		pattern, err := parseQuoted(myGrantDB(s), '`')
		if err != nil {
			t.Fatalf("myGrantDB(%q) = %q: %v", s, myGrantDB(s), err)
		}
		got, err := unescapeGrantPattern(pattern)
		if err != nil || got != s {
			t.Fatalf("myGrantDB(%q) = %q matches %q, %v", s, myGrantDB(s), got, err)
		}
	})
}

// parseQuoted reads an identifier quoted with q (doubled inside) and fails on anything
// after the closing quote.
func parseQuoted(quoted string, q byte) (string, error) {
	if len(quoted) < 2 || quoted[0] != q {
		return "", errors.New("no opening quote")
	}
	var b strings.Builder
	rest := quoted[1:]
	for i := 0; i < len(rest); i++ {
		switch {
		case rest[i] == q && i+1 < len(rest) && rest[i+1] == q:
			b.WriteByte(q)
			i++
		case rest[i] == q:
			if i != len(rest)-1 {
				return "", errors.New("text after the closing quote: " + rest[i+1:])
			}
			return b.String(), nil
		default:
			b.WriteByte(rest[i])
		}
	}
	return "", errors.New("no closing quote")
}

// unescapeGrantPattern reads a GRANT database pattern as MySQL does and fails on a bare
// wildcard, which would match other databases too.
func unescapeGrantPattern(p string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			if i+1 >= len(p) {
				return "", errors.New("trailing backslash")
			}
			b.WriteByte(p[i+1])
			i++
		case '_', '%':
			return "", errors.New("bare wildcard " + string(p[i]))
		default:
			b.WriteByte(p[i])
		}
	}
	return b.String(), nil
}
