//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// objectRecord is what an operator upgrade must leave as it is on one object.
type objectRecord struct {
	UID        string
	Generation int64
	// Content is the object's spec (a Secret's type and data); nil for the kinds whose
	// identity is the point (ReplicaSets, pods, ControllerRevisions): a new one would be
	// a rollout.
	Content     any
	Annotations map[string]string
	Finalizers  []string
	// Managers are the field managers outside the status subresource, "name operation":
	// a new name would mean the new version writes under another owner.
	Managers []string
	// Revisions is a StatefulSet's current and update revision.
	Revisions string
}

// liveObject is the part of any object the record is made from.
type liveObject struct {
	Kind     string            `json:"kind"`
	Metadata metav1.ObjectMeta `json:"metadata"`
	Spec     any               `json:"spec"`
	Type     string            `json:"type"`
	Data     json.RawMessage   `json:"data"`
	Status   struct {
		CurrentRevision string `json:"currentRevision"`
		UpdateRevision  string `json:"updateRevision"`
	} `json:"status"`
}

// identityOnly are the kinds recorded by UID alone: controllers keep their specs and
// statuses moving, and a change of identity is what would show a rollout.
var identityOnly = map[string]bool{"ReplicaSet": true, "Pod": true, "ControllerRevision": true}

// recordWorkloads records, by "Kind/name", the Microservices of ns and everything in ns
// that carries kubeship's labels: their children, the ReplicaSets and pods the
// Deployments made, the StatefulSets' revisions, pods and claims.
func recordWorkloads(t *testing.T, ns string) map[string]objectRecord {
	t.Helper()
	records := map[string]objectRecord{}
	for _, args := range [][]string{
		{"deployments.apps,replicasets.apps,pods,statefulsets.apps,controllerrevisions.apps,persistentvolumeclaims," +
			"services,horizontalpodautoscalers.autoscaling,poddisruptionbudgets.policy,networkpolicies.networking.k8s.io,secrets",
			"-l", "app.kubernetes.io/managed-by=kubeship"},
		{"microservices.apps.kubeship.dev"},
	} {
		var list struct {
			Items []liveObject `json:"items"`
		}
		out := mustKubectl(t, append([]string{"get", "-n", ns, "-o", "json", "--show-managed-fields"}, args...)...)
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			t.Fatalf("reading kubectl get %v: %v", args, err)
		}
		for _, o := range list.Items {
			records[o.Kind+"/"+o.Metadata.Name] = recordOf(t, o)
		}
	}
	return records
}

func recordOf(t *testing.T, o liveObject) objectRecord {
	r := objectRecord{UID: string(o.Metadata.UID)}
	if identityOnly[o.Kind] {
		return r
	}
	r.Generation, r.Annotations, r.Finalizers = o.Metadata.Generation, o.Metadata.Annotations, o.Metadata.Finalizers
	switch o.Kind {
	case "Secret":
		var data map[string]string
		if err := json.Unmarshal(o.Data, &data); err != nil {
			t.Fatalf("reading Secret %s: %v", o.Metadata.Name, err)
		}
		r.Content = map[string]any{"type": o.Type, "data": data}
	case "Microservice":
		// The spec is the user's; generation stands for it.
	default:
		r.Content = o.Spec
	}
	if o.Kind == "StatefulSet" {
		r.Revisions = o.Status.CurrentRevision + "/" + o.Status.UpdateRevision
	}
	for _, e := range o.Metadata.ManagedFields {
		if e.Subresource != "status" {
			r.Managers = append(r.Managers, fmt.Sprintf("%s %s", e.Manager, e.Operation))
		}
	}
	slices.Sort(r.Managers)
	r.Managers = slices.Compact(r.Managers)
	return r
}

// countKinds counts records by kind, for the test's log and to check the mix is there.
func countKinds(records map[string]objectRecord) map[string]int {
	counts := map[string]int{}
	for key := range records {
		kind, _, _ := strings.Cut(key, "/")
		counts[kind]++
	}
	return counts
}
