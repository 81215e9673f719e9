// Package controllers holds kubeship's reconcilers.
package controllers

import (
	"context"
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
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
	obs.deployment, obs.applyErr = r.applyDeployment(ctx, ms)
	if obs.applyErr == nil {
		obs.applyErr = r.applyService(ctx, ms)
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

func (r *MicroserviceReconciler) applyDeployment(ctx context.Context, ms *v1alpha1.Microservice) (*appsv1.Deployment, error) {
	live := &appsv1.Deployment{}
	found, err := r.getChild(ctx, ms, ms.Name, live)
	if err != nil {
		return nil, fmt.Errorf("reading Deployment: %w", err)
	}
	if _, err := applyChild(ctx, r.Client, live, found, resources.Deployment(ms), appsv1ac.ExtractDeployment); err != nil {
		if found {
			return live, fmt.Errorf("applying Deployment: %w", err)
		}
		return nil, fmt.Errorf("applying Deployment: %w", err)
	}
	return live, nil
}

func (r *MicroserviceReconciler) applyService(ctx context.Context, ms *v1alpha1.Microservice) error {
	live := &corev1.Service{}
	found, err := r.getChild(ctx, ms, ms.Name, live)
	if err != nil {
		return fmt.Errorf("reading Service: %w", err)
	}
	if _, err := applyChild(ctx, r.Client, live, found, resources.Service(ms), corev1ac.ExtractService); err != nil {
		return fmt.Errorf("applying Service: %w", err)
	}
	return nil
}

// getChild reads a child of ms from the cache; found is false when it does not exist.
func (r *MicroserviceReconciler) getChild(ctx context.Context, ms *v1alpha1.Microservice, name string, obj client.Object) (bool, error) {
	err := r.Get(ctx, client.ObjectKey{Namespace: ms.Namespace, Name: name}, obj)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
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
		Named("microservice").
		Complete(r)
}
