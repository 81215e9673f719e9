package controllers

import (
	"context"
	"fmt"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// replicasOwners lists the field managers that own the Deployment's spec.replicas.
func replicasOwners(d *appsv1.Deployment) []string {
	var owners []string
	for _, mf := range d.ManagedFields {
		if mf.FieldsV1 != nil && strings.Contains(mf.FieldsV1.GetRawString(), `"f:replicas"`) {
			owners = append(owners, mf.Manager)
		}
	}
	return owners
}

func updateMicroservice(g Gomega, ctx context.Context, key client.ObjectKey, mutate func(*v1alpha1.Microservice)) {
	g.Eventually(func() error {
		ms := &v1alpha1.Microservice{}
		if err := k8s.Get(ctx, key, ms); err != nil {
			return err
		}
		mutate(ms)
		return k8s.Update(ctx, ms)
	}, timeout, interval).Should(Succeed())
}

// scaleDeploymentAsAutoscaler writes spec.replicas through /scale the way the HPA
// controller does, under its field manager.
func scaleDeploymentAsAutoscaler(g Gomega, ctx context.Context, key client.ObjectKey, n int32) {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
	scale := &autoscalingv1.Scale{}
	g.Expect(k8s.SubResource("scale").Get(ctx, d, scale)).To(Succeed())
	scale.Spec.Replicas = n
	g.Expect(k8s.SubResource("scale").Update(ctx, d, client.WithSubResourceBody(scale), client.FieldOwner("kube-controller-manager"))).To(Succeed())
}

// passAfterTouch changes a label, which wakes the reconciler with the spec unchanged,
// and returns once a pass that started after the change has finished. The test hook
// counts passes as they start; a request is never reconciled twice at once, so when a
// pass starts after a second touch, the one before it is done.
func passAfterTouch(g Gomega, ctx context.Context, key client.ObjectKey) {
	req := reconcile.Request{NamespacedName: key}
	for i := range 2 {
		before := passes.of("microservice", req)
		updateMicroservice(g, ctx, key, func(ms *v1alpha1.Microservice) {
			metav1.SetMetaDataLabel(&ms.ObjectMeta, "touched", fmt.Sprint(i))
		})
		g.Eventually(func() int { return passes.of("microservice", req) }, timeout, interval).Should(BeNumerically(">", before))
	}
}

func TestSwitchingToAutoscalingKeepsReplicasAndBack(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ms := newMicroservice(newNamespace(t), "feed")
	ms.Spec.Replicas = ptr.To[int32](3)
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)
	g.Eventually(func(g Gomega) {
		g.Expect(replicasOwners(getDeployment(g, ctx, key))).To(Equal([]string{FieldOwner}))
	}, timeout, interval).Should(Succeed())

	// Static -> autoscaled: the running count survives. kubeship keeps owning it (and
	// applying the running value) until the autoscaler first changes it, because Server-Side
	// Apply would reset a field its only owner stops applying; it costs no write.
	before := getDeployment(g, ctx, key).ResourceVersion
	updateMicroservice(g, ctx, key, func(ms *v1alpha1.Microservice) {
		ms.Spec.Replicas = nil
		ms.Spec.Scaling = &v1alpha1.ScalingSpec{MinReplicas: ptr.To[int32](2), MaxReplicas: 8}
	})
	g.Eventually(func(g Gomega) {
		h := &autoscalingv2.HorizontalPodAutoscaler{}
		g.Expect(k8s.Get(ctx, key, h)).To(Succeed())
	}, timeout, interval).Should(Succeed())
	passAfterTouch(g, ctx, key)
	d := getDeployment(g, ctx, key)
	g.Expect(d.Spec.Replicas).To(Equal(ptr.To[int32](3)))
	g.Expect(replicasOwners(d)).To(Equal([]string{FieldOwner}))
	g.Expect(d.ResourceVersion).To(Equal(before), "the switch to autoscaling wrote the Deployment")

	// The autoscaler scales; re-applying the unchanged manifest and later passes keep its choice.
	// Each Consistently follows proof that a pass ran after the scale, so it watches
	// what that pass did rather than a reconciler that has not run yet.
	scaleDeploymentAsAutoscaler(g, ctx, key, 6)
	passAfterTouch(g, ctx, key)
	g.Consistently(func(g Gomega) {
		g.Expect(getDeployment(g, ctx, key).Spec.Replicas).To(Equal(ptr.To[int32](6)))
	}, "2s", interval).Should(Succeed())
	g.Expect(replicasOwners(getDeployment(g, ctx, key))).To(Equal([]string{"kube-controller-manager"}))

	// A spec change re-applies the Deployment: the new image and the new generation
	// observed in status show the pass went through, and the count is still the autoscaler's.
	updateMicroservice(g, ctx, key, func(ms *v1alpha1.Microservice) { ms.Spec.Image = "ghcr.io/acme/feed:2" })
	g.Eventually(func(g Gomega) {
		got := &v1alpha1.Microservice{}
		g.Expect(k8s.Get(ctx, key, got)).To(Succeed())
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		g.Expect(getDeployment(g, ctx, key).Spec.Template.Spec.Containers[0].Image).To(Equal("ghcr.io/acme/feed:2"))
	}, timeout, interval).Should(Succeed())
	g.Consistently(func(g Gomega) {
		g.Expect(getDeployment(g, ctx, key).Spec.Replicas).To(Equal(ptr.To[int32](6)))
	}, "1s", interval).Should(Succeed())
	g.Expect(replicasOwners(getDeployment(g, ctx, key))).To(Equal([]string{"kube-controller-manager"}))

	// Autoscaled -> static: kubeship takes the count back and the autoscaler goes away.
	updateMicroservice(g, ctx, key, func(ms *v1alpha1.Microservice) {
		ms.Spec.Scaling = nil
		ms.Spec.Replicas = ptr.To[int32](2)
	})
	g.Eventually(func(g Gomega) {
		d := getDeployment(g, ctx, key)
		g.Expect(d.Spec.Replicas).To(Equal(ptr.To[int32](2)))
		g.Expect(replicasOwners(d)).To(Equal([]string{FieldOwner}))
		err := k8s.Get(ctx, key, &autoscalingv2.HorizontalPodAutoscaler{})
		g.Expect(apierrors.IsNotFound(err)).To(BeTrue())
	}, timeout, interval).Should(Succeed())
}

