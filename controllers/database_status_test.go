package controllers

import (
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// The provisioned record is what the finalizer drops: it comes only from a pass that
// provisioned, survives passes that did not reach the server, and stays while a removed
// spec.database is still being released.
func TestProvisionedRecordInStatus(t *testing.T) {
	rec := &v1alpha1.ProvisionedDatabase{Server: "pg", ServerUID: "uid-1", Database: "ns_a", Role: "ns_a"}
	newer := &v1alpha1.ProvisionedDatabase{Server: "pg", ServerUID: "uid-2", Database: "ns_a", Role: "ns_a"}
	shared := func(prev *v1alpha1.ProvisionedDatabase) *v1alpha1.Microservice {
		ms := newMicroservice("ns", "a")
		ms.Spec.Database = &v1alpha1.DatabaseSpec{Engine: v1alpha1.EnginePostgres, Mode: v1alpha1.ModeShared, ServerRef: &v1alpha1.ServerReference{Name: "pg"}}
		if prev != nil {
			ms.Status.Database = &v1alpha1.DatabaseStatus{SecretName: "a-db", Provisioned: prev}
		}
		return ms
	}
	cases := []struct {
		name string
		ms   *v1alpha1.Microservice
		obs  databaseObserved
		want *v1alpha1.ProvisionedDatabase
	}{
		{"nothing yet", shared(nil), databaseObserved{}, nil},
		{"provisioned now", shared(nil), databaseObserved{provisioned: rec}, rec},
		{"blocked later keeps the record", shared(rec), databaseObserved{blockedReason: v1alpha1.ReasonServerNotReady}, rec},
		{"a failed pass keeps the record", shared(rec), databaseObserved{err: errors.New("connection refused")}, rec},
		{"a new server replaces it", shared(rec), databaseObserved{provisioned: newer}, newer},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := computeStatus(tc.ms, observed{database: tc.obs}).Database.Provisioned
			if !equality.Semantic.DeepEqual(got, tc.want) {
				t.Errorf("provisioned = %+v, want %+v", got, tc.want)
			}
		})
	}

	removed := shared(rec)
	removed.Spec.Database = nil
	if st := computeStatus(removed, observed{database: databaseObserved{releasing: true}}); st.Database == nil || st.Database.Provisioned == nil {
		t.Error("status forgot the record while the release was still pending")
	}
	if st := computeStatus(removed, observed{}); st.Database != nil {
		t.Errorf("status.database = %+v after the release, want nil", st.Database)
	}
}
