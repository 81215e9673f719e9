package controllers

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

const (
	timeout  = 45 * time.Second
	interval = 50 * time.Millisecond
)

func newMicroservice(ns, name string) *v1alpha1.Microservice {
	return &v1alpha1.Microservice{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       v1alpha1.MicroserviceSpec{Image: "ghcr.io/acme/" + name + ":1.0.0"},
	}
}

func getDeployment(g Gomega, ctx context.Context, key client.ObjectKey) *appsv1.Deployment {
	d := &appsv1.Deployment{}
	g.Expect(k8s.Get(ctx, key, d)).To(Succeed())
	return d
}

// createAndWaitForDeployment creates ms and waits until kubeship has made its Deployment.
func createAndWaitForDeployment(g Gomega, ctx context.Context, ms *v1alpha1.Microservice) client.ObjectKey {
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)
	g.Eventually(func(g Gomega) { getDeployment(g, ctx, key) }, timeout, interval).Should(Succeed())
	return key
}

func readyOf(g Gomega, ctx context.Context, key client.ObjectKey) *metav1.Condition {
	ms := &v1alpha1.Microservice{}
	g.Expect(k8s.Get(ctx, key, ms)).To(Succeed())
	c := meta.FindStatusCondition(ms.Status.Conditions, v1alpha1.ConditionReady)
	g.Expect(c).NotTo(BeNil(), "no Ready condition yet")
	return c
}

func TestCreateMakesDeploymentAndService(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ms := newMicroservice(newNamespace(t), "payments")
	ms.Spec.Command = []string{"/app"}
	ms.Spec.Args = []string{"--verbose"}
	ms.Spec.Ports = []v1alpha1.ServicePort{{Name: "http", Port: 8080}, {Name: "metrics", Port: 9090}}
	ms.Spec.Env = []corev1.EnvVar{{Name: "MODE", Value: "live"}}
	ms.Spec.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}
	ms.Spec.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromString("http")}}}
	ms.Spec.ServiceAccountName = "payments"
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)

	var d *appsv1.Deployment
	g.Eventually(func(g Gomega) { d = getDeployment(g, ctx, key) }, timeout, interval).Should(Succeed())
	g.Expect(d.Labels).To(Equal(resources.Labels(ms)))
	g.Expect(d.Spec.Selector.MatchLabels).To(Equal(map[string]string{"apps.kubeship.dev/microservice": "payments"}))
	g.Expect(d.Spec.Replicas).To(Equal(ptr.To[int32](1)))
	g.Expect(metav1.GetControllerOf(d)).NotTo(BeNil())
	g.Expect(metav1.GetControllerOf(d).UID).To(Equal(ms.UID))
	pod := d.Spec.Template.Spec
	g.Expect(pod.ServiceAccountName).To(Equal("payments"))
	g.Expect(*pod.SecurityContext.RunAsNonRoot).To(BeTrue())
	g.Expect(pod.SecurityContext.SeccompProfile.Type).To(Equal(corev1.SeccompProfileTypeRuntimeDefault))
	c := pod.Containers[0]
	g.Expect(c.Image).To(Equal("ghcr.io/acme/payments:1.0.0"))
	g.Expect(c.Command).To(Equal([]string{"/app"}))
	g.Expect(c.Args).To(Equal([]string{"--verbose"}))
	g.Expect(c.Ports).To(HaveLen(2))
	g.Expect(c.Env).To(ContainElement(corev1.EnvVar{Name: "MODE", Value: "live"}))
	g.Expect(c.Resources.Requests.Cpu().String()).To(Equal("100m"))
	g.Expect(c.ReadinessProbe.HTTPGet.Path).To(Equal("/ready"))
	g.Expect(*c.SecurityContext.AllowPrivilegeEscalation).To(BeFalse())
	g.Expect(c.SecurityContext.Capabilities.Drop).To(Equal([]corev1.Capability{"ALL"}))

	svc := &corev1.Service{}
	g.Eventually(func() error { return k8s.Get(ctx, key, svc) }, timeout, interval).Should(Succeed())
	g.Expect(svc.Spec.Type).To(Equal(corev1.ServiceTypeClusterIP))
	g.Expect(svc.Spec.Selector).To(Equal(resources.SelectorLabels(ms)))
	g.Expect(svc.Spec.Ports).To(HaveLen(2))
	g.Expect(svc.Spec.Ports[1].Name).To(Equal("metrics"))
	g.Expect(svc.Spec.Ports[1].Port).To(Equal(int32(9090)))
	g.Expect(metav1.GetControllerOf(svc).UID).To(Equal(ms.UID))

	g.Eventually(func(g Gomega) {
		got := &v1alpha1.Microservice{}
		g.Expect(k8s.Get(ctx, key, got)).To(Succeed())
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		g.Expect(got.Status.Selector).To(Equal("apps.kubeship.dev/microservice=payments"))
		g.Expect(got.Status.URL).To(Equal("http://payments." + ms.Namespace + ".svc.cluster.local:8080"))
		ready := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady)
		g.Expect(ready).NotTo(BeNil())
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(ready.Reason).To(Equal(v1alpha1.ReasonObservedGenerationStale))
		g.Expect(ready.ObservedGeneration).To(Equal(got.Generation))
	}, timeout, interval).Should(Succeed())
}

