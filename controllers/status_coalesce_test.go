package controllers

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

func TestProgressCoalescerHoldsOnlyProgressRefinements(t *testing.T) {
	key := types.NamespacedName{Namespace: "shop", Name: "orders"}
	ready := func(status metav1.ConditionStatus, reason string, gen int64) []metav1.Condition {
		return []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: status, Reason: reason, ObservedGeneration: gen}}
	}
	waitingForDB := ready(metav1.ConditionFalse, v1alpha1.ReasonDatabaseNotReady, 3)
	rollingOut := ready(metav1.ConditionFalse, v1alpha1.ReasonRolloutInProgress, 3)
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name         string
		window       time.Duration
		written      []metav1.Condition // the status last written, at t0; nil: none since start
		stored, next []metav1.Condition
		generation   int64
		at           time.Duration // after t0
		want         time.Duration
	}{
		{"progress refined within the window", 2 * time.Second, waitingForDB, waitingForDB, rollingOut, 3, 500 * time.Millisecond, 2 * time.Second},
		{"same reason, new detail", 2 * time.Second, rollingOut, rollingOut, rollingOut, 3, time.Second, 2 * time.Second},
		{"found after the window: held for a window from now", 2 * time.Second, waitingForDB, waitingForDB, rollingOut, 3, 5 * time.Second, 2 * time.Second},
		{"Ready is never held", 2 * time.Second, waitingForDB, waitingForDB, ready(metav1.ConditionTrue, v1alpha1.ReasonReady, 3), 3, 0, 0},
		{"a failure is never held", 2 * time.Second, waitingForDB, waitingForDB, ready(metav1.ConditionFalse, v1alpha1.ReasonDatabaseFailed, 3), 3, 0, 0},
		{"a reason that needs a person is never held", 2 * time.Second, rollingOut, rollingOut, ready(metav1.ConditionFalse, v1alpha1.ReasonResourceNotOwned, 3), 3, 0, 0},
		{"a new generation is written at once", 2 * time.Second, rollingOut, rollingOut, ready(metav1.ConditionFalse, v1alpha1.ReasonRolloutInProgress, 4), 4, 0, 0},
		{"the stored status is not progress", 2 * time.Second, rollingOut, ready(metav1.ConditionTrue, v1alpha1.ReasonReady, 3), rollingOut, 3, 0, 0},
		{"no write remembered (a restart)", 2 * time.Second, nil, waitingForDB, rollingOut, 3, 0, 0},
		{"the last write was Ready", 2 * time.Second, ready(metav1.ConditionTrue, v1alpha1.ReasonReady, 3), waitingForDB, rollingOut, 3, 0, 0},
		{"coalescing off", 0, waitingForDB, waitingForDB, rollingOut, 3, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newProgressCoalescer(tc.window, 0)
			if tc.written != nil {
				c.wrote(key, 3, tc.written, t0)
			}
			if got := c.holdFor(key, tc.generation, t0.Add(-time.Hour), tc.stored, tc.next, t0.Add(tc.at)); got != tc.want {
				t.Errorf("holdFor = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestProgressCoalescerForgetsWhatIsDone(t *testing.T) {
	key := types.NamespacedName{Namespace: "shop", Name: "orders"}
	c := newProgressCoalescer(time.Second, 0)
	now := time.Now()
	c.wrote(key, 1, []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonRolloutInProgress, ObservedGeneration: 1}}, now)
	if len(c.written) != 1 {
		t.Fatalf("a progress write is not remembered: %v", c.written)
	}
	c.wrote(key, 1, []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonReady, ObservedGeneration: 1}}, now)
	if len(c.written) != 0 {
		t.Errorf("a Ready service is still remembered: %v", c.written)
	}
	c.wrote(key, 1, []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonRolloutInProgress, ObservedGeneration: 1}}, now)
	c.forget(key)
	if len(c.written) != 0 {
		t.Errorf("a deleted service is still remembered: %v", c.written)
	}
	progress := []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: v1alpha1.ReasonRolloutInProgress, ObservedGeneration: 1}}
	for i := range 1000 {
		c.wrote(types.NamespacedName{Namespace: "fleet", Name: fmt.Sprint(i)}, 1, progress, now)
	}
	grown := reflect.ValueOf(c.written).Pointer()
	for i := range 1000 {
		c.forget(types.NamespacedName{Namespace: "fleet", Name: fmt.Sprint(i)})
	}
	if reflect.ValueOf(c.written).Pointer() == grown {
		t.Errorf("the map grown by a fleet converging at once is kept once nothing is progressing")
	}
	var none *progressCoalescer
	none.wrote(key, 1, nil, now)
	none.forget(key)
	if got := none.holdFor(key, 1, now, nil, nil, now); got != 0 {
		t.Errorf("a nil coalescer holds for %v", got)
	}
}

