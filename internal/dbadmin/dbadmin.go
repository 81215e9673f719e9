// Package dbadmin is the operator's admin connection to a shared database server (a
// DatabaseServer): it makes and drops one database plus one login role per Microservice.
//
// PostgreSQL goes through pgx (its database/sql adapter), MySQL and MariaDB through
// go-sql-driver/mysql. Identifiers are always quoted (pgx.Identifier.Sanitize, backticks for
// MySQL); values go in as bind parameters where the server accepts them, and as carefully
// quoted literals where it does not (a password in PostgreSQL's CREATE/ALTER ROLE). Errors
// never carry a password: driver errors are copied into *Error with every secret removed.
package dbadmin

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"
	"time"

	"github.com/kubeship/kubeship/internal/naming"
)

// Engines.
const (
	EnginePostgres = naming.EnginePostgres
	EngineMySQL    = naming.EngineMySQL
)

// SSL modes, as DatabaseServer.spec.sslMode spells them.
//
//	mode         postgres (pgx)           mysql (go-sql-driver tls)
//	disable      sslmode=disable          false: no TLS
//	require      sslmode=require          skip-verify: TLS required, certificate not checked
//	verify-full  sslmode=verify-full      true: TLS, chain checked against RootCAs, name against Host
//
// require encrypts but, like libpq's sslmode=require, does not authenticate the server.
const (
	SSLDisable    = "disable"
	SSLRequire    = "require"
	SSLVerifyFull = "verify-full"
)

const defaultConnectTimeout = 10 * time.Second

// Config says how to reach a server as its admin.
type Config struct {
	Engine   string // EnginePostgres or EngineMySQL
	Host     string
	Port     int
	Username string
	Password string
	SSLMode  string // SSLDisable, SSLRequire or SSLVerifyFull; "" means SSLRequire (the API default)

	// RootCAs checks the server's certificate with SSLVerifyFull; nil means the system roots.
	RootCAs *x509.CertPool
	// AdminDatabase is the database the PostgreSQL admin session opens; "" means "postgres".
	// Unused for MySQL.
	AdminDatabase string
	// ConnectTimeout bounds each connection attempt; zero means 10 seconds.
	ConnectTimeout time.Duration
}

// String describes the config without its password, so logging a Config is safe.
func (c Config) String() string {
	return fmt.Sprintf("%s://%s@%s:%d (sslmode %s)", c.Engine, c.Username, c.Host, c.Port, c.sslMode())
}

// GoString keeps %#v from printing the password too.
func (c Config) GoString() string { return "dbadmin.Config{" + c.String() + "}" }

func (c Config) sslMode() string {
	if c.SSLMode == "" {
		return SSLRequire
	}
	return c.SSLMode
}

func (c Config) connectTimeout() time.Duration {
	if c.ConnectTimeout <= 0 {
		return defaultConnectTimeout
	}
	return c.ConnectTimeout
}

func (c Config) validate() error {
	switch {
	case c.Engine != EnginePostgres && c.Engine != EngineMySQL:
		return invalidf("unknown engine %q", c.Engine)
	case c.Host == "" || strings.ContainsAny(c.Host, " \t\r\n/?#@"):
		return invalidf("invalid host %q", c.Host)
	case c.Port < 1 || c.Port > 65535:
		return invalidf("port %d is outside 1..65535", c.Port)
	case c.Username == "":
		return invalidf("no admin username")
	}
	switch c.sslMode() {
	case SSLDisable, SSLRequire, SSLVerifyFull:
		return nil
	default:
		return invalidf("unknown sslMode %q", c.SSLMode)
	}
}

// Admin is an admin session on one database server. It is safe for concurrent use.
type Admin interface {
	// Ping opens a new connection and logs in, proving the admin credentials work now.
	Ping(ctx context.Context) error

	// EnsureDatabase makes login role `role` with password `password` and database `db` that
	// belongs to it, both marked as owned by `owner` (a Microservice's UID), idempotently: it
	// creates what is missing and always sets the password, so a run that stopped half-way
	// converges on the next one. No other non-superuser role can connect to (postgres) or use
	// (mysql) the database, and the role gets no other rights.
	//
	// A role that exists without any marker, whose database exists and belongs to it (what
	// a kubeship from before markers made), is claimed for owner only if one login as the
	// role with `password` to `db` succeeds first (claim.go); the markers are written before
	// the password is set. It refuses (ErrConflict) a role or database that exists without
	// owner's marker otherwise (made by someone else, or by another Microservice whose
	// names collide with this one's, and in either case not proven by the login), a
	// role that is the admin itself or holds server-wide privileges, or (postgres) a database
	// that belongs to another role. Of concurrent calls for one name with different owners,
	// exactly one succeeds. A refused role's password is never changed.
	EnsureDatabase(ctx context.Context, db, role, password, owner string) error

	// DropDatabase drops the database and the role if they exist and carry owner's marker,
	// ending their sessions first. Dropping what is already gone is not an error. It refuses
	// (ErrConflict) anything without owner's marker, and the things EnsureDatabase refuses.
	DropDatabase(ctx context.Context, db, role, owner string) error

	Close() error
}

// Connect checks cfg, connects and logs in. Errors satisfy IsAuthError or IsUnreachable when
// the credentials are wrong or the server cannot be reached.
func Connect(ctx context.Context, cfg Config) (Admin, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.Engine == EngineMySQL {
		return connectMySQL(ctx, cfg)
	}
	return connectPostgres(ctx, cfg)
}

// step is one idempotent part of EnsureDatabase or DropDatabase. Each step looks at (or
// tolerates) the state the previous ones left, so a sequence cut short after any step is
// finished by running the whole sequence again.
type step struct {
	name string
	run  func(ctx context.Context) error
}

// runSteps runs steps in order. hook, set only by tests, runs before each step; an error from
// it stops the sequence there, as a crash or lost connection would.
func runSteps(ctx context.Context, hook func(step string) error, steps []step) error {
	for _, s := range steps {
		if hook != nil {
			if err := hook(s.name); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return wrapErr(ctx, "before step "+s.name, err)
		}
		if err := s.run(ctx); err != nil {
			return err
		}
	}
	return nil
}
