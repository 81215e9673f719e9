package dbadmin

import (
	"errors"
	"strings"
	"testing"
)

// hostileStrings are values an attacker might choose for a name or password.
var hostileStrings = []string{
	`plain`,
	`it's`,
	`''`,
	`'; DROP ROLE kubeship_admin; --`,
	`\'; DROP ROLE kubeship_admin; --`,
	`trailing backslash\`,
	`\\`,
	`\x00 is not a NUL`,
	`$$ dollar $tag$`,
	`"double" "quotes"`,
	"back`tick``s",
	`%_ wildcards`,
	"ünïcødé 😀",
	"tab\tnew\nline\r",
	strings.Repeat("long'", 300),
}

func TestQuoteLiteral(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{`abc`, ` 'abc'`},
		{`it's`, ` 'it''s'`},
		{`a\b`, ` E'a\\b'`},
		{`\'`, ` E'\\'''`},
		{`ünï`, ` 'ünï'`},
	}
	for _, tc := range tests {
		got, err := quoteLiteral(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("quoteLiteral(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "a\x00b", "a\xffb"} {
		_, err := quoteLiteral(bad)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("quoteLiteral(%q): err = %v, want ErrInvalid", bad, err)
		}
		if err != nil && bad != "" && strings.Contains(err.Error(), bad) {
			t.Errorf("error %q contains the value", err)
		}
	}
	// Structural check: outside the delimiters no quote is left unpaired.
	for _, s := range hostileStrings {
		q, err := quoteLiteral(s)
		if err != nil {
			t.Fatalf("quoteLiteral(%q): %v", s, err)
		}
		body := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(q, " E'"), " '"), "'")
		if strings.Count(strings.ReplaceAll(body, "''", ""), "'") != 0 {
			t.Errorf("quoteLiteral(%q) = %q has an unpaired quote", s, q)
		}
	}
}

func TestMySQLQuoting(t *testing.T) {
	t.Parallel()
	if got, want := myIdent("a`b"), "`a``b`"; got != want {
		t.Errorf("myIdent = %q, want %q", got, want)
	}
	if got, want := myGrantDB(`a_b%c\d`+"`e"), "`a\\_b\\%c\\\\d``e`"; got != want {
		t.Errorf("myGrantDB = %q, want %q", got, want)
	}
}

func TestCheckNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		engine, db, role string
		ok               bool
	}{
		{EnginePostgres, "shop_payments", "shop_payments", true},
		{EnginePostgres, strings.Repeat("a", 63), strings.Repeat("b", 63), true},
		{EnginePostgres, strings.Repeat("a", 64), "r", false}, // PostgreSQL would truncate it
		{EnginePostgres, strings.Repeat("é", 32), "r", false}, // 64 bytes
		{EnginePostgres, "d", "", false},
		{EnginePostgres, "d\x00x", "r", false},
		{EnginePostgres, "d", "r\xff", false},
		{EngineMySQL, strings.Repeat("é", 64), strings.Repeat("é", 32), true}, // MySQL counts characters
		{EngineMySQL, strings.Repeat("a", 65), "r", false},
		{EngineMySQL, "d", strings.Repeat("b", 33), false},
		{EngineMySQL, "trailing ", "r", false},
		{EngineMySQL, "", "r", false},
	}
	for _, tc := range tests {
		check := checkPGNames
		if tc.engine == EngineMySQL {
			check = checkMySQLNames
		}
		err := check(tc.db, tc.role)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("%s check(%q, %q) = %v, want ok=%v", tc.engine, tc.db, tc.role, err, tc.ok)
		}
	}
}

func TestGrantsElevated(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		grants []string
		want   bool
	}{
		{"new user", []string{"GRANT USAGE ON *.* TO `u`@`%` IDENTIFIED BY PASSWORD '*ABC'"}, false},
		{"our grant", []string{"GRANT USAGE ON *.* TO `u`@`%`", "GRANT ALL PRIVILEGES ON `shop\\_a`.* TO `u`@`%`"}, false},
		{"table grant", []string{"GRANT USAGE ON *.* TO `u`@`%`", "GRANT SELECT ON `d`.`t` TO `u`@`%`"}, false},
		{"global", []string{"GRANT SELECT, INSERT ON *.* TO `u`@`%`"}, true},
		{"admin", []string{"GRANT ALL PRIVILEGES ON *.* TO `u`@`%` WITH GRANT OPTION"}, true},
		{"grant option on a db", []string{"GRANT USAGE ON *.* TO `u`@`%`", "GRANT ALL PRIVILEGES ON `d`.* TO `u`@`%` WITH GRANT OPTION"}, true},
		{"proxy", []string{"GRANT USAGE ON *.* TO `u`@`%`", "GRANT PROXY ON ''@'%' TO 'u'@'%'"}, true},
		{"role", []string{"GRANT USAGE ON *.* TO `u`@`%`", "GRANT `dba` TO `u`@`%`"}, true},
		{"default role", []string{"GRANT USAGE ON *.* TO `u`@`%`", "SET DEFAULT ROLE `dba` FOR `u`@`%`"}, true},
		{"dynamic privilege", []string{"GRANT USAGE ON *.* TO `u`@`%`", "GRANT SYSTEM_USER ON *.* TO `u`@`%`"}, true},
	}
	for _, tc := range tests {
		if got := grantsElevated(tc.grants); got != tc.want {
			t.Errorf("%s: grantsElevated = %v, want %v", tc.name, got, tc.want)
		}
	}
}
