package controllers

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest/komega"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

func dbKey(key client.ObjectKey) client.ObjectKey {
	return client.ObjectKey{Namespace: key.Namespace, Name: key.Name + "-db"}
}

func msCondition(g Gomega, ctx context.Context, key client.ObjectKey, typ string) *metav1.Condition {
	ms := &v1alpha1.Microservice{}
	g.Expect(k8s.Get(ctx, key, ms)).To(Succeed())
	c := meta.FindStatusCondition(ms.Status.Conditions, typ)
	g.Expect(c).NotTo(BeNil(), typ)
	return c
}

// markStatefulSetReady plays the StatefulSet controller: one ready replica.
func markStatefulSetReady(g Gomega, ctx context.Context, key client.ObjectKey) {
	sts := &appsv1.StatefulSet{}
	g.Expect(k8s.Get(ctx, key, sts)).To(Succeed())
	sts.Status = appsv1.StatefulSetStatus{ObservedGeneration: sts.Generation, Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, CurrentReplicas: 1, UpdatedReplicas: 1}
	g.Expect(k8s.Status().Update(ctx, sts)).To(Succeed())
}

func TestDedicatedPostgresObjectsAndConditions(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ms := newMicroservice(newNamespace(t), "billing")
	ms.Spec.Database = &v1alpha1.DatabaseSpec{Engine: v1alpha1.EnginePostgres}
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)

	// The database objects are all named billing-db; komega reads them by that name.
	dbMeta := metav1.ObjectMeta{Namespace: key.Namespace, Name: "billing-db"}
	secret := &corev1.Secret{ObjectMeta: dbMeta}
	g.Eventually(komega.Get(secret), timeout, interval).Should(Succeed())
	password := string(secret.Data["password"])
	g.Expect(len(password)).To(BeNumerically(">=", 32))
	host := "billing-db." + key.Namespace + ".svc.cluster.local"
	g.Expect(string(secret.Data["host"])).To(Equal(host))
	g.Expect(string(secret.Data["port"])).To(Equal("5432"))
	g.Expect(string(secret.Data["database"])).To(Equal("billing"))
	g.Expect(string(secret.Data["username"])).To(Equal("billing"))
	g.Expect(string(secret.Data["uri"])).To(Equal("postgresql://billing:" + password + "@" + host + ":5432/billing"))
	g.Expect(secret.OwnerReferences).To(BeEmpty(), "a Retain Secret must outlive its Microservice")

	sts := &appsv1.StatefulSet{ObjectMeta: dbMeta}
	g.Eventually(komega.Object(sts), timeout, interval).Should(And(
		HaveField("Spec.Replicas", HaveValue(Equal(int32(1)))), HaveField("Spec.ServiceName", "billing-db")))
	g.Expect(sts.Spec.Template.Labels).NotTo(HaveKey(resources.LabelMicroservice), "the app's selector must not match database pods")
	c := sts.Spec.Template.Spec.Containers[0]
	g.Expect(c.Image).To(Equal("postgres:16"))
	g.Expect(c.ReadinessProbe.Exec.Command[2]).To(ContainSubstring("pg_isready"))
	g.Expect(*c.SecurityContext.AllowPrivilegeEscalation).To(BeFalse())
	g.Expect(*sts.Spec.Template.Spec.SecurityContext.RunAsNonRoot).To(BeTrue())
	g.Expect(sts.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests.Storage().String()).To(Equal("1Gi"))
	g.Expect(sts.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted).To(Equal(appsv1.RetainPersistentVolumeClaimRetentionPolicyType))
	g.Expect(metav1.GetControllerOf(sts).UID).To(Equal(ms.UID))

	svc := &corev1.Service{ObjectMeta: dbMeta}
	g.Expect(komega.Get(svc)()).To(Succeed())
	g.Expect(svc.Spec.ClusterIP).To(Equal(corev1.ClusterIPNone))
	g.Expect(svc.Spec.Ports[0].Port).To(Equal(int32(5432)))
	np := &networkingv1.NetworkPolicy{ObjectMeta: dbMeta}
	g.Eventually(komega.Get(np), timeout, interval).Should(Succeed())
	g.Expect(np.Spec.PodSelector.MatchLabels).To(Equal(map[string]string{resources.LabelDatabase: "billing"}))
	g.Expect(np.Spec.Ingress[0].From[0].PodSelector.MatchLabels).To(Equal(map[string]string{resources.LabelMicroservice: "billing"}))
	g.Expect(np.Spec.Ingress[0].Ports[0].Port.IntVal).To(Equal(int32(5432)))

	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
	g.Eventually(komega.Get(d), timeout, interval).Should(Succeed())
	env := d.Spec.Template.Spec.Containers[0].Env[0]
	g.Expect(env.Name).To(Equal("DATABASE_URL"))
	g.Expect(env.ValueFrom.SecretKeyRef.Name).To(Equal("billing-db"))
	g.Expect(env.ValueFrom.SecretKeyRef.Key).To(Equal("uri"))

	// The app is rolled out but the database is not: Ready waits on it.
	markDeploymentRolledOut(t, ctx, key)
	// Whole conditions, as Cluster API's MatchCondition compares them.
	condition := func(t string, status metav1.ConditionStatus, reason, message string) metav1.Condition {
		return metav1.Condition{Type: t, Status: status, Reason: reason, Message: message, ObservedGeneration: ms.Generation}
	}
	g.Eventually(func(g Gomega) {
		g.Expect(conditionDiff(condition(v1alpha1.ConditionDatabaseReady, metav1.ConditionFalse, v1alpha1.ReasonDatabaseProvisioning,
			"Waiting for the database pod to become ready"), *msCondition(g, ctx, key, v1alpha1.ConditionDatabaseReady))).To(BeEmpty())
		g.Expect(conditionDiff(condition(v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonDatabaseNotReady,
			"The database is not ready: Waiting for the database pod to become ready"), *msCondition(g, ctx, key, v1alpha1.ConditionReady))).To(BeEmpty())
	}, timeout, interval).Should(Succeed())

	markStatefulSetReady(g, ctx, dbKey(key))
	g.Eventually(func(g Gomega) {
		g.Expect(conditionDiff(condition(v1alpha1.ConditionDatabaseReady, metav1.ConditionTrue, v1alpha1.ReasonDatabaseReady,
			"The database accepts connections"), *msCondition(g, ctx, key, v1alpha1.ConditionDatabaseReady))).To(BeEmpty())
		g.Expect(conditionDiff(condition(v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReady,
			"The service is rolled out and available"), *msCondition(g, ctx, key, v1alpha1.ConditionReady))).To(BeEmpty())
		got := &v1alpha1.Microservice{}
		g.Expect(k8s.Get(ctx, key, got)).To(Succeed())
		g.Expect(got.Status.Database).To(Equal(&v1alpha1.DatabaseStatus{SecretName: "billing-db", Host: host, Name: "billing"}))
	}, timeout, interval).Should(Succeed())

	// Later passes never touch the password.
	updateMicroservice(g, ctx, key, func(ms *v1alpha1.Microservice) { ms.Spec.Image = "ghcr.io/acme/billing:2" })
	g.Eventually(func(g Gomega) {
		g.Expect(getDeployment(g, ctx, key).Spec.Template.Spec.Containers[0].Image).To(Equal("ghcr.io/acme/billing:2"))
	}, timeout, interval).Should(Succeed())
	g.Expect(k8s.Get(ctx, dbKey(key), secret)).To(Succeed())
	g.Expect(string(secret.Data["password"])).To(Equal(password))
}

