package controllers

import (
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

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

// decodedAs builds the object kubeship applies for ms (built by build) as a watch
// decodes it: through JSON into a fresh typed object.
func decodedAs[T any](t *testing.T, applied any) *T {
	t.Helper()
	raw, err := json.Marshal(applied)
	if err != nil {
		t.Fatal(err)
	}
	out := new(T)
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func sameMap(a, b map[string]string) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// A service's children share their equal maps (labels, the pod template's labels,
// selectors), values unchanged; another service's children have maps of their own, and
// a service that is gone leaves nothing in the table.
func TestCachedChildrenShareTheirServicesMaps(t *testing.T) {
	shop, other := newMicroservice("team", "shop"), newMicroservice("team", "other")
	shop.Spec.Replicas = ptr.To[int32](2) // a disruption budget too
	d := decodedAs[appsv1.Deployment](t, resources.Deployment(shop))
	svc := decodedAs[corev1.Service](t, resources.Service(shop))
	pdb := decodedAs[policyv1.PodDisruptionBudget](t, resources.PodDisruptionBudget(shop))
	otherSvc := decodedAs[corev1.Service](t, resources.Service(other))
	t.Cleanup(func() {
		siblingMaps.forget(client.ObjectKeyFromObject(shop))
		siblingMaps.forget(client.ObjectKeyFromObject(other))
	})
	before := []any{d.DeepCopy(), svc.DeepCopy(), pdb.DeepCopy()}
	for _, obj := range []any{d, svc, pdb, otherSvc} {
		if _, err := cachedChild(obj); err != nil {
			t.Fatal(err)
		}
	}
	for i, obj := range []any{d, svc, pdb} {
		if diff := cmp.Diff(before[i], obj); diff != "" {
			t.Errorf("sharing changed %T (-before +after):\n%s", obj, diff)
		}
	}
	for _, pair := range []struct {
		what string
		a, b map[string]string
	}{
		{"Deployment and Service labels", d.Labels, svc.Labels},
		{"Deployment and pod template labels", d.Labels, d.Spec.Template.Labels},
		{"Deployment and budget labels", d.Labels, pdb.Labels},
		{"Deployment and Service selectors", d.Spec.Selector.MatchLabels, svc.Spec.Selector},
		{"Deployment and budget selectors", d.Spec.Selector.MatchLabels, pdb.Spec.Selector.MatchLabels},
	} {
		if !sameMap(pair.a, pair.b) {
			t.Errorf("%s are separate maps", pair.what)
		}
	}
	if sameMap(d.Labels, d.Spec.Selector.MatchLabels) {
		t.Errorf("labels and selector, which differ, share a map")
	}
	if sameMap(svc.Spec.Selector, otherSvc.Spec.Selector) || sameMap(svc.Labels, otherSvc.Labels) {
		t.Errorf("two services' children share a map")
	}

	siblingMaps.forget(client.ObjectKeyFromObject(shop))
	siblingMaps.mu.Lock()
	_, held := siblingMaps.byMS[client.ObjectKeyFromObject(shop)]
	siblingMaps.mu.Unlock()
	if held {
		t.Errorf("a service that is gone still has maps in the table")
	}
}

// A service holds at most maxSiblingMaps distinct maps, the latest ones.
func TestSiblingMapsAreBoundedPerService(t *testing.T) {
	table := newSiblingMapTable()
	key := types.NamespacedName{Namespace: "team", Name: "shop"}
	share := table.sharer(key)
	for i := range maxSiblingMaps + 3 {
		share(map[string]string{"revision": fmt.Sprint(i)})
	}
	held := table.byMS[key]
	if len(held) != maxSiblingMaps {
		t.Fatalf("holds %d maps, want %d", len(held), maxSiblingMaps)
	}
	if got := held[len(held)-1]["revision"]; got != fmt.Sprint(maxSiblingMaps+2) {
		t.Errorf("latest map held is revision %s", got)
	}
	latest := map[string]string{"revision": fmt.Sprint(maxSiblingMaps + 2)}
	if !sameMap(share(latest), held[len(held)-1]) {
		t.Errorf("an equal map was not shared")
	}
}
