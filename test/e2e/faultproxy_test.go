//go:build e2e

package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// faultRates are the shares of requests the fault proxy answers itself, and how it cuts
// watches. Each request draws once: 429, 500, 409 (writes only), slow, in that order.
type faultRates struct {
	TooManyRequests, InternalError, ConflictOnWrite, Slow float64
	SlowMin, SlowMax                                      time.Duration
	// Every watch stream is cut after a random time in [CutMin, CutMax].
	CutMin, CutMax time.Duration
}

// faultProxy is a plain-HTTP reverse proxy on 127.0.0.1 in front of kube-apiserver that
// injects faults while on. The manager's kubeconfig points at it; the proxy presents
// the manager's ServiceAccount token to the API server over TLS.
type faultProxy struct {
	rates  faultRates
	on     atomic.Bool
	proxy  *httputil.ReverseProxy
	server *http.Server
	url    string

	mu     sync.Mutex
	rng    *rand.Rand
	counts map[string]int
	// calmWatches cut the watches opened while faults were off, each once.
	calmWatches map[*http.Request]context.CancelFunc
}

// begin turns faults on, and cuts the watches opened before: those would otherwise run
// uncut until the API server ends them, minutes later.
func (p *faultProxy) begin() {
	p.on.Store(true)
	p.mu.Lock()
	defer p.mu.Unlock()
	for r, cut := range p.calmWatches {
		cut()
		delete(p.calmWatches, r)
	}
}

// end turns faults off.
func (p *faultProxy) end() { p.on.Store(false) }

// serveCalm passes r on, registering it to be cut when faults begin if it is a watch.
func (p *faultProxy) serveCalm(w http.ResponseWriter, r *http.Request) {
	if !isWatch(r) {
		p.proxy.ServeHTTP(w, r)
		return
	}
	ctx, cut := context.WithCancel(r.Context())
	p.mu.Lock()
	p.calmWatches[r] = cut
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		_, waiting := p.calmWatches[r]
		delete(p.calmWatches, r)
		p.mu.Unlock()
		if !waiting && r.Context().Err() == nil {
			p.count("watch cut")
		}
		cut()
	}()
	p.proxy.ServeHTTP(w, r.WithContext(ctx))
}

func isWatch(r *http.Request) bool {
	q := r.URL.Query().Get("watch")
	return q == "true" || q == "1"
}

func startFaultProxy(t *testing.T, rates faultRates) *faultProxy {
	t.Helper()
	server, err := kubectl("config", "view", "--raw", "--minify", "--flatten", "-o", "jsonpath={.clusters[0].cluster.server}")
	if err != nil {
		t.Fatal(err)
	}
	caData, err := kubectl("config", "view", "--raw", "--minify", "--flatten", "-o", "jsonpath={.clusters[0].cluster.certificate-authority-data}")
	if err != nil {
		t.Fatal(err)
	}
	ca, err := base64.StdEncoding.DecodeString(caData)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatal("the admin kubeconfig's CA holds no certificate")
	}
	upstream, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	token := managerToken(t)
	p := &faultProxy{rates: rates, rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1)), counts: map[string]int{}, calmWatches: map[*http.Request]context.CancelFunc{}}
	p.proxy = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(upstream)
			// client-go sends no bearer token over plain HTTP: the proxy presents it.
			r.Out.Header.Set("Authorization", "Bearer "+token)
		},
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
			ForceAttemptHTTP2:   true,
			MaxIdleConnsPerHost: 64,
		},
		FlushInterval: -1, // watch events pass at once
		ErrorLog:      log.New(io.Discard, "", 0),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				p.count("proxy errors")
				t.Logf("fault proxy: %s %s: %v", r.Method, r.URL.Path, err)
			}
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.url = "http://" + l.Addr().String()
	p.server = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = p.server.Serve(l) }()
	t.Cleanup(func() { _ = p.server.Close() })
	return p
}

// managerToken reads the ServiceAccount token from the manager's kubeconfig.
func managerToken(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(managerKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	var config struct {
		Users []struct {
			User struct{ Token string }
		}
	}
	if err := yaml.Unmarshal(data, &config); err != nil || len(config.Users) != 1 || config.Users[0].User.Token == "" {
		t.Fatalf("no token in the manager's kubeconfig %s (%v)", managerKubeconfig, err)
	}
	return config.Users[0].User.Token
}

// kubeconfig writes a copy of the manager's ServiceAccount kubeconfig that reaches the
// API server through the proxy (which presents the token).
func (p *faultProxy) kubeconfig(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(managerKubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	var config map[string]any
	if err := yaml.Unmarshal(data, &config); err != nil {
		t.Fatal(err)
	}
	clusters, _ := config["clusters"].([]any)
	if len(clusters) != 1 {
		t.Fatalf("the manager's kubeconfig has %d clusters", len(clusters))
	}
	clusters[0].(map[string]any)["cluster"] = map[string]any{"server": p.url}
	out, err := yaml.Marshal(config)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "through-fault-proxy.kubeconfig")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func (p *faultProxy) count(kind string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts[kind]++
}

// injected returns the faults injected so far, by kind, and the requests seen.
func (p *faultProxy) injected() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for k, v := range p.counts {
		out[k] = v
	}
	return out
}

func (p *faultProxy) draw() (roll float64, slow, cut time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	between := func(lo, hi time.Duration) time.Duration {
		if hi <= lo {
			return lo
		}
		return lo + time.Duration(p.rng.Int64N(int64(hi-lo)))
	}
	return p.rng.Float64(), between(p.rates.SlowMin, p.rates.SlowMax), between(p.rates.CutMin, p.rates.CutMax)
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.count("requests")
	if !p.on.Load() {
		p.serveCalm(w, r)
		return
	}
	roll, slow, cut := p.draw()
	write := r.Method != http.MethodGet && r.Method != http.MethodHead
	rates := p.rates
	switch {
	case roll < rates.TooManyRequests:
		p.count("429 Too Many Requests")
		w.Header().Set("Retry-After", "1")
		writeStatus(w, http.StatusTooManyRequests, "TooManyRequests")
		return
	case roll < rates.TooManyRequests+rates.InternalError:
		p.count("500 Internal Server Error")
		writeStatus(w, http.StatusInternalServerError, "InternalError")
		return
	case write && roll < rates.TooManyRequests+rates.InternalError+rates.ConflictOnWrite:
		p.count("409 Conflict (write)")
		writeStatus(w, http.StatusConflict, "Conflict")
		return
	case roll < rates.TooManyRequests+rates.InternalError+rates.ConflictOnWrite+rates.Slow:
		p.count("slow answer")
		select {
		case <-time.After(slow):
		case <-r.Context().Done():
			return
		}
	}
	if isWatch(r) {
		ctx, cancel := context.WithTimeout(r.Context(), cut)
		defer cancel()
		defer func() {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				p.count("watch cut")
			}
		}()
		r = r.WithContext(ctx)
	}
	p.proxy.ServeHTTP(w, r)
}

// writeStatus answers as the API server does, with a metav1.Status the client decodes.
func writeStatus(w http.ResponseWriter, code int, reason string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"injected by the e2e fault proxy","reason":%q,"code":%d}`, reason, code)
}

func formatCounts(counts map[string]int) string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%d ", k, counts[k])
	}
	return strings.TrimSpace(b.String())
}
