//go:build e2e

package e2e

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// The installer's default: metrics over HTTPS, each scrape's token checked with a
// TokenReview and a SubjectAccessReview, which the manager's ServiceAccount may create
// (metrics_auth_role.yaml); scrapers need the metrics-reader ClusterRole.
func TestSecureMetrics(t *testing.T) {
	g := NewWithT(t)
	// One manager at a time reconciles; this one replaces the suite's for the test.
	pauseSuiteManager(t)
	m := manager.another("secure-metrics", "--metrics-secure=true")
	if err := m.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.stop() })

	ns := newNamespace(t)
	mustKubectl(t, "create", "serviceaccount", "scraper", "-n", ns)
	mustKubectl(t, "create", "serviceaccount", "stranger", "-n", ns)
	binding := "e2e-metrics-reader-" + ns
	mustKubectl(t, "create", "clusterrolebinding", binding, "--clusterrole=kubeship-metrics-reader", "--serviceaccount="+ns+":scraper")
	t.Cleanup(func() { _, _ = kubectl("delete", "clusterrolebinding", binding) })
	scraper := strings.TrimSpace(mustKubectl(t, "create", "token", "scraper", "-n", ns))
	stranger := strings.TrimSpace(mustKubectl(t, "create", "token", "stranger", "-n", ns))

	// The manager's certificate is self-signed (no --metrics-cert-path); what is tested
	// here is who may read, not the certificate.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // self-signed test certificate
	}}
	scrape := func(token string) (int, string, error) {
		req, err := http.NewRequest(http.MethodGet, "https://"+m.metrics+"/metrics", nil)
		if err != nil {
			return 0, "", err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), err
	}
	expect := func(token string, want int, contains string) func() error {
		return func() error {
			code, body, err := scrape(token)
			if err != nil {
				return err
			}
			if code != want || !strings.Contains(body, contains) {
				return fmt.Errorf("status %d, want %d; body: %.200s", code, want, body)
			}
			return nil
		}
	}
	g.Eventually(expect(scraper, http.StatusOK, "controller_runtime_reconcile_total")).WithTimeout(30 * time.Second).Should(Succeed())
	g.Expect(expect("", http.StatusUnauthorized, "")()).To(Succeed())
	g.Expect(expect(stranger, http.StatusForbidden, "")()).To(Succeed())
}
