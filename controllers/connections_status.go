package controllers

import (
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/controllers/resources"
)

// setConnectionsStatus reports ms's connections in st: status.connections and the
// ConnectionsResolved condition, both only with spec.connections. Ready never depends
// on them.
func setConnectionsStatus(st *v1alpha1.MicroserviceStatus, ms *v1alpha1.Microservice, obs connectionsObserved) {
	if len(ms.Spec.Connections) == 0 {
		st.Connections = nil
		meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionConnectionsResolved)
		return
	}
	if obs.targets == nil {
		// The pass stopped before resolving (an earlier step failed): keep what was reported.
		return
	}
	st.Connections = connectionStatuses(obs.targets)
	setCondition(st, ms, connectionsResolvedCondition(obs.targets))
}

func connectionStatuses(targets []resources.ConnectionTarget) []v1alpha1.ConnectionStatus {
	out := make([]v1alpha1.ConnectionStatus, len(targets))
	for i, t := range targets {
		out[i] = v1alpha1.ConnectionStatus{
			Name: t.Name, Service: t.Service, Namespace: t.Namespace,
			Resolved: t.Resolved(), URL: t.URL(), Reason: t.Reason, Message: t.Message,
		}
	}
	return out
}

// connectionsResolvedCondition is True when every target resolved; otherwise it names
// the first unresolved connection's reason and lists every unresolved one, in spec order.
func connectionsResolvedCondition(targets []resources.ConnectionTarget) metav1.Condition {
	c := metav1.Condition{Type: v1alpha1.ConditionConnectionsResolved}
	var msgs []string
	for _, t := range targets {
		if t.Resolved() {
			continue
		}
		if c.Reason == "" {
			c.Reason = t.Reason
		}
		msgs = append(msgs, t.Message)
	}
	if len(msgs) == 0 {
		c.Status, c.Reason, c.Message = metav1.ConditionTrue, v1alpha1.ReasonConnectionsResolved, "Every connection's callee and port exist"
		return c
	}
	c.Status, c.Message = metav1.ConditionFalse, strings.Join(msgs, "; ")
	return c
}
