package naming

import (
	"net/url"
	"testing"
)

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
