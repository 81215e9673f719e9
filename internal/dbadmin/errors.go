package dbadmin

import (
	"context"
	"crypto/tls"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sort"
	"strings"
	"syscall"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/kubeship/kubeship/internal/naming"
)

var (
	// ErrConflict means the role or database exists but is not one this package may manage (it is
	// the admin, holds server-wide rights, or the database belongs to another role). Only a
	// person can sort that out; retrying will not help.
	ErrConflict = errors.New("exists and is not a role or database kubeship may manage")
	// ErrInvalid means a name, password or Config the server cannot take (empty, too long, NUL
	// bytes, invalid UTF-8). Retrying will not help.
	ErrInvalid = errors.New("invalid input")
)

type kind int

const (
	kindOther kind = iota
	kindAuth
	kindUnreachable
)

// Error is what every method returns. It holds a copy of the driver's message with all
// secrets removed, never the driver error itself (pgconn.ConnectError, for one, carries the
// whole connection config, password included). It unwraps only to ErrConflict, ErrInvalid or
// a context error.
type Error struct {
	Op   string // what was being done, e.g. `creating role "shop_payments"`
	Code string // the server's SQLSTATE (postgres) or error number (mysql), if it sent one
	kind kind
	msg  string
	err  error
}

func (e *Error) Error() string {
	if e.msg == "" {
		return "dbadmin: " + e.Op
	}
	return "dbadmin: " + e.Op + ": " + e.msg
}

func (e *Error) Unwrap() error { return e.err }

// IsAuthError reports whether err says the server rejected the login (wrong user or
// password, no pg_hba.conf entry) or denied access to a database.
func IsAuthError(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.kind == kindAuth
	}
	return classify(err) == kindAuth
}

// IsUnreachable reports whether err says the server could not be reached or did not answer:
// connection refused, unknown host, timeout, connection lost, server starting or shutting down.
func IsUnreachable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.kind == kindUnreachable
	}
	return classify(err) == kindUnreachable
}

func invalidf(format string, args ...any) error {
	return &Error{Op: fmt.Sprintf(format, args...), err: ErrInvalid}
}

// settingsErr reports connection settings the driver refused. The password is cut out of the
// message in case the driver quotes it.
func settingsErr(err error, password string) error {
	return &Error{Op: "reading connection settings", msg: redact(err.Error(), password), err: ErrInvalid}
}

func conflictf(format string, args ...any) error {
	return &Error{Op: fmt.Sprintf(format, args...), err: ErrConflict}
}

// wrapErr turns a driver error into an *Error with every secret (and its quoted and escaped
// forms) cut out of the message. When ctx has ended, the error unwraps to ctx.Err(): drivers
// often report a cancelled call as a bad connection.
func wrapErr(ctx context.Context, op string, err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	out := &Error{Op: op, kind: classify(err), msg: redact(err.Error(), secrets...)}
	var pgErr *pgconn.PgError
	var myErr *mysql.MySQLError
	switch {
	case errors.As(err, &pgErr):
		out.Code = pgErr.Code
	case errors.As(err, &myErr):
		out.Code = fmt.Sprint(myErr.Number)
	}
	switch {
	case errors.Is(err, context.Canceled), ctx != nil && errors.Is(ctx.Err(), context.Canceled):
		out.err, out.kind = context.Canceled, kindOther // our doing, not the server's
	case errors.Is(err, context.DeadlineExceeded), ctx != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		out.err, out.kind = context.DeadlineExceeded, kindUnreachable
	}
	return out
}

func classify(err error) kind {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "28P01" || pgErr.Code == "28000": // invalid_password, invalid_authorization_specification
			return kindAuth
		case strings.HasPrefix(pgErr.Code, "08"), // connection_exception
			pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03": // shutting down, crash, starting up
			return kindUnreachable
		}
		return kindOther
	}
	var myErr *mysql.MySQLError
	if errors.As(err, &myErr) {
		switch myErr.Number {
		case 1044, 1045, 1698: // access denied to database, access denied, no password given
			return kindAuth
		case 1040, 1053, 1077: // too many connections, shutdown in progress, normal shutdown
			return kindUnreachable
		}
		return kindOther
	}
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return kindOther // reachable, but not the server we trust
	}
	var netErr net.Error
	var opErr *net.OpError
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr), errors.As(err, &opErr),
		errors.As(err, &netErr) && netErr.Timeout(),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, mysql.ErrInvalidConn),
		errors.Is(err, context.DeadlineExceeded), pgconn.Timeout(err):
		return kindUnreachable
	}
	return kindOther
}

// redact replaces every secret in msg, in the forms a server or driver may echo it: as is,
// SQL-quoted (doubled ' and \), MySQL-escaped (\' and \\), and percent-encoded.
func redact(msg string, secrets ...string) string {
	var forms []string
	for _, s := range secrets {
		if s == "" {
			continue
		}
		forms = append(forms, s,
			strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", "''"),
			strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`),
			url.QueryEscape(s), url.PathEscape(s), naming.EscapeURIPart(s))
	}
	// Longest first, so a secret that contains another is replaced whole.
	sort.Slice(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	for _, f := range forms {
		msg = strings.ReplaceAll(msg, f, "[REDACTED]")
	}
	return msg
}
