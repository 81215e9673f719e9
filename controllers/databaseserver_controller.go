package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/internal/dbadmin"
)

// How often a DatabaseServer's admin login is checked again. Admin Secrets are not in
// the manager's cache (they are not kubeship's), so a changed Secret is seen here. The
// healthy period bounds how long Ready stays True after the server stops answering
// (plus the database timeout of the check itself): one login per server each time.
const (
	serverRecheckHealthy = 30 * time.Second
	serverRecheckFailing = 20 * time.Second
)

// DatabaseServerReconciler reports whether kubeship can log in to each DatabaseServer.
type DatabaseServerReconciler struct {
	client.Client
	// Admins logs in with admin Secrets read without caching them.
	Admins serverConnector
}

// +kubebuilder:rbac:groups=apps.kubeship.dev,resources=databaseservers,verbs=list;watch
// +kubebuilder:rbac:groups=apps.kubeship.dev,resources=databaseservers/status,verbs=patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get

// Reconcile logs in with the admin credentials and records the outcome in Ready.
//
// It never returns reconcile.TerminalError, although a Secret that is not allowed, lacks
// keys or holds a bad CA is for a person to fix: admin Secrets are not watched (they are
// not kubeship's, so not in the cache), and the timed recheck below is the only way to see
// the fix. A terminal error would drop that RequeueAfter. Those states are reported in
// Ready, nothing is returned as an error, and the recheck runs at a fixed slow pace.
func (r *DatabaseServerReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	server := &v1alpha1.DatabaseServer{}
	if err := r.Get(ctx, req.NamespacedName, server); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	ready := r.check(ctx, server)
	ready.ObservedGeneration = server.Generation

	st := *server.Status.DeepCopy()
	st.ObservedGeneration = server.Generation
	meta.SetStatusCondition(&st.Conditions, ready)
	if !equality.Semantic.DeepEqual(server.Status, st) {
		base := server.DeepCopy()
		server.Status = st
		err := r.Status().Patch(ctx, server, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
		if err != nil && !apierrors.IsConflict(err) {
			return ctrl.Result{}, fmt.Errorf("writing status: %w", err)
		}
	}
	if ready.Status == metav1.ConditionTrue {
		return ctrl.Result{RequeueAfter: serverRecheckHealthy}, nil
	}
	return ctrl.Result{RequeueAfter: serverRecheckFailing}, nil
}

// check logs in and pings; the condition's reason says what went wrong.
func (r *DatabaseServerReconciler) check(ctx context.Context, server *v1alpha1.DatabaseServer) metav1.Condition {
	c := metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse}
	admin, err := r.Admins.open(ctx, server)
	if err == nil {
		err = admin.Ping(ctx)
		_ = admin.Close()
	}
	var secretErr *adminSecretError
	switch {
	case err == nil:
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, v1alpha1.ReasonConnected, fmt.Sprintf("Logged in to %s:%d", server.Spec.Host, server.Spec.Port)
	case errors.As(err, &secretErr):
		c.Reason, c.Message = secretErr.reason, secretErr.message
	case dbadmin.IsAuthError(err):
		c.Reason, c.Message = v1alpha1.ReasonAuthenticationFailed, serverFailureMessage(server, err)
	default:
		c.Reason, c.Message = v1alpha1.ReasonUnreachable, serverFailureMessage(server, err)
	}
	if err != nil && secretErr == nil {
		log.FromContext(ctx).Info("DatabaseServer login failed", "reason", c.Reason, "error", err.Error())
	}
	return c
}

// SetupWithManager registers the reconciler. Its own status writes do not wake it
// (see objectChanged); the recheck timer does.
func (r *DatabaseServerReconciler) SetupWithManager(mgr ctrl.Manager, opts Options) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.DatabaseServer{}, builder.WithPredicates(objectChanged())).
		WithOptions(opts.controllerOptions(opts.DatabaseServerConcurrency)).
		Named("databaseserver").
		Complete(opts.observed("databaseserver", r))
}
