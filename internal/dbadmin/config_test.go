package dbadmin

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func validConfig() Config {
	return Config{Engine: EnginePostgres, Host: "db.example", Port: 5432, Username: "admin", Password: "Sup3r-s3cret!"}
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{"engine", func(c *Config) { c.Engine = "oracle" }},
		{"empty host", func(c *Config) { c.Host = "" }},
		{"host with a path", func(c *Config) { c.Host = "db/x" }},
		{"host with userinfo", func(c *Config) { c.Host = "u@db" }},
		{"port 0", func(c *Config) { c.Port = 0 }},
		{"port 65536", func(c *Config) { c.Port = 65536 }},
		{"no username", func(c *Config) { c.Username = "" }},
		{"sslmode", func(c *Config) { c.SSLMode = "prefer" }},
	}
	for _, tc := range tests {
		cfg := validConfig()
		tc.mutate(&cfg)
		_, err := Connect(context.Background(), cfg)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Connect error %v, want ErrInvalid", tc.name, err)
		}
		assertNoSecret(t, err, cfg.Password)
	}
	if err := validConfig().validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
}

func TestConfigFormattingHidesPassword(t *testing.T) {
	t.Parallel()
	cfg := validConfig()
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(format, cfg); strings.Contains(out, cfg.Password) {
			t.Errorf("%s prints the password: %s", format, out)
		}
	}
}

func TestPostgresSSLModes(t *testing.T) {
	t.Parallel()
	pool := x509.NewCertPool()
	tests := []struct {
		mode             string
		tls, skipVerify  bool
		serverName       string
		rootCAs          *x509.CertPool
		wantRootsFromCfg bool
	}{
		{mode: SSLDisable},
		{mode: "", tls: true, skipVerify: true, serverName: "db.example"}, // the API default is require; the name is for SNI
		{mode: SSLRequire, tls: true, skipVerify: true, serverName: "db.example"},
		{mode: SSLVerifyFull, tls: true, serverName: "db.example", rootCAs: pool, wantRootsFromCfg: true},
		{mode: SSLVerifyFull, tls: true, serverName: "db.example"},
	}
	for _, tc := range tests {
		cfg := validConfig()
		cfg.SSLMode, cfg.RootCAs = tc.mode, tc.rootCAs
		cc, err := pgConnConfig(cfg)
		if err != nil {
			t.Fatalf("%q: %v", tc.mode, err)
		}
		if cc.Password != cfg.Password || len(cc.Fallbacks) != 0 {
			t.Errorf("%q: password set %v, %d fallbacks (want none: no silent plaintext)", tc.mode, cc.Password == cfg.Password, len(cc.Fallbacks))
		}
		if (cc.TLSConfig != nil) != tc.tls {
			t.Errorf("%q: TLS %v, want %v", tc.mode, cc.TLSConfig != nil, tc.tls)
			continue
		}
		if !tc.tls {
			continue
		}
		if cc.TLSConfig.InsecureSkipVerify != tc.skipVerify || cc.TLSConfig.ServerName != tc.serverName {
			t.Errorf("%q: skip verify %v, server name %q", tc.mode, cc.TLSConfig.InsecureSkipVerify, cc.TLSConfig.ServerName)
		}
		if tc.wantRootsFromCfg && cc.TLSConfig.RootCAs != pool {
			t.Errorf("%q: RootCAs not taken from Config", tc.mode)
		}
	}
}

func TestMySQLSSLModes(t *testing.T) {
	t.Parallel()
	pool := x509.NewCertPool()
	for _, tc := range []struct {
		mode            string
		tls, skipVerify bool
	}{
		{SSLDisable, false, false},
		{"", true, true},
		{SSLRequire, true, true},
		{SSLVerifyFull, true, false},
	} {
		cfg := validConfig()
		cfg.Engine, cfg.SSLMode, cfg.RootCAs = EngineMySQL, tc.mode, pool
		mc := mysqlConfig(cfg)
		if (mc.TLS != nil) != tc.tls {
			t.Errorf("%q: TLS %v, want %v", tc.mode, mc.TLS != nil, tc.tls)
			continue
		}
		if mc.AllowFallbackToPlaintext || mc.MultiStatements || !mc.InterpolateParams {
			t.Errorf("%q: fallback %v, multi statements %v, interpolate %v", tc.mode, mc.AllowFallbackToPlaintext, mc.MultiStatements, mc.InterpolateParams)
		}
		if tc.tls && (mc.TLS.InsecureSkipVerify != tc.skipVerify || (!tc.skipVerify && (mc.TLS.ServerName != "db.example" || mc.TLS.RootCAs != pool))) {
			t.Errorf("%q: TLS config %+v", tc.mode, mc.TLS)
		}
	}
}
