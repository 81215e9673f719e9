package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

// AnnotationDatabaseEndpoint is an annotation: on a credentials Secret and on the pod template of the
// Deployment that reads it, is a hash of the host and port the Secret was last pointed
// at. kubeship sets it when a DatabaseServer moves; its change on the pod template rolls
// the pods, which read DATABASE_URL only when they start. Secrets that never moved carry
// none, so upgrading kubeship restarts nothing.
const AnnotationDatabaseEndpoint = "apps.kubeship.dev/database-endpoint"

// syncEndpoint points a shared database's credentials Secret at server's current host
// and port. Only host, port and uri change: the password, database and username stay,
// since the role on the server has them.
func (r *MicroserviceReconciler) syncEndpoint(ctx context.Context, server *v1alpha1.DatabaseServer, secret *corev1.Secret, creds resources.Credentials) (*corev1.Secret, error) {
	if creds.Host == server.Spec.Host && creds.Port == server.Spec.Port {
		return secret, nil
	}
	creds.Host, creds.Port = server.Spec.Host, server.Spec.Port
	moved := secret.DeepCopy()
	moved.Data[resources.SecretKeyHost] = []byte(creds.Host)
	moved.Data[resources.SecretKeyPort] = []byte(strconv.Itoa(int(creds.Port)))
	moved.Data[resources.SecretKeyURI] = []byte(creds.URI())
	if moved.Annotations == nil {
		moved.Annotations = map[string]string{}
	}
	moved.Annotations[AnnotationDatabaseEndpoint] = endpointHash(creds.Host, creds.Port)
	if err := r.Patch(ctx, moved, client.MergeFromWithOptions(secret, client.MergeFromWithOptimisticLock{})); err != nil {
		return nil, fmt.Errorf("pointing credentials Secret %s at %s:%d: %w", secret.Name, creds.Host, creds.Port, err)
	}
	return moved, nil
}

// endpointHash is short and carries no host name, which the pod template need not show.
func endpointHash(host string, port int32) string {
	sum := sha256.Sum256([]byte(net.JoinHostPort(host, strconv.Itoa(int(port)))))
	return hex.EncodeToString(sum[:8])
}

// withDatabaseEndpoint copies the credentials Secret's endpoint annotation onto the
// desired pod template. When this pass has no Secret (its database step failed) the live
// template's value is kept, so a failure never rolls the pods.
func withDatabaseEndpoint(desired *appsv1ac.DeploymentApplyConfiguration, ms *v1alpha1.Microservice, obs *observed, live *appsv1.Deployment, found bool) {
	if ms.Spec.Database == nil {
		return
	}
	var value string
	switch {
	case obs.database.secret != nil:
		value = obs.database.secret.Annotations[AnnotationDatabaseEndpoint]
	case found:
		value = live.Spec.Template.Annotations[AnnotationDatabaseEndpoint]
	}
	if value != "" {
		desired.Spec.Template.WithAnnotations(map[string]string{AnnotationDatabaseEndpoint: value})
	}
}
