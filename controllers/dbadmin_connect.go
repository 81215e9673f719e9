package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/internal/dbadmin"
)

// Connector opens an admin connection to a database server; tests and the manager
// use dbadmin.Connect.
type Connector func(ctx context.Context, cfg dbadmin.Config) (dbadmin.Admin, error)

// adminSecretError is a problem with a DatabaseServer's admin Secret, reported with
// its own condition reason.
type adminSecretError struct {
	reason, message string
}

func (e *adminSecretError) Error() string { return e.message }

// connectServer logs in to server with its admin Secret, read straight from the API
// server: admin Secrets are not kubeship's, so the manager's cache does not hold them.
func connectServer(ctx context.Context, reader client.Reader, connect Connector, server *v1alpha1.DatabaseServer) (dbadmin.Admin, error) {
	ref := server.Spec.AdminSecretRef
	secret := &corev1.Secret{}
	if err := reader.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}, secret); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return nil, &adminSecretError{v1alpha1.ReasonSecretNotFound, fmt.Sprintf("admin Secret %s/%s does not exist", ref.Namespace, ref.Name)}
		}
		return nil, fmt.Errorf("reading admin Secret %s/%s: %w", ref.Namespace, ref.Name, err)
	}
	user, password := string(secret.Data["username"]), string(secret.Data["password"])
	if user == "" || password == "" {
		return nil, &adminSecretError{v1alpha1.ReasonInvalidSecret, fmt.Sprintf("admin Secret %s/%s needs the keys username and password", ref.Namespace, ref.Name)}
	}
	sslMode := server.Spec.SSLMode
	if sslMode == "" {
		sslMode = v1alpha1.SSLRequire
	}
	admin, err := connect(ctx, dbadmin.Config{
		Engine:   string(server.Spec.Engine),
		Host:     server.Spec.Host,
		Port:     int(server.Spec.Port),
		Username: user,
		Password: password,
		SSLMode:  string(sslMode),
	})
	if err != nil {
		return nil, fmt.Errorf("connecting to DatabaseServer %s: %w", server.Name, err)
	}
	return admin, nil
}

func (r *MicroserviceReconciler) connectAdmin(ctx context.Context, server *v1alpha1.DatabaseServer) (dbadmin.Admin, error) {
	return connectServer(ctx, r.APIReader, r.Connect, server)
}
