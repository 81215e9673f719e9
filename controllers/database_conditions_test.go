package controllers

import (
	"errors"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

func TestDatabaseReadyCondition(t *testing.T) {
	dedicated := newMicroservice("shop", "orders")
	dedicated.Spec.Database = &v1alpha1.DatabaseSpec{Engine: v1alpha1.EnginePostgres}
	shared := newMicroservice("shop", "orders")
	shared.Spec.Database = &v1alpha1.DatabaseSpec{Engine: v1alpha1.EnginePostgres, Mode: v1alpha1.ModeShared, ServerRef: &v1alpha1.ServerReference{Name: "pg"}}
	secret := &corev1.Secret{}
	podReady := &appsv1.StatefulSet{Status: appsv1.StatefulSetStatus{ReadyReplicas: 1}}
	podStarting := &appsv1.StatefulSet{Status: appsv1.StatefulSetStatus{Replicas: 1}}
	provisioned := &v1alpha1.ProvisionedDatabase{Server: "pg", ServerUID: "uid-1", Database: "shop_orders", Role: "shop_orders"}

	cond := func(status metav1.ConditionStatus, reason, message string) metav1.Condition {
		return metav1.Condition{Type: v1alpha1.ConditionDatabaseReady, Status: status, Reason: reason, Message: message}
	}
	waiting := func(message string) metav1.Condition {
		return cond(metav1.ConditionFalse, v1alpha1.ReasonDatabaseProvisioning, message)
	}
	accepts := cond(metav1.ConditionTrue, v1alpha1.ReasonDatabaseReady, "The database accepts connections")
	cases := []struct {
		name string
		ms   *v1alpha1.Microservice
		db   databaseObserved
		want metav1.Condition
	}{
		{"nothing yet", dedicated, databaseObserved{}, waiting("Waiting for the credentials Secret")},
		{"dedicated: no StatefulSet", dedicated, databaseObserved{secret: secret}, waiting("Waiting for the database pod to become ready")},
		{"dedicated: pod not ready", dedicated, databaseObserved{secret: secret, statefulSet: podStarting}, waiting("Waiting for the database pod to become ready")},
		{"dedicated: ready", dedicated, databaseObserved{secret: secret, statefulSet: podReady}, accepts},
		{"dedicated: a claim that cannot grow is told, not blocking", dedicated, databaseObserved{secret: secret, statefulSet: podReady, storageIssue: "claim data-orders-db-0 cannot grow"},
			cond(metav1.ConditionTrue, v1alpha1.ReasonDatabaseReady, "The database accepts connections; storage growth is pending: claim data-orders-db-0 cannot grow")},
		{"shared: not provisioned", shared, databaseObserved{secret: secret}, waiting("Waiting for the database and role on the server")},
		{"shared: a StatefulSet does not make it ready", shared, databaseObserved{secret: secret, statefulSet: podReady}, waiting("Waiting for the database and role on the server")},
		{"shared: ready", shared, databaseObserved{secret: secret, provisioned: provisioned}, accepts},
		{"blocked", shared, databaseObserved{blockedReason: v1alpha1.ReasonNamespaceNotAllowed, blockedMessage: "not allowed here"}, cond(metav1.ConditionFalse, v1alpha1.ReasonNamespaceNotAllowed, "not allowed here")},
		{"blocked outranks an error", shared, databaseObserved{blockedReason: v1alpha1.ReasonServerNotReady, blockedMessage: "server down", err: errors.New("boom")}, cond(metav1.ConditionFalse, v1alpha1.ReasonServerNotReady, "server down")},
		{"an error fails provisioning", shared, databaseObserved{secret: secret, provisioned: provisioned, err: errors.New("creating role: permission denied")}, cond(metav1.ConditionFalse, v1alpha1.ReasonProvisioningFailed, "creating role: permission denied")},
		{"a busy server is waiting, not failed", shared, databaseObserved{err: &serverBusyError{server: "pg"}},
			waiting("Waiting: waiting for a connection to DatabaseServer pg: other services' requests are in progress")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := conditionDiff(tc.want, databaseReadyCondition(tc.ms, tc.db)); diff != "" {
				t.Errorf("DatabaseReady (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDatabaseBlocksReady(t *testing.T) {
	cases := []struct {
		name        string
		dbReady     metav1.Condition
		wantReason  string
		wantMessage string
		wantBlocks  bool
	}{
		{"ready", metav1.Condition{Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonDatabaseReady, Message: "ok"}, "", "", false},
		{"provisioning", metav1.Condition{Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonDatabaseProvisioning, Message: "waiting"}, v1alpha1.ReasonDatabaseNotReady, "The database is not ready: waiting", true},
		{"server not ready", metav1.Condition{Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonServerNotReady, Message: "down"}, v1alpha1.ReasonDatabaseNotReady, "The database is not ready: down", true},
		{"namespace not allowed", metav1.Condition{Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonNamespaceNotAllowed, Message: "no"}, v1alpha1.ReasonDatabaseFailed, "The database failed: no", true},
		{"provisioning failed", metav1.Condition{Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonProvisioningFailed, Message: "denied"}, v1alpha1.ReasonDatabaseFailed, "The database failed: denied", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reason, message, blocks := databaseBlocksReady(tc.dbReady)
			if reason != tc.wantReason || message != tc.wantMessage || blocks != tc.wantBlocks {
				t.Errorf("databaseBlocksReady = %q, %q, %v; want %q, %q, %v", reason, message, blocks, tc.wantReason, tc.wantMessage, tc.wantBlocks)
			}
		})
	}
}

func TestScalingActiveCondition(t *testing.T) {
	hpa := func(conditions ...autoscalingv2.HorizontalPodAutoscalerCondition) *autoscalingv2.HorizontalPodAutoscaler {
		return &autoscalingv2.HorizontalPodAutoscaler{Status: autoscalingv2.HorizontalPodAutoscalerStatus{Conditions: conditions}}
	}
	pending := metav1.Condition{Type: v1alpha1.ConditionScalingActive, Status: metav1.ConditionUnknown, Reason: v1alpha1.ReasonAutoscalerPending, Message: "The HorizontalPodAutoscaler has not reported yet"}
	cases := []struct {
		name string
		h    *autoscalingv2.HorizontalPodAutoscaler
		want metav1.Condition
	}{
		{"no autoscaler", nil, pending},
		{"not reported", hpa(), pending},
		{"other conditions only", hpa(autoscalingv2.HorizontalPodAutoscalerCondition{Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue, Reason: "ReadyForNewScale"}), pending},
		{"no metrics", hpa(autoscalingv2.HorizontalPodAutoscalerCondition{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionFalse, Reason: "FailedGetResourceMetric", Message: "no metrics"}),
			metav1.Condition{Type: v1alpha1.ConditionScalingActive, Status: metav1.ConditionFalse, Reason: "FailedGetResourceMetric", Message: "no metrics"}},
		{"active", hpa(
			autoscalingv2.HorizontalPodAutoscalerCondition{Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue, Reason: "ReadyForNewScale", Message: "able"},
			autoscalingv2.HorizontalPodAutoscalerCondition{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionTrue, Reason: "ValidMetricFound", Message: "computing"}),
			metav1.Condition{Type: v1alpha1.ConditionScalingActive, Status: metav1.ConditionTrue, Reason: "ValidMetricFound", Message: "computing"}},
		{"a reason is always set", hpa(autoscalingv2.HorizontalPodAutoscalerCondition{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionTrue}),
			metav1.Condition{Type: v1alpha1.ConditionScalingActive, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonAutoscalerPending}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if diff := conditionDiff(tc.want, scalingActiveCondition(tc.h)); diff != "" {
				t.Errorf("ScalingActive (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTemplateClaimSize(t *testing.T) {
	fallback := resource.MustParse("5Gi")
	template := func(name string, requests corev1.ResourceList) corev1.PersistentVolumeClaim {
		return corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeClaimSpec{Resources: corev1.VolumeResourceRequirements{Requests: requests}}}
	}
	sts := func(templates ...corev1.PersistentVolumeClaim) *appsv1.StatefulSet {
		return &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{VolumeClaimTemplates: templates}}
	}
	cases := []struct {
		name string
		sts  *appsv1.StatefulSet
		want string
	}{
		{"no templates", sts(), "5Gi"},
		{"the live size wins over a grown spec", sts(template(resources.DataVolume, corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")})), "1Gi"},
		{"only the data template counts", sts(
			template("scratch", corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("100Mi")}),
			template(resources.DataVolume, corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")})), "2Gi"},
		{"another template only", sts(template("scratch", corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("100Mi")})), "5Gi"},
		{"data template without a storage request", sts(template(resources.DataVolume, corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")})), "5Gi"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := templateClaimSize(tc.sts, fallback); got.String() != tc.want {
				t.Errorf("templateClaimSize = %s, want %s", got.String(), tc.want)
			}
		})
	}
}
