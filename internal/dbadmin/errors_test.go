package dbadmin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name              string
		err               error
		auth, unreachable bool
	}{
		{"pg wrong password", &pgconn.PgError{Code: "28P01"}, true, false},
		{"pg no hba entry", fmt.Errorf("connect: %w", &pgconn.PgError{Code: "28000"}), true, false},
		{"pg starting up", &pgconn.PgError{Code: "57P03"}, false, true},
		{"pg admin shutdown", &pgconn.PgError{Code: "57P01"}, false, true},
		{"pg permission denied", &pgconn.PgError{Code: "42501"}, false, false},
		{"mysql access denied", &mysql.MySQLError{Number: 1045}, true, false},
		{"mysql db access denied", &mysql.MySQLError{Number: 1044}, true, false},
		{"mysql syntax", &mysql.MySQLError{Number: 1064}, false, false},
		{"refused", fmt.Errorf("dial: %w", refused), false, true},
		{"dns", &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, false, true},
		{"deadline", context.DeadlineExceeded, false, true},
		{"bad conn", mysql.ErrInvalidConn, false, true},
		{"other", errors.New("boom"), false, false},
	}
	for _, tc := range tests {
		wrapped := wrapErr(context.Background(), "doing it", tc.err)
		for _, err := range []error{tc.err, wrapped} {
			if IsAuthError(err) != tc.auth || IsUnreachable(err) != tc.unreachable {
				t.Errorf("%s (%T): auth %v unreachable %v, want %v %v", tc.name, err, IsAuthError(err), IsUnreachable(err), tc.auth, tc.unreachable)
			}
		}
	}
	if IsAuthError(nil) || IsUnreachable(nil) {
		t.Error("nil classified")
	}
}

func TestWrapErr(t *testing.T) {
	t.Parallel()
	err := wrapErr(context.Background(), "creating role", &pgconn.PgError{Severity: "ERROR", Code: "42501", Message: "permission denied"})
	var e *Error
	if !errors.As(err, &e) || e.Code != "42501" || !strings.Contains(err.Error(), "creating role") {
		t.Errorf("wrapErr = %#v", err)
	}
	if err := wrapErr(context.Background(), "x", &mysql.MySQLError{Number: 1045}); !errors.As(err, &e) || e.Code != "1045" {
		t.Errorf("mysql code: %#v", err)
	}
	if err := wrapErr(context.Background(), "x", fmt.Errorf("q: %w", context.Canceled)); !errors.Is(err, context.Canceled) {
		t.Errorf("context error lost: %v", err)
	}
	// The driver error itself is not kept: pgconn.ConnectError holds the config and password.
	connectErr := &pgconn.ConnectError{Config: &pgconn.Config{Password: "hunter2"}}
	if err := wrapErr(context.Background(), "x", fmt.Errorf("login: %w", connectErr)); errors.As(err, &connectErr) {
		t.Error("*pgconn.ConnectError reachable through the wrapped error")
	}
	if wrapErr(context.Background(), "x", nil) != nil {
		t.Error("wrapErr(nil) != nil")
	}
}

func TestRedact(t *testing.T) {
	t.Parallel()
	pw := `pa'ss\wo rd`
	tests := []string{
		"echo: " + pw,
		`quoted: 'pa''ss\\wo rd'`,
		`mysql-escaped: 'pa\'ss\\wo rd'`,
		"url: pa%27ss%5Cwo%20rd",
		"query: pa%27ss%5Cwo+rd",
	}
	for _, msg := range tests {
		got := redact(msg, pw, "")
		if !strings.Contains(got, "[REDACTED]") || strings.Contains(got, "pa'ss") || strings.Contains(got, "wo rd") || strings.Contains(got, "wo%20rd") || strings.Contains(got, "wo+rd") {
			t.Errorf("redact(%q) = %q", msg, got)
		}
	}
	if got := redact("admin: hunter2, role: swordfish", "hunter2", "swordfish"); got != "admin: [REDACTED], role: [REDACTED]" {
		t.Errorf("two secrets: %q", got)
	}
}