func TestDedicatedMySQLDeletionPolicyAndAdoption(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)
	ms := newMicroservice(ns, "a-very-long-service-name-for-mysql-users-limit")
	ms.Spec.Database = &v1alpha1.DatabaseSpec{Engine: v1alpha1.EngineMySQL, DeletionPolicy: v1alpha1.DeletionDelete}
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)

	secret := &corev1.Secret{}
	g.Eventually(func() error { return k8s.Get(ctx, dbKey(key), secret) }, timeout, interval).Should(Succeed())
	g.Expect(metav1.GetControllerOf(secret).UID).To(Equal(ms.UID), "Delete hands the Secret to the garbage collector")
	g.Expect(len(secret.Data["username"])).To(BeNumerically("<=", 32), "MySQL user names are at most 32 characters")
	g.Expect(string(secret.Data["uri"])).To(HavePrefix("mysql://"))
	sts := &appsv1.StatefulSet{}
	g.Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, dbKey(key), sts)).To(Succeed())
		g.Expect(sts.Spec.Template.Spec.Containers[0].Image).To(Equal("mysql:8.4"))
		g.Expect(sts.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted).To(Equal(appsv1.DeletePersistentVolumeClaimRetentionPolicyType))
	}, timeout, interval).Should(Succeed())

	// Delete -> Retain: the Secret leaves the garbage collector's reach, claims are kept.
	updateMicroservice(g, ctx, key, func(ms *v1alpha1.Microservice) { ms.Spec.Database.DeletionPolicy = v1alpha1.DeletionRetain })
	g.Eventually(func(g Gomega) {
		g.Expect(k8s.Get(ctx, dbKey(key), secret)).To(Succeed())
		g.Expect(secret.OwnerReferences).To(BeEmpty())
		g.Expect(k8s.Get(ctx, dbKey(key), sts)).To(Succeed())
		g.Expect(sts.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted).To(Equal(appsv1.RetainPersistentVolumeClaimRetentionPolicyType))
	}, timeout, interval).Should(Succeed())
	password := string(secret.Data["password"])

	// Deleted by mistake and applied again: the retained Secret is adopted as it is, so
	// the retained data stays reachable with the same password. The new Microservice asks
	// for Delete, so adoption shows in the Secret's owner reference; Retain would leave
	// none either way.
	g.Expect(k8s.Delete(ctx, ms)).To(Succeed())
	g.Eventually(func() bool { return apierrors.IsNotFound(k8s.Get(ctx, key, &v1alpha1.Microservice{})) }, timeout, interval).Should(BeTrue())
	collectGarbage(g, ctx, ns, ms.UID)
	again := newMicroservice(ns, ms.Name)
	again.Spec.Database = &v1alpha1.DatabaseSpec{Engine: v1alpha1.EngineMySQL, DeletionPolicy: v1alpha1.DeletionDelete}
	g.Expect(k8s.Create(ctx, again)).To(Succeed())
	g.Eventually(func(g Gomega) { markStatefulSetReady(g, ctx, dbKey(key)) }, timeout, interval).Should(Succeed())
	g.Eventually(func(g Gomega) {
		c := msCondition(g, ctx, key, v1alpha1.ConditionDatabaseReady)
		g.Expect(conditionDiff(metav1.Condition{
			Type: v1alpha1.ConditionDatabaseReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonDatabaseReady,
			Message: "The database accepts connections", ObservedGeneration: again.Generation,
		}, *c)).To(BeEmpty())
		g.Expect(k8s.Get(ctx, dbKey(key), secret)).To(Succeed())
		g.Expect(secret.OwnerReferences).To(Equal([]metav1.OwnerReference{{
			APIVersion: v1alpha1.GroupVersion.String(), Kind: "Microservice", Name: again.Name, UID: again.UID,
			Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
		}}))
	}, timeout, interval).Should(Succeed())
	g.Expect(string(secret.Data["password"])).To(Equal(password))
}

