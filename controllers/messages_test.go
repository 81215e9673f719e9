package controllers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/internal/dbadmin"
)

func TestConnectCause(t *testing.T) {
	cases := []struct {
		raw  []string // texts seen on different passes of one problem
		want string
	}{
		{[]string{"dial tcp 127.0.0.1:54321: connect: connection refused", "dial tcp 127.0.0.1:54399: connect: connection refused"}, "connection refused"},
		{[]string{"dial tcp 10.0.0.7:5432: i/o timeout", "read tcp 127.0.0.1:40112->10.0.0.7:5432: i/o timeout", "context deadline exceeded"}, "no answer in time"},
		{[]string{"dial tcp: lookup pg.databases on 10.96.0.10:53: no such host"}, "unknown host"},
		{[]string{"tls: failed to verify certificate: x509: certificate signed by unknown authority"}, "its TLS certificate is not trusted (check spec.sslMode and spec.caSecretRef)"},
		{[]string{"server refused TLS connection"}, "it does not offer TLS (check spec.sslMode)"},
		{[]string{"read tcp 127.0.0.1:40112->127.0.0.1:5432: read: connection reset by peer", "unexpected EOF"}, "the connection was closed"},
		{[]string{"FATAL: the database system is shutting down (SQLSTATE 57P03) pid 4711"}, "the server is not accepting connections"},
		{[]string{"something new"}, "the connection failed"},
	}
	for _, tc := range cases {
		for _, raw := range tc.raw {
			t.Run(raw, func(t *testing.T) {
				NewWithT(t).Expect(connectCause(errors.New(raw))).To(Equal(tc.want))
			})
		}
	}
}

// Real connection failures from dbadmin, to two different closed ports and to a listener
// that never answers, give messages that do not carry the varying driver text.
func TestStableMessagesFromRealFailures(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	connect := func(port int, timeout time.Duration) error {
		_, err := dbadmin.Connect(ctx, dbadmin.Config{Engine: dbadmin.EnginePostgres, Host: "127.0.0.1", Port: port,
			Username: "admin", Password: "secret", SSLMode: dbadmin.SSLDisable, ConnectTimeout: timeout})
		g.Expect(err).To(HaveOccurred())
		return fmt.Errorf("connecting to DatabaseServer shared-pg: %w", err)
	}
	closedPort := func() int {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		g.Expect(err).NotTo(HaveOccurred())
		port := l.Addr().(*net.TCPAddr).Port
		g.Expect(l.Close()).To(Succeed())
		return port
	}
	a, b := connect(closedPort(), time.Second), connect(closedPort(), time.Second)
	g.Expect(a.Error()).NotTo(Equal(b.Error()), "the raw texts differ (ports)")
	reason, msg := databaseErrorCondition(a)
	g.Expect(reason).To(Equal(v1alpha1.ReasonProvisioningFailed))
	_, msgB := databaseErrorCondition(b)
	g.Expect(msg).To(Equal(msgB))
	g.Expect(msg).To(HaveSuffix(": connection refused"))
	g.Expect(msg).To(HavePrefix("connecting to DatabaseServer shared-pg: dbadmin: "))

	hung, err := net.Listen("tcp", "127.0.0.1:0")
	g.Expect(err).NotTo(HaveOccurred())
	defer hung.Close()
	go func() {
		for {
			c, err := hung.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	_, msg = databaseErrorCondition(connect(hung.Addr().(*net.TCPAddr).Port, 200*time.Millisecond))
	g.Expect(msg).To(HaveSuffix(": no answer in time"))

	server := &v1alpha1.DatabaseServer{Spec: v1alpha1.DatabaseServerSpec{Host: "pg.databases", Port: 5432,
		AdminSecretRef: v1alpha1.SecretReference{Namespace: "databases", Name: "pg-admin"}}}
	g.Expect(serverFailureMessage(server, a)).To(Equal("Cannot reach pg.databases:5432: connection refused"))

	reason, msg = databaseErrorCondition(fmt.Errorf("creating database x: %w", &serverBusyError{server: "shared-pg"}))
	g.Expect(reason).To(Equal(v1alpha1.ReasonDatabaseProvisioning))
	g.Expect(msg).To(ContainSubstring("DatabaseServer shared-pg"))
}
