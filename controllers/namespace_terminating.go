package controllers

import (
	"errors"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// onlyNamespaceTerminating tells whether err, and every failure joined in it, is the API
// server refusing to create an object in a namespace that is being deleted. Retrying
// such a create cannot succeed: the namespace's deletion removes the Microservice as
// well, and until then every retry is refused the same way.
func onlyNamespaceTerminating(err error) bool {
	if multi, ok := err.(interface{ Unwrap() []error }); ok {
		errs := multi.Unwrap()
		for _, e := range errs {
			if !onlyNamespaceTerminating(e) {
				return false
			}
		}
		return len(errs) > 0
	}
	if inner := errors.Unwrap(err); inner != nil {
		return onlyNamespaceTerminating(inner)
	}
	return apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause)
}
