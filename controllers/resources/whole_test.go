package resources

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// typed turns an apply configuration into the object it would apply, so builder tests
// compare the whole object against a plain literal, as Knative's table tests do: a
// field a builder starts to send shows up in the diff. A nil configuration gives nil.
func typed[T any](t *testing.T, ac any) *T {
	t.Helper()
	raw, err := json.Marshal(ac)
	if err != nil {
		t.Fatalf("marshalling the apply configuration: %v", err)
	}
	if string(raw) == "null" {
		return nil
	}
	out := new(T)
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("unmarshalling the apply configuration: %v", err)
	}
	return out
}

// diffWhole fails t with the difference between the object want and what ac applies.
func diffWhole[T any](t *testing.T, want *T, ac any) {
	t.Helper()
	if diff := cmp.Diff(want, typed[T](t, ac)); diff != "" {
		t.Errorf("applied object (-want +got):\n%s", diff)
	}
}

// childMeta is the metadata every child of the test Microservice "payments" carries.
func childMeta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name: name, Namespace: "shop",
		Labels: map[string]string{
			"app.kubernetes.io/name":         "payments",
			"app.kubernetes.io/managed-by":   "kubeship",
			"apps.kubeship.dev/microservice": "payments",
		},
		OwnerReferences: []metav1.OwnerReference{{
			APIVersion: "apps.kubeship.dev/v1alpha1", Kind: "Microservice", Name: "payments", UID: "uid-1",
			Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
		}},
	}
}

var selectPayments = &metav1.LabelSelector{MatchLabels: map[string]string{"apps.kubeship.dev/microservice": "payments"}}
