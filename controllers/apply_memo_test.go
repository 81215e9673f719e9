package controllers

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func memoDeployment(entries ...metav1.ManagedFieldsEntry) *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop", UID: "uid-1", ManagedFields: entries}}
}

func fieldsEntry(manager string, op metav1.ManagedFieldsOperationType, subresource, fields string) metav1.ManagedFieldsEntry {
	return metav1.ManagedFieldsEntry{Manager: manager, Operation: op, Subresource: subresource, APIVersion: "apps/v1",
		FieldsType: "FieldsV1", FieldsV1: metav1.NewFieldsV1(fields)}
}

func memoDesired(image string) *appsv1ac.DeploymentApplyConfiguration {
	return appsv1ac.Deployment("api", "shop").WithSpec(appsv1ac.DeploymentSpec().
		WithTemplate(corev1ac.PodTemplateSpec().WithSpec(corev1ac.PodSpec().
			WithContainers(corev1ac.Container().WithName("app").WithImage(image)))))
}

const ownedFields = `{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:image":{},"f:name":{}}}}}}}`

func TestAppliedMemoHoldsOnlyTheStateItSaw(t *testing.T) {
	ms := types.NamespacedName{Namespace: "shop", Name: "api"}
	kubeship := fieldsEntry(FieldOwner, metav1.ManagedFieldsOperationApply, "", ownedFields)
	statusWriter := fieldsEntry("kube-controller-manager", metav1.ManagedFieldsOperationUpdate, "status", `{"f:status":{"f:replicas":{}}}`)
	seen := memoDeployment(kubeship, statusWriter)

	cases := []struct {
		name    string
		ms      types.NamespacedName
		kind    string
		live    client.Object
		desired *appsv1ac.DeploymentApplyConfiguration
		forget  func(m *appliedMemo)
		holds   bool
	}{
		{name: "the state seen", live: seen, desired: memoDesired("shop:1"), holds: true},
		{name: "another manager's entry changed (a status write)", live: memoDeployment(kubeship,
			fieldsEntry("kube-controller-manager", metav1.ManagedFieldsOperationUpdate, "status", `{"f:status":{"f:replicas":{},"f:readyReplicas":{}}}`)),
			desired: memoDesired("shop:1"), holds: true},
		{name: "the desired apply only gained a resourceVersion precondition", live: seen,
			desired: memoDesired("shop:1").WithResourceVersion("42"), holds: true},
		{name: "the spec asks for something else", live: seen, desired: memoDesired("shop:2")},
		{name: "someone took a field from kubeship", live: memoDeployment(
			fieldsEntry(FieldOwner, metav1.ManagedFieldsOperationApply, "", `{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:name":{}}}}}}}`),
			fieldsEntry("kubectl-edit", metav1.ManagedFieldsOperationUpdate, "", `{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{"f:image":{}}}}}}}`)),
			desired: memoDesired("shop:1")},
		{name: "the entry is for another API version", live: memoDeployment(func() metav1.ManagedFieldsEntry {
			e := kubeship
			e.APIVersion = "apps/v1beta2"
			return e
		}()), desired: memoDesired("shop:1")},
		{name: "another object by the same name", live: func() client.Object {
			d := seen.DeepCopy()
			d.UID = "uid-2"
			return d
		}(), desired: memoDesired("shop:1")},
		{name: "no entry of kubeship's apply", live: memoDeployment(
			fieldsEntry(FieldOwner, metav1.ManagedFieldsOperationUpdate, "", ownedFields)), desired: memoDesired("shop:1")},
		{name: "another Microservice's child", ms: types.NamespacedName{Namespace: "shop", Name: "cart"}, live: seen, desired: memoDesired("shop:1")},
		{name: "another kind of child", kind: "database StatefulSet", live: seen, desired: memoDesired("shop:1")},
		{name: "the child forgotten", live: seen, desired: memoDesired("shop:1"),
			forget: func(m *appliedMemo) { m.forget(ms, "Deployment") }},
		{name: "the Microservice forgotten", live: seen, desired: memoDesired("shop:1"),
			forget: func(m *appliedMemo) { m.forget(ms, "") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newAppliedMemo()
			applied, err := stateToApply(memoDesired("shop:1"))
			if err != nil {
				t.Fatal(err)
			}
			m.remember(ms, "Deployment", seen, applied)
			if tc.forget != nil {
				tc.forget(m)
			}
			key, kind := ms, "Deployment"
			if tc.ms.Name != "" {
				key = tc.ms
			}
			if tc.kind != "" {
				kind = tc.kind
			}
			now, err := stateToApply(tc.desired)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.holds(key, kind, tc.live, now); got != tc.holds {
				t.Errorf("holds = %v, want %v", got, tc.holds)
			}
		})
	}
}

