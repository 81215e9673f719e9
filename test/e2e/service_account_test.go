//go:build e2e

package e2e

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// The installer's names: config/default puts everything in this namespace, with this
// prefix on every name.
const (
	operatorNamespace  = "kubeship-system"
	serviceAccountName = "kubeship-controller-manager"
)

// managerKubeconfig authenticates as the installer's ServiceAccount: every manager the
// suite runs has exactly the rights config/rbac grants, not the admin's.
var managerKubeconfig string

// installRBAC applies what `kubectl apply -k config/default` installs except the
// manager's Deployment (the suite runs the manager as a local process): the namespace,
// the ServiceAccount, the roles and their bindings, the metrics Service, and the CRDs.
func installRBAC(dir string) error {
	rendered, err := kubectl("kustomize", filepath.Join(repoRoot, "config", "default"))
	if err != nil {
		return err
	}
	var keep []string
	reader := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(rendered)))
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading config/default: %w", err)
		}
		var meta struct{ Kind string }
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return fmt.Errorf("reading config/default: %w", err)
		}
		if meta.Kind != "" && meta.Kind != "Deployment" {
			keep = append(keep, string(doc))
		}
	}
	path := filepath.Join(dir, "installer-without-deployment.yaml")
	if err := os.WriteFile(path, []byte(strings.Join(keep, "\n---\n")), 0o600); err != nil {
		return err
	}
	_, err = kubectl("apply", "--server-side", "--force-conflicts", "-f", path)
	return err
}

// writeManagerKubeconfig asks for a token of the installer's ServiceAccount valid for
// lifetime and writes, in dir, a kubeconfig that presents it to the test cluster (the
// admin kubeconfig's server and CA). It fails if the API server shortened the token
// (--service-account-max-token-expiration), so it cannot expire mid-suite.
func writeManagerKubeconfig(dir string, lifetime time.Duration) (string, error) {
	token, err := kubectl("create", "token", serviceAccountName, "-n", operatorNamespace,
		fmt.Sprintf("--duration=%ds", int(lifetime.Seconds())))
	if err != nil {
		return "", err
	}
	token = strings.TrimSpace(token)
	exp, err := tokenExpiry(token)
	if err != nil {
		return "", err
	}
	if left := time.Until(exp); left < lifetime-time.Minute {
		return "", fmt.Errorf("the API server issued a token valid for %s only, not %s", left.Round(time.Second), lifetime)
	}
	server, err := kubectl("config", "view", "--raw", "--minify", "--flatten", "-o", "jsonpath={.clusters[0].cluster.server}")
	if err != nil {
		return "", err
	}
	ca, err := kubectl("config", "view", "--raw", "--minify", "--flatten", "-o", "jsonpath={.clusters[0].cluster.certificate-authority-data}")
	if err != nil {
		return "", err
	}
	if server == "" || ca == "" {
		return "", fmt.Errorf("the admin kubeconfig %s names no server or no CA", kubeconfig)
	}
	config := map[string]any{
		"apiVersion":      "v1",
		"kind":            "Config",
		"clusters":        []any{map[string]any{"name": "e2e", "cluster": map[string]any{"server": server, "certificate-authority-data": ca}}},
		"users":           []any{map[string]any{"name": serviceAccountName, "user": map[string]any{"token": token}}},
		"contexts":        []any{map[string]any{"name": "manager", "context": map[string]any{"cluster": "e2e", "user": serviceAccountName}}},
		"current-context": "manager",
	}
	out, err := yaml.Marshal(config)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "manager.kubeconfig")
	return path, os.WriteFile(path, out, 0o600)
}

// tokenExpiry reads the exp claim of a JWT (the API server signed it; nothing here
// relies on it beyond its lifetime).
func tokenExpiry(token string) (time.Time, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, errors.New("the ServiceAccount token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, fmt.Errorf("decoding the token: %w", err)
	}
	var claims struct {
		Exp int64 `json:"exp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return time.Time{}, fmt.Errorf("decoding the token: %w", err)
	}
	return time.Unix(claims.Exp, 0), nil
}

// asManager runs kubectl with the manager's ServiceAccount kubeconfig.
func asManager(args ...string) (string, error) {
	return kubectl(append([]string{"--kubeconfig=" + managerKubeconfig}, args...)...)
}

// The suite's managers are the installer's ServiceAccount, not cluster-admin: every
// other test passing proves its RBAC is enough for what they do.
func TestManagerRunsAsInstallerServiceAccount(t *testing.T) {
	who, err := asManager("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
	if err != nil {
		t.Fatal(err)
	}
	if want := "system:serviceaccount:" + operatorNamespace + ":" + serviceAccountName; who != want {
		t.Fatalf("the manager authenticates as %q, want %q", who, want)
	}
	for _, check := range []struct {
		args []string
		want string
	}{
		{[]string{"*", "*"}, "no"},
		{[]string{"delete", "deployments", "-A"}, "no"},
		{[]string{"update", "microservices.apps.kubeship.dev", "-A"}, "no"},
		{[]string{"create", "leases.coordination.k8s.io", "-n", operatorNamespace}, "yes"},
		{[]string{"create", "leases.coordination.k8s.io", "-n", "default"}, "no"},
		{[]string{"patch", "deployments.apps", "-A"}, "yes"},
	} {
		// can-i exits 1 for "no"; its answer is on stdout either way.
		out, _ := asManager(append([]string{"auth", "can-i"}, check.args...)...)
		if got := strings.TrimSpace(out); got != check.want {
			t.Errorf("can the manager %v? %q, want %q", check.args, got, check.want)
		}
	}
}
