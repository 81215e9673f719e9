package resources

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

func withDatabase(db v1alpha1.DatabaseSpec) *v1alpha1.Microservice {
	return microservice(func(ms *v1alpha1.Microservice) { ms.Spec.Database = &db })
}

func TestDatabaseDefaults(t *testing.T) {
	cases := []struct {
		db            v1alpha1.DatabaseSpec
		version, size string
	}{
		{v1alpha1.DatabaseSpec{Engine: v1alpha1.EnginePostgres}, "16", "1Gi"},
		{v1alpha1.DatabaseSpec{Engine: v1alpha1.EngineMySQL}, "8.4", "1Gi"},
		{v1alpha1.DatabaseSpec{Engine: v1alpha1.EngineMySQL, Version: "8.0", Storage: ptrQuantity("20Gi")}, "8.0", "20Gi"},
	}
	for _, tc := range cases {
		if v := DatabaseVersion(&tc.db); v != tc.version {
			t.Errorf("%s version %s, want %s", tc.db.Engine, v, tc.version)
		}
		if s := DatabaseStorage(&tc.db); s.String() != tc.size {
			t.Errorf("%s storage %s, want %s", tc.db.Engine, s.String(), tc.size)
		}
	}
}

func ptrQuantity(s string) *resource.Quantity {
	q := resource.MustParse(s)
	return &q
}

func TestCredentials(t *testing.T) {
	pg := DedicatedCredentials(withDatabase(v1alpha1.DatabaseSpec{Engine: v1alpha1.EnginePostgres}), "pw")
	if pg.URI() != "postgresql://payments:pw@payments-db.shop.svc.cluster.local:5432/payments" {
		t.Fatalf("uri %s", pg.URI())
	}
	long := microservice(func(ms *v1alpha1.Microservice) {
		ms.Name = "Order.Service-with-a-name-well-beyond-thirty-two"
		ms.Spec.Database = &v1alpha1.DatabaseSpec{Engine: v1alpha1.EngineMySQL}
	})
	my := DedicatedCredentials(long, "pw")
	secret := CredentialsSecret(long, my)
	meta := childMeta("Order.Service-with-a-name-well-beyond-thirty-two-db")
	meta.OwnerReferences = nil // the controller sets the owner by deletion policy
	for _, k := range []string{"app.kubernetes.io/name", "apps.kubeship.dev/microservice"} {
		meta.Labels[k] = long.Name
	}
	if diff := cmp.Diff(&corev1.Secret{
		ObjectMeta: meta,
		Type:       corev1.SecretTypeOpaque,
		Data: map[string][]byte{
			"host":     []byte("Order.Service-with-a-name-well-beyond-thirty-two-db.shop.svc.cluster.local"),
			"port":     []byte("3306"),
			"database": []byte("order_service_with_a_name_well_beyond_thirty_two"),
			"username": []byte("order_service_with_a_na_54f1c368"),
			"password": []byte("pw"),
			"uri":      []byte("mysql://order_service_with_a_na_54f1c368:pw@Order.Service-with-a-name-well-beyond-thirty-two-db.shop.svc.cluster.local:3306/order_service_with_a_name_well_beyond_thirty_two"),
		},
	}, secret); diff != "" {
		t.Errorf("credentials Secret (-want +got):\n%s", diff)
	}
	back, err := CredentialsFromSecret(v1alpha1.EngineMySQL, secret)
	if err != nil || back != my {
		t.Fatalf("read back %+v, %v", back, err)
	}
	delete(secret.Data, "password")
	if _, err := CredentialsFromSecret(v1alpha1.EngineMySQL, secret); err == nil || !strings.Contains(err.Error(), `"password"`) {
		t.Fatalf("missing password not reported: %v", err)
	}
}