func TestStatusFollowsDeploymentAndImageChange(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ms := newMicroservice(newNamespace(t), "orders")
	ms.Spec.Replicas = ptr.To[int32](3)
	key := createAndWaitForDeployment(g, ctx, ms)

	markDeploymentRolledOut(t, ctx, key)
	g.Eventually(func(g Gomega) {
		got := &v1alpha1.Microservice{}
		g.Expect(k8s.Get(ctx, key, got)).To(Succeed())
		g.Expect(meta.IsStatusConditionTrue(got.Status.Conditions, v1alpha1.ConditionReady)).To(BeTrue())
		g.Expect(meta.IsStatusConditionTrue(got.Status.Conditions, v1alpha1.ConditionAvailable)).To(BeTrue())
		g.Expect(got.Status.Replicas).To(Equal(int32(3)))
		g.Expect(got.Status.ReadyReplicas).To(Equal(int32(3)))
		g.Expect(got.Status.UpdatedReplicas).To(Equal(int32(3)))
	}, timeout, interval).Should(Succeed())

	// A new image: the Deployment changes, and Ready turns False for the new generation
	// until the (simulated) Deployment controller rolls it out.
	got := &v1alpha1.Microservice{}
	g.Expect(k8s.Get(ctx, key, got)).To(Succeed())
	got.Spec.Image = "ghcr.io/acme/orders:2.0.0"
	g.Expect(k8s.Update(ctx, got)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(getDeployment(g, ctx, key).Spec.Template.Spec.Containers[0].Image).To(Equal("ghcr.io/acme/orders:2.0.0"))
		ready := readyOf(g, ctx, key)
		g.Expect(ready.ObservedGeneration).To(Equal(got.Generation))
		g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
	}, timeout, interval).Should(Succeed())

	markDeploymentRolledOut(t, ctx, key)
	g.Eventually(func(g Gomega) {
		ready := readyOf(g, ctx, key)
		g.Expect(ready.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(ready.ObservedGeneration).To(Equal(got.Generation))
	}, timeout, interval).Should(Succeed())
}

// writeCounter counts every write a reconciler sends to the API server.
type writeCounter struct {
	client.Client
	writes atomic.Int64
}

func (c *writeCounter) Create(ctx context.Context, o client.Object, opts ...client.CreateOption) error {
	c.writes.Add(1)
	return c.Client.Create(ctx, o, opts...)
}

func (c *writeCounter) Update(ctx context.Context, o client.Object, opts ...client.UpdateOption) error {
	c.writes.Add(1)
	return c.Client.Update(ctx, o, opts...)
}

func (c *writeCounter) Patch(ctx context.Context, o client.Object, p client.Patch, opts ...client.PatchOption) error {
	c.writes.Add(1)
	return c.Client.Patch(ctx, o, p, opts...)
}

func (c *writeCounter) Apply(ctx context.Context, o runtime.ApplyConfiguration, opts ...client.ApplyOption) error {
	c.writes.Add(1)
	return c.Client.Apply(ctx, o, opts...)
}

func (c *writeCounter) Delete(ctx context.Context, o client.Object, opts ...client.DeleteOption) error {
	c.writes.Add(1)
	return c.Client.Delete(ctx, o, opts...)
}

func (c *writeCounter) Status() client.SubResourceWriter {
	return &statusCounter{SubResourceWriter: c.Client.Status(), writes: &c.writes}
}

type statusCounter struct {
	client.SubResourceWriter
	writes *atomic.Int64
}

func (s *statusCounter) Update(ctx context.Context, o client.Object, opts ...client.SubResourceUpdateOption) error {
	s.writes.Add(1)
	return s.SubResourceWriter.Update(ctx, o, opts...)
}