// collectGarbage plays the garbage collector, which envtest does not run: it deletes
// the objects in ns that the deleted owner uid controlled.
func collectGarbage(g Gomega, ctx context.Context, ns string, uid types.UID) {
	lists := []client.ObjectList{&appsv1.DeploymentList{}, &appsv1.StatefulSetList{}, &corev1.ServiceList{},
		&corev1.SecretList{}, &networkingv1.NetworkPolicyList{}, &policyv1.PodDisruptionBudgetList{}}
	for _, list := range lists {
		g.Expect(k8s.List(ctx, list, client.InNamespace(ns))).To(Succeed())
		g.Expect(meta.EachListItem(list, func(o runtime.Object) error {
			obj := o.(client.Object)
			if ref := metav1.GetControllerOf(obj); ref == nil || ref.UID != uid {
				return nil
			}
			return client.IgnoreNotFound(k8s.Delete(ctx, obj))
		})).To(Succeed())
	}
}

func TestDedicatedStorageGrowthReportsClaimsThatCannotGrow(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	ms := newMicroservice(newNamespace(t), "ledger")
	ms.Spec.Database = &v1alpha1.DatabaseSpec{Engine: v1alpha1.EnginePostgres, Storage: ptr.To(resource.MustParse("1Gi"))}
	g.Expect(k8s.Create(ctx, ms)).To(Succeed())
	key := client.ObjectKeyFromObject(ms)
	g.Eventually(func() error { return k8s.Get(ctx, dbKey(key), &appsv1.StatefulSet{}) }, timeout, interval).Should(Succeed())

	// Play the StatefulSet controller: the claim of pod 0, unbound (envtest binds nothing).
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: "data-ledger-db-0", Labels: map[string]string{
			resources.LabelDatabase: "ledger", resources.LabelManagedBy: resources.ManagedByKubeship}},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	g.Expect(k8s.Create(ctx, pvc)).To(Succeed())
	g.Eventually(func(g Gomega) { markStatefulSetReady(g, ctx, dbKey(key)) }, timeout, interval).Should(Succeed())
	markDeploymentRolledOut(t, ctx, key)

	updateMicroservice(g, ctx, key, func(ms *v1alpha1.Microservice) { ms.Spec.Database.Storage = ptr.To(resource.MustParse("5Gi")) })
	g.Eventually(func(g Gomega) {
		db := msCondition(g, ctx, key, v1alpha1.ConditionDatabaseReady)
		g.Expect(db.Status).To(Equal(metav1.ConditionTrue), "a claim that cannot grow does not take the database down")
		g.Expect(db.Message).To(ContainSubstring("storage growth is pending: claim data-ledger-db-0 cannot grow from 1Gi to 5Gi"))
		g.Expect(msCondition(g, ctx, key, v1alpha1.ConditionReady).Status).To(Equal(metav1.ConditionTrue))
	}, timeout, interval).Should(Succeed())
	sts := &appsv1.StatefulSet{}
	g.Expect(k8s.Get(ctx, dbKey(key), sts)).To(Succeed())
	g.Expect(sts.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests.Storage().String()).To(Equal("1Gi"), "claim templates cannot change")
	g.Expect(strings.Contains(msCondition(g, ctx, key, v1alpha1.ConditionReady).Message, "password")).To(BeFalse())
}