func TestAutoscalerFieldsAndScalingActive(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ms := newMicroservice(newNamespace(t), "ranker")
	window := int32(10)
	ms.Spec.Scaling = &v1alpha1.ScalingSpec{
		MinReplicas: ptr.To[int32](2), MaxReplicas: 9,
		TargetMemoryUtilizationPercentage: ptr.To[int32](75),
		Behavior:                          &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: &window}},
	}
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)
	h := &autoscalingv2.HorizontalPodAutoscaler{}
	g.Eventually(func() error { return k8s.Get(ctx, key, h) }, timeout, interval).Should(Succeed())
	g.Expect(h.Spec.ScaleTargetRef).To(Equal(autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "ranker"}))
	g.Expect(*h.Spec.MinReplicas).To(Equal(int32(2)))
	g.Expect(h.Spec.MaxReplicas).To(Equal(int32(9)))
	g.Expect(h.Spec.Metrics).To(HaveLen(1))
	g.Expect(h.Spec.Metrics[0].Resource.Name).To(Equal(corev1.ResourceMemory))
	g.Expect(*h.Spec.Metrics[0].Resource.Target.AverageUtilization).To(Equal(int32(75)))
	g.Expect(*h.Spec.Behavior.ScaleDown.StabilizationWindowSeconds).To(Equal(int32(10)))

	condition := func(g Gomega) *metav1.Condition {
		got := &v1alpha1.Microservice{}
		g.Expect(k8s.Get(ctx, key, got)).To(Succeed())
		return meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionScalingActive)
	}
	g.Eventually(func(g Gomega) {
		c := condition(g)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionUnknown))
	}, timeout, interval).Should(Succeed())

	// Play the HPA controller: without metrics it reports ScalingActive=False.
	h.Status = autoscalingv2.HorizontalPodAutoscalerStatus{DesiredReplicas: 2, Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{{
		Type: autoscalingv2.ScalingActive, Status: corev1.ConditionFalse, Reason: "FailedGetResourceMetric",
		Message: "the HPA was unable to compute the replica count", LastTransitionTime: metav1.Now(),
	}}}
	g.Expect(k8s.Status().Update(ctx, h)).To(Succeed())
	g.Eventually(func(g Gomega) {
		c := condition(g)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		g.Expect(c.Reason).To(Equal("FailedGetResourceMetric"))
		g.Expect(c.Message).To(Equal("the HPA was unable to compute the replica count"))
	}, timeout, interval).Should(Succeed())

	// Without scaling the condition disappears with the autoscaler.
	updateMicroservice(g, ctx, key, func(ms *v1alpha1.Microservice) { ms.Spec.Scaling = nil })
	g.Eventually(func(g Gomega) {
		g.Expect(condition(g)).To(BeNil())
	}, timeout, interval).Should(Succeed())
}

