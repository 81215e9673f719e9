package controllers

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/internal/naming"
)

func sharedUser(namespace, name, server string) *v1alpha1.Microservice {
	ms := newMicroservice(namespace, name)
	ms.Spec.Database = &v1alpha1.DatabaseSpec{Engine: v1alpha1.EngineMySQL, Mode: v1alpha1.ModeShared, ServerRef: &v1alpha1.ServerReference{Name: server}}
	return ms
}

func TestIndexSharedNames(t *testing.T) {
	if keys := indexSharedNames(newMicroservice("team", "api")); keys != nil {
		t.Errorf("a service without a database is indexed under %v", keys)
	}
	dedicated := newMicroservice("team", "api")
	dedicated.Spec.Database = &v1alpha1.DatabaseSpec{Engine: v1alpha1.EnginePostgres, Mode: v1alpha1.ModeDedicated}
	if keys := indexSharedNames(dedicated); keys != nil {
		t.Errorf("a dedicated database is indexed under %v", keys)
	}

	// Under every engine, whatever the service's own spec says: the server's engine
	// decides the names, and nameHolder looks them up under it.
	keys := indexSharedNames(sharedUser("team", "api", "pg"))
	want := make([]string, 0, 4)
	for _, e := range []string{"postgres", "mysql"} {
		want = append(want,
			"pg/"+e+"/database/"+naming.Database(e, "team", "api"),
			"pg/"+e+"/role/"+naming.Role(e, "team", "api"))
	}
	if !slices.Equal(keys, want) {
		t.Errorf("keys:\n%v\nwant:\n%v", keys, want)
	}

	// Two services whose names run together share a key on the same server, and only there.
	a, b := indexSharedNames(sharedUser("team-a", "api", "pg")), indexSharedNames(sharedUser("team", "a-api", "pg"))
	if !slices.ContainsFunc(a, func(k string) bool { return slices.Contains(b, k) }) {
		t.Errorf("team-a/api %v and team/a-api %v share no key", a, b)
	}
	other := indexSharedNames(sharedUser("team", "a-api", "other"))
	if slices.ContainsFunc(a, func(k string) bool { return slices.Contains(other, k) }) {
		t.Errorf("services on different servers share a key: %v and %v", a, other)
	}
}

// The index covers every engine a DatabaseServer may run.
func TestDatabaseEnginesAreTheCRDsEnum(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "config", "crd", "bases", "apps.kubeship.dev_databaseservers.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var crd struct {
		Spec struct {
			Versions []struct {
				Schema struct {
					OpenAPIV3Schema struct {
						Properties struct {
							Spec struct {
								Properties struct {
									Engine struct {
										Enum []v1alpha1.DatabaseEngine `json:"enum"`
									} `json:"engine"`
								} `json:"properties"`
							} `json:"spec"`
						} `json:"properties"`
					} `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &crd); err != nil {
		t.Fatal(err)
	}
	if len(crd.Spec.Versions) == 0 {
		t.Fatal("the CRD has no versions")
	}
	for _, v := range crd.Spec.Versions {
		if got := v.Schema.OpenAPIV3Schema.Properties.Spec.Properties.Engine.Enum; !slices.Equal(got, v1alpha1.DatabaseEngines) {
			t.Errorf("spec.engine enum %v, v1alpha1.DatabaseEngines %v", got, v1alpha1.DatabaseEngines)
		}
	}
}
