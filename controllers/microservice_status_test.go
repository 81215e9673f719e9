package controllers

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// deployment builds a Deployment status: want replicas, generation gen observed as obs,
// with updated/available/total counts and an Available condition.
func deployment(want int32, gen, obs int64, updated, available, total int32, availableCond bool) *appsv1.Deployment {
	cond := corev1.ConditionFalse
	if availableCond {
		cond = corev1.ConditionTrue
	}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Generation: gen},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To(want)},
		Status: appsv1.DeploymentStatus{
			ObservedGeneration: obs, Replicas: total, UpdatedReplicas: updated,
			AvailableReplicas: available, ReadyReplicas: available,
			Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: cond}},
		},
	}
}

func TestReadyCondition(t *testing.T) {
	static := &v1alpha1.Microservice{ObjectMeta: metav1.ObjectMeta{Generation: 4}}
	autoscaled := &v1alpha1.Microservice{ObjectMeta: metav1.ObjectMeta{Generation: 4}, Spec: v1alpha1.MicroserviceSpec{Scaling: &v1alpha1.ScalingSpec{MinReplicas: ptr.To[int32](2), MaxReplicas: 6}}}
	readyBefore := &metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, ObservedGeneration: 4}
	readyOlderGen := &metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, ObservedGeneration: 3}
	deadline := deployment(3, 2, 2, 1, 1, 3, true)
	deadline.Status.Conditions = append(deadline.Status.Conditions, appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "x" has timed out progressing.`})
	rolledOut := deployment(3, 2, 2, 3, 3, 3, true)
	rolling := deployment(3, 2, 2, 2, 2, 2, true)

	// DatabaseReady as databaseReadyCondition reports it.
	dbReady := &metav1.Condition{Type: v1alpha1.ConditionDatabaseReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonDatabaseReady, Message: "The database accepts connections"}
	dbWaiting := &metav1.Condition{Type: v1alpha1.ConditionDatabaseReady, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonDatabaseProvisioning, Message: "Waiting for the database pod to become ready"}
	dbServerDown := &metav1.Condition{Type: v1alpha1.ConditionDatabaseReady, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonServerNotReady, Message: "DatabaseServer pg is not ready"}
	dbFailed := &metav1.Condition{Type: v1alpha1.ConditionDatabaseReady, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonProvisioningFailed, Message: "permission denied to create role"}
	dbNotAllowed := &metav1.Condition{Type: v1alpha1.ConditionDatabaseReady, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonNamespaceNotAllowed, Message: "namespace shop may not use DatabaseServer pg"}

	ready := metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonReady, Message: "The service is rolled out and available"}
	notReady := func(reason, message string) metav1.Condition {
		return metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: reason, Message: message}
	}
	cases := []struct {
		name    string
		ms      *v1alpha1.Microservice
		obs     observed
		prev    *metav1.Condition
		dbReady *metav1.Condition
		want    metav1.Condition
	}{
		{"apply failed", static, observed{applyErr: errors.New("applying Deployment: forbidden")}, nil, nil, notReady(v1alpha1.ReasonReconcileError, "applying Deployment: forbidden")},
		{"no deployment", static, observed{}, nil, nil, notReady(v1alpha1.ReasonRolloutInProgress, "Waiting for the Deployment to be created")},
		{"generation not observed", static, observed{deployment: deployment(3, 2, 1, 3, 3, 3, true)}, nil, nil, notReady(v1alpha1.ReasonObservedGenerationStale, "Waiting for the Deployment controller to observe generation 2")},
		{"progress deadline exceeded", static, observed{deployment: deadline}, nil, nil, notReady(v1alpha1.ReasonProgressDeadlineExceeded, `The rollout failed: ReplicaSet "x" has timed out progressing.`)},
		{"old replicas remain", static, observed{deployment: deployment(3, 2, 2, 3, 3, 4, true)}, nil, nil, notReady(v1alpha1.ReasonRolloutInProgress, "1 old replicas are pending termination")},
		{"not all updated", static, observed{deployment: rolling}, nil, nil, notReady(v1alpha1.ReasonRolloutInProgress, "2 of 3 replicas have been updated")},
		{"updated but not available", static, observed{deployment: deployment(3, 2, 2, 3, 2, 3, true)}, nil, nil, notReady(v1alpha1.ReasonRolloutInProgress, "2 of 3 updated replicas are available")},
		{"rolled out", static, observed{deployment: rolledOut}, nil, nil, ready},
		{"scaled to zero", static, observed{deployment: deployment(0, 2, 2, 0, 0, 0, true)}, nil, nil, ready},
		{"autoscaler adding pods keeps Ready", autoscaled, observed{deployment: deployment(5, 3, 3, 5, 2, 5, true)}, readyBefore, nil, ready},
		{"autoscaler replica change not yet observed keeps Ready", autoscaled, observed{deployment: deployment(5, 3, 2, 2, 2, 2, true)}, readyBefore, nil, ready},
		{"autoscaled new generation not observed", autoscaled, observed{deployment: deployment(5, 3, 2, 2, 2, 2, true)}, readyOlderGen, nil, notReady(v1alpha1.ReasonObservedGenerationStale, "Waiting for the Deployment controller to observe generation 3")},
		{"big scale-up: Deployment unavailable, minimum still serving", autoscaled, observed{deployment: deployment(6, 3, 3, 6, 2, 6, false)}, readyBefore, nil, ready},
		{"autoscaled below its minimum", autoscaled, observed{deployment: deployment(5, 3, 3, 5, 1, 5, false)}, readyBefore, nil, notReady(v1alpha1.ReasonRolloutInProgress, "1 replicas are available, fewer than the autoscaler's minimum of 2")},

		// The database branches.
		{"database ready and rolled out", static, observed{deployment: rolledOut}, nil, dbReady, ready},
		{"database ready, rollout still running", static, observed{deployment: rolling}, nil, dbReady, notReady(v1alpha1.ReasonRolloutInProgress, "2 of 3 replicas have been updated")},
		{"database provisioning holds a rolled-out app", static, observed{deployment: rolledOut}, nil, dbWaiting, notReady(v1alpha1.ReasonDatabaseNotReady, "The database is not ready: Waiting for the database pod to become ready")},
		{"database waiting is told before the rollout", static, observed{deployment: rolling}, nil, dbWaiting, notReady(v1alpha1.ReasonDatabaseNotReady, "The database is not ready: Waiting for the database pod to become ready")},
		{"database server not ready is waiting, not failed", static, observed{deployment: rolledOut}, nil, dbServerDown, notReady(v1alpha1.ReasonDatabaseNotReady, "The database is not ready: DatabaseServer pg is not ready")},
		{"database waiting comes after the missing Deployment", static, observed{}, nil, dbWaiting, notReady(v1alpha1.ReasonRolloutInProgress, "Waiting for the Deployment to be created")},
		{"database waiting comes after a failed rollout", static, observed{deployment: deadline}, nil, dbWaiting, notReady(v1alpha1.ReasonProgressDeadlineExceeded, `The rollout failed: ReplicaSet "x" has timed out progressing.`)},
		{"database waiting comes after a stale generation", static, observed{deployment: deployment(3, 2, 1, 3, 3, 3, true)}, nil, dbWaiting, notReady(v1alpha1.ReasonObservedGenerationStale, "Waiting for the Deployment controller to observe generation 2")},
		{"database failed outranks the missing Deployment", static, observed{}, nil, dbFailed, notReady(v1alpha1.ReasonDatabaseFailed, "The database failed: permission denied to create role")},
		{"database failed outranks a rolled-out app", static, observed{deployment: rolledOut}, nil, dbFailed, notReady(v1alpha1.ReasonDatabaseFailed, "The database failed: permission denied to create role")},
		{"namespace not allowed is a failure", static, observed{deployment: rolledOut}, nil, dbNotAllowed, notReady(v1alpha1.ReasonDatabaseFailed, "The database failed: namespace shop may not use DatabaseServer pg")},
		{"an apply error outranks a failed database", static, observed{applyErr: errors.New("applying Service: forbidden")}, nil, dbFailed, notReady(v1alpha1.ReasonReconcileError, "applying Service: forbidden")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := conditionDiff(tc.want, readyCondition(tc.ms, tc.obs, tc.prev, tc.dbReady)); diff != "" {
				t.Errorf("Ready (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAvailableCondition(t *testing.T) {
	cases := []struct {
		name string
		d    *appsv1.Deployment
		want metav1.Condition
	}{
		{"no deployment", nil, metav1.Condition{Type: v1alpha1.ConditionAvailable, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonDeploymentNotFound, Message: "The Deployment does not exist yet"}},
		{"available", deployment(2, 1, 1, 2, 2, 2, true), metav1.Condition{Type: v1alpha1.ConditionAvailable, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonMinimumReplicasAvailable, Message: "The Deployment has minimum availability"}},
		{"unavailable", deployment(2, 1, 1, 2, 0, 2, false), metav1.Condition{Type: v1alpha1.ConditionAvailable, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonMinimumReplicasUnavailable, Message: "0 of 2 replicas are available"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := conditionDiff(tc.want, availableCondition(tc.d)); diff != "" {
				t.Errorf("Available (-want +got):\n%s", diff)
			}
		})
	}
}

func TestComputeStatus(t *testing.T) {
	ms := &v1alpha1.Microservice{
		ObjectMeta: metav1.ObjectMeta{Name: "payments", Namespace: "shop", Generation: 7},
		Spec:       v1alpha1.MicroserviceSpec{Ports: []v1alpha1.ServicePort{{Name: "web", Port: 3000}}},
	}
	st := computeStatus(ms, observed{deployment: deployment(2, 1, 1, 2, 2, 2, true)})
	if st.ObservedGeneration != 7 || st.Replicas != 2 || st.ReadyReplicas != 2 || st.UpdatedReplicas != 2 {
		t.Fatalf("status %+v", st)
	}
	if st.Selector != "apps.kubeship.dev/microservice=payments" || st.URL != "http://payments.shop.svc.cluster.local:3000" {
		t.Fatalf("selector %q url %q", st.Selector, st.URL)
	}
	wantConditions := []metav1.Condition{
		{Type: v1alpha1.ConditionAvailable, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonMinimumReplicasAvailable, Message: "The Deployment has minimum availability", ObservedGeneration: 7},
		{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonReady, Message: "The service is rolled out and available", ObservedGeneration: 7},
	}
	if diff := cmp.Diff(wantConditions, st.Conditions, cmpopts.IgnoreFields(metav1.Condition{}, "LastTransitionTime")); diff != "" {
		t.Fatalf("conditions (-want +got):\n%s", diff)
	}

	// The same inputs again change nothing, transition times included: the pass that
	// follows writes no status.
	ms.Status = st
	again := computeStatus(ms, observed{deployment: deployment(2, 1, 1, 2, 2, 2, true)})
	if !equalStatus(st, again) {
		t.Fatalf("status changed on an identical pass:\n%+v\n%+v", st, again)
	}
}

func equalStatus(a, b v1alpha1.MicroserviceStatus) bool {
	return equality.Semantic.DeepEqual(a, b)
}
