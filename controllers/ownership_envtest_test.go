package controllers

import (
	"context"
	"encoding/json"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

// legacyDeployment is a Deployment as a team makes it with kubectl before kubeship:
// three replicas of a container called main, selecting kubeship's own pod label.
func legacyDeployment(ns, name string, selector map[string]string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"team": "legacy"}},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: selector},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "nginx:1.27"}}},
			},
		},
	}
}

func legacyService(ns, name string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Name: "web", Port: 80, TargetPort: intstr.FromInt32(8000)}},
		},
	}
}

// snapshot is what must not change on an object kubeship may not write.
type snapshot struct {
	resourceVersion string
	spec            string
	owners          []metav1.OwnerReference
}

func snapshotOf(g Gomega, ctx context.Context, obj client.Object) snapshot {
	g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
	raw, err := json.Marshal(obj)
	g.Expect(err).NotTo(HaveOccurred())
	var fields map[string]json.RawMessage
	g.Expect(json.Unmarshal(raw, &fields)).To(Succeed())
	content := string(fields["spec"]) + string(fields["data"])
	return snapshot{obj.GetResourceVersion(), content, obj.GetOwnerReferences()}
}

// warningsAbout counts the Warning events on the Microservice called name, by reason.
func warningsAbout(g Gomega, ctx context.Context, ns, name string) map[string]int {
	list := &eventsv1.EventList{}
	g.Expect(k8s.List(ctx, list, client.InNamespace(ns))).To(Succeed())
	got := map[string]int{}
	for _, e := range list.Items {
		if e.Regarding.Kind == "Microservice" && e.Regarding.Name == name && e.Type == corev1.EventTypeWarning {
			got[e.Reason]++
		}
	}
	return got
}

// waitForReason waits until ms's condition typ has reason for ms's current generation
// and returns it.
func waitForReason(g Gomega, ctx context.Context, key client.ObjectKey, typ, reason string) *metav1.Condition {
	var c *metav1.Condition
	g.Eventually(func(g Gomega) {
		ms := &v1alpha1.Microservice{}
		g.Expect(k8s.Get(ctx, key, ms)).To(Succeed())
		c = meta.FindStatusCondition(ms.Status.Conditions, typ)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.ObservedGeneration).To(Equal(ms.Generation))
		g.Expect(c.Reason).To(Equal(reason), c.Message)
	}, timeout, interval).Should(Succeed())
	return c
}

func TestForeignDeploymentAndServiceAreNeverWritten(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	deploy := legacyDeployment(ns, "legacy", map[string]string{resources.LabelMicroservice: "legacy"})
	svc := legacyService(ns, "legacy")
	g.Expect(k8s.Create(ctx, deploy)).To(Succeed())
	g.Expect(k8s.Create(ctx, svc)).To(Succeed())
	deployBefore, svcBefore := snapshotOf(g, ctx, deploy), snapshotOf(g, ctx, svc)

	ms := newMicroservice(ns, "legacy")
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)
	ready := waitForReason(g, ctx, key, v1alpha1.ConditionReady, v1alpha1.ReasonResourceNotOwned)
	g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
	g.Expect(ready.Message).To(ContainSubstring("Deployment legacy exists and is not controlled by this Microservice; add the annotation apps.kubeship.dev/adopt: legacy"))
	g.Expect(ready.Message).To(ContainSubstring("Service legacy exists and is not controlled by this Microservice"), "the pass goes on past the Deployment")
	available := waitForReason(g, ctx, key, v1alpha1.ConditionAvailable, v1alpha1.ReasonResourceNotOwned)
	g.Expect(available.Message).To(HavePrefix("Deployment legacy exists"))
	g.Expect(snapshotOf(g, ctx, deploy)).To(Equal(deployBefore))
	g.Expect(snapshotOf(g, ctx, svc)).To(Equal(svcBefore))
	for _, obj := range []client.Object{&autoscalingv2.HorizontalPodAutoscaler{}, &policyv1.PodDisruptionBudget{}} {
		g.Expect(k8s.Get(ctx, key, obj)).NotTo(Succeed(), "nothing is made around someone else's Deployment")
	}

	// Another pass, brought by a new generation, writes nothing and repeats no event.
	updateMicroservice(g, ctx, key, func(ms *v1alpha1.Microservice) { ms.Spec.Image = "ghcr.io/acme/legacy:1.1.0" })
	waitForReason(g, ctx, key, v1alpha1.ConditionReady, v1alpha1.ReasonResourceNotOwned)
	g.Expect(snapshotOf(g, ctx, deploy)).To(Equal(deployBefore))
	g.Expect(snapshotOf(g, ctx, svc)).To(Equal(svcBefore))
	g.Eventually(func(g Gomega) map[string]int { return warningsAbout(g, ctx, ns, "legacy") }, timeout, interval).
		Should(Equal(map[string]int{EventResourceNotOwned: 1}))

	// No owner reference was ever set, so deleting the Microservice cannot take them.
	g.Expect(k8s.Delete(ctx, ms)).To(Succeed())
	g.Eventually(func() bool { return k8s.Get(ctx, key, &v1alpha1.Microservice{}) != nil }, timeout, interval).Should(BeTrue())
	g.Expect(snapshotOf(g, ctx, deploy)).To(Equal(deployBefore))
	g.Expect(snapshotOf(g, ctx, svc)).To(Equal(svcBefore))
}

