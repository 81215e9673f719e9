package controllers

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// cond is a condition of a Microservice's second generation; gen1 makes it the first's.
func cond(t string, s metav1.ConditionStatus, reason string) metav1.Condition {
	return metav1.Condition{Type: t, Status: s, Reason: reason, Message: reason + " message", ObservedGeneration: 2}
}

func gen1(c metav1.Condition) metav1.Condition {
	c.ObservedGeneration = 1
	return c
}

func TestTransitionEvents(t *testing.T) {
	ready := cond(v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReady)
	rolling := cond(v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonRolloutInProgress)
	stale := cond(v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonObservedGenerationStale)
	deadline := cond(v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonProgressDeadlineExceeded)
	applyErr := cond(v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonReconcileError)
	dbWaiting := cond(v1alpha1.ConditionDatabaseReady, metav1.ConditionFalse, v1alpha1.ReasonDatabaseProvisioning)
	dbReady := cond(v1alpha1.ConditionDatabaseReady, metav1.ConditionTrue, v1alpha1.ReasonDatabaseReady)
	dbDenied := cond(v1alpha1.ConditionDatabaseReady, metav1.ConditionFalse, v1alpha1.ReasonNamespaceNotAllowed)
	notOwned := cond(v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonResourceNotOwned)
	adoptionRefused := cond(v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonAdoptionRefused)
	dbNotOwned := cond(v1alpha1.ConditionDatabaseReady, metav1.ConditionFalse, v1alpha1.ReasonResourceNotOwned)

	cases := []struct {
		name     string
		old, new []metav1.Condition
		want     []string // type/reason
	}{
		{"nothing changed", []metav1.Condition{ready}, []metav1.Condition{ready}, nil},
		{"first rollout starts silently", nil, []metav1.Condition{gen1(stale)}, nil},
		{"first rollout with pods being replaced starts silently", nil, []metav1.Condition{gen1(rolling)}, nil},
		{"first rollout finishes silently", []metav1.Condition{gen1(rolling)}, []metav1.Condition{gen1(ready)}, nil},
		{"first pass already ready records nothing", nil, []metav1.Condition{gen1(ready)}, nil},
		{"recovery in the first generation is recorded", []metav1.Condition{gen1(deadline)}, []metav1.Condition{gen1(ready)}, []string{"Normal/Ready"}},
		{"first generation fails loudly", []metav1.Condition{gen1(rolling)}, []metav1.Condition{gen1(deadline)}, []string{"Warning/NotReady"}},
		{"first database provisioning finishes silently", []metav1.Condition{gen1(dbWaiting)}, []metav1.Condition{gen1(dbReady)}, nil},
		{"database recovery in the first generation is recorded", []metav1.Condition{gen1(dbDenied)}, []metav1.Condition{gen1(dbReady)}, []string{"Normal/DatabaseReady"}},
		{"rollout moves on without a new event", []metav1.Condition{stale}, []metav1.Condition{rolling}, nil},
		{"rollout finishes", []metav1.Condition{rolling}, []metav1.Condition{ready}, []string{"Normal/RolloutFinished"}},
		{"new generation starts a rollout", []metav1.Condition{ready}, []metav1.Condition{stale}, []string{"Normal/RolloutStarted"}},
		{"rollout fails", []metav1.Condition{rolling}, []metav1.Condition{deadline}, []string{"Warning/NotReady"}},
		{"apply fails", []metav1.Condition{ready}, []metav1.Condition{applyErr}, []string{"Warning/ReconcileFailed"}},
		{"database becomes ready", []metav1.Condition{dbWaiting}, []metav1.Condition{dbReady}, []string{"Normal/DatabaseReady"}},
		{"database refused", []metav1.Condition{dbWaiting}, []metav1.Condition{dbDenied}, []string{"Warning/DatabaseFailed"}},
		{"database provisioning records nothing", nil, []metav1.Condition{dbWaiting}, nil},
		{"foreign object refused", nil, []metav1.Condition{notOwned}, []string{"Warning/ResourceNotOwned"}},
		{"refusal repeats nothing", []metav1.Condition{notOwned}, []metav1.Condition{notOwned}, nil},
		{"adoption refused", []metav1.Condition{notOwned}, []metav1.Condition{adoptionRefused}, []string{"Warning/ResourceNotOwned"}},
		{"foreign database object: one event, from Ready", nil, []metav1.Condition{dbNotOwned, notOwned}, []string{"Warning/ResourceNotOwned"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := transitionEvents(tc.old, tc.new)
			if len(got) != len(tc.want) {
				t.Fatalf("events %+v, want %v", got, tc.want)
			}
			for i, e := range got {
				if e.eventType+"/"+e.reason != tc.want[i] || e.note == "" {
					t.Fatalf("event %d = %+v, want %s", i, e, tc.want[i])
				}
			}
		})
	}
}
