package controllers

import (
	"errors"

	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// terminalIfOnlyAPersonCanFix marks err terminal (no retry with backoff) when every
// failure in it is one only a person can fix and whose fix wakes the Microservice anyway:
// a DatabaseServer's admin or CA Secret that is not allowed, missing or invalid. The fix is
// a change to the DatabaseServer, or a Secret change its controller sees on its recheck and
// reports in its status; both are watched. A pass with any other failure stays retryable,
// so a transient error is never dropped because another step needs a person.
func terminalIfOnlyAPersonCanFix(err error) error {
	if err == nil || !onlyAPersonCanFix(err) {
		return err
	}
	return reconcile.TerminalError(err)
}

func onlyAPersonCanFix(err error) bool {
	if multi, ok := err.(interface{ Unwrap() []error }); ok {
		errs := multi.Unwrap()
		for _, e := range errs {
			if e != nil && !onlyAPersonCanFix(e) {
				return false
			}
		}
		return len(errs) > 0
	}
	var secretErr *adminSecretError
	return errors.As(err, &secretErr)
}