func TestAdoptionByAnnotationKeepsTheObjects(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	ms := newMicroservice(ns, "legacy")
	ms.Spec.Replicas = ptr.To[int32](3)

	// The Deployment already runs exactly the pods kubeship would build.
	deploy := &appsv1.Deployment{}
	fromApplyConfiguration(g, resources.Deployment(ms), deploy)
	deploy.OwnerReferences = nil
	deploy.Labels = map[string]string{"team": "legacy"}
	deploy.Annotations = map[string]string{v1alpha1.AdoptAnnotation: "legacy"}
	g.Expect(k8s.Create(ctx, deploy)).To(Succeed())
	svc := legacyService(ns, "legacy")
	svc.Annotations = map[string]string{v1alpha1.AdoptAnnotation: "legacy"}
	g.Expect(k8s.Create(ctx, svc)).To(Succeed())
	before := deploy.DeepCopy()

	key := client.ObjectKeyFromObject(ms)
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	g.Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, key, deploy)).To(Succeed())
		g.Expect(metav1.GetControllerOf(deploy)).NotTo(BeNil())
		g.Expect(metav1.GetControllerOf(deploy).UID).To(Equal(ms.UID))
		g.Expect(deploy.Labels).To(HaveKeyWithValue(resources.LabelManagedBy, resources.ManagedByKubeship))
		g.Expect(k8s.Get(ctx, key, svc)).To(Succeed())
		g.Expect(metav1.GetControllerOf(svc)).NotTo(BeNil())
		g.Expect(svc.Spec.Selector).To(Equal(resources.SelectorLabels(ms)), "the Service becomes what the Microservice describes")
		g.Expect(svc.Spec.Ports).To(HaveLen(1))
		g.Expect(svc.Spec.Ports[0].Name).To(Equal("http"))
	}, timeout, interval).Should(Succeed())
	g.Expect(deploy.UID).To(Equal(before.UID))
	g.Expect(deploy.Spec).To(Equal(before.Spec))
	g.Expect(deploy.Generation).To(Equal(before.Generation), "adoption alone changes nothing the Deployment controller acts on")
	g.Expect(deploy.Spec.Template).To(Equal(before.Spec.Template), "the pods are not restarted")
	g.Expect(svc.Spec.ClusterIP).NotTo(BeEmpty())

	// Once adopted, the cached client sees them: the pass converges to Ready.
	markDeploymentRolledOut(t, ctx, key)
	waitForReason(g, ctx, key, v1alpha1.ConditionReady, v1alpha1.ReasonReady)
}

func TestAdoptionTakesOverClientSideFields(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	deploy := legacyDeployment(ns, "legacy", map[string]string{resources.LabelMicroservice: "legacy"})
	deploy.Annotations = map[string]string{v1alpha1.AdoptAnnotation: "legacy"}
	g.Expect(k8s.Create(ctx, deploy)).To(Succeed())
	uid := deploy.UID

	ms := newMicroservice(ns, "legacy")
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)
	g.Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, key, deploy)).To(Succeed())
		g.Expect(deploy.UID).To(Equal(uid))
		g.Expect(metav1.IsControlledBy(deploy, ms)).To(BeTrue())
		g.Expect(deploy.Spec.Template.Spec.Containers).To(HaveLen(1), "no second container next to the old one")
		g.Expect(deploy.Spec.Template.Spec.Containers[0].Name).To(Equal(resources.ContainerName))
		g.Expect(deploy.Spec.Replicas).To(Equal(ptr.To[int32](1)), "the spec's count, not the old one")
	}, timeout, interval).Should(Succeed())
}

