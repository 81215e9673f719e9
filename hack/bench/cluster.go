package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// bench is one run: a private cluster, a clientset, the manager binary and, for the
// realistic mix, a local PostgreSQL registered as a DatabaseServer.
type bench struct {
	cfg        config
	env        []string
	kubeconfig string
	rest       *rest.Config
	cs         kubernetes.Interface
	c          client.Client
	binary     string
	tmp        string
	mgr        *managerProcess
	pg         *sharedServer
	memory     []memoryPoint
}

const (
	benchServer     = "bench-pg"
	serverLabel     = "kubeship.dev/databases"
	operatorNS      = "kubeship-system"
	adminSecret     = "bench-pg-admin"
	postgresPort    = 15442
	podsPerNode     = 1000
	floorFieldOwner = "bench-floor"
)

func setUp(ctx context.Context, cfg config) (*bench, error) {
	b := &bench{cfg: cfg}
	var err error
	if b.tmp, err = os.MkdirTemp("", "kubeship-bench-"); err != nil {
		return nil, err
	}
	pods := max(2*cfg.n, cfg.memoryN)
	nodes := max(3, (pods*12/10+podsPerNode-1)/podsPerNode)
	b.env = append(os.Environ(), "KUBESHIP_CLUSTER_DIR="+cfg.clusterDir, fmt.Sprintf("KUBESHIP_CLUSTER_NODES=%d", nodes))
	logf("building the manager and (re)creating the bench cluster in %s with %d nodes", cfg.clusterDir, nodes)
	b.binary = filepath.Join(b.tmp, "manager")
	if _, err := b.sh(ctx, "go", "build", "-o", b.binary, "."); err != nil {
		return nil, err
	}
	out, err := b.sh(ctx, "hack/cluster.sh", "reset")
	if err != nil {
		return nil, err
	}
	b.kubeconfig = strings.TrimSpace(lastLine(out))
	b.env = append(b.env, "KUBECONFIG="+b.kubeconfig)
	if b.rest, err = clientcmd.BuildConfigFromFlags("", b.kubeconfig); err != nil {
		return nil, err
	}
	// The bench's own clients must never be the bottleneck being measured.
	b.rest.QPS, b.rest.Burst = 5000, 10000
	if b.cs, err = kubernetes.NewForConfig(b.rest); err != nil {
		return nil, err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if b.c, err = client.New(b.rest, client.Options{Scheme: scheme}); err != nil {
		return nil, err
	}
	if _, err := b.sh(ctx, "kubectl", "apply", "--server-side", "-f", "config/crd/bases"); err != nil {
		return nil, err
	}
	if _, err := b.sh(ctx, "kubectl", "wait", "--for=condition=Established", "-f", "config/crd/bases"); err != nil {
		return nil, err
	}
	if err := b.createNamespace(ctx, operatorNS, nil); err != nil {
		return nil, err
	}
	if needsServer(cfg.mixes) {
		if b.pg, err = b.startPostgres(ctx); err != nil {
			return nil, err
		}
	}
	b.mgr = &managerProcess{binary: b.binary, env: append(slices.Clip(b.env), cfg.managerEnv...), logPath: filepath.Join(b.tmp, "manager.log"), flags: cfg.flags}
	return b, nil
}

func (b *bench) tearDown() {
	if b.mgr != nil {
		_ = b.mgr.stop()
	}
	ctx := context.Background()
	if _, err := b.sh(ctx, "hack/cluster.sh", "down"); err != nil {
		logf("stopping the bench cluster: %v", err)
	}
	logf("manager log: %s", b.mgr.logPath)
}

// sh runs a command from the repository root with the bench's environment.
func (b *bench) sh(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = b.cfg.root
	cmd.Env = b.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

func (b *bench) createNamespace(ctx context.Context, name string, labels map[string]string) error {
	ns := &corev1.Namespace{}
	ns.Name, ns.Labels = name, labels
	return client.IgnoreAlreadyExists(b.c.Create(ctx, ns))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func splitList(s, sep string) []string {
	var out []string
	for _, p := range strings.Split(s, sep) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