func TestDisruptionBudgetFollowsMinimumReplicas(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ms := newMicroservice(newNamespace(t), "mailer")
	ms.Spec.Replicas = ptr.To[int32](3)
	pct := intstr.FromString("50%")
	ms.Spec.DisruptionBudget = &v1alpha1.DisruptionBudgetSpec{MaxUnavailable: &pct}
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)
	pdb := &policyv1.PodDisruptionBudget{}
	g.Eventually(func() error { return k8s.Get(ctx, key, pdb) }, timeout, interval).Should(Succeed())
	g.Expect(*pdb.Spec.MaxUnavailable).To(Equal(pct))
	g.Expect(pdb.Spec.Selector.MatchLabels).To(Equal(map[string]string{"apps.kubeship.dev/microservice": "mailer"}))

	updateMicroservice(g, ctx, key, func(ms *v1alpha1.Microservice) { ms.Spec.Replicas = ptr.To[int32](1) })
	g.Eventually(func() bool {
		return apierrors.IsNotFound(k8s.Get(ctx, key, &policyv1.PodDisruptionBudget{}))
	}, timeout, interval).Should(BeTrue())

	// Autoscaled with a minimum of two brings it back, with the default maxUnavailable.
	updateMicroservice(g, ctx, key, func(ms *v1alpha1.Microservice) {
		ms.Spec.Replicas = nil
		ms.Spec.DisruptionBudget = nil
		ms.Spec.Scaling = &v1alpha1.ScalingSpec{MinReplicas: ptr.To[int32](2), MaxReplicas: 4}
	})
	g.Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, key, pdb)).To(Succeed())
		g.Expect(*pdb.Spec.MaxUnavailable).To(Equal(intstr.FromInt32(1)))
	}, timeout, interval).Should(Succeed())
}

// createAutoscaled creates a Microservice autoscaled from 2 to 5 replicas and waits
// for its Deployment, which starts at the minimum.
func createAutoscaled(t *testing.T, g Gomega, ctx context.Context, name string) client.ObjectKey {
	ms := newMicroservice(newNamespace(t), name)
	ms.Spec.Scaling = &v1alpha1.ScalingSpec{MinReplicas: ptr.To[int32](2), MaxReplicas: 5}
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)
	g.Eventually(func(g Gomega) {
		g.Expect(getDeployment(g, ctx, key).Spec.Replicas).To(Equal(ptr.To[int32](2)), "an autoscaled Deployment starts at minReplicas")
	}, timeout, interval).Should(Succeed())
	return key
}

// staleDeployment is a cache that has not yet seen the latest change to one
// Deployment: it serves the copy it was given.
type staleDeployment struct {
	client.Client
	stale *appsv1.Deployment
}

func (c staleDeployment) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if d, ok := obj.(*appsv1.Deployment); ok && key == client.ObjectKeyFromObject(c.stale) {
		c.stale.DeepCopyInto(d)
		return nil
	}
	return c.Client.Get(ctx, key, obj, opts...)
}

// A pass that read the Deployment just before the autoscaler's first scale, and writes
// it for another reason (a new image) in that moment, must not put the old count back.
func TestStaleReadDoesNotUndoTheAutoscalersFirstScale(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	key := createAutoscaled(t, g, ctx, "search")
	stale := getDeployment(g, ctx, key)
	g.Expect(replicasOwners(stale)).To(Equal([]string{FieldOwner}), "kubeship holds the count until the autoscaler's first scale")

	scaleDeploymentAsAutoscaler(g, ctx, key, 5)
	updateMicroservice(g, ctx, key, func(ms *v1alpha1.Microservice) { ms.Spec.Image = "registry.example/search:2" })
	r := &MicroserviceReconciler{Client: client.WithFieldOwner(staleDeployment{Client: k8s, stale: stale}, FieldOwner), APIReader: k8s}
	_, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: key})
	g.Expect(err).NotTo(HaveOccurred())

	got := &appsv1.Deployment{}
	g.Expect(k8s.Get(ctx, key, got)).To(Succeed())
	g.Expect(got.Spec.Template.Spec.Containers[0].Image).To(Equal("registry.example/search:2"), "the pass wrote its change")
	g.Expect(got.Spec.Replicas).To(Equal(ptr.To[int32](5)), "the autoscaler's count stands")
	g.Expect(replicasOwners(got)).To(Equal([]string{"kube-controller-manager"}))
}