func TestAppliedMemoWithoutAnEntryRemembersNothing(t *testing.T) {
	ms := types.NamespacedName{Namespace: "shop", Name: "api"}
	applied, err := stateToApply(memoDesired("shop:1"))
	if err != nil {
		t.Fatal(err)
	}
	m := newAppliedMemo()
	owned := memoDeployment(fieldsEntry(FieldOwner, metav1.ManagedFieldsOperationApply, "", ownedFields))
	m.remember(ms, "Deployment", owned, applied)
	// The same child seen again without kubeship's entry (its managed fields were
	// reset) replaces what was remembered, so the entry coming back proves nothing.
	m.remember(ms, "Deployment", memoDeployment(), applied)
	if m.holds(ms, "Deployment", owned, applied) {
		t.Error("a state seen before the entry was lost still holds")
	}

	var none *appliedMemo
	none.remember(ms, "Deployment", owned, applied)
	none.forget(ms, "")
	if none.holds(ms, "Deployment", owned, applied) {
		t.Error("a nil memo holds a state")
	}
}

func TestStateToApplyDropsOnlyTheResourceVersion(t *testing.T) {
	plain, err := stateToApply(memoDesired("shop:1"))
	if err != nil {
		t.Fatal(err)
	}
	desired := memoDesired("shop:1").WithResourceVersion("42").WithLabels(map[string]string{"a": "b"})
	guarded, err := stateToApply(desired)
	if err != nil {
		t.Fatal(err)
	}
	if rv := desired.ResourceVersion; rv == nil || *rv != "42" {
		t.Errorf("the apply configuration itself lost its resourceVersion: %v", rv)
	}
	labelled, err := stateToApply(memoDesired("shop:1").WithLabels(map[string]string{"a": "b"}))
	if err != nil {
		t.Fatal(err)
	}
	if string(guarded) != string(labelled) {
		t.Errorf("with a resourceVersion:\n%s\nwithout:\n%s", guarded, labelled)
	}
	if string(plain) == string(labelled) {
		t.Error("a label made no difference")
	}
}

func TestAppliesField(t *testing.T) {
	cases := []struct {
		name    string
		entries []metav1.ManagedFieldsEntry
		want    bool
	}{
		{"kubeship applies spec.replicas", []metav1.ManagedFieldsEntry{
			fieldsEntry(FieldOwner, metav1.ManagedFieldsOperationApply, "", `{"f:spec":{"f:replicas":{},"f:template":{}}}`)}, true},
		{"the autoscaler took it", []metav1.ManagedFieldsEntry{
			fieldsEntry(FieldOwner, metav1.ManagedFieldsOperationApply, "", `{"f:spec":{"f:template":{}}}`),
			fieldsEntry("kube-controller-manager", metav1.ManagedFieldsOperationUpdate, "scale", `{"f:spec":{"f:replicas":{}}}`)}, false},
		{"only the pod template's fields", []metav1.ManagedFieldsEntry{
			fieldsEntry(FieldOwner, metav1.ManagedFieldsOperationApply, "", `{"f:spec":{"f:template":{"f:spec":{"f:replicas":{}}}}}`)}, false},
		{"kubeship's update, not its apply", []metav1.ManagedFieldsEntry{
			fieldsEntry(FieldOwner, metav1.ManagedFieldsOperationUpdate, "", `{"f:spec":{"f:replicas":{}}}`)}, false},
		{"unreadable fields", []metav1.ManagedFieldsEntry{
			fieldsEntry(FieldOwner, metav1.ManagedFieldsOperationApply, "", `{"f:spec":`)}, false},
		{"no managed fields", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := appliesField(memoDeployment(tc.entries...), replicasPath); got != tc.want {
				t.Errorf("appliesField = %v, want %v", got, tc.want)
			}
		})
	}
}

// A service's kinds are remembered apart: forgetting or replacing one leaves the others,
// and forgetting the last leaves nothing of the service.
func TestAppliedMemoKeepsEachKindApart(t *testing.T) {
	ms := types.NamespacedName{Namespace: "shop", Name: "api"}
	v1, err := stateToApply(memoDesired("shop:1"))
	if err != nil {
		t.Fatal(err)
	}
	v2, err := stateToApply(memoDesired("shop:2"))
	if err != nil {
		t.Fatal(err)
	}
	live := memoDeployment(fieldsEntry(FieldOwner, metav1.ManagedFieldsOperationApply, "", ownedFields))
	m := newAppliedMemo()
	for _, kind := range []string{"Deployment", "Service", "PodDisruptionBudget"} {
		m.remember(ms, kind, live, v1)
	}
	m.remember(ms, "Service", live, v2)
	m.forget(ms, "Deployment")
	for kind, want := range map[string][]bool{
		"Deployment":          {false, false},
		"Service":             {false, true},
		"PodDisruptionBudget": {true, false},
	} {
		if got := []bool{m.holds(ms, kind, live, v1), m.holds(ms, kind, live, v2)}; !slices.Equal(got, want) {
			t.Errorf("%s holds (v1, v2) = %v, want %v", kind, got, want)
		}
	}
	m.forget(ms, "Service")
	m.forget(ms, "PodDisruptionBudget")
	if _, ok := m.held[ms]; ok {
		t.Errorf("a service with nothing remembered is still held: %v", m.held[ms])
	}
}
