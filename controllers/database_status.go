package controllers

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

// databaseObserved is what a pass saw of a Microservice's database.
type databaseObserved struct {
	secret      *corev1.Secret      // the credentials Secret, once it exists
	statefulSet *appsv1.StatefulSet // dedicated mode
	// provisioned is what the shared server holds for ms, once this pass made or found it.
	provisioned *v1alpha1.ProvisionedDatabase
	// releasing is true when spec.database was removed and this pass could not yet let
	// go of what it kept: status keeps saying what there is until it has.
	releasing bool
	// blocked is a condition reason and message for a state only a person can fix,
	// e.g. NamespaceNotAllowed; it is reported, not retried as an error.
	blockedReason, blockedMessage string
	// err is the error of the last database step, reported as ProvisioningFailed.
	err error
	// storageIssue explains why the claims could not grow; it does not block readiness.
	storageIssue string
}

// databaseReadyCondition says whether ms's database can be used.
func databaseReadyCondition(ms *v1alpha1.Microservice, db databaseObserved) metav1.Condition {
	c := metav1.Condition{Type: v1alpha1.ConditionDatabaseReady, Status: metav1.ConditionFalse}
	switch {
	case db.blockedReason != "":
		c.Reason, c.Message = db.blockedReason, db.blockedMessage
	case db.err != nil:
		c.Reason, c.Message = databaseErrorCondition(db.err)
	case db.secret == nil:
		c.Reason, c.Message = v1alpha1.ReasonDatabaseProvisioning, "Waiting for the credentials Secret"
	case ms.Spec.Database.Mode == v1alpha1.ModeShared && db.provisioned == nil:
		c.Reason, c.Message = v1alpha1.ReasonDatabaseProvisioning, "Waiting for the database and role on the server"
	case ms.Spec.Database.Mode != v1alpha1.ModeShared && (db.statefulSet == nil || db.statefulSet.Status.ReadyReplicas < 1):
		c.Reason, c.Message = v1alpha1.ReasonDatabaseProvisioning, "Waiting for the database pod to become ready"
	default:
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, v1alpha1.ReasonDatabaseReady, "The database accepts connections"
		if db.storageIssue != "" {
			c.Message += "; storage growth is pending: " + db.storageIssue
		}
	}
	return c
}

// databaseStatus tells users where the database is, read from the credentials Secret,
// and what was provisioned on a shared server. The record survives passes that did not
// get as far as the server (it is still there), and is replaced only by a new provisioning.
func databaseStatus(ms *v1alpha1.Microservice, db databaseObserved) *v1alpha1.DatabaseStatus {
	st := &v1alpha1.DatabaseStatus{SecretName: resources.DatabaseSecretName(ms)}
	if db.secret != nil {
		st.Host = string(db.secret.Data[resources.SecretKeyHost])
		st.Name = string(db.secret.Data[resources.SecretKeyDatabase])
	}
	switch {
	case db.provisioned != nil:
		st.Provisioned = db.provisioned.DeepCopy()
	case ms.Status.Database != nil && ms.Status.Database.Provisioned != nil:
		st.Provisioned = ms.Status.Database.Provisioned.DeepCopy()
	}
	return st
}

// databaseBlocksReady returns the Ready reason and message while the database is not
// ready; failures that need a person are DatabaseFailed, waiting is DatabaseNotReady.
func databaseBlocksReady(dbReady metav1.Condition) (string, string, bool) {
	if dbReady.Status == metav1.ConditionTrue {
		return "", "", false
	}
	switch dbReady.Reason {
	case v1alpha1.ReasonNamespaceNotAllowed, v1alpha1.ReasonProvisioningFailed:
		return v1alpha1.ReasonDatabaseFailed, fmt.Sprintf("The database failed: %s", dbReady.Message), true
	}
	return v1alpha1.ReasonDatabaseNotReady, fmt.Sprintf("The database is not ready: %s", dbReady.Message), true
}
