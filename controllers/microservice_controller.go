// Package controllers holds kubeship's reconcilers.
package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

// MicroserviceReconciler keeps a Microservice's children in the state its spec
// describes and reports what it observed in its status.
type MicroserviceReconciler struct {
	client.Client
	// APIReader reads what the cache does not hold.
	APIReader client.Reader
	// Admins opens admin connections to DatabaseServers.
	Admins serverConnector
	// Recorder records Events on condition transitions; nil records none.
	Recorder events.EventRecorder
	// Routes starts routing's watches when a Microservice first needs them.
	Routes *routeWatches
	// OTLPEndpoint, when set, is given to every pod as OTEL_EXPORTER_OTLP_ENDPOINT.
	OTLPEndpoint string
	// progress holds back status writes that only refine a progress report; nil holds none.
	progress *progressCoalescer
	// conflicts spaces the retries of status writes that met a conflict; nil retries
	// each after conflictRetryFirst.
	conflicts *statusConflicts
	// applied remembers which children hold what kubeship applies; nil remembers none.
	applied *appliedMemo
	// unseen holds the status writes the cache has not caught up with; nil holds none.
	unseen *unseenStatuses
}

// Least privilege, checked by config/rbac/role_test.go: reads go through the manager's
// cache, which lists and watches; get only where a read bypasses it (getChild's
// APIReader for children; main.go's check of the leader-election namespace); create
// because Server-Side Apply of a new object is authorized as create.
// +kubebuilder:rbac:groups=apps.kubeship.dev,resources=microservices,verbs=list;watch;patch
// +kubebuilder:rbac:groups=apps.kubeship.dev,resources=microservices/finalizers,verbs=update
// +kubebuilder:rbac:groups=apps.kubeship.dev,resources=databaseservers,verbs=list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=apps.kubeship.dev,resources=microservices/status,verbs=patch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=apps,resources=statefulsets,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=persistentvolumeclaims,verbs=list;watch;patch
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;delete