func (s *statusCounter) Patch(ctx context.Context, o client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
	s.writes.Add(1)
	return s.SubResourceWriter.Patch(ctx, o, p, opts...)
}

// resourceVersionsOf reads the objects called key, one of each kind given, through c and
// returns their resourceVersions in that order.
func resourceVersionsOf(g Gomega, ctx context.Context, c client.Reader, key client.ObjectKey, objs ...client.Object) []string {
	out := make([]string, len(objs))
	for i, obj := range objs {
		g.Expect(c.Get(ctx, key, obj)).To(Succeed())
		out[i] = obj.GetResourceVersion()
	}
	return out
}

func TestConvergedPassWritesNothing(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ms := newMicroservice(newNamespace(t), "catalog")
	ms.Spec.Ports = []v1alpha1.ServicePort{{Name: "grpc", Port: 9000}}
	ms.Spec.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("0.5Gi")}
	ms.Spec.Env = []corev1.EnvVar{{Name: "A", Value: "1"}}
	key := createAndWaitForDeployment(g, ctx, ms)
	markDeploymentRolledOut(t, ctx, key)
	g.Eventually(func(g Gomega) {
		g.Expect(readyOf(g, ctx, key).Status).To(Equal(metav1.ConditionTrue))
	}, timeout, interval).Should(Succeed())

	// Wait until the manager's cache holds what the API server holds, then run one pass.
	versions := func(c client.Client) []string {
		return resourceVersionsOf(g, ctx, c, key, &v1alpha1.Microservice{}, &appsv1.Deployment{}, &corev1.Service{})
	}
	before := versions(k8s)
	g.Eventually(func() []string { return versions(mgrClient) }, timeout, interval).Should(Equal(before))

	// The cache keeps kubeship's own managed fields only (keepOwnFieldManagers), and
	// the pass still sees that nothing differs.
	var cached, stored appsv1.Deployment
	g.Expect(mgrClient.Get(ctx, key, &cached)).To(Succeed())
	g.Expect(k8s.Get(ctx, key, &stored)).To(Succeed())
	managers := func(d *appsv1.Deployment) []string {
		out := make([]string, 0, len(d.ManagedFields))
		for _, e := range d.ManagedFields {
			out = append(out, e.Manager+"/"+e.Subresource)
		}
		return out
	}
	g.Expect(managers(&cached)).To(ConsistOf(FieldOwner+"/"), "cached managed fields")
	g.Expect(len(managers(&stored))).To(BeNumerically(">", 1), "stored managed fields: %v", managers(&stored))

	counter := &writeCounter{Client: mgrClient}
	r := &MicroserviceReconciler{Client: counter}
	_, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: key})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(counter.writes.Load()).To(BeZero(), "a converged pass must send no write")
	g.Expect(versions(k8s)).To(Equal(before))
}

func TestScaleSubresourceScalesDeployment(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ms := newMicroservice(newNamespace(t), "search")
	key := createAndWaitForDeployment(g, ctx, ms)

	// What `kubectl scale` sends. (A GET of /scale fails while spec.replicas is absent:
	// the API server reports the spec replicas path as missing; API.md forbids a default.)
	patch := client.RawPatch(types.MergePatchType, []byte(`{"spec":{"replicas":4}}`))
	scale := &autoscalingv1.Scale{}
	g.Expect(k8s.SubResource("scale").Patch(ctx, ms, patch, client.WithSubResourceBody(scale))).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(getDeployment(g, ctx, key).Spec.Replicas).To(Equal(ptr.To[int32](4)))
	}, timeout, interval).Should(Succeed())

	markDeploymentRolledOut(t, ctx, key)
	g.Eventually(func(g Gomega) {
		g.Expect(k8s.SubResource("scale").Get(ctx, ms, scale)).To(Succeed())
		g.Expect(scale.Status.Replicas).To(Equal(int32(4)))
		g.Expect(scale.Status.Selector).To(Equal("apps.kubeship.dev/microservice=search"))
	}, timeout, interval).Should(Succeed())
}

