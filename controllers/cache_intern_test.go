package controllers

import (
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubeship/kubeship/controllers/resources"
)

// cachedDeployment is the Deployment kubeship builds for ms as the informer gets it:
// defaulted by nobody, but with the metadata, managed fields and status the API server
// adds, decoded from protobuf into fresh memory as a watch event is.
func cachedDeployment(t testing.TB, name, uid, resourceVersion string) *appsv1.Deployment {
	t.Helper()
	ms := newMicroservice("shop", name)
	ms.UID = types.UID("ms-" + uid)
	raw, err := json.Marshal(resources.Deployment(ms))
	if err != nil {
		t.Fatal(err)
	}
	d := &appsv1.Deployment{}
	if err := json.Unmarshal(raw, d); err != nil {
		t.Fatal(err)
	}
	d.UID, d.ResourceVersion = types.UID(uid), resourceVersion
	d.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps.kubeship.dev/v1alpha1", Kind: "Microservice", Name: name, UID: ms.UID}}
	d.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: FieldOwner, Operation: metav1.ManagedFieldsOperationApply, APIVersion: "apps/v1", FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(`{"f:spec":{"f:replicas":{}}}`)}}
	d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable", Message: "Deployment has minimum availability."}}
	wire, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	decoded := &appsv1.Deployment{}
	if err := decoded.Unmarshal(wire); err != nil {
		t.Fatal(err)
	}
	return decoded
}

func sameMemory(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }

// Interning changes no value of a cached object, and two services' objects (and two
// versions of one) share their equal strings, the keys of label maps included.
func TestCachedChildSharesEqualStrings(t *testing.T) {
	orders := cachedDeployment(t, "orders", "uid-1", "100")
	want := orders.DeepCopy()
	if _, err := cachedChild(orders); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, orders); diff != "" {
		t.Fatalf("interning changed the object (-before +after):\n%s", diff)
	}
	payments := cachedDeployment(t, "payments", "uid-2", "101")
	if _, err := cachedChild(payments); err != nil {
		t.Fatal(err)
	}
	again := cachedDeployment(t, "orders", "uid-1", "102")
	if _, err := cachedChild(again); err != nil {
		t.Fatal(err)
	}

	key := func(m map[string]string, k string) string {
		for got := range m {
			if got == k {
				return got
			}
		}
		t.Fatalf("no key %q in %v", k, m)
		return ""
	}
	for _, label := range []string{resources.LabelManagedBy, "app.kubernetes.io/name"} {
		if !sameMemory(key(orders.Labels, label), key(payments.Labels, label)) {
			t.Errorf("label key %q is not shared between two services' Deployments", label)
		}
		if !sameMemory(key(orders.Labels, label), key(orders.Spec.Template.Labels, label)) {
			t.Errorf("label key %q is not shared between a Deployment and its pod template", label)
		}
	}
	shared := []struct {
		what string
		a, b string
	}{
		{"namespace", orders.Namespace, payments.Namespace},
		{"managed-by value", orders.Labels[resources.LabelManagedBy], payments.Labels[resources.LabelManagedBy]},
		{"field manager", orders.ManagedFields[0].Manager, payments.ManagedFields[0].Manager},
		{"owner kind", orders.OwnerReferences[0].Kind, payments.OwnerReferences[0].Kind},
		{"condition reason", orders.Status.Conditions[0].Reason, payments.Status.Conditions[0].Reason},
		{"name, two versions", orders.Name, again.Name},
		{"owner UID, two versions", string(orders.OwnerReferences[0].UID), string(again.OwnerReferences[0].UID)},
		{"image, two versions", orders.Spec.Template.Spec.Containers[0].Image, again.Spec.Template.Spec.Containers[0].Image},
	}
	for _, s := range shared {
		if !sameMemory(s.a, s.b) {
			t.Errorf("%s %q is not shared", s.what, s.a)
		}
	}
	// What is unique to one version of one object keeps its own copy.
	if sameMemory(orders.ResourceVersion, unsafeCopyOf(orders.ResourceVersion)) {
		t.Errorf("a resourceVersion went into the table")
	}
	if sameMemory(orders.Status.Conditions[0].Message, again.Status.Conditions[0].Message) {
		t.Errorf("a condition message went into the table")
	}
}