func TestFirstStatusWaitsOnlyWhileItWouldReportProgress(t *testing.T) {
	key := types.NamespacedName{Namespace: "shop", Name: "orders"}
	ready := func(status metav1.ConditionStatus, reason string, gen int64) []metav1.Condition {
		return []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: status, Reason: reason, ObservedGeneration: gen}}
	}
	created := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	rollingOut := ready(metav1.ConditionFalse, v1alpha1.ReasonRolloutInProgress, 1)
	cases := []struct {
		name         string
		first        time.Duration
		stored, next []metav1.Condition
		at           time.Duration // after the creation
		want         time.Duration
	}{
		{"progress, early", 30 * time.Second, nil, rollingOut, 5 * time.Second, 25 * time.Second},
		{"waiting for the database, early", 30 * time.Second, nil, ready(metav1.ConditionFalse, v1alpha1.ReasonDatabaseNotReady, 1), 0, 30 * time.Second},
		{"progress, the delay has passed", 30 * time.Second, nil, rollingOut, 30 * time.Second, 0},
		{"Ready is written at once", 30 * time.Second, nil, ready(metav1.ConditionTrue, v1alpha1.ReasonReady, 1), 0, 0},
		{"a failure is written at once", 30 * time.Second, nil, ready(metav1.ConditionFalse, v1alpha1.ReasonDatabaseFailed, 1), 0, 0},
		{"a refused child is written at once", 30 * time.Second, nil, ready(metav1.ConditionFalse, v1alpha1.ReasonResourceNotOwned, 1), 0, 0},
		{"delay off", 0, nil, rollingOut, 0, 0},
		{"a status was already written", 30 * time.Second, ready(metav1.ConditionFalse, v1alpha1.ReasonObservedGenerationStale, 1), rollingOut, 5 * time.Second, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// No coalescing window: only the first-report delay is at work.
			c := newProgressCoalescer(0, tc.first)
			if got := c.holdFor(key, 1, created, tc.stored, tc.next, created.Add(tc.at)); got != tc.want {
				t.Errorf("holdFor = %v, want %v", got, tc.want)
			}
		})
	}
}

// A refinement found long after the last write (the database Ready 5 s after the first
// status) waits one window from when a pass first found it, so that the Deployment
// becoming available a moment later goes out in the same write; it is never held longer.
func TestProgressRefinementWaitsAWindowFromWhenFound(t *testing.T) {
	key := types.NamespacedName{Namespace: "shop", Name: "orders"}
	ready := func(status metav1.ConditionStatus, reason string) []metav1.Condition {
		return []metav1.Condition{{Type: v1alpha1.ConditionReady, Status: status, Reason: reason, ObservedGeneration: 1}}
	}
	waitingForDB, rollingOut := ready(metav1.ConditionFalse, v1alpha1.ReasonDatabaseNotReady), ready(metav1.ConditionFalse, v1alpha1.ReasonRolloutInProgress)
	created := time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC)
	t0 := created.Add(time.Second)
	c := newProgressCoalescer(2*time.Second, 0)
	c.wrote(key, 1, waitingForDB, t0)
	for _, step := range []struct {
		at   time.Duration
		want time.Duration
	}{{5 * time.Second, 2 * time.Second}, {6 * time.Second, time.Second}, {7 * time.Second, 0}, {9 * time.Second, 0}} {
		if got := c.holdFor(key, 1, created, waitingForDB, rollingOut, t0.Add(step.at)); got != step.want {
			t.Errorf("found at 5s, asked at %v: holdFor = %v, want %v", step.at, got, step.want)
		}
	}
	if got := c.holdFor(key, 1, created, waitingForDB, ready(metav1.ConditionTrue, v1alpha1.ReasonReady), t0.Add(5500*time.Millisecond)); got != 0 {
		t.Errorf("Ready while a refinement is held: holdFor = %v, want 0", got)
	}
	// The write ends the hold; the next refinement waits a window of its own.
	c.wrote(key, 1, rollingOut, t0.Add(7*time.Second))
	if got := c.holdFor(key, 1, created, rollingOut, rollingOut, t0.Add(7500*time.Millisecond)); got != 2*time.Second {
		t.Errorf("a refinement after the write: holdFor = %v, want 2s", got)
	}
	c.forget(key)
	if len(c.held) != 0 || len(c.written) != 0 {
		t.Errorf("a deleted service is still remembered: held %v, written %v", c.held, c.written)
	}
}
