package controllers

import (
	"context"
	"fmt"
	"time"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/internal/dbadmin"
)

// Connector opens an admin connection to a database server; tests and the manager
// use dbadmin.Connect.
type Connector func(ctx context.Context, cfg dbadmin.Config) (dbadmin.Admin, error)

// adminSecretError is a problem with a DatabaseServer's admin or CA Secret that only a
// person can fix, reported with its own condition reason.
type adminSecretError struct {
	reason, message string
}

func (e *adminSecretError) Error() string { return e.message }

// serverConnector logs in to DatabaseServers with their admin Secret. Every connect and
// every call on the Admin it returns runs under timeout, so a server that accepts and
// never answers holds a worker for at most that long.
type serverConnector struct {
	gate    secretGate
	connect Connector
	timeout time.Duration
	// slots, when set, caps the connections open to one server at a time.
	slots *serverSlots
	// pool, when set, shares one admin session per server and login between passes.
	pool *adminPool
}

// open logs in to server. Close the Admin to give its slot back. The slot comes first:
// a pass that finds the server's slots taken costs no Secret read.
func (c serverConnector) open(ctx context.Context, server *v1alpha1.DatabaseServer) (dbadmin.Admin, error) {
	release := func() {}
	if c.slots != nil {
		if release = c.slots.take(server.Name); release == nil {
			return nil, &serverBusyError{server: server.Name}
		}
	}
	admin, err := c.login(ctx, server)
	if err != nil {
		release()
		return nil, err
	}
	return &timedAdmin{Admin: admin, timeout: c.timeout, release: release}, nil
}

// login reads server's admin and CA Secrets and logs in with them, or takes the pooled
// session made with the same.
func (c serverConnector) login(ctx context.Context, server *v1alpha1.DatabaseServer) (dbadmin.Admin, error) {
	ref := server.Spec.AdminSecretRef
	secret, err := c.gate.read(ctx, "spec.adminSecretRef", ref)
	if err != nil {
		return nil, err
	}
	user, password := string(secret.Data["username"]), string(secret.Data["password"])
	if user == "" || password == "" {
		return nil, &adminSecretError{v1alpha1.ReasonInvalidSecret, fmt.Sprintf("spec.adminSecretRef: Secret %s/%s needs the keys username and password", ref.Namespace, ref.Name)}
	}
	roots, caPEM, err := c.gate.rootCAs(ctx, server)
	if err != nil {
		return nil, err
	}
	cfg := dbadmin.Config{
		Engine:         string(server.Spec.Engine),
		Host:           server.Spec.Host,
		Port:           int(server.Spec.Port),
		Username:       user,
		Password:       password,
		SSLMode:        string(server.Spec.SSLMode), // "" is dbadmin's default, the API's: require
		RootCAs:        roots,
		ConnectTimeout: c.timeout,
	}
	connect := func(ctx context.Context) (dbadmin.Admin, error) {
		ctx, cancel := context.WithTimeout(ctx, c.timeout)
		defer cancel()
		return c.connect(ctx, cfg)
	}
	var admin dbadmin.Admin
	if c.pool != nil {
		admin, err = c.pool.get(ctx, newAdminKey(server.UID, cfg, caPEM), connect)
	} else {
		admin, err = connect(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("connecting to DatabaseServer %s: %w", server.Name, err)
	}
	return admin, nil
}

func (r *MicroserviceReconciler) connectAdmin(ctx context.Context, server *v1alpha1.DatabaseServer) (dbadmin.Admin, error) {
	return r.Admins.open(ctx, server)
}
