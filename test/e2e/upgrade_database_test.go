//go:build e2e

package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/kubeship/kubeship/internal/testdb"
)

// sharedDatabase is what the PostgreSQL server holds for one shared database: the
// role's and database's identities (a drop and re-create would change them) and their
// comments, where kubeship keeps its ownership marker.
type sharedDatabase struct {
	RoleOID, DatabaseOID         int64
	RoleComment, DatabaseComment string
	DatabaseOwnedByRole          bool
}

// credentials reads a credentials Secret's keys.
func credentials(t *testing.T, ns, secret string) map[string]string {
	t.Helper()
	out := mustKubectl(t, "get", "-n", ns, "secret", secret, "-o", `go-template={{range $k, $v := .data}}{{$k}}={{$v}}{{"\n"}}{{end}}`)
	keys := map[string]string{}
	for _, line := range strings.Fields(out) {
		k, v, _ := strings.Cut(line, "=")
		decoded, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			t.Fatalf("Secret %s key %s: %v", secret, k, err)
		}
		keys[k] = string(decoded)
	}
	return keys
}

// inspectShared reads, as the server's admin, what srv holds for role and database.
func inspectShared(t *testing.T, srv *testdb.Server, role, database string) sharedDatabase {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	u := url.URL{Scheme: "postgres", User: url.UserPassword(srv.User, srv.Password), Host: srv.Addr(), Path: "/postgres", RawQuery: "sslmode=require"}
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatalf("connecting to the test PostgreSQL as admin: %v", err)
	}
	defer func() { _ = conn.Close(ctx) }()
	var s sharedDatabase
	err = conn.QueryRow(ctx, `
		SELECT r.oid::bigint, d.oid::bigint,
		       coalesce(shobj_description(r.oid, 'pg_authid'), ''),
		       coalesce(shobj_description(d.oid, 'pg_database'), ''),
		       d.datdba = r.oid
		FROM pg_roles r, pg_database d WHERE r.rolname = $1 AND d.datname = $2`, role, database).
		Scan(&s.RoleOID, &s.DatabaseOID, &s.RoleComment, &s.DatabaseComment, &s.DatabaseOwnedByRole)
	if err != nil {
		t.Fatalf("reading role %s and database %s: %v", role, database, err)
	}
	return s
}

// logsIn checks that a credentials Secret's uri opens its database, as the app would.
func logsIn(uri string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, uri+"?sslmode=require")
	if err != nil {
		return fmt.Errorf("logging in with the Secret's uri: %w", err)
	}
	defer func() { _ = conn.Close(ctx) }()
	return conn.Ping(ctx)
}
