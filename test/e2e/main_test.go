//go:build e2e

// Package e2e drives kubeship as users do: the manager runs as its own process against
// the local cluster (hack/cluster.sh: a real control plane with KWOK's fake nodes), and
// every check goes through the real kubectl binary.
package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var (
	repoRoot   string
	kubeconfig string
	manager    *managerProcess
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	repoRoot, err = filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return fail("locating the repository: %v", err)
	}
	// E2E_KUBECONFIG runs against an existing cluster; otherwise the local one is started
	// here and stopped at the end, so the suite leaves no process behind.
	if kubeconfig = os.Getenv("E2E_KUBECONFIG"); kubeconfig == "" {
		if err := clusterScript("up").Run(); err != nil {
			return fail("starting the local cluster: %v", err)
		}
		defer func() {
			if err := clusterScript("down").Run(); err != nil {
				fmt.Fprintln(os.Stderr, "stopping the local cluster:", err)
			}
		}()
		if kubeconfig, err = localKubeconfig(); err != nil {
			return fail("locating the local cluster's kubeconfig: %v", err)
		}
	}
	recycling, stopRecycling := context.WithCancel(context.Background())
	defer stopRecycling()
	go recycleVolumes(recycling)
	if _, err := kubectl("apply", "--server-side", "--force-conflicts", "-f", filepath.Join(repoRoot, "config", "crd", "bases")); err != nil {
		return fail("installing CRDs: %v", err)
	}
	if _, err := kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", filepath.Join(repoRoot, "config", "crd", "bases")); err != nil {
		return fail("waiting for CRDs: %v", err)
	}
	dir, err := os.MkdirTemp("", "kubeship-e2e-")
	if err != nil {
		return fail("temp dir: %v", err)
	}
	defer os.RemoveAll(dir)
	// The manager runs with the installer's ServiceAccount, so the suite proves that
	// config/rbac grants enough.
	if err := installRBAC(dir); err != nil {
		return fail("installing the installer's namespace and RBAC: %v", err)
	}
	if managerKubeconfig, err = writeManagerKubeconfig(dir, suiteLifetime()); err != nil {
		return fail("writing the manager's ServiceAccount kubeconfig: %v", err)
	}
	manager, err = buildManager(dir)
	if err != nil {
		return fail("building the manager: %v", err)
	}
	if err := manager.start(); err != nil {
		return fail("starting the manager: %v", err)
	}
	defer func() {
		if err := manager.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping the manager:", err)
		}
	}()
	return m.Run()
}

// suiteLifetime is how long the suite may run: its -timeout (go test's default 10m
// when unset), plus a margin for the cleanup after a timeout.
func suiteLifetime() time.Duration {
	if !flag.Parsed() {
		flag.Parse()
	}
	timeout := 10 * time.Minute
	if f := flag.Lookup("test.timeout"); f != nil {
		if d, err := time.ParseDuration(f.Value.String()); err == nil && d > 0 {
			timeout = d
		}
	}
	return timeout + 10*time.Minute
}

func fail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "e2e: "+format+"\n", args...)
	return 1
}

// clusterScript runs hack/cluster.sh with the caller's environment, so
// KUBESHIP_CLUSTER_DIR chooses the cluster; its progress goes to stderr.
func clusterScript(args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(repoRoot, "hack", "cluster.sh"), args...)
	cmd.Stderr = os.Stderr
	return cmd
}

// localKubeconfig returns the stable path of the local cluster's kubeconfig, as
// `hack/cluster.sh kubeconfig` names it (under KUBESHIP_CLUSTER_DIR), and checks
// that the file exists.
func localKubeconfig() (string, error) {
	out, err := clusterScript("kubeconfig").Output()
	if err != nil {
		return "", err
	}
	path := strings.TrimSpace(string(out))
	if _, err := os.Stat(path); err != nil {
		return "", err
	}
	return path, nil
}

// kubectl runs the kubectl binary against the test cluster and returns its stdout.
func kubectl(args ...string) (string, error) {
	cmd := exec.Command("kubectl", args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, filterWarnings(stderr.String()))
	}
	return string(out), nil
}

// filterWarnings drops kubectl's version-skew warning, which is noise here.
func filterWarnings(s string) string {
	var keep []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(l, "Warning: version difference") && l != "" {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}
