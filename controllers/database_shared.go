package controllers

import (
	"context"
	"errors"
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
	"github.com/kubeship/kubeship/internal/naming"
)

// DatabaseFinalizer holds a Microservice with a shared database and deletionPolicy
// Delete until its database and role are dropped. Retain needs no finalizer.
const DatabaseFinalizer = "apps.kubeship.dev/database"

// reconcileShared gives ms a database and role of its own on a DatabaseServer. The
// order makes every crash recoverable: the Secret with the password exists before the
// role gets that password, each server step is idempotent, and the ownership marker on
// the server lets the next pass finish what a crashed one started. The finalizer comes
// last: only a service that was admitted and provisioned may ever drop anything.
func (r *MicroserviceReconciler) reconcileShared(ctx context.Context, ms *v1alpha1.Microservice, obs *observed) error {
	if ms.Spec.Database.DeletionPolicy != v1alpha1.DeletionDelete {
		if err := r.syncFinalizer(ctx, ms, false); err != nil {
			return err
		}
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
	secret, err = r.syncEndpoint(ctx, server, secret, creds)
	if err != nil {
		return err
	}
	obs.database.secret = secret
	record := provisionedRecord(server, creds)
	if created || !recordedAs(ms, record) {
		if err := r.provision(ctx, ms, server, creds, obs); err != nil || obs.database.blockedReason != "" {
			return err
		}
	}
	obs.database.provisioned = &record
	return r.syncFinalizer(ctx, ms, ms.Spec.Database.DeletionPolicy == v1alpha1.DeletionDelete)
}

// provision makes the database and role on server, marked as ms's. A name that the
// server holds for someone else is a state only a person can change: it is reported and
// not retried.
func (r *MicroserviceReconciler) provision(ctx context.Context, ms *v1alpha1.Microservice, server *v1alpha1.DatabaseServer, creds resources.Credentials, obs *observed) error {
	admin, err := r.connectAdmin(ctx, server)
	if err != nil {
		return err
	}
	defer func() { _ = admin.Close() }()
	err = admin.EnsureDatabase(ctx, creds.Database, creds.Username, creds.Password, string(ms.UID))
	if errors.Is(err, dbadmin.ErrConflict) {
		obs.database.blockedReason = v1alpha1.ReasonProvisioningFailed
		obs.database.blockedMessage = fmt.Sprintf("DatabaseServer %s: %v", server.Name, err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("creating database %s on %s: %w", creds.Database, server.Name, err)
	}
	return nil
}

// provisionedRecord is what status.database.provisioned holds once creds exist on server.
func provisionedRecord(server *v1alpha1.DatabaseServer, creds resources.Credentials) v1alpha1.ProvisionedDatabase {
	return v1alpha1.ProvisionedDatabase{Server: server.Name, ServerUID: string(server.UID), Database: creds.Database, Role: creds.Username}
}

// recordedAs tells whether status already records record: then the server holds it and a
// pass does not log in again, so thousands of services do not mean thousands of
// connections per resync. A DatabaseServer recreated under the same name has another
// UID, so its users provision anew.
func recordedAs(ms *v1alpha1.Microservice, record v1alpha1.ProvisionedDatabase) bool {
	return ms.Status.Database != nil && ms.Status.Database.Provisioned != nil && *ms.Status.Database.Provisioned == record
}

func sharedCredentials(ms *v1alpha1.Microservice, server *v1alpha1.DatabaseServer, password string) resources.Credentials {
	name := naming.Database(string(server.Spec.Engine), ms.Namespace, ms.Name)
	return resources.Credentials{
		Engine:   server.Spec.Engine,
		Host:     server.Spec.Host,
		Port:     server.Spec.Port,
		Database: name,
		Username: naming.Role(string(server.Spec.Engine), ms.Namespace, ms.Name),
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
			naming.Database(string(server.Spec.Engine), ms.Namespace, ms.Name), ref, holder)
	}
	return server, true, nil
}

// nameHolder returns the oldest other Microservice on server whose database or role
// name is the same as ms's, or "". Names are derived from namespace and name, and two
// pairs can give one name (team-a/api and team/a-api); the first one keeps it, so no
// service ever takes over another's database by setting the role's password. The
// index (sharedNameIndex) answers with the few services that share a name, so a pass
// costs the same whether the server has ten users or ten thousand.
func (r *MicroserviceReconciler) nameHolder(ctx context.Context, ms *v1alpha1.Microservice, server *v1alpha1.DatabaseServer) (string, error) {
	mine := sharedCredentials(ms, server, "")
	var holder *v1alpha1.Microservice
	for _, key := range []string{
		sharedNameKey(server.Name, server.Spec.Engine, "database", mine.Database),
		sharedNameKey(server.Name, server.Spec.Engine, "role", mine.Username),
	} {
		list := &v1alpha1.MicroserviceList{}
		// Read only: the cache's own objects are not copied.
		if err := r.List(ctx, list, client.MatchingFields{sharedNameIndex: key}, client.UnsafeDisableDeepCopy); err != nil {
			return "", fmt.Errorf("listing users of DatabaseServer %s: %w", server.Name, err)
		}
		for i := range list.Items {
			other := &list.Items[i]
			if other.Namespace == ms.Namespace && other.Name == ms.Name {
				continue
			}
			if olderThan(other, ms) && (holder == nil || olderThan(other, holder)) {
				holder = other
			}
		}
	}
	if holder == nil {
		return "", nil
	}
	return holder.Namespace + "/" + holder.Name, nil
}

// sharedNameIndex indexes Microservices with a shared database by the names their
// database and role take on their DatabaseServer (sharedNameKey). The names depend on
// the server's engine, which the index cannot read, so each service is indexed under
// every engine and looked up under the server's.
const sharedNameIndex = "spec.database.serverRef.sqlNames"

func indexSharedNames(obj client.Object) []string {
	ms := obj.(*v1alpha1.Microservice)
	db := ms.Spec.Database
	if db == nil || db.ServerRef == nil {
		return nil
	}
	var keys []string
	for _, engine := range v1alpha1.DatabaseEngines {
		e := string(engine)
		keys = append(keys,
			sharedNameKey(db.ServerRef.Name, engine, "database", naming.Database(e, ms.Namespace, ms.Name)),
			sharedNameKey(db.ServerRef.Name, engine, "role", naming.Role(e, ms.Namespace, ms.Name)))
	}
	return keys
}

// sharedNameKey is the index key of a database or role name on a server of engine.
func sharedNameKey(server string, engine v1alpha1.DatabaseEngine, what, name string) string {
	return server + "/" + string(engine) + "/" + what + "/" + name
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

// syncFinalizer adds or removes the database finalizer. Callers add it only after a
// successful provisioning under deletionPolicy Delete, and remove it under Retain, so a
// policy change later is honoured.
func (r *MicroserviceReconciler) syncFinalizer(ctx context.Context, ms *v1alpha1.Microservice, want bool) error {
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
