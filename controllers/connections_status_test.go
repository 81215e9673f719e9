package controllers

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

func TestConnectionsStatus(t *testing.T) {
	resolved := resources.ConnectionTarget{Name: "orders", Service: "orders", Namespace: "shop",
		Ports: []v1alpha1.ServicePort{{Name: "http", Port: 8080}}}
	missing := resources.ConnectionTarget{Name: "stock", Service: "stock", Namespace: "shop",
		Reason: v1alpha1.ReasonCalleeNotFound, Message: "connection stock: Microservice shop/stock does not exist"}
	noPort := resources.ConnectionTarget{Name: "ledger", Service: "ledger", Namespace: "finance",
		Reason: v1alpha1.ReasonPortNotFound, Message: `connection ledger: Microservice finance/ledger has no port named "grpc"`}
	cases := []struct {
		name    string
		targets []resources.ConnectionTarget
		want    metav1.Condition
	}{
		{"all resolved", []resources.ConnectionTarget{resolved}, metav1.Condition{Status: metav1.ConditionTrue,
			Reason: v1alpha1.ReasonConnectionsResolved, Message: "Every connection's callee and port exist"}},
		{"the first unresolved names the reason, every one is listed", []resources.ConnectionTarget{resolved, noPort, missing},
			metav1.Condition{Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonPortNotFound, Message: noPort.Message + "; " + missing.Message}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.want.Type = v1alpha1.ConditionConnectionsResolved
			if diff := cmp.Diff(tc.want, connectionsResolvedCondition(tc.targets)); diff != "" {
				t.Errorf("condition (-want +got):\n%s", diff)
			}
		})
	}
}

// TestUnresolvedConnectionDoesNotBlockReady: a callee that does not exist yet is
// reported, and the rolled-out service is Ready all the same.
func TestUnresolvedConnectionDoesNotBlockReady(t *testing.T) {
	ms := &v1alpha1.Microservice{
		ObjectMeta: metav1.ObjectMeta{Name: "orders", Namespace: "shop", Generation: 2},
		Spec:       v1alpha1.MicroserviceSpec{Image: "x", Connections: []v1alpha1.Connection{{Service: "stock"}}},
	}
	d := deployment(1, 2, 2, 1, 1, 1, true)
	d.Status.Conditions = append(d.Status.Conditions, appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: "True"})
	missing := resources.ConnectionTarget{Name: "stock", Service: "stock", Namespace: "shop", Reason: v1alpha1.ReasonCalleeNotFound, Message: "m"}
	st := computeStatus(ms, observed{deployment: d, connections: connectionsObserved{targets: []resources.ConnectionTarget{missing}}})
	if c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("Ready = %+v, want True", c)
	}
	if c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionConnectionsResolved); c == nil || c.Status != metav1.ConditionFalse || c.ObservedGeneration != 2 {
		t.Errorf("ConnectionsResolved = %+v, want False at generation 2", c)
	}
	want := []v1alpha1.ConnectionStatus{{Name: "stock", Service: "stock", Namespace: "shop", Reason: v1alpha1.ReasonCalleeNotFound, Message: "m"}}
	if diff := cmp.Diff(want, st.Connections, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("status.connections (-want +got):\n%s", diff)
	}
	// Connections removed: the report goes with them.
	ms.Spec.Connections = nil
	ms.Status = st
	st = computeStatus(ms, observed{deployment: d})
	if st.Connections != nil || meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionConnectionsResolved) != nil {
		t.Errorf("connections report stayed after spec.connections was removed: %+v", st)
	}
}
