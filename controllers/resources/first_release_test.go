package resources

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// rollingParts are the parts of a workload that an operator upgrade must not change for
// a service whose spec did not: the pod template (a change rolls every pod) and the
// fields the API server will not let change at all.
type rollingParts struct {
	DeploymentSelector   *metav1.LabelSelector
	DeploymentTemplate   corev1.PodTemplateSpec
	StatefulSetSelector  *metav1.LabelSelector
	StatefulSetService   string
	StatefulSetTemplate  corev1.PodTemplateSpec
	StatefulSetVolumeSet []corev1.PersistentVolumeClaim
}

func partsOf(d *appsv1.Deployment, s *appsv1.StatefulSet) rollingParts {
	p := rollingParts{DeploymentSelector: d.Spec.Selector, DeploymentTemplate: d.Spec.Template}
	if s != nil {
		p.StatefulSetSelector, p.StatefulSetService = s.Spec.Selector, s.Spec.ServiceName
		p.StatefulSetTemplate, p.StatefulSetVolumeSet = s.Spec.Template, s.Spec.VolumeClaimTemplates
	}
	return p
}

// TestPodTemplatesAsFirstRelease: for Microservices written against the first release,
// today's builders make the pod templates that release made (recorded in
// testdata/first-release by hack/first-release-templates.sh), so upgrading kubeship
// rolls no pod. A new default belongs in the template only when the spec asks for it.
func TestPodTemplatesAsFirstRelease(t *testing.T) {
	dir := filepath.Join("testdata", "first-release")
	raw, err := os.ReadFile(filepath.Join(dir, "workloads.json"))
	if err != nil {
		t.Fatal(err)
	}
	var recorded map[string]struct {
		Deployment  *appsv1.Deployment  `json:"deployment"`
		StatefulSet *appsv1.StatefulSet `json:"statefulSet"`
	}
	if err := json.Unmarshal(raw, &recorded); err != nil {
		t.Fatal(err)
	}
	services := firstReleaseServices(t, filepath.Join(dir, "microservices.yaml"))
	if len(services) != len(recorded) {
		t.Fatalf("%d Microservices but %d recorded workloads: run hack/first-release-templates.sh", len(services), len(recorded))
	}
	for _, ms := range services {
		t.Run(ms.Name, func(t *testing.T) {
			was, ok := recorded[ms.Name]
			if !ok {
				t.Fatalf("no recorded workload: run hack/first-release-templates.sh")
			}
			var sts *appsv1.StatefulSet
			if db := ms.Spec.Database; db != nil && db.Mode != v1alpha1.ModeShared {
				sts = typed[appsv1.StatefulSet](t, DatabaseStatefulSet(ms, DatabaseStorage(db)))
			}
			now := partsOf(typed[appsv1.Deployment](t, Deployment(ms)), sts)
			if diff := cmp.Diff(partsOf(was.Deployment, was.StatefulSet), now); diff != "" {
				t.Errorf("upgrading from the first release would roll this service's pods (-first release +now):\n%s", diff)
			}
		})
	}
}

// firstReleaseServices reads the YAML stream of Microservices, strictly: a field the
// first release did not know has no place there.
func firstReleaseServices(t *testing.T, path string) []*v1alpha1.Microservice {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	docs := bytes.Split(raw, []byte("\n---\n"))
	out := make([]*v1alpha1.Microservice, 0, len(docs))
	for _, doc := range docs {
		ms := &v1alpha1.Microservice{}
		if err := yaml.UnmarshalStrict(doc, ms); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, ms)
	}
	return out
}
