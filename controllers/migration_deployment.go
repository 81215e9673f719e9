package controllers

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// holdTemplate keeps the Deployment on its previous pod template while ms's migration
// has not succeeded, and tells whether desired should still be applied (for the other
// fields, such as replicas).
//
// The previous template is the one the API server holds under kubeship's field manager,
// read past the cache: the live Deployment is the only record of what serves now. The
// apply carries the resourceVersion read, so if the Deployment changed since (a cache
// or a pass that raced this one), it fails with a conflict and is retried instead of
// writing an outdated template back. With no Deployment yet, none is created: the first
// Deployment waits for the first migration, since even at zero replicas it would hold
// the unmigrated template for an autoscaler or a `kubectl scale` to start.
func (r *MicroserviceReconciler) holdTemplate(ctx context.Context, ms *v1alpha1.Microservice, desired *appsv1ac.DeploymentApplyConfiguration, live *appsv1.Deployment, found bool) (bool, error) {
	if !found {
		return false, nil
	}
	if r.APIReader != nil {
		if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: ms.Namespace, Name: ms.Name}, live); err != nil {
			if apierrors.IsNotFound(err) {
				return false, nil
			}
			return false, fmt.Errorf("reading Deployment: %w", err)
		}
	}
	owned, err := appsv1ac.ExtractDeployment(live, FieldOwner)
	if err != nil {
		return false, fmt.Errorf("reading the Deployment's pod template: %w", err)
	}
	if owned.Spec == nil || owned.Spec.Template == nil {
		// kubeship never applied a template here (a Deployment just adopted): leave it.
		return false, nil
	}
	desired.Spec.Template = owned.Spec.Template
	if equality.Semantic.DeepEqual(owned, desired) {
		return false, nil
	}
	desired.WithResourceVersion(live.ResourceVersion)
	return true, nil
}