// Reconcile runs one pass: read the Microservice, apply its children, write status once.
func (r *MicroserviceReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	ms := &v1alpha1.Microservice{}
	if err := r.Get(ctx, req.NamespacedName, ms); err != nil {
		if apierrors.IsNotFound(err) {
			r.progress.forget(req.NamespacedName)
			r.conflicts.clear(req.NamespacedName)
			r.applied.forget(req.NamespacedName, "")
			r.unseen.forget(req.NamespacedName)
			siblingMaps.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	r.unseen.readOwnWrite(ms)
	if !ms.DeletionTimestamp.IsZero() {
		// Children carry owner references; the garbage collector removes them. Only a
		// shared database under deletionPolicy Delete needs work first.
		return ctrl.Result{}, r.finalizeShared(ctx, ms)
	}

	var obs observed
	// The database comes first: the pods read their DATABASE_URL from its Secret.
	dbErr := r.reconcileDatabase(ctx, ms, &obs)
	// The migration comes before the workload: it decides which pod template the
	// Deployment may have (see holdTemplate).
	obs.migrationErr = noteRefusal(&obs, r.reconcileMigration(ctx, ms, &obs))
	obs.applyErr = r.applyWorkload(ctx, ms, &obs)
	routeErr := r.reconcileRoutes(ctx, ms, &obs)
	r.recordPass(ms, &obs, dbErr)
	// A child the API server refused as built from this spec is not retried: only the
	// user can fix it, and their fix is a change that brings a new pass. Status says why.
	// Neither is a create the namespace's deletion refuses: that deletion takes the
	// Microservice too, and its event ends the matter.
	stepErr := errors.Join(retriable(dbErr), retriable(obs.migrationErr), retriable(obs.applyErr), retriable(routeErr))
	st := computeStatus(ms, obs)
	if stepErr == nil && !equality.Semantic.DeepEqual(ms.Status, st) {
		if wait := r.progress.holdFor(req.NamespacedName, ms.Generation, ms.CreationTimestamp.Time, ms.Status.Conditions, st.Conditions, time.Now()); wait > 0 {
			return ctrl.Result{RequeueAfter: wait}, nil
		}
	}
	if err := r.writeStatus(ctx, ms, st); err != nil {
		if apierrors.IsConflict(err) && stepErr == nil {
			// Someone changed the Microservice since the cache saw it. The change may
			// be our own last status write, whose event objectChanged filters out, so
			// ask for a fresh pass rather than waiting for one; conflicts that keep
			// coming back are retried ever more slowly.
			return ctrl.Result{RequeueAfter: r.conflicts.retryAfter(req.NamespacedName)}, nil
		}
		return ctrl.Result{}, errors.Join(stepErr, err)
	}
	r.conflicts.clear(req.NamespacedName)
	if stepErr == nil && obs.waitsForConsent() {
		// Consent to adoption is given on an object outside the cache, so no watch
		// event brings it: look again after a while, without backoff growing.
		return ctrl.Result{RequeueAfter: notOwnedRecheck}, nil
	}
	return ctrl.Result{}, terminalIfOnlyAPersonCanFix(stepErr)
}

// retriable is err unless it is the API server refusing an object as invalid, or
// refusing to create one because the namespace is being deleted.
func retriable(err error) error {
	if apierrors.IsInvalid(err) || onlyNamespaceTerminating(err) {
		return nil
	}
	return err
}

// recordPass records what the pass did that is not status: creations as an Event,
// failures in the error metric. The first pass of a new Microservice, whose status was
// never written, creates its children as expected and records no Event (see
// transitionEvents); a later pass that makes a child again (someone deleted it) does.
func (r *MicroserviceReconciler) recordPass(ms *v1alpha1.Microservice, obs *observed, dbErr error) {
	if len(obs.created) > 0 && r.Recorder != nil && ms.Status.ObservedGeneration > 0 {
		r.Recorder.Eventf(ms, nil, corev1.EventTypeNormal, EventCreated, "Reconcile", "Created %s", strings.Join(obs.created, ", "))
	}
	if dbErr != nil {
		reconcileErrors.WithLabelValues("microservice", v1alpha1.ReasonProvisioningFailed).Inc()
	}
	if obs.applyErr != nil {
		reconcileErrors.WithLabelValues("microservice", v1alpha1.ReasonReconcileError).Inc()
	}
}

// writeStatus writes st unless it equals what is stored, so a converged pass writes
// nothing; the condition transitions it makes are recorded as Events and metrics.
func (r *MicroserviceReconciler) writeStatus(ctx context.Context, ms *v1alpha1.Microservice, st v1alpha1.MicroserviceStatus) error {
	if equality.Semantic.DeepEqual(ms.Status, st) {
		return nil
	}
	base := ms.DeepCopy()
	ms.Status = st
	if err := r.Status().Patch(ctx, ms, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("writing status: %w", err)
	}
	r.unseen.wrote(ms, base.ResourceVersion, func() string { return r.cachedVersion(ctx, client.ObjectKeyFromObject(ms)) })
	now := time.Now()
	r.progress.wrote(client.ObjectKeyFromObject(ms), ms.Generation, st.Conditions, now)
	observeProvisioning(ms, base.Status.Conditions, st.Conditions, now)
	if r.Recorder != nil {
		for _, e := range transitionEvents(base.Status.Conditions, st.Conditions) {
			r.Recorder.Eventf(ms, nil, e.eventType, e.reason, "Reconcile", "%s", e.note)
		}
	}
	return nil
}

// cachedVersion is the resourceVersion of the Microservice key as the cache holds it, ""
// when it holds none.
func (r *MicroserviceReconciler) cachedVersion(ctx context.Context, key types.NamespacedName) string {
	var cached v1alpha1.Microservice
	if err := r.Get(ctx, key, &cached, client.UnsafeDisableDeepCopy); err != nil {
		return ""
	}
	return cached.ResourceVersion
}

// serverRefIndex indexes Microservices by the DatabaseServer their shared database uses.
const serverRefIndex = "spec.database.serverRef.name"

func indexServerRef(obj client.Object) []string {
	db := obj.(*v1alpha1.Microservice).Spec.Database
	if db == nil || db.ServerRef == nil {
		return nil
	}
	return []string{db.ServerRef.Name}
}

// microserviceOfLabel maps a child to its Microservice by the label every child carries.
func microserviceOfLabel(_ context.Context, obj client.Object) []reconcile.Request {
	name, ok := obj.GetLabels()[resources.LabelMicroservice]
	if !ok {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: obj.GetNamespace(), Name: name}}}
}

