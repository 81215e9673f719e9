package controllers

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	autoscalingv2ac "k8s.io/client-go/applyconfigurations/autoscaling/v2"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	policyv1ac "k8s.io/client-go/applyconfigurations/policy/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

// applyWorkload applies the Deployment and the children around it, going on past
// objects kubeship may not write (see noteRefusal). When the Deployment is someone
// else's, no autoscaler or disruption budget is made: they would act on that
// Deployment and its pods.
func (r *MicroserviceReconciler) applyWorkload(ctx context.Context, ms *v1alpha1.Microservice, obs *observed) error {
	refused := len(obs.notOwned)
	if err := noteRefusal(obs, r.applyDeployment(ctx, ms, obs)); err != nil {
		return err
	}
	steps := []func(context.Context, *v1alpha1.Microservice, *observed) error{r.applyService, r.applyNetworkPolicies}
	if len(obs.notOwned) == refused {
		steps = append(steps, r.applyAutoscaler, r.applyDisruptionBudget)
	}
	for _, step := range steps {
		if err := noteRefusal(obs, step(ctx, ms, obs)); err != nil {
			return err
		}
	}
	return nil
}

// applyDeployment applies ms's Deployment and records it in obs.
func (r *MicroserviceReconciler) applyDeployment(ctx context.Context, ms *v1alpha1.Microservice, obs *observed) error {
	env := r.connectionEnv(ctx, ms, obs)
	live := &appsv1.Deployment{}
	err := r.claimAndApply(ctx, ms, "Deployment", ms.Name, live, func(found bool) error {
		return r.applyDeploymentOver(ctx, ms, obs, env, live, found)
	})
	if !apierrors.IsConflict(err) || r.APIReader == nil {
		return err
	}
	// Only an apply that carries the replica count read with live is guarded: the cache
	// had not yet seen a change, maybe the autoscaler's first scale. Read the
	// Deployment from the API server and apply once more, over what is there now.
	fresh := &appsv1.Deployment{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(live), fresh); err != nil {
		return fmt.Errorf("reading Deployment again: %w", err)
	}
	if fresh.UID != live.UID {
		return fmt.Errorf("the Deployment was replaced while kubeship applied it: %w", err)
	}
	return r.applyDeploymentOver(ctx, ms, obs, env, fresh, true)
}

// applyDeploymentOver applies ms's Deployment over live, the object as last read.
func (r *MicroserviceReconciler) applyDeploymentOver(ctx context.Context, ms *v1alpha1.Microservice, obs *observed, env []corev1.EnvVar, live *appsv1.Deployment, found bool) error {
	if found {
		obs.deployment = live
	}
	desired := resources.Deployment(ms)
	resources.WithEnv(desired, ms, env)
	extract := appsv1ac.ExtractDeployment
	if n, ok := autoscaledReplicas(ms, live, found); ok {
		desired.Spec.WithReplicas(n)
		if found {
			// The count is the one read, which the autoscaler may have changed since:
			// the apply holds only if the Deployment is still as read, or it would
			// force the old count back and take the field from the autoscaler. The
			// owned fields compared against carry the same resourceVersion, so a
			// converged pass still sends nothing.
			desired.WithResourceVersion(live.ResourceVersion)
			extract = extractAsRead
		}
	}
	withDatabaseEndpoint(desired, ms, obs, live, found)
	if !obs.migration.gateOpen() {
		if apply, err := r.holdTemplate(ctx, ms, desired, live, found); err != nil || !apply {
			return err
		}
	}
	if err := applyChild(ctx, r, ms, obs, "Deployment", live, found, desired, extract); err != nil {
		return err
	}
	obs.deployment = live
	return nil
}

// extractAsRead is ExtractDeployment with the resourceVersion of the object read.
func extractAsRead(d *appsv1.Deployment, fieldManager string) (*appsv1ac.DeploymentApplyConfiguration, error) {
	owned, err := appsv1ac.ExtractDeployment(d, fieldManager)
	if err != nil {
		return nil, err
	}
	return owned.WithResourceVersion(d.ResourceVersion), nil
}

// autoscaledReplicas is the replica count kubeship applies to an autoscaled Deployment,
// if any. A new one starts at the autoscaler's minimum rather than the API default of 1.
// After that the count is the autoscaler's, but Server-Side Apply resets a field to its
// default when its only owner stops applying it: so while kubeship still owns
// spec.replicas (it created the Deployment, or the service ran with a fixed count before
// autoscaling) it keeps applying the running count, which changes nothing. The
// autoscaler's first change through /scale is an update, which takes the field from
// kubeship; from then on kubeship leaves it out. No write is spent on the handover.
func autoscaledReplicas(ms *v1alpha1.Microservice, live *appsv1.Deployment, found bool) (int32, bool) {
	if ms.Spec.Scaling == nil {
		return 0, false
	}
	if !found {
		return resources.MinReplicas(ms), true
	}
	if live.Spec.Replicas == nil || !appliesField(live, replicasPath) {
		return 0, false
	}
	return *live.Spec.Replicas, true
}

// replicasPath is spec.replicas as a managed-fields path.
var replicasPath = fieldpath.MakePathOrDie("spec", "replicas")

// appliesField tells whether kubeship's apply entry in live's managed fields holds path.
func appliesField(live client.Object, path fieldpath.Path) bool {
	entry, ok := appliedEntry(live)
	if !ok {
		return false
	}
	set := &fieldpath.Set{}
	if err := set.FromJSON(entry.FieldsV1.GetRawReader()); err != nil {
		return false
	}
	return set.Has(path)
}

func (r *MicroserviceReconciler) applyService(ctx context.Context, ms *v1alpha1.Microservice, obs *observed) error {
	return syncChild(ctx, r, ms, obs, "Service", ms.Name, &corev1.Service{}, true, resources.Service(ms), corev1ac.ExtractService)
}

func (r *MicroserviceReconciler) applyAutoscaler(ctx context.Context, ms *v1alpha1.Microservice, obs *observed) error {
	live := &autoscalingv2.HorizontalPodAutoscaler{}
	desired := resources.HorizontalPodAutoscaler(ms)
	if err := syncChild(ctx, r, ms, obs, "HorizontalPodAutoscaler", ms.Name, live, desired != nil, desired, autoscalingv2ac.ExtractHorizontalPodAutoscaler); err != nil {
		return err
	}
	if desired != nil {
		obs.autoscaler = live
	}
	return nil
}

func (r *MicroserviceReconciler) applyDisruptionBudget(ctx context.Context, ms *v1alpha1.Microservice, obs *observed) error {
	desired := resources.PodDisruptionBudget(ms)
	return syncChild(ctx, r, ms, obs, "PodDisruptionBudget", ms.Name, &policyv1.PodDisruptionBudget{}, desired != nil, desired, policyv1ac.ExtractPodDisruptionBudget)
}

// deleteOwned removes a child ms no longer needs; objects ms does not control are left alone.
func (r *MicroserviceReconciler) deleteOwned(ctx context.Context, ms *v1alpha1.Microservice, obj client.Object, found bool, kind string) error {
	if !found || !metav1.IsControlledBy(obj, ms) {
		return nil
	}
	err := r.Delete(ctx, obj, client.Preconditions{UID: ptr.To(obj.GetUID())})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting %s: %w", kind, err)
	}
	return nil
}
