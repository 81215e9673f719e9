package controllers

import (
	"context"
	"encoding/json"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

func TestWithResourceVersionChangesOnlyTheResourceVersion(t *testing.T) {
	g := NewWithT(t)
	desired := corev1ac.Service("web", "shop").
		WithLabels(map[string]string{"app": "web"}).
		WithSpec(corev1ac.ServiceSpec().WithPorts(corev1ac.ServicePort().WithName("http").WithPort(8080)))
	createOnly, err := withResourceVersion(desired, createOnlyVersion)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(desired.ResourceVersion).To(BeNil(), "the apply configuration itself changed")
	body, err := json.Marshal(createOnly)
	g.Expect(err).NotTo(HaveOccurred())
	var got map[string]any
	g.Expect(json.Unmarshal(body, &got)).To(Succeed())
	g.Expect(got).To(Equal(map[string]any{
		"apiVersion": "v1",
		"kind":       "Service",
		"metadata": map[string]any{
			"name": "web", "namespace": "shop", "labels": map[string]any{"app": "web"},
			"resourceVersion": createOnlyVersion,
		},
		"spec": map[string]any{"ports": []any{map[string]any{"name": "http", "port": float64(8080)}}},
	}))
}

// isChild is true for the children a static Microservice of two replicas has.
func isChild(obj client.Object) bool {
	switch obj.(type) {
	case *appsv1.Deployment, *corev1.Service, *policyv1.PodDisruptionBudget:
		return true
	}
	return false
}

// A pass whose cache has not yet seen the children kubeship made sends a create-only
// apply for each; each is refused, and the children are read from the API server,
// recognised as kubeship's and left as they are: no refusal, no takeover, no change.
func TestChildrenTheCacheHasNotSeenAreNeitherRefusedNorWritten(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ms := newMicroservice(newNamespace(t), "ledger")
	ms.Spec.Replicas = ptr.To[int32](2)
	key := createAndWaitForDeployment(g, ctx, ms)
	g.Eventually(func() error { return k8s.Get(ctx, key, &policyv1.PodDisruptionBudget{}) }, timeout, interval).Should(Succeed())
	versions := func() []string {
		return resourceVersionsOf(g, ctx, k8s, key, &appsv1.Deployment{}, &corev1.Service{}, &policyv1.PodDisruptionBudget{})
	}
	// The manager's own passes may still be writing; wait until they are done.
	g.Eventually(func(g Gomega) {
		g.Expect(mgrClient.Get(ctx, key, &appsv1.Deployment{})).To(Succeed())
		g.Expect(readyOf(g, ctx, key).Reason).NotTo(BeEmpty())
	}, timeout, interval).Should(Succeed())
	before := versions()

	r := &MicroserviceReconciler{Client: client.WithFieldOwner(cacheMiss{k8s, isChild}, FieldOwner), APIReader: k8s}
	_, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: key})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(readyOf(g, ctx, key).Reason).NotTo(Equal(v1alpha1.ReasonResourceNotOwned))
	g.Expect(versions()).To(Equal(before), "children kubeship made are not written again")
}

// A create-only apply of a child whose name an object nobody labelled already holds
// changes nothing on that object, not even its resourceVersion, and says so.
func TestCreateChildLeavesAnExistingObjectAlone(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	theirs := legacyService(ns, "web")
	g.Expect(k8s.Create(ctx, theirs)).To(Succeed())
	before := snapshotOf(g, ctx, theirs)

	desired := corev1ac.Service("web", ns).WithLabels(map[string]string{"app.kubernetes.io/managed-by": "kubeship"}).
		WithSpec(corev1ac.ServiceSpec().WithPorts(corev1ac.ServicePort().WithName("http").WithPort(8080)))
	live := &corev1.Service{}
	err := createChild(ctx, client.WithFieldOwner(k8s, FieldOwner), live, desired)
	g.Expect(err).To(MatchError(errChildExists))
	g.Expect(snapshotOf(g, ctx, theirs)).To(Equal(before))
	g.Expect(theirs.Labels).To(BeEmpty())

	// With the name free, the same call creates the object with kubeship's applied fields.
	created := &corev1.Service{}
	g.Expect(createChild(ctx, client.WithFieldOwner(k8s, FieldOwner), created, corev1ac.Service("api", ns).
		WithSpec(corev1ac.ServiceSpec().WithPorts(corev1ac.ServicePort().WithName("http").WithPort(8080))))).To(Succeed())
	g.Expect(created.UID).NotTo(BeEmpty(), "live holds the object the API server made")
	managers := make([]string, 0, len(created.ManagedFields))
	for _, e := range created.ManagedFields {
		managers = append(managers, e.Manager+"/"+string(e.Operation))
	}
	g.Expect(managers).To(Equal([]string{FieldOwner + "/" + string(metav1.ManagedFieldsOperationApply)}))
}
