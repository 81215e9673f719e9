package resources

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/internal/naming"
)

// Credentials are the contents of a service's credentials Secret.
type Credentials struct {
	Engine   v1alpha1.DatabaseEngine
	Host     string
	Port     int32
	Database string
	Username string
	Password string
}

// URI is the connection URI apps read from DATABASE_URL, e.g.
// postgresql://user:password@host:5432/database.
func (c Credentials) URI() string {
	return naming.URI(string(c.Engine), c.Username, c.Password, c.Host, int(c.Port), c.Database)
}

// EnginePort is the engine's usual port.
func EnginePort(engine v1alpha1.DatabaseEngine) int32 {
	if engine == v1alpha1.EngineMySQL {
		return 3306
	}
	return 5432
}

// DedicatedCredentials are the credentials of ms's dedicated database server, with the
// given (already generated) password. Database and user are named after ms.
func DedicatedCredentials(ms *v1alpha1.Microservice, password string) Credentials {
	engine := ms.Spec.Database.Engine
	return Credentials{
		Engine:   engine,
		Host:     fmt.Sprintf("%s.%s.svc.cluster.local", DatabaseObjectName(ms), ms.Namespace),
		Port:     EnginePort(engine),
		Database: naming.DedicatedDatabase(string(engine), ms.Name),
		Username: naming.DedicatedUser(string(engine), ms.Name),
		Password: password,
	}
}

// CredentialsSecret returns ms's credentials Secret. It is created once; kubeship
// never rewrites its data, so the password stays what the database was given.
func CredentialsSecret(ms *v1alpha1.Microservice, c Credentials) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      DatabaseSecretName(ms),
			Namespace: ms.Namespace,
			Labels:    Labels(ms),
		},
		Type: corev1.SecretTypeOpaque,
		Data: map[string][]byte{
			SecretKeyHost:     []byte(c.Host),
			SecretKeyPort:     []byte(strconv.Itoa(int(c.Port))),
			SecretKeyDatabase: []byte(c.Database),
			SecretKeyUsername: []byte(c.Username),
			SecretKeyPassword: []byte(c.Password),
			SecretKeyURI:      []byte(c.URI()),
		},
	}
}

// CredentialsFromSecret reads credentials back from a Secret made by CredentialsSecret.
func CredentialsFromSecret(engine v1alpha1.DatabaseEngine, s *corev1.Secret) (Credentials, error) {
	port, err := strconv.Atoi(string(s.Data[SecretKeyPort]))
	if err != nil {
		return Credentials{}, fmt.Errorf("secret %s: key %q is not a port number", s.Name, SecretKeyPort)
	}
	c := Credentials{
		Engine:   engine,
		Host:     string(s.Data[SecretKeyHost]),
		Port:     int32(port),
		Database: string(s.Data[SecretKeyDatabase]),
		Username: string(s.Data[SecretKeyUsername]),
		Password: string(s.Data[SecretKeyPassword]),
	}
	for key, v := range map[string]string{SecretKeyDatabase: c.Database, SecretKeyUsername: c.Username, SecretKeyPassword: c.Password} {
		if v == "" {
			return Credentials{}, fmt.Errorf("secret %s: key %q is missing or empty", s.Name, key)
		}
	}
	return c, nil
}
