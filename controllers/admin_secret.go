package controllers

import (
	"context"
	"crypto/x509"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// caKey is the key of a DatabaseServer's CA Secret that holds the PEM certificates.
const caKey = "ca.crt"

// secretGate reads DatabaseServers' admin and CA Secrets, but only those kubeship may read:
// Secrets in the operator's namespace, or labelled v1alpha1.AdminSecretLabel: "true".
// Without this, whoever may create a DatabaseServer could make kubeship read any Secret
// with a username and password and send it to a host of their choosing.
type secretGate struct {
	reader    client.Reader // uncached: admin Secrets are not in the manager's cache
	namespace string        // the operator's namespace
}

// read returns the Secret ref names; field is the spec field that names it, for messages.
// Outside the operator's namespace it first reads only the Secret's metadata, so the data
// of a Secret kubeship may not use is never fetched.
func (g secretGate) read(ctx context.Context, field string, ref v1alpha1.SecretReference) (*corev1.Secret, error) {
	key := client.ObjectKey{Namespace: ref.Namespace, Name: ref.Name}
	if ref.Namespace != g.namespace {
		m := &metav1.PartialObjectMetadata{}
		m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
		if err := g.reader.Get(ctx, key, m); err != nil {
			return nil, secretReadError(err, field, ref)
		}
		if !g.allowed(m) {
			return nil, g.notAllowed(field, ref)
		}
	}
	secret := &corev1.Secret{}
	if err := g.reader.Get(ctx, key, secret); err != nil {
		return nil, secretReadError(err, field, ref)
	}
	if ref.Namespace != g.namespace && !g.allowed(secret) {
		return nil, g.notAllowed(field, ref) // the label was removed between the two reads
	}
	return secret, nil
}

func (g secretGate) allowed(obj metav1.Object) bool {
	return obj.GetLabels()[v1alpha1.AdminSecretLabel] == "true"
}

func (g secretGate) notAllowed(field string, ref v1alpha1.SecretReference) error {
	return &adminSecretError{v1alpha1.ReasonSecretNotAllowed, fmt.Sprintf(
		"%s: Secret %s/%s is outside the operator's namespace %s and lacks the label %s: \"true\"; kubeship does not read it",
		field, ref.Namespace, ref.Name, g.namespace, v1alpha1.AdminSecretLabel)}
}

func secretReadError(err error, field string, ref v1alpha1.SecretReference) error {
	if client.IgnoreNotFound(err) == nil {
		return &adminSecretError{v1alpha1.ReasonSecretNotFound, fmt.Sprintf("%s: Secret %s/%s does not exist", field, ref.Namespace, ref.Name)}
	}
	return fmt.Errorf("reading %s Secret %s/%s: %w", field, ref.Namespace, ref.Name, err)
}

// rootCAs returns the pool of spec.caSecretRef, or nil (the system roots) without one,
// and the PEM it was read from.
func (g secretGate) rootCAs(ctx context.Context, server *v1alpha1.DatabaseServer) (*x509.CertPool, []byte, error) {
	ref := server.Spec.CASecretRef
	if ref == nil {
		return nil, nil, nil
	}
	secret, err := g.read(ctx, "spec.caSecretRef", *ref)
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(secret.Data[caKey]) {
		return nil, nil, &adminSecretError{v1alpha1.ReasonInvalidSecret, fmt.Sprintf(
			"spec.caSecretRef: Secret %s/%s needs the key %s with PEM certificates", ref.Namespace, ref.Name, caKey)}
	}
	return pool, secret.Data[caKey], nil
}