// unsafeCopyOf interns a fresh copy of s: the result is s's own memory only if s is
// the table's copy.
func unsafeCopyOf(s string) string {
	probe := &metav1.ObjectMeta{Name: string([]byte(s))}
	_, _ = internStrings(probe)
	return probe.Name
}

// A tombstone or anything else that is not a pointer to an object passes unchanged.
func TestInternStringsPassesWhatIsNotAnObject(t *testing.T) {
	for _, in := range []any{"not an object", nil, (*appsv1.Deployment)(nil)} {
		got, err := internStrings(in)
		if err != nil || got != in {
			t.Errorf("internStrings(%#v) = %#v, %v", in, got, err)
		}
	}
}

// BenchmarkCachedChild is what a watch event of a Deployment costs the transform.
func BenchmarkCachedChild(b *testing.B) {
	objects := make([]*appsv1.Deployment, b.N)
	for i := range objects {
		objects[i] = cachedDeployment(b, "orders", "uid-1", "100")
	}
	b.ResetTimer()
	for i := range b.N {
		_, _ = cachedChild(objects[i])
	}
}

// Two services' children share kubeship's equal managed-fields sets, across garbage
// collections too, in a slice of its own size; a different set is a copy of its own.
func TestCachedChildrenShareFieldSets(t *testing.T) {
	orders := cachedDeployment(t, "orders", "uid-1", "100")
	orders.ManagedFields = append(orders.ManagedFields, metav1.ManagedFieldsEntry{
		Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "status",
		FieldsV1: metav1.NewFieldsV1(`{"f:status":{}}`),
	})
	payments := cachedDeployment(t, "payments", "uid-2", "101")
	other := cachedDeployment(t, "other", "uid-3", "102")
	other.ManagedFields[0].FieldsV1 = metav1.NewFieldsV1(`{"f:spec":{"f:template":{}}}`)
	want := payments.ManagedFields[0].DeepCopy()
	for _, d := range []*appsv1.Deployment{orders, payments, other} {
		if _, err := cachedChild(d); err != nil {
			t.Fatal(err)
		}
		runtime.GC()
	}
	if len(orders.ManagedFields) != 1 || cap(orders.ManagedFields) != 1 {
		t.Errorf("kept managed fields: len %d, cap %d, want 1 and 1", len(orders.ManagedFields), cap(orders.ManagedFields))
	}
	if diff := cmp.Diff(*want, payments.ManagedFields[0]); diff != "" {
		t.Errorf("sharing changed the entry (-want +got):\n%s", diff)
	}
	raw := func(d *appsv1.Deployment) []byte { return d.ManagedFields[0].FieldsV1.GetRawBytes() }
	if &raw(orders)[0] != &raw(payments)[0] {
		t.Errorf("equal field sets are separate copies")
	}
	if &raw(orders)[0] == &raw(other)[0] {
		t.Errorf("different field sets share memory")
	}
	if cap(raw(orders)) != len(raw(orders)) {
		t.Errorf("a shared field set has room to append: len %d, cap %d", len(raw(orders)), cap(raw(orders)))
	}
}

// Past its bound the table starts over; what was handed out stays as it was.
func TestFieldSetTableIsBounded(t *testing.T) {
	table := &fieldSetTable{}
	first := table.intern([]byte(`{"f:set":0}`))
	for i := range maxFieldSets + 10 {
		table.intern(fmt.Appendf(nil, `{"f:set":%d}`, i+1))
	}
	if n := len(table.sets); n > maxFieldSets {
		t.Errorf("table holds %d sets, more than its bound %d", n, maxFieldSets)
	}
	if string(first) != `{"f:set":0}` {
		t.Errorf("a set handed out changed to %q", first)
	}
	if got := table.intern(nil); got != nil {
		t.Errorf("intern(nil) = %q", got)
	}
}
