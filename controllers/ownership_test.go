package controllers

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

func TestDecideOwnership(t *testing.T) {
	ms := newMicroservice("shop", "legacy")
	ms.UID = "ms-uid"
	controlledBy := func(kind, name, uid string) []metav1.OwnerReference {
		return []metav1.OwnerReference{{APIVersion: "x/v1", Kind: kind, Name: name, UID: k8stypes.UID("u" + uid), Controller: ptr.To(true)}}
	}
	meta := func(mutate func(*metav1.ObjectMeta)) metav1.ObjectMeta {
		m := metav1.ObjectMeta{Namespace: "shop", Name: "legacy"}
		mutate(&m)
		return m
	}
	adopt := map[string]string{v1alpha1.AdoptAnnotation: "legacy"}
	selector := func(l map[string]string) *metav1.LabelSelector { return &metav1.LabelSelector{MatchLabels: l} }
	deployment := func(m metav1.ObjectMeta, sel *metav1.LabelSelector) client.Object {
		return &appsv1.Deployment{ObjectMeta: m, Spec: appsv1.DeploymentSpec{Selector: sel}}
	}
	ours := selector(resources.SelectorLabels(ms))

	cases := []struct {
		name     string
		obj      client.Object
		byLabels bool
		claim    claim
		reason   string
		message  string // a part the message must hold
	}{
		{"controlled by ms", deployment(meta(func(m *metav1.ObjectMeta) {
			m.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps.kubeship.dev/v1alpha1", Kind: "Microservice", Name: "legacy", UID: "ms-uid", Controller: ptr.To(true)}}
		}), ours), false, claimOwned, "", ""},
		{"foreign, no consent", deployment(meta(func(*metav1.ObjectMeta) {}), ours), false, claimRefused, v1alpha1.ReasonResourceNotOwned,
			"Deployment legacy exists and is not controlled by this Microservice; add the annotation apps.kubeship.dev/adopt: legacy to hand it over"},
		{"foreign with kubeship's labels is still foreign", deployment(meta(func(m *metav1.ObjectMeta) { m.Labels = resources.Labels(ms) }), ours), false, claimRefused, v1alpha1.ReasonResourceNotOwned, "not controlled"},
		{"consent", deployment(meta(func(m *metav1.ObjectMeta) { m.Annotations = adopt }), ours), false, claimAdopt, "", ""},
		{"consent for another Microservice", deployment(meta(func(m *metav1.ObjectMeta) {
			m.Annotations = map[string]string{v1alpha1.AdoptAnnotation: "other"}
		}), ours), false, claimRefused, v1alpha1.ReasonResourceNotOwned, `names "other"`},
		{"consent but controlled by another controller", deployment(meta(func(m *metav1.ObjectMeta) {
			m.Annotations = adopt
			m.OwnerReferences = controlledBy("Rollout", "legacy", "1")
		}), ours), false, claimRefused, v1alpha1.ReasonResourceNotOwned, "controlled by Rollout legacy"},
		{"controlled by an earlier Microservice of the same name", deployment(meta(func(m *metav1.ObjectMeta) {
			m.Annotations = adopt
			m.OwnerReferences = controlledBy("Microservice", "legacy", "old")
		}), ours), false, claimRefused, v1alpha1.ReasonResourceNotOwned, "controlled by Microservice legacy"},
		{"consent, incompatible selector", deployment(meta(func(m *metav1.ObjectMeta) { m.Annotations = adopt }), selector(map[string]string{"app": "legacy"})),
			false, claimRefused, v1alpha1.ReasonAdoptionRefused, "its selector app=legacy differs from apps.kubeship.dev/microservice=legacy"},
		{"consent, selector with more labels", deployment(meta(func(m *metav1.ObjectMeta) { m.Annotations = adopt }),
			selector(map[string]string{"app": "legacy", resources.LabelMicroservice: "legacy"})), false, claimRefused, v1alpha1.ReasonAdoptionRefused, "selector"},
		{"database StatefulSet selector", &appsv1.StatefulSet{ObjectMeta: meta(func(m *metav1.ObjectMeta) { m.Name = "legacy-db"; m.Annotations = adopt }),
			Spec: appsv1.StatefulSetSpec{Selector: ours}}, false, claimRefused, v1alpha1.ReasonAdoptionRefused, "apps.kubeship.dev/database=legacy"},
		{"retained Secret recognised by its labels", &corev1.Secret{ObjectMeta: meta(func(m *metav1.ObjectMeta) { m.Labels = resources.Labels(ms) })}, true, claimOwned, "", ""},
		{"Secret without the labels", &corev1.Secret{ObjectMeta: meta(func(m *metav1.ObjectMeta) { m.Labels = map[string]string{"app": "legacy"} })}, true, claimRefused, v1alpha1.ReasonResourceNotOwned, "Secret legacy exists"},
		{"Secret labelled for another Microservice", &corev1.Secret{ObjectMeta: meta(func(m *metav1.ObjectMeta) {
			m.Labels = map[string]string{resources.LabelManagedBy: resources.ManagedByKubeship, resources.LabelMicroservice: "other"}
		})}, true, claimRefused, v1alpha1.ReasonResourceNotOwned, "not controlled"},
		{"Secret with consent", &corev1.Secret{ObjectMeta: meta(func(m *metav1.ObjectMeta) { m.Annotations = adopt })}, true, claimAdopt, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kind := "Deployment"
			switch tc.obj.(type) {
			case *corev1.Secret:
				kind = "Secret"
			case *appsv1.StatefulSet:
				kind = "StatefulSet"
			}
			got := decideOwnership(ms, kind, tc.obj, tc.byLabels)
			if got.claim != tc.claim || got.reason != tc.reason {
				t.Fatalf("decision %+v, want claim %d reason %q", got, tc.claim, tc.reason)
			}
			if !strings.Contains(got.message, tc.message) {
				t.Fatalf("message %q lacks %q", got.message, tc.message)
			}
		})
	}
}

func TestRefusalsInStatus(t *testing.T) {
	ms := newMicroservice("shop", "legacy")
	ms.Generation = 2
	deploy := &notOwnedError{"Deployment", "legacy", v1alpha1.ReasonAdoptionRefused, "Deployment legacy cannot be adopted"}
	svc := &notOwnedError{"Service", "legacy", v1alpha1.ReasonResourceNotOwned, "Service legacy exists"}
	st := computeStatus(ms, observed{notOwned: []*notOwnedError{deploy, svc}, applyErr: nil})
	ready := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionReady)
	if ready.Status != metav1.ConditionFalse || ready.Reason != v1alpha1.ReasonAdoptionRefused ||
		ready.Message != "Deployment legacy cannot be adopted; Service legacy exists" || ready.ObservedGeneration != 2 {
		t.Fatalf("Ready %+v", ready)
	}
	available := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionAvailable)
	if available.Reason != v1alpha1.ReasonAdoptionRefused || available.Message != deploy.message {
		t.Fatalf("Available %+v", available)
	}
	st = computeStatus(ms, observed{notOwned: []*notOwnedError{svc}})
	if a := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionAvailable); a.Reason != v1alpha1.ReasonDeploymentNotFound {
		t.Fatalf("a foreign Service says nothing about the Deployment: %+v", a)
	}
}
