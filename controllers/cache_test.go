package controllers

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
		if by.Label == nil || by.Label.Empty() {
			t.Errorf("%T lost its label selector", obj)
		}
	}
}