// A converged dedicated database costs no write: the fields kubeship owns in the live
// StatefulSet, as the API server stored and defaulted them, equal what it would apply.
// (A difference here is an apply on every pass, and after every manager restart.)
func TestDedicatedStatefulSetConvergedSendsNothing(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	for _, engine := range []v1alpha1.DatabaseEngine{v1alpha1.EnginePostgres, v1alpha1.EngineMySQL} {
		ms := newMicroservice(newNamespace(t), "ledger")
		ms.Spec.Database = &v1alpha1.DatabaseSpec{Engine: engine}
		g.Expect(k8s.Create(ctx, ms)).To(Succeed())
		key := client.ObjectKeyFromObject(ms)
		sts := &appsv1.StatefulSet{}
		g.Eventually(func() error { return k8s.Get(ctx, dbKey(key), sts) }, timeout, interval).Should(Succeed())
		g.Expect(k8s.Get(ctx, key, ms)).To(Succeed())
		owned, err := extractDatabaseStatefulSet(sts, FieldOwner)
		g.Expect(err).NotTo(HaveOccurred())
		desired := resources.DatabaseStatefulSet(ms, templateClaimSize(sts, resources.DatabaseStorage(ms.Spec.Database)))
		g.Expect(cmp.Diff(desired, owned)).To(BeEmpty(), string(engine))
	}
}
