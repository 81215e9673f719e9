package controllers

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

// reconcileDedicated runs ms's own database server: credentials first (the server is
// initialised from them), then the headless Service, the StatefulSet and the
// NetworkPolicy, then claim growth.
func (r *MicroserviceReconciler) reconcileDedicated(ctx context.Context, ms *v1alpha1.Microservice, obs *observed) error {
	secret, _, err := r.ensureCredentials(ctx, ms, func(password string) resources.Credentials {
		return resources.DedicatedCredentials(ms, password)
	})
	if err != nil {
		// Without its own credentials the server cannot be initialised: stop here.
		return err
	}
	obs.database.secret = secret

	name := resources.DatabaseObjectName(ms)
	err = syncChild(ctx, r, ms, obs, "database Service", name, &corev1.Service{}, true, resources.DatabaseService(ms), corev1ac.ExtractService)
	if err := noteRefusal(obs, err); err != nil {
		return err
	}
	refused := len(obs.notOwned)
	if err := noteRefusal(obs, r.applyDatabaseStatefulSet(ctx, ms, obs)); err != nil {
		return err
	}
	err = syncChild(ctx, r, ms, obs, "database NetworkPolicy", name, &networkingv1.NetworkPolicy{}, true, resources.DatabaseNetworkPolicy(ms), networkingv1ac.ExtractNetworkPolicy)
	if err := noteRefusal(obs, err); err != nil {
		return err
	}
	if len(obs.notOwned) == refused {
		obs.database.storageIssue = r.growClaims(ctx, ms)
	}
	return nil
}

// applyDatabaseStatefulSet applies the database's StatefulSet, keeping the size of its
// claim template, which cannot change.
func (r *MicroserviceReconciler) applyDatabaseStatefulSet(ctx context.Context, ms *v1alpha1.Microservice, obs *observed) error {
	sts := &appsv1.StatefulSet{}
	err := r.claimAndApply(ctx, ms, "database StatefulSet", resources.DatabaseObjectName(ms), sts, func(found bool) error {
		claimSize := resources.DatabaseStorage(ms.Spec.Database)
		if found {
			claimSize = templateClaimSize(sts, claimSize)
		}
		return applyChild(ctx, r, ms, obs, "database StatefulSet", sts, found, resources.DatabaseStatefulSet(ms, claimSize), extractDatabaseStatefulSet)
	})
	if err != nil {
		return err
	}
	obs.database.statefulSet = sts
	return nil
}

// extractDatabaseStatefulSet is the StatefulSet's fields that kubeship owns, in the form
// resources.DatabaseStatefulSet builds them. The API server stores each claim template
// without kind, apiVersion and namespace, defaults its volumeMode to Filesystem and gives it
// status phase Pending, all among kubeship's fields; compared as they are, they would make
// every pass (and every manager restart) apply the StatefulSet again. The template cannot
// change, so reading it back in the builder's form hides no drift.
func extractDatabaseStatefulSet(sts *appsv1.StatefulSet, manager string) (*appsv1ac.StatefulSetApplyConfiguration, error) {
	owned, err := appsv1ac.ExtractStatefulSet(sts, manager)
	if err != nil || owned.Spec == nil {
		return owned, err
	}
	for i := range owned.Spec.VolumeClaimTemplates {
		t := &owned.Spec.VolumeClaimTemplates[i]
		t.Status = nil
		if t.Name != nil {
			t.WithKind("PersistentVolumeClaim").WithAPIVersion("v1").WithNamespace("")
		}
		if t.Spec != nil && t.Spec.VolumeMode != nil && *t.Spec.VolumeMode == corev1.PersistentVolumeFilesystem {
			t.Spec.VolumeMode = nil
		}
	}
	return owned, nil
}

// templateClaimSize is the storage request of the live claim template, which cannot change.
func templateClaimSize(sts *appsv1.StatefulSet, fallback resource.Quantity) resource.Quantity {
	for _, t := range sts.Spec.VolumeClaimTemplates {
		if t.Name == resources.DataVolume {
			if q, ok := t.Spec.Resources.Requests[corev1.ResourceStorage]; ok {
				return q
			}
		}
	}
	return fallback
}

// growClaims asks for more space on the existing claims when spec.database.storage
// grew. Whether a claim can grow depends on its storage class; when it cannot, the
// reason is returned for status, and the database keeps running at its old size.
func (r *MicroserviceReconciler) growClaims(ctx context.Context, ms *v1alpha1.Microservice) string {
	want := resources.DatabaseStorage(ms.Spec.Database)
	claims := &corev1.PersistentVolumeClaimList{}
	if err := r.List(ctx, claims, client.InNamespace(ms.Namespace), client.MatchingLabels{resources.LabelDatabase: ms.Name}); err != nil {
		return fmt.Sprintf("cannot list the database's claims: %v", err)
	}
	for i := range claims.Items {
		pvc := &claims.Items[i]
		have := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
		if have.Cmp(want) >= 0 {
			continue
		}
		base := pvc.DeepCopy()
		pvc.Spec.Resources.Requests[corev1.ResourceStorage] = want
		if err := r.Patch(ctx, pvc, client.MergeFrom(base)); err != nil {
			return fmt.Sprintf("claim %s cannot grow from %s to %s: %v", pvc.Name, have.String(), want.String(), err)
		}
	}
	return ""
}
