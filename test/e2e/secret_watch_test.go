//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// secretWatch records, through `kubectl get --watch`, the data each Secret with
// kubeship's label in a namespace had when first seen, and every later change of it.
type secretWatch struct {
	mu      sync.Mutex
	first   map[string]map[string]string
	changed []string
}

// watchSecrets starts the watch and returns once it sees the events of a marker Secret
// it creates, so nothing written after that is missed.
func watchSecrets(t *testing.T, ns string) *secretWatch {
	t.Helper()
	w := &secretWatch{first: map[string]map[string]string{}}
	cmd := exec.Command("kubectl", "get", "secrets", "-n", ns, "-l", "app.kubernetes.io/managed-by=kubeship",
		"--watch", "--output-watch-events", "-o", "json")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		dec := json.NewDecoder(out)
		for {
			var ev struct {
				Type   string
				Object struct {
					Metadata struct{ Name string }
					Data     map[string]string
				}
			}
			if err := dec.Decode(&ev); err != nil {
				return
			}
			w.see(ev.Type, ev.Object.Metadata.Name, ev.Object.Data)
		}
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done; _ = cmd.Wait() })
	mustKubectl(t, "create", "secret", "generic", "watch-marker", "-n", ns, "--from-literal=k=v")
	mustKubectl(t, "label", "secret", "watch-marker", "-n", ns, "app.kubernetes.io/managed-by=kubeship")
	eventually(t, 30*time.Second, func() error {
		if w.firstSeen("watch-marker") == nil {
			return fmt.Errorf("the Secret watch has not started")
		}
		return nil
	})
	mustKubectl(t, "delete", "secret", "watch-marker", "-n", ns)
	return w
}

func (w *secretWatch) see(event, name string, data map[string]string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	first, seen := w.first[name]
	switch {
	case event == "DELETED":
	case !seen:
		w.first[name] = data
	case !maps.Equal(first, data):
		w.changed = append(w.changed, fmt.Sprintf("%s (%s)", name, event))
	}
}

// firstSeen returns the data of the Secret name when first seen, or nil.
func (w *secretWatch) firstSeen(name string) map[string]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.first[name]
}

// changes lists the Secrets whose data changed after first seen.
func (w *secretWatch) changes() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.changed...)
}
