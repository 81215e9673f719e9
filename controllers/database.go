package controllers

import (
	"context"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// reconcileDatabase gives ms the database its spec asks for. Its error is reported in
// DatabaseReady and returned so the pass is retried with backoff.
func (r *MicroserviceReconciler) reconcileDatabase(ctx context.Context, ms *v1alpha1.Microservice, obs *observed) error {
	if ms.Spec.Database == nil {
		return r.releaseDatabase(ctx, ms, obs)
	}
	var err error
	if ms.Spec.Database.Mode == v1alpha1.ModeShared {
		err = r.reconcileShared(ctx, ms, obs)
	} else {
		err = r.reconcileDedicated(ctx, ms, obs)
	}
	obs.database.err = err
	return err
}
