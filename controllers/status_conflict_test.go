package controllers

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// A Microservice whose status write keeps meeting conflicts is retried ever more slowly,
// up to a bound; another Microservice is not slowed by it; a write that goes through
// starts it over.
func TestStatusConflictsBackOff(t *testing.T) {
	orders := types.NamespacedName{Namespace: "shop", Name: "orders"}
	payments := types.NamespacedName{Namespace: "shop", Name: "payments"}
	c := newStatusConflicts()
	waits := make([]time.Duration, 0, 14)
	for range 14 {
		waits = append(waits, c.retryAfter(orders))
	}
	want := conflictRetryFirst
	for i, got := range waits {
		if got != want {
			t.Fatalf("conflict %d in a row waits %v, want %v (all: %v)", i+1, got, want, waits)
		}
		want = min(2*want, conflictRetryMax)
	}
	if waits[len(waits)-1] != conflictRetryMax {
		t.Errorf("the wait stops growing at %v, want %v", waits[len(waits)-1], conflictRetryMax)
	}
	if got := c.retryAfter(payments); got != conflictRetryFirst {
		t.Errorf("another Microservice's first conflict waits %v, want %v", got, conflictRetryFirst)
	}
	c.clear(orders)
	if got := c.retryAfter(orders); got != conflictRetryFirst {
		t.Errorf("after a write went through the next conflict waits %v, want %v", got, conflictRetryFirst)
	}
	var none *statusConflicts
	none.clear(orders)
	if got := none.retryAfter(orders); got != conflictRetryFirst {
		t.Errorf("a nil statusConflicts waits %v, want %v", got, conflictRetryFirst)
	}
}
