package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
	"github.com/kubeship/kubeship/internal/dbadmin"
)

// DatabaseFinalizer holds a Microservice with a shared database and deletionPolicy
// Delete until its database and role are dropped. Retain needs no finalizer.
const DatabaseFinalizer = "apps.kubeship.dev/database"

// reconcileShared gives ms a database and role of its own on a DatabaseServer. The
// order makes every crash recoverable: the Secret with the password exists before the
// role gets that password, and each server step is idempotent.
func (r *MicroserviceReconciler) reconcileShared(ctx context.Context, ms *v1alpha1.Microservice, obs *observed) error {
	if err := r.syncFinalizer(ctx, ms); err != nil {
		return err
	}
	server, ok, err := r.admittingServer(ctx, ms, obs)
	if err != nil || !ok {
		return err
	}
	secret, created, err := r.ensureCredentials(ctx, ms, func(password string) resources.Credentials {
		return sharedCredentials(ms, server, password)
	})
	if err != nil {
		return err
	}
	obs.database.secret = secret
	if !created && alreadyProvisioned(ms) {
		obs.database.provisioned = true
		return nil
	}
	creds, err := resources.CredentialsFromSecret(ms.Spec.Database.Engine, secret)
	if err != nil {
		return err
	}
	// Names come from namespace and name, never from the Secret: whoever may edit a
	// namespace's Secrets must not point kubeship at another service's role.
	if want := sharedCredentials(ms, server, ""); creds.Database != want.Database || creds.Username != want.Username {
		return fmt.Errorf("credentials Secret %s names database %q and user %q instead of %q and %q: restore them or delete the Secret",
			secret.Name, creds.Database, creds.Username, want.Database, want.Username)
	}
	admin, err := r.connectAdmin(ctx, server)
	if err != nil {
		return err
	}
	defer func() { _ = admin.Close() }()
	if err := admin.EnsureDatabase(ctx, creds.Database, creds.Username, creds.Password); err != nil {
		return fmt.Errorf("creating database %s on %s: %w", creds.Database, server.Name, err)
	}
	obs.database.provisioned = true
	return nil
}

// alreadyProvisioned tells whether an earlier pass made the database: then a pass does
// not log in to the server again, so thousands of services do not mean thousands of
// connections per resync.
func alreadyProvisioned(ms *v1alpha1.Microservice) bool {
	c := meta.FindStatusCondition(ms.Status.Conditions, v1alpha1.ConditionDatabaseReady)
	return c != nil && c.Status == metav1.ConditionTrue
}

func sharedCredentials(ms *v1alpha1.Microservice, server *v1alpha1.DatabaseServer, password string) resources.Credentials {
	name := dbadmin.DatabaseName(string(server.Spec.Engine), ms.Namespace, ms.Name)
	return resources.Credentials{
		Engine:   server.Spec.Engine,
		Host:     server.Spec.Host,
		Port:     server.Spec.Port,
		Database: name,
		Username: dbadmin.RoleName(string(server.Spec.Engine), ms.Namespace, ms.Name),
		Password: password,
	}
}

// admittingServer returns the DatabaseServer ms refers to when it is usable by ms;
// otherwise it records why not in obs (a state only a person can change) and returns false.
func (r *MicroserviceReconciler) admittingServer(ctx context.Context, ms *v1alpha1.Microservice, obs *observed) (*v1alpha1.DatabaseServer, bool, error) {
	block := func(reason, format string, args ...any) (*v1alpha1.DatabaseServer, bool, error) {
		obs.database.blockedReason, obs.database.blockedMessage = reason, fmt.Sprintf(format, args...)
		return nil, false, nil
	}
	ref := ms.Spec.Database.ServerRef.Name
	server := &v1alpha1.DatabaseServer{}
	if err := r.Get(ctx, client.ObjectKey{Name: ref}, server); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return block(v1alpha1.ReasonServerNotReady, "DatabaseServer %s does not exist", ref)
		}
		return nil, false, fmt.Errorf("reading DatabaseServer %s: %w", ref, err)
	}
	if server.Spec.Engine != ms.Spec.Database.Engine {
		return block(v1alpha1.ReasonProvisioningFailed, "DatabaseServer %s runs %s, not %s", ref, server.Spec.Engine, ms.Spec.Database.Engine)
	}
	allowed, err := r.namespaceAllowed(ctx, server, ms.Namespace)
	if err != nil {
		return nil, false, err
	}
	if !allowed {
		return block(v1alpha1.ReasonNamespaceNotAllowed, "DatabaseServer %s does not allow namespace %s (spec.allowedNamespaces)", ref, ms.Namespace)
	}
	if !meta.IsStatusConditionTrue(server.Status.Conditions, v1alpha1.ConditionReady) {
		return block(v1alpha1.ReasonServerNotReady, "DatabaseServer %s is not Ready", ref)
	}
	holder, err := r.nameHolder(ctx, ms, server)
	if err != nil {
		return nil, false, err
	}
	if holder != "" {
		return block(v1alpha1.ReasonProvisioningFailed, "the database name %s on DatabaseServer %s already belongs to Microservice %s: rename one of them",
			dbadmin.DatabaseName(string(server.Spec.Engine), ms.Namespace, ms.Name), ref, holder)
	}
	return server, true, nil
}

