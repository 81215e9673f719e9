// Package controllers holds kubeship's reconcilers.
package controllers

import (
	"context"
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// MicroserviceReconciler keeps a Microservice's children in the state its spec
// describes and reports what it observed in its status.
type MicroserviceReconciler struct {
	client.Client
}

// +kubebuilder:rbac:groups=apps.kubeship.dev,resources=microservices,verbs=get;list;watch
// +kubebuilder:rbac:groups=apps.kubeship.dev,resources=microservices/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;patch;delete

// Reconcile runs one pass: read the Microservice, apply its children, write status once.
func (r *MicroserviceReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	ms := &v1alpha1.Microservice{}
	if err := r.Get(ctx, req.NamespacedName, ms); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !ms.DeletionTimestamp.IsZero() {
		// Children carry owner references; the garbage collector removes them.
		return ctrl.Result{}, nil
	}

	var obs observed
	for _, step := range []func(context.Context, *v1alpha1.Microservice, *observed) error{
		r.applyDeployment,
		r.applyService,
		r.applyAutoscaler,
		r.applyDisruptionBudget,
	} {
		if obs.applyErr = step(ctx, ms, &obs); obs.applyErr != nil {
			break
		}
	}

	if err := r.writeStatus(ctx, ms, computeStatus(ms, obs)); err != nil {
		if apierrors.IsConflict(err) && obs.applyErr == nil {
			// Someone changed the Microservice since the cache saw it; the watch
			// event for that change brings a fresh pass.
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, errors.Join(obs.applyErr, err)
	}
	return ctrl.Result{}, obs.applyErr
}

// writeStatus writes st unless it equals what is stored, so a converged pass writes nothing.
func (r *MicroserviceReconciler) writeStatus(ctx context.Context, ms *v1alpha1.Microservice, st v1alpha1.MicroserviceStatus) error {
	if equality.Semantic.DeepEqual(ms.Status, st) {
		return nil
	}
	base := ms.DeepCopy()
	ms.Status = st
	if err := r.Status().Patch(ctx, ms, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("writing status: %w", err)
	}
	log.FromContext(ctx).V(1).Info("status written", "generation", ms.Generation)
	return nil
}

// SetupWithManager registers the reconciler; it wakes on changes to the Microservice
// and to any child it owns, never on a timer.
func (r *MicroserviceReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.Microservice{}).
		Owns(&appsv1.Deployment{}).
		Owns(&corev1.Service{}).
		Owns(&autoscalingv2.HorizontalPodAutoscaler{}).
		Owns(&policyv1.PodDisruptionBudget{}).
		Named("microservice").
		Complete(r)
}
