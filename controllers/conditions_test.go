package controllers

import (
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// conditionDiff compares a whole condition, as Cluster API's MatchCondition does: type,
// status, reason, message and observedGeneration. Only the transition time, which
// meta.SetStatusCondition stamps, is left out. It returns "" when they match.
func conditionDiff(want, got metav1.Condition) string {
	return cmp.Diff(want, got, cmpopts.IgnoreFields(metav1.Condition{}, "LastTransitionTime"))
}