// nameHolder returns the older Microservice on server whose database or role name is
// the same as ms's, or "". Names are derived from namespace and name, and two pairs can
// give one name (team-a/api and team/a-api); the first one keeps it, so no service ever
// takes over another's database by setting the role's password.
func (r *MicroserviceReconciler) nameHolder(ctx context.Context, ms *v1alpha1.Microservice, server *v1alpha1.DatabaseServer) (string, error) {
	list := &v1alpha1.MicroserviceList{}
	if err := r.List(ctx, list, client.MatchingFields{serverRefIndex: server.Name}); err != nil {
		return "", fmt.Errorf("listing users of DatabaseServer %s: %w", server.Name, err)
	}
	mine := sharedCredentials(ms, server, "")
	for i := range list.Items {
		other := &list.Items[i]
		if other.Namespace == ms.Namespace && other.Name == ms.Name {
			continue
		}
		theirs := sharedCredentials(other, server, "")
		if theirs.Database != mine.Database && theirs.Username != mine.Username {
			continue
		}
		if olderThan(other, ms) {
			return other.Namespace + "/" + other.Name, nil
		}
	}
	return "", nil
}

// olderThan orders Microservices by creation, then by namespace/name, so exactly one
// of two colliding services wins.
func olderThan(a, b *v1alpha1.Microservice) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
}

// namespaceAllowed applies spec.allowedNamespaces: absent allows none, {} allows all.
func (r *MicroserviceReconciler) namespaceAllowed(ctx context.Context, server *v1alpha1.DatabaseServer, namespace string) (bool, error) {
	if server.Spec.AllowedNamespaces == nil {
		return false, nil
	}
	selector, err := metav1.LabelSelectorAsSelector(server.Spec.AllowedNamespaces)
	if err != nil {
		return false, fmt.Errorf("DatabaseServer %s: spec.allowedNamespaces: %w", server.Name, err)
	}
	ns := &corev1.Namespace{}
	if err := r.Get(ctx, client.ObjectKey{Name: namespace}, ns); err != nil {
		return false, fmt.Errorf("reading namespace %s: %w", namespace, err)
	}
	return selector.Matches(labels.Set(ns.Labels)), nil
}

// syncFinalizer adds the finalizer under deletionPolicy Delete and removes it under
// Retain, so a policy change later is honoured.
func (r *MicroserviceReconciler) syncFinalizer(ctx context.Context, ms *v1alpha1.Microservice) error {
	want := ms.Spec.Database.DeletionPolicy == v1alpha1.DeletionDelete
	if want == controllerutil.ContainsFinalizer(ms, DatabaseFinalizer) {
		return nil
	}
	base := ms.DeepCopy()
	if want {
		controllerutil.AddFinalizer(ms, DatabaseFinalizer)
	} else {
		controllerutil.RemoveFinalizer(ms, DatabaseFinalizer)
	}
	if err := r.Patch(ctx, ms, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("updating finalizers: %w", err)
	}
	return nil
}

// finalizeShared drops the database and role of a deleted Microservice whose policy is
// Delete, then releases it. A DatabaseServer that no longer exists has nothing to drop.
func (r *MicroserviceReconciler) finalizeShared(ctx context.Context, ms *v1alpha1.Microservice) error {
	if !controllerutil.ContainsFinalizer(ms, DatabaseFinalizer) {
		return nil
	}
	db := ms.Spec.Database
	if db != nil && db.Mode == v1alpha1.ModeShared && db.DeletionPolicy == v1alpha1.DeletionDelete {
		server := &v1alpha1.DatabaseServer{}
		err := r.Get(ctx, client.ObjectKey{Name: db.ServerRef.Name}, server)
		if client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("reading DatabaseServer %s: %w", db.ServerRef.Name, err)
		}
		if err == nil {
			if err := r.dropShared(ctx, ms, server); err != nil {
				return err
			}
		}
	}
	base := ms.DeepCopy()
	controllerutil.RemoveFinalizer(ms, DatabaseFinalizer)
	if err := r.Patch(ctx, ms, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("removing finalizer: %w", err)
	}
	return nil
}

func (r *MicroserviceReconciler) dropShared(ctx context.Context, ms *v1alpha1.Microservice, server *v1alpha1.DatabaseServer) error {
	admin, err := r.connectAdmin(ctx, server)
	if err != nil {
		return err
	}
	defer func() { _ = admin.Close() }()
	creds := sharedCredentials(ms, server, "")
	if err := admin.DropDatabase(ctx, creds.Database, creds.Username); err != nil {
		return fmt.Errorf("dropping database %s on %s: %w", creds.Database, server.Name, err)
	}
	return nil
}
