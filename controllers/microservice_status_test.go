package controllers

import (
	"errors"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
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

	cases := []struct {
		name       string
		ms         *v1alpha1.Microservice
		obs        observed
		prev       *metav1.Condition
		wantStatus metav1.ConditionStatus
		wantReason string
	}{
		{"apply failed", static, observed{applyErr: errors.New("applying Deployment: forbidden")}, nil, metav1.ConditionFalse, v1alpha1.ReasonReconcileError},
		{"no deployment", static, observed{}, nil, metav1.ConditionFalse, v1alpha1.ReasonRolloutInProgress},
		{"generation not observed", static, observed{deployment: deployment(3, 2, 1, 3, 3, 3, true)}, nil, metav1.ConditionFalse, v1alpha1.ReasonObservedGenerationStale},
		{"progress deadline exceeded", static, observed{deployment: deadline}, nil, metav1.ConditionFalse, v1alpha1.ReasonProgressDeadlineExceeded},
		{"old replicas remain", static, observed{deployment: deployment(3, 2, 2, 3, 3, 4, true)}, nil, metav1.ConditionFalse, v1alpha1.ReasonRolloutInProgress},
		{"not all updated", static, observed{deployment: deployment(3, 2, 2, 2, 2, 2, true)}, nil, metav1.ConditionFalse, v1alpha1.ReasonRolloutInProgress},
		{"updated but not available", static, observed{deployment: deployment(3, 2, 2, 3, 2, 3, true)}, nil, metav1.ConditionFalse, v1alpha1.ReasonRolloutInProgress},
		{"rolled out", static, observed{deployment: deployment(3, 2, 2, 3, 3, 3, true)}, nil, metav1.ConditionTrue, v1alpha1.ReasonReady},
		{"scaled to zero", static, observed{deployment: deployment(0, 2, 2, 0, 0, 0, true)}, nil, metav1.ConditionTrue, v1alpha1.ReasonReady},
		{"autoscaler adding pods keeps Ready", autoscaled, observed{deployment: deployment(5, 3, 3, 5, 2, 5, true)}, readyBefore, metav1.ConditionTrue, v1alpha1.ReasonReady},
		{"autoscaler replica change not yet observed keeps Ready", autoscaled, observed{deployment: deployment(5, 3, 2, 2, 2, 2, true)}, readyBefore, metav1.ConditionTrue, v1alpha1.ReasonReady},
		{"autoscaled new generation not observed", autoscaled, observed{deployment: deployment(5, 3, 2, 2, 2, 2, true)}, readyOlderGen, metav1.ConditionFalse, v1alpha1.ReasonObservedGenerationStale},
		{"big scale-up: Deployment unavailable, minimum still serving", autoscaled, observed{deployment: deployment(6, 3, 3, 6, 2, 6, false)}, readyBefore, metav1.ConditionTrue, v1alpha1.ReasonReady},
		{"autoscaled below its minimum", autoscaled, observed{deployment: deployment(5, 3, 3, 5, 1, 5, false)}, readyBefore, metav1.ConditionFalse, v1alpha1.ReasonRolloutInProgress},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := readyCondition(tc.ms, tc.obs, tc.prev, nil)
			if c.Status != tc.wantStatus || c.Reason != tc.wantReason {
				t.Fatalf("Ready = %s/%s (%s), want %s/%s", c.Status, c.Reason, c.Message, tc.wantStatus, tc.wantReason)
			}
			if c.Message == "" {
				t.Fatal("empty message")
			}
		})
	}
}

func TestAvailableCondition(t *testing.T) {
	cases := []struct {
		name       string
		d          *appsv1.Deployment
		wantStatus metav1.ConditionStatus
		wantReason string
	}{
		{"no deployment", nil, metav1.ConditionFalse, v1alpha1.ReasonDeploymentNotFound},
		{"available", deployment(2, 1, 1, 2, 2, 2, true), metav1.ConditionTrue, v1alpha1.ReasonMinimumReplicasAvailable},
		{"unavailable", deployment(2, 1, 1, 2, 0, 2, false), metav1.ConditionFalse, v1alpha1.ReasonMinimumReplicasUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := availableCondition(tc.d)
			if c.Status != tc.wantStatus || c.Reason != tc.wantReason {
				t.Fatalf("Available = %s/%s, want %s/%s", c.Status, c.Reason, tc.wantStatus, tc.wantReason)
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
	for _, typ := range []string{v1alpha1.ConditionReady, v1alpha1.ConditionAvailable} {
		c := meta.FindStatusCondition(st.Conditions, typ)
		if c == nil || c.ObservedGeneration != 7 || c.Status != metav1.ConditionTrue {
			t.Fatalf("%s = %+v", typ, c)
		}
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