// envtest runs no garbage collector, so this cannot watch the children go. It checks
// what the garbage collector acts on: no finalizer holds a stateless Microservice, and
// each child names it as controller with blockOwnerDeletion.
func TestDeletedMicroserviceLeavesOwnerReferencesForGarbageCollector(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ms := newMicroservice(newNamespace(t), "cart")
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)
	g.Eventually(func() error { return k8s.Get(ctx, key, &corev1.Service{}) }, timeout, interval).Should(Succeed())
	g.Expect(k8s.Get(ctx, key, &appsv1.Deployment{})).To(Succeed())

	req := reconcile.Request{NamespacedName: key}
	before := passes.of("microservice", req)
	g.Expect(k8s.Delete(ctx, ms)).To(Succeed())
	g.Eventually(func() bool {
		return apierrors.IsNotFound(k8s.Get(ctx, key, &v1alpha1.Microservice{}))
	}, timeout, interval).Should(BeTrue(), "nothing should hold the Microservice back")
	// The pass the deletion brings leaves the children to the garbage collector: they
	// stay, each naming the deleted Microservice as its controller.
	g.Eventually(func() int { return passes.of("microservice", req) }, timeout, interval).Should(BeNumerically(">", before))
	want := []metav1.OwnerReference{{
		APIVersion: v1alpha1.GroupVersion.String(), Kind: "Microservice", Name: "cart", UID: ms.UID,
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
	}}
	g.Consistently(func(g Gomega) {
		for _, obj := range []client.Object{&appsv1.Deployment{}, &corev1.Service{}} {
			g.Expect(k8s.Get(ctx, key, obj)).To(Succeed())
			g.Expect(obj.GetOwnerReferences()).To(Equal(want), "%T", obj)
		}
	}, "1s", interval).Should(Succeed())
}

// An autoscaled Deployment starts at minReplicas, with kubeship owning the count (so a
// later apply cannot reset it to the API default), costs no further write to hand the
// count over, and once the autoscaler has changed it, kubeship owns it no more and never
// moves it back, also when the autoscaler returns to the first value.
func TestAutoscaledDeploymentYieldsReplicasToTheAutoscaler(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	key := createAutoscaled(t, g, ctx, "api")
	created := getDeployment(g, ctx, key)
	passAfterTouch(g, ctx, key)
	d := getDeployment(g, ctx, key)
	g.Expect(d.ResourceVersion).To(Equal(created.ResourceVersion), "a pass after the creation wrote the Deployment")
	g.Expect(replicasOwners(d)).To(Equal([]string{FieldOwner}))

	for _, n := range []int32{4, 2} {
		scaleDeploymentAsAutoscaler(g, ctx, key, n)
		passAfterTouch(g, ctx, key)
		d = getDeployment(g, ctx, key)
		g.Expect(d.Spec.Replicas).To(Equal(ptr.To(n)))
		g.Expect(replicasOwners(d)).To(Equal([]string{"kube-controller-manager"}))
	}
}

func TestSpecTheAPIServerRefusesIsInvalidSpec(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ms := newMicroservice(newNamespace(t), "broken")
	// Admitted by the CRD, refused by Deployment validation: a probe needs a handler.
	ms.Spec.ReadinessProbe = &corev1.Probe{PeriodSeconds: 5}
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)
	g.Eventually(func(g Gomega) {
		ready := readyOf(g, ctx, key)
		g.Expect(ready.Reason).To(Equal(v1alpha1.ReasonInvalidSpec))
		g.Expect(ready.Message).To(ContainSubstring("readinessProbe"))
	}, timeout, interval).Should(Succeed())

	// The user's fix is picked up.
	updateMicroservice(g, ctx, key, func(ms *v1alpha1.Microservice) {
		ms.Spec.ReadinessProbe.HTTPGet = &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromString("http")}
	})
	g.Eventually(func(g Gomega) { getDeployment(g, ctx, key) }, timeout, interval).Should(Succeed())
}

// The Argo CD restart action sets an annotation on the Microservice; the pods roll.
func TestRestartAnnotationRollsThePods(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ms := newMicroservice(newNamespace(t), "restartable")
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)
	var before int64
	g.Eventually(func(g Gomega) { before = getDeployment(g, ctx, key).Generation }, timeout, interval).Should(Succeed())

	updateMicroservice(g, ctx, key, func(ms *v1alpha1.Microservice) {
		ms.Annotations = map[string]string{resources.AnnotationRestartedAt: "2026-11-26T12:00:00Z"}
	})
	g.Eventually(func(g Gomega) {
		d := getDeployment(g, ctx, key)
		g.Expect(d.Spec.Template.Annotations).To(HaveKeyWithValue(resources.AnnotationRestartedAt, "2026-11-26T12:00:00Z"))
		g.Expect(d.Generation).To(BeNumerically(">", before))
	}, timeout, interval).Should(Succeed())
}
