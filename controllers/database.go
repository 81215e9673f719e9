package controllers

import (
	"context"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// reconcileDatabase gives ms the database its spec asks for. Its error is reported in
// DatabaseReady and returned so the pass is retried with backoff; objects kubeship may
// not write are reported instead (see noteRefusal).
func (r *MicroserviceReconciler) reconcileDatabase(ctx context.Context, ms *v1alpha1.Microservice, obs *observed) error {
	if ms.Spec.Database == nil {
		return r.releaseDatabase(ctx, ms, obs)
	}
	refused := len(obs.notOwned)
	var err error
	if ms.Spec.Database.Mode == v1alpha1.ModeShared {
		err = r.reconcileShared(ctx, ms, obs)
	} else {
		err = r.reconcileDedicated(ctx, ms, obs)
	}
	err = noteRefusal(obs, err)
	if len(obs.notOwned) > refused {
		// Someone else's object stands where the database needs one: reported, not
		// retried as an error.
		obs.database.blockedReason, obs.database.blockedMessage = refusalSummary(obs.notOwned[refused:])
	}
	obs.database.err = err
	return err
}
