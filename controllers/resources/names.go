package resources

import (
	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/internal/naming"
)

// Keys of the credentials Secret.
const (
	SecretKeyHost     = "host"
	SecretKeyPort     = "port"
	SecretKeyDatabase = "database"
	SecretKeyUsername = "username"
	SecretKeyPassword = "password"
	SecretKeyURI      = "uri"
)

// DatabaseSecretName is the name of ms's credentials Secret.
func DatabaseSecretName(ms *v1alpha1.Microservice) string {
	return naming.DatabaseObjectName(ms.Name)
}

// DatabaseObjectName is the Kubernetes object name of ms's dedicated database objects:
// StatefulSet, headless Service and NetworkPolicy.
func DatabaseObjectName(ms *v1alpha1.Microservice) string {
	return naming.DatabaseObjectName(ms.Name)
}