func TestAdoptionRefusals(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name    string
		prepare func(g Gomega, ns string) *appsv1.Deployment
		reason  string
		message string
	}{
		{"incompatible selector", func(g Gomega, ns string) *appsv1.Deployment {
			d := legacyDeployment(ns, "legacy", map[string]string{"app": "legacy"})
			d.Annotations = map[string]string{v1alpha1.AdoptAnnotation: "legacy"}
			return d
		}, v1alpha1.ReasonAdoptionRefused, "Deployment legacy cannot be adopted: its selector app=legacy differs from apps.kubeship.dev/microservice=legacy"},
		{"controlled by another controller", func(g Gomega, ns string) *appsv1.Deployment {
			owner := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "rollout"}}
			g.Expect(k8s.Create(ctx, owner)).To(Succeed())
			d := legacyDeployment(ns, "legacy", map[string]string{resources.LabelMicroservice: "legacy"})
			d.Annotations = map[string]string{v1alpha1.AdoptAnnotation: "legacy"}
			d.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: "rollout", UID: owner.UID, Controller: ptr.To(true)}}
			return d
		}, v1alpha1.ReasonResourceNotOwned, "Deployment legacy exists and is controlled by ConfigMap rollout"},
		{"consent for another Microservice", func(g Gomega, ns string) *appsv1.Deployment {
			d := legacyDeployment(ns, "legacy", map[string]string{resources.LabelMicroservice: "legacy"})
			d.Annotations = map[string]string{v1alpha1.AdoptAnnotation: "billing"}
			return d
		}, v1alpha1.ReasonResourceNotOwned, `its annotation apps.kubeship.dev/adopt names "billing"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			ns := newNamespace(t)
			d := tc.prepare(g, ns)
			g.Expect(k8s.Create(ctx, d)).To(Succeed())
			before := snapshotOf(g, ctx, d)
			ms := newMicroservice(ns, "legacy")
			g.Expect(k8s.Create(ctx, ms)).To(Succeed())
			ready := waitForReason(g, ctx, client.ObjectKeyFromObject(ms), v1alpha1.ConditionReady, tc.reason)
			g.Expect(ready.Message).To(ContainSubstring(tc.message))
			g.Expect(snapshotOf(g, ctx, d)).To(Equal(before))
		})
	}
}

// fromApplyConfiguration turns a builder's output into the typed object it describes.
func fromApplyConfiguration(g Gomega, ac any, obj client.Object) {
	raw, err := json.Marshal(ac)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(json.Unmarshal(raw, obj)).To(Succeed())
}

func TestForeignChildrenOfEveryKindAreNeverWritten(t *testing.T) {
	ctx := context.Background()
	dedicated := func(ms *v1alpha1.Microservice) {
		ms.Spec.Database = &v1alpha1.DatabaseSpec{Engine: v1alpha1.EnginePostgres}
	}
	cases := []struct {
		name     string
		ms       func(*v1alpha1.Microservice)
		foreign  func(ns string) client.Object
		message  string
		dbReason string // the DatabaseReady reason wanted, for database children
	}{
		{"HorizontalPodAutoscaler", func(ms *v1alpha1.Microservice) {
			ms.Spec.Scaling = &v1alpha1.ScalingSpec{MaxReplicas: 4}
		}, func(ns string) client.Object {
			return &autoscalingv2.HorizontalPodAutoscaler{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "svc"},
				Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 9,
					ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "other"}},
			}
		}, "HorizontalPodAutoscaler svc exists and is not controlled by this Microservice", ""},
		{"PodDisruptionBudget", func(ms *v1alpha1.Microservice) { ms.Spec.Replicas = ptr.To[int32](2) }, func(ns string) client.Object {
			return &policyv1.PodDisruptionBudget{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "svc"},
				Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(intstr.FromInt32(5)),
					Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "other"}}},
			}
		}, "PodDisruptionBudget svc exists and is not controlled by this Microservice", ""},
		{"credentials Secret", dedicated, func(ns string) client.Object {
			return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "svc-db"}, StringData: map[string]string{"password": "theirs"}}
		}, "Secret svc-db exists and is not controlled by this Microservice", v1alpha1.ReasonResourceNotOwned},
		{"database StatefulSet", dedicated, func(ns string) client.Object {
			d := legacyDeployment(ns, "svc-db", map[string]string{"app": "their-db"})
			return &appsv1.StatefulSet{ObjectMeta: d.ObjectMeta, Spec: appsv1.StatefulSetSpec{Replicas: d.Spec.Replicas, Selector: d.Spec.Selector, Template: d.Spec.Template}}
		}, "StatefulSet svc-db exists and is not controlled by this Microservice", v1alpha1.ReasonResourceNotOwned},
		{"database Service", dedicated, func(ns string) client.Object {
			return legacyService(ns, "svc-db")
		}, "Service svc-db exists and is not controlled by this Microservice", v1alpha1.ReasonResourceNotOwned},
		{"database NetworkPolicy", dedicated, func(ns string) client.Object {
			return &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "svc-db"},
				Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}}}
		}, "NetworkPolicy svc-db exists and is not controlled by this Microservice", v1alpha1.ReasonResourceNotOwned},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			ns := newNamespace(t)
			foreign := tc.foreign(ns)
			g.Expect(k8s.Create(ctx, foreign)).To(Succeed())
			before := snapshotOf(g, ctx, foreign)
			ms := newMicroservice(ns, "svc")
			tc.ms(ms)
			g.Expect(k8s.Create(ctx, ms)).To(Succeed())
			key := client.ObjectKeyFromObject(ms)
			ready := waitForReason(g, ctx, key, v1alpha1.ConditionReady, v1alpha1.ReasonResourceNotOwned)
			g.Expect(ready.Message).To(ContainSubstring(tc.message))
			if tc.dbReason != "" {
				db := waitForReason(g, ctx, key, v1alpha1.ConditionDatabaseReady, tc.dbReason)
				g.Expect(db.Message).To(ContainSubstring(tc.message))
			}
			g.Expect(snapshotOf(g, ctx, foreign)).To(Equal(before))
			g.Expect(k8s.Get(ctx, key, &appsv1.Deployment{})).To(Succeed(), "the rest of the service is still made")
		})
	}
}

// cacheMiss is a cache that has not yet seen any object of the kinds missed says, as
// the manager's cache right after kubeship created them.
type cacheMiss struct {
	client.Client
	missed func(client.Object) bool
}

func (c cacheMiss) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if c.missed(obj) {
		return apierrors.NewNotFound(schema.GroupResource{Resource: kindOf(c.Scheme(), obj)}, key.Name)
	}
	return c.Client.Get(ctx, key, obj, opts...)
}

func isSecret(obj client.Object) bool {
	_, ok := obj.(*corev1.Secret)
	return ok
}

func TestCredentialsSecretCacheMissIsNoFalseAlarm(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ms := newMicroservice(newNamespace(t), "orders")
	ms.Spec.Database = &v1alpha1.DatabaseSpec{Engine: v1alpha1.EnginePostgres}
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)
	secret := &corev1.Secret{}
	g.Eventually(func() error { return k8s.Get(ctx, dbKey(key), secret) }, timeout, interval).Should(Succeed())

	r := &MicroserviceReconciler{Client: client.WithFieldOwner(cacheMiss{k8s, isSecret}, FieldOwner), APIReader: k8s}
	for range 2 {
		_, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: key})
		g.Expect(err).NotTo(HaveOccurred(), "a Secret kubeship made is kubeship's, cached or not")
	}
	db := msCondition(g, ctx, key, v1alpha1.ConditionDatabaseReady)
	g.Expect(db.Reason).NotTo(Equal(v1alpha1.ReasonProvisioningFailed), db.Message)
	g.Expect(db.Reason).NotTo(Equal(v1alpha1.ReasonResourceNotOwned), db.Message)
	after := &corev1.Secret{}
	g.Expect(k8s.Get(ctx, dbKey(key), after)).To(Succeed())
	g.Expect(after.Data).To(Equal(secret.Data))
}

func TestCredentialsSecretAdoptedByAnnotationKeepsItsData(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	theirs := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "orders-db", Annotations: map[string]string{v1alpha1.AdoptAnnotation: "orders"}},
		StringData: map[string]string{"host": "orders-db", "port": "5432", "database": "orders", "username": "orders", "password": "kept-as-it-is", "uri": "postgresql://x"},
	}
	g.Expect(k8s.Create(ctx, theirs)).To(Succeed())
	ms := newMicroservice(ns, "orders")
	ms.Spec.Database = &v1alpha1.DatabaseSpec{Engine: v1alpha1.EnginePostgres}
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)
	g.Eventually(func(g Gomega) {
		got := &corev1.Secret{}
		g.Expect(k8s.Get(ctx, dbKey(key), got)).To(Succeed())
		g.Expect(got.UID).To(Equal(theirs.UID))
		g.Expect(got.Labels).To(Equal(resources.Labels(ms)), "labelled, so the cache sees it")
		g.Expect(string(got.Data["password"])).To(Equal("kept-as-it-is"))
		g.Expect(k8s.Get(ctx, dbKey(key), &appsv1.StatefulSet{})).To(Succeed())
	}, timeout, interval).Should(Succeed())
}
