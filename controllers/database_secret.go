package controllers

import (
	"context"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

// ensureCredentials returns ms's credentials Secret, creating it with a new password
// when it does not exist. An existing Secret's data is never changed: the database was
// given that password. A Secret left behind by a deleted Microservice (Retain) is
// recognised by kubeship's labels and adopted with its data, so it still matches the
// retained database; a Secret without them is someone else's (a *notOwnedError) unless
// its owner consented with the adoption annotation.
func (r *MicroserviceReconciler) ensureCredentials(ctx context.Context, ms *v1alpha1.Microservice, credentials func(password string) resources.Credentials) (secret *corev1.Secret, created bool, err error) {
	secret = &corev1.Secret{}
	found, adopted, err := r.claimChild(ctx, ms, resources.DatabaseSecretName(ms), secret, true)
	if err != nil {
		return nil, false, fmt.Errorf("reading credentials Secret: %w", err)
	}
	if !found {
		secret = resources.CredentialsSecret(ms, credentials(generatePassword()))
		if err := r.setSecretOwner(ms, secret); err != nil {
			return nil, false, err
		}
		if err := r.Create(ctx, secret); err != nil {
			// AlreadyExists: someone made it since the uncached read; the retry decides
			// whose it is.
			return nil, false, fmt.Errorf("creating credentials Secret: %w", err)
		}
		return secret, true, nil
	}
	// Only the owner reference follows the deletion policy; data stays as it is. An
	// adopted Secret also gets kubeship's labels, so the cache and later passes see it
	// as ms's.
	base := secret.DeepCopy()
	if err := r.setSecretOwner(ms, secret); err != nil {
		return nil, false, err
	}
	if adopted {
		for k, v := range resources.Labels(ms) {
			metav1.SetMetaDataLabel(&secret.ObjectMeta, k, v)
		}
	}
	if !equalOwners(base.OwnerReferences, secret.OwnerReferences) || !maps.Equal(base.Labels, secret.Labels) {
		if err := r.Patch(ctx, secret, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
			return nil, false, fmt.Errorf("updating credentials Secret owner: %w", err)
		}
	}
	return secret, false, nil
}

// setSecretOwner makes ms the Secret's controller under deletionPolicy Delete (the
// garbage collector removes it with ms) and removes that reference under Retain.
func (r *MicroserviceReconciler) setSecretOwner(ms *v1alpha1.Microservice, secret *corev1.Secret) error {
	if ms.Spec.Database.DeletionPolicy == v1alpha1.DeletionDelete {
		return controllerutil.SetControllerReference(ms, secret, r.Scheme())
	}
	refs := secret.OwnerReferences[:0]
	for _, ref := range secret.OwnerReferences {
		if ref.UID != ms.UID {
			refs = append(refs, ref)
		}
	}
	secret.OwnerReferences = refs
	return nil
}

// equalOwners compares owner references by what setSecretOwner changes: the owners and
// whether one is the controller.
func equalOwners(a, b []metav1.OwnerReference) bool {
	return slices.EqualFunc(a, b, func(x, y metav1.OwnerReference) bool {
		return x.UID == y.UID && (x.Controller == nil) == (y.Controller == nil)
	})
}
