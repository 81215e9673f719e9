package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/internal/dbadmin"
)

// Condition messages must read the same on every pass that sees the same problem: a
// message that changes (a local port, a PID, a connection id) is a status write, and a
// status write per pass per service is an endless stream of writes. Driver text is
// therefore reduced to a cause from a fixed list here; the raw error goes to the log.

// connectCause names why a connection failed, from a fixed list.
func connectCause(err error) string {
	text := strings.ToLower(err.Error())
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(text, s) {
				return true
			}
		}
		return false
	}
	switch {
	case has("x509", "certificate"):
		return "its TLS certificate is not trusted (check spec.sslMode and spec.caSecretRef)"
	case has("refused tls", "ssl is not enabled", "ssl off", "does not support ssl", "tls requested but server does not support"):
		return "it does not offer TLS (check spec.sslMode)"
	case errors.Is(err, context.DeadlineExceeded), has("timeout", "timed out", "deadline exceeded"):
		return "no answer in time"
	case has("connection refused"):
		return "connection refused"
	case has("no such host", "server misbehaving"):
		return "unknown host"
	case has("no route to host", "network is unreachable", "host is unreachable"):
		return "no route to host"
	case has("connection reset", "broken pipe", "eof", "bad connection", "invalid connection"):
		return "the connection was closed"
	case has("shutting down", "starting up", "shutdown", "too many connections"):
		return "the server is not accepting connections"
	}
	return "the connection failed"
}

// serverFailureMessage is the DatabaseServer Ready message for a failed login or ping.
func serverFailureMessage(server *v1alpha1.DatabaseServer, err error) string {
	addr := fmt.Sprintf("%s:%d", server.Spec.Host, server.Spec.Port)
	if dbadmin.IsAuthError(err) {
		ref := server.Spec.AdminSecretRef
		return fmt.Sprintf("%s refused the admin credentials of spec.adminSecretRef (Secret %s/%s)", addr, ref.Namespace, ref.Name)
	}
	return fmt.Sprintf("Cannot reach %s: %s", addr, connectCause(err))
}

// databaseErrorCondition is the DatabaseReady reason and message for a failed database
// step: waiting for a busy server is DatabaseProvisioning, anything else ProvisioningFailed,
// with driver text about the connection reduced to a stable cause.
func databaseErrorCondition(err error) (reason, message string) {
	var busy *serverBusyError
	if errors.As(err, &busy) {
		return v1alpha1.ReasonDatabaseProvisioning, "Waiting: " + busy.Error()
	}
	return v1alpha1.ReasonProvisioningFailed, stableErrorText(err)
}

// stableErrorText is err.Error() with the text of a connection or login failure replaced
// by its cause. Other errors (SQL refusals, conflicts, API errors) already read the same
// each time and are kept.
func stableErrorText(err error) string {
	var e *dbadmin.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	var cause string
	switch {
	case dbadmin.IsAuthError(e):
		cause = "the server refused the login"
	case dbadmin.IsUnreachable(e):
		cause = connectCause(e)
	default:
		return err.Error()
	}
	full, inner := err.Error(), e.Error()
	prefix, _ := strings.CutSuffix(full, inner)
	return prefix + "dbadmin: " + e.Op + ": " + cause
}
