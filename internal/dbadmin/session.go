package dbadmin

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"time"
)

// session is what pgAdmin and myAdmin share: the admin's pool, the connector behind it (Ping
// needs a fresh login, not a pooled connection), and the admin password every error is
// cleaned of.
type session struct {
	db        *sql.DB
	connector driver.Connector
	secrets   []string // the admin password
	// cfg is how the admin reached the server; a password proof (claim.go) logs in as a
	// role with the same host, port, sslMode and CA.
	cfg Config

	stepHook func(step string) error // tests only
}

// newSession opens the pool both engines use. It is small on purpose: each EnsureDatabase or
// DropDatabase runs on one connection, and the admin should not hold many of the server's
// connection slots, nor keep idle ones for long.
func newSession(connector driver.Connector, cfg Config) session {
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(time.Minute)
	return session{db: db, connector: connector, secrets: []string{cfg.Password}, cfg: cfg}
}

// login runs the first query, which proves the credentials; if it fails the pool is closed,
// since the caller gets no Admin to Close.
func (s *session) login(ctx context.Context, first func(ctx context.Context) error) error {
	if err := first(ctx); err != nil {
		s.db.Close()
		return s.fail(ctx, "logging in as admin", err)
	}
	return nil
}

// fail wraps err with op, cutting out the given secrets and the admin password.
func (s *session) fail(ctx context.Context, op string, err error, secrets ...string) error {
	return wrapErr(ctx, op, err, append(secrets, s.secrets...)...)
}

// execOn returns a function that runs one statement on conn, its error wrapped with op and
// cleaned of secrets (the role's password, where the statement carries it).
func (s *session) execOn(conn *sql.Conn, secrets ...string) func(ctx context.Context, op, query string, args ...any) error {
	return func(ctx context.Context, op, query string, args ...any) error {
		_, err := conn.ExecContext(ctx, query, args...)
		return s.fail(ctx, op, err, secrets...)
	}
}

func (s *session) Ping(ctx context.Context) error {
	c, err := s.connector.Connect(ctx)
	if err != nil {
		return s.fail(ctx, "logging in as admin", err)
	}
	defer c.Close()
	if p, ok := c.(driver.Pinger); ok {
		return s.fail(ctx, "pinging as admin", p.Ping(ctx))
	}
	return nil
}

func (s *session) Close() error { return s.db.Close() }
