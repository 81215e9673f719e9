package controllers

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

func TestParseNamespaces(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "", want: nil},
		{in: " , ,", want: nil},
		{in: "shop", want: []string{"shop"}},
		{in: "shop, billing ,shop", want: []string{"shop", "billing"}},
		{in: "shop,Billing", wantErr: true},
		{in: "shop/billing", wantErr: true},
	} {
		got, err := ParseNamespaces(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseNamespaces(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseNamespaces(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestCacheOptionsNamespaces(t *testing.T) {
	if got := CacheOptions().DefaultNamespaces; got != nil {
		t.Errorf("without namespaces DefaultNamespaces = %v, want nil (all namespaces)", got)
	}
	got := CacheOptions("shop", "billing")
	if len(got.DefaultNamespaces) != 2 {
		t.Fatalf("DefaultNamespaces = %v, want shop and billing", got.DefaultNamespaces)
	}
	for _, ns := range []string{"shop", "billing"} {
		if _, ok := got.DefaultNamespaces[ns]; !ok {
			t.Errorf("DefaultNamespaces lacks %q: %v", ns, got.DefaultNamespaces)
		}
	}
	// The managed-by label filter of child kinds stays with namespaces. The one
	// metadata-only entry, the HTTPRoute CRD, is selected by name instead.
	for obj, by := range got.ByObject {
		if _, crd := obj.(*metav1.PartialObjectMetadata); crd {
			if by.Field == nil || by.Field.String() != "metadata.name="+httpRouteCRD {
				t.Errorf("the CRD watch is not limited to %s: %v", httpRouteCRD, by.Field)
			}
			continue
		}
		if _, ms := obj.(*v1alpha1.Microservice); ms {
			// Every Microservice is watched (the For kind); its entry only trims them.
			if by.Transform == nil {
				t.Errorf("Microservices are cached without dropFieldManagers")
			}
			continue
		}
		if by.Label == nil || by.Label.Empty() {
			t.Errorf("%T lost its label selector", obj)
		}
		if by.Transform == nil {
			t.Errorf("%T is cached without keepOwnFieldManagers", obj)
		}
	}
}

func TestKeepOwnFieldManagers(t *testing.T) {
	entry := func(manager string, op metav1.ManagedFieldsOperationType, sub string) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: manager, Operation: op, Subresource: sub, FieldsV1: metav1.NewFieldsV1(`{"f:spec":{}}`)}
	}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", ManagedFields: []metav1.ManagedFieldsEntry{
		entry(FieldOwner, metav1.ManagedFieldsOperationApply, ""),
		entry("kube-controller-manager", metav1.ManagedFieldsOperationUpdate, "status"),
		entry("kubeship-replicas-handover", metav1.ManagedFieldsOperationApply, ""),
		entry("kubectl-edit", metav1.ManagedFieldsOperationUpdate, ""),
	}}}
	got := keepOwnFieldManagers(d)
	want := []metav1.ManagedFieldsEntry{
		entry(FieldOwner, metav1.ManagedFieldsOperationApply, ""),
	}
	if diff := cmp.Diff(want, got.(*appsv1.Deployment).ManagedFields); diff != "" {
		t.Errorf("managed fields kept (-want +got):\n%s", diff)
	}
	// What is not an object (a tombstone) passes unchanged.
	tombstone := "not an object"
	if got := keepOwnFieldManagers(tombstone); got != tombstone {
		t.Errorf("keepOwnFieldManagers(%q) = %v", tombstone, got)
	}
}

func TestDropFieldManagers(t *testing.T) {
	ms := &v1alpha1.Microservice{ObjectMeta: metav1.ObjectMeta{
		Name: "web",
		Annotations: map[string]string{
			corev1.LastAppliedConfigAnnotation: `{"apiVersion":"apps.kubeship.dev/v1alpha1"}`,
			v1alpha1.AdoptAnnotation:           "web",
		},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl-client-side-apply", Operation: metav1.ManagedFieldsOperationUpdate}},
	}}
	got := dropFieldManagers(ms)
	want := &v1alpha1.Microservice{ObjectMeta: metav1.ObjectMeta{Name: "web", Annotations: map[string]string{v1alpha1.AdoptAnnotation: "web"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cached Microservice (-want +got):\n%s", diff)
	}
}

// The HTTPRoute cache, started once the Gateway API appears, keeps to --watch-namespaces
// like the manager's: a namespace-scoped install may not list HTTPRoutes elsewhere.
func TestRouteCacheOptionsKeepToWatchedNamespaces(t *testing.T) {
	if got := routeCacheOptions(nil).DefaultNamespaces; got != nil {
		t.Errorf("without namespaces DefaultNamespaces = %v, want nil (all namespaces)", got)
	}
	got := routeCacheOptions([]string{"shop", "billing"})
	if diff := cmp.Diff(CacheOptions("shop", "billing").DefaultNamespaces, got.DefaultNamespaces); diff != "" {
		t.Errorf("HTTPRoute cache namespaces differ from the manager's (-manager +routes):\n%s", diff)
	}
	if len(got.DefaultNamespaces) != 2 {
		t.Errorf("DefaultNamespaces = %v, want shop and billing", got.DefaultNamespaces)
	}
	for obj, by := range got.ByObject {
		switch obj.(type) {
		case *gatewayv1.HTTPRoute:
			if by.Label == nil || by.Label.String() != resources.LabelManagedBy+"="+resources.ManagedByKubeship {
				t.Errorf("HTTPRoutes cached without the managed-by filter: %v", by.Label)
			}
		case *gatewayv1.Gateway:
			// A service's Gateway may live outside the watched namespaces.
			if _, all := by.Namespaces[cache.AllNamespaces]; !all || len(by.Namespaces) != 1 {
				t.Errorf("Gateways cached in %v, want every namespace", by.Namespaces)
			}
		default:
			t.Errorf("unexpected %T in the HTTPRoute cache", obj)
		}
	}
	if len(got.ByObject) != 2 {
		t.Errorf("ByObject has %d entries, want HTTPRoute and Gateway", len(got.ByObject))
	}
}
