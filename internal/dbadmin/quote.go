package dbadmin

import (
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// pgIdent quotes a PostgreSQL identifier. Names reach it only after checkName, which rejects
// the NUL bytes Sanitize would silently drop.
func pgIdent(name string) string { return pgx.Identifier{name}.Sanitize() }

// quoteLiteral quotes s as a PostgreSQL string literal, for the one place the server takes no
// bind parameter: the password of CREATE/ALTER ROLE. Like libpq's PQescapeLiteral it doubles
// single quotes, and when s holds a backslash it doubles those too and uses the E'...' form, so
// the result means s whatever standard_conforming_strings is set to. The leading space keeps
// the E from gluing onto a preceding token. NUL bytes (which no text value can hold) and
// invalid UTF-8 (which the server would echo back in its error) are rejected; the error does
// not contain s.
func quoteLiteral(s string) (string, error) {
	if err := checkText("password", s); err != nil {
		return "", err
	}
	if !strings.Contains(s, `\`) {
		return " '" + strings.ReplaceAll(s, "'", "''") + "'", nil
	}
	return " E'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", "''") + "'", nil
}

// myIdent quotes a MySQL identifier with backticks, doubling any backtick inside.
func myIdent(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }

// myGrantDB quotes a database name for GRANT ... ON <db>.*, where MySQL reads `_` and `%` as
// wildcards: GRANT ON `shop_a`.* would also cover a database named "shopxa". Backslash-escaping
// them (and the backslash itself) grants exactly the one database.
func myGrantDB(name string) string {
	r := strings.NewReplacer(`\`, `\\`, `_`, `\_`, `%`, `\%`)
	return myIdent(r.Replace(name))
}

// checkText rejects what no identifier or password may hold. what names the value, since
// the value itself may be a secret.
func checkText(what, s string) error {
	switch {
	case s == "":
		return invalidf("%s is empty", what)
	case strings.IndexByte(s, 0) >= 0:
		return invalidf("%s contains a NUL byte", what)
	case !utf8.ValidString(s):
		return invalidf("%s is not valid UTF-8", what)
	}
	return nil
}

// checkName checks an identifier against the engine's limits: PostgreSQL truncates longer
// names silently (so the later lookup by full name would miss), MySQL rejects them.
func checkName(what, name string, maxBytes, maxChars int) error {
	if err := checkText(what, name); err != nil {
		return err
	}
	if maxBytes > 0 && len(name) > maxBytes {
		return invalidf("%s %q is longer than %d bytes", what, name, maxBytes)
	}
	if maxChars > 0 && utf8.RuneCountInString(name) > maxChars {
		return invalidf("%s %q is longer than %d characters", what, name, maxChars)
	}
	return nil
}
