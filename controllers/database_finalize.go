package controllers

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/internal/dbadmin"
)

// EventDatabaseKept is the reason of the Events that say what kubeship left in place
// rather than drop: after spec.database was removed, or when a drop could not be proven safe.
const EventDatabaseKept = "DatabaseKept"

// finalizeShared drops the database and role of a deleted Microservice whose policy is
// Delete, then releases it. Only what status.database.provisioned records is dropped,
// only on the DatabaseServer with the recorded UID, and only once the server's ownership
// marker proves it is this Microservice's; anything else is kept and said so in an Event.
func (r *MicroserviceReconciler) finalizeShared(ctx context.Context, ms *v1alpha1.Microservice) error {
	if !controllerutil.ContainsFinalizer(ms, DatabaseFinalizer) {
		return nil
	}
	db := ms.Spec.Database
	if db == nil {
		// spec.database was removed and the Microservice deleted before a pass released
		// it: keep everything, as that pass would have.
		return r.releaseDatabase(ctx, ms, &observed{})
	}
	if db.Mode == v1alpha1.ModeShared && db.DeletionPolicy == v1alpha1.DeletionDelete {
		if err := r.dropRecorded(ctx, ms); err != nil {
			return err
		}
	}
	base := ms.DeepCopy()
	controllerutil.RemoveFinalizer(ms, DatabaseFinalizer)
	if err := r.Patch(ctx, ms, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("removing finalizer: %w", err)
	}
	return nil
}

// dropRecorded drops what status records, when it is provably ms's. It returns an error
// only for what a retry can fix (the server is unreachable); a drop it must not do is
// reported as an Event and the data kept.
func (r *MicroserviceReconciler) dropRecorded(ctx context.Context, ms *v1alpha1.Microservice) error {
	var rec *v1alpha1.ProvisionedDatabase
	if ms.Status.Database != nil {
		rec = ms.Status.Database.Provisioned
	}
	if rec == nil {
		r.keptEvent(ms, "Nothing was recorded as provisioned for this Microservice, so nothing was dropped")
		return nil
	}
	server := &v1alpha1.DatabaseServer{}
	if err := r.Get(ctx, client.ObjectKey{Name: rec.Server}, server); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return nil // the server is gone, and with it nothing to drop
		}
		return fmt.Errorf("reading DatabaseServer %s: %w", rec.Server, err)
	}
	if string(server.UID) != rec.ServerUID {
		r.keptEvent(ms, fmt.Sprintf("DatabaseServer %s is not the server database %s was created on (it was recreated): nothing was dropped", rec.Server, rec.Database))
		return nil
	}
	admin, err := r.connectAdmin(ctx, server)
	if err != nil {
		return err
	}
	defer func() { _ = admin.Close() }()
	err = admin.DropDatabase(ctx, rec.Database, rec.Role, string(ms.UID))
	if errors.Is(err, dbadmin.ErrConflict) {
		r.keptEvent(ms, fmt.Sprintf("Kept database %s and role %s on DatabaseServer %s: %v", rec.Database, rec.Role, rec.Server, err))
		return nil
	}
	if err != nil {
		return fmt.Errorf("dropping database %s on %s: %w", rec.Database, rec.Server, err)
	}
	return nil
}

func (r *MicroserviceReconciler) keptEvent(ms *v1alpha1.Microservice, note string) {
	if r.Recorder != nil {
		r.Recorder.Eventf(ms, nil, corev1.EventTypeWarning, EventDatabaseKept, "Finalize", "%s", note)
	}
}