// usersOfServer wakes the Microservices on a DatabaseServer when it changes (e.g. turns Ready).
func (r *MicroserviceReconciler) usersOfServer(ctx context.Context, obj client.Object) []reconcile.Request {
	return r.requestsFor(ctx, client.MatchingFields{serverRefIndex: obj.GetName()})
}

// sharedInNamespace wakes a namespace's shared-database users when its labels, which
// DatabaseServers' allowedNamespaces select on, may have changed.
func (r *MicroserviceReconciler) sharedInNamespace(ctx context.Context, obj client.Object) []reconcile.Request {
	return r.requestsFor(ctx, client.InNamespace(obj.GetName()))
}

func (r *MicroserviceReconciler) requestsFor(ctx context.Context, opts ...client.ListOption) []reconcile.Request {
	list := &v1alpha1.MicroserviceList{}
	if err := r.List(ctx, list, opts...); err != nil {
		log.FromContext(ctx).Error(err, "listing Microservices to wake")
		return nil
	}
	var reqs []reconcile.Request
	for _, ms := range list.Items {
		if db := ms.Spec.Database; db != nil && db.Mode == v1alpha1.ModeShared {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&ms)})
		}
	}
	return reqs
}

// SetupWithManager registers the reconciler; it wakes on changes to the Microservice
// (not on its own status writes: see objectChanged) and to any child it owns, never on
// a timer.
func (r *MicroserviceReconciler) SetupWithManager(mgr ctrl.Manager, opts Options) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1alpha1.Microservice{}, serverRefIndex, indexServerRef); err != nil {
		return fmt.Errorf("indexing Microservices by DatabaseServer: %w", err)
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1alpha1.Microservice{}, sharedNameIndex, indexSharedNames); err != nil {
		return fmt.Errorf("indexing Microservices by database name: %w", err)
	}
	if err := indexRoutes(mgr); err != nil {
		return err
	}
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1alpha1.Microservice{}, calleeIndex, indexCallees); err != nil {
		return fmt.Errorf("indexing Microservices by callee: %w", err)
	}
	// A child's event wakes its Microservice unless it only repeats a version already seen.
	// A child that has just settled wakes it ahead of new services (see progressPriority).
	changed := builder.WithPredicates(versionChanged())
	c, err := ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.Microservice{}, builder.WithPredicates(objectChanged())).
		WithOptions(opts.controllerOptions(opts.MicroserviceConcurrency)).
		Watches(&appsv1.Deployment{}, progressOfOwner(mgr, deploymentSettled), changed).
		Owns(&corev1.Service{}, changed).
		Owns(&autoscalingv2.HorizontalPodAutoscaler{}, changed).
		Owns(&policyv1.PodDisruptionBudget{}, changed).
		// Retained credentials Secrets have no owner reference: map them by label.
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(microserviceOfLabel), changed).
		Watches(&appsv1.StatefulSet{}, progressOfOwner(mgr, statefulSetSettled), changed).
		Owns(&networkingv1.NetworkPolicy{}, changed).
		Watches(&batchv1.Job{}, progressOfOwner(mgr, jobSettled), changed).
		Watches(&v1alpha1.DatabaseServer{}, handler.EnqueueRequestsFromMapFunc(r.usersOfServer), changed).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.sharedInNamespace), changed).
		// Route conflicts: a spec change of one service wakes those sharing its hosts.
		Watches(&v1alpha1.Microservice{}, handler.EnqueueRequestsFromMapFunc(r.routeRivals), builder.WithPredicates(routeClaimsChanged())).
		// Connections: a callee's policy follows its callers, callers follow their callees.
		Watches(&v1alpha1.Microservice{}, handler.EnqueueRequestsFromMapFunc(r.connectedTo), builder.WithPredicates(specChanged())).
		// The cache catching up with a status write: nothing to reconcile, only to forget.
		Watches(&v1alpha1.Microservice{}, r.unseen.handler()).
		// After a (re)start, services still waiting for kubeship go ahead of the recheck.
		Watches(&v1alpha1.Microservice{}, pendingFromInitialList{}).
		Named("microservice").
		Build(opts.observed("microservice", r))
	if err != nil {
		return err
	}
	// Routing's watches start later, when a Microservice first needs them.
	r.Routes = &routeWatches{mgr: mgr, controller: c, namespaces: opts.WatchNamespaces}
	return nil
}
