package controllers

import (
	"context"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

// releaseDatabase lets go of ms's database after spec.database was removed. An edit in
// Git must never drop data, whatever the deletion policy: the shared database and role
// stay on their server, and the Secret and (dedicated) the StatefulSet with its claims,
// its Service and its NetworkPolicy lose their owner reference to ms, so deleting ms
// later deletes none of them. The finalizer is released without dropping, and one
// Normal Event says what was kept.
func (r *MicroserviceReconciler) releaseDatabase(ctx context.Context, ms *v1alpha1.Microservice, obs *observed) error {
	if ms.Status.Database == nil && !controllerutil.ContainsFinalizer(ms, DatabaseFinalizer) {
		return nil
	}
	obs.database.releasing = true
	var kept []string
	if st := ms.Status.Database; st != nil && st.Provisioned != nil {
		p := st.Provisioned
		kept = append(kept, fmt.Sprintf("database %s and role %s on DatabaseServer %s", p.Database, p.Role, p.Server))
	}
	name := resources.DatabaseObjectName(ms)
	children := []struct {
		what   string
		obj    client.Object
		name   string
		mutate func(client.Object)
	}{
		{"StatefulSet %s with its volume claims", &appsv1.StatefulSet{}, name, retainClaims},
		{"Service %s", &corev1.Service{}, name, nil},
		{"NetworkPolicy %s", &networkingv1.NetworkPolicy{}, name, nil},
		{"Secret %s", &corev1.Secret{}, resources.DatabaseSecretName(ms), nil},
	}
	for _, c := range children {
		found, err := r.disown(ctx, ms, c.name, c.obj, c.mutate)
		if err != nil {
			return err
		}
		if found {
			kept = append(kept, fmt.Sprintf(c.what, c.name))
		}
	}
	if err := r.syncFinalizer(ctx, ms, false); err != nil {
		return err
	}
	if len(kept) > 0 && r.Recorder != nil {
		r.Recorder.Eventf(ms, nil, corev1.EventTypeNormal, EventDatabaseKept, "Release", "%s", keptNote(kept))
	}
	obs.database.releasing = false
	return nil
}

// keptNote is the Event's text, e.g. "spec.database was removed; kept database x and
// role y on DatabaseServer z, Secret s-db. ...".
func keptNote(kept []string) string {
	return "spec.database was removed; kept " + strings.Join(kept, ", ") +
		". kubeship no longer manages them and will not delete them, whatever the deletion policy; remove them by hand when they are no longer needed"
}

// disown finds ms's database child name and removes ms's owner references from it, after
// mutate. It reports whether the child exists; objects that are not ms's are not touched.
func (r *MicroserviceReconciler) disown(ctx context.Context, ms *v1alpha1.Microservice, name string, obj client.Object, mutate func(client.Object)) (bool, error) {
	found, err := r.getChild(ctx, ms, name, obj)
	if err != nil || !found {
		return false, err
	}
	if obj.GetLabels()[resources.LabelMicroservice] != ms.Name && !hasOwnerRef(obj, ms) {
		return false, nil
	}
	base := obj.DeepCopyObject().(client.Object)
	if mutate != nil {
		mutate(obj)
	}
	var refs []metav1.OwnerReference
	for _, ref := range obj.GetOwnerReferences() {
		if ref.UID != ms.UID {
			refs = append(refs, ref)
		}
	}
	obj.SetOwnerReferences(refs)
	patch := client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})
	if data, err := patch.Data(obj); err == nil && isEmptyMergePatch(data, base.GetResourceVersion()) {
		return true, nil
	}
	if err := r.Patch(ctx, obj, patch); err != nil {
		return false, fmt.Errorf("releasing %T %s: %w", obj, name, err)
	}
	return true, nil
}

func hasOwnerRef(obj client.Object, ms *v1alpha1.Microservice) bool {
	for _, ref := range obj.GetOwnerReferences() {
		if ref.UID == ms.UID {
			return true
		}
	}
	return false
}

// isEmptyMergePatch tells a patch that would change nothing: with the optimistic lock it
// carries only the resourceVersion.
func isEmptyMergePatch(data []byte, resourceVersion string) bool {
	return string(data) == `{"metadata":{"resourceVersion":"`+resourceVersion+`"}}` || string(data) == "{}"
}

// retainClaims makes the StatefulSet keep its claims when it is deleted, so a database
// released by ms keeps its data even if someone deletes the StatefulSet later.
func retainClaims(obj client.Object) {
	sts := obj.(*appsv1.StatefulSet)
	if sts.Spec.PersistentVolumeClaimRetentionPolicy == nil {
		sts.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{}
	}
	sts.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted = appsv1.RetainPersistentVolumeClaimRetentionPolicyType
}
