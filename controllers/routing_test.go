package controllers

import (
	"context"
	"testing"
)

// A Microservice without routes costs nothing in routing: no read, no watch, no
// status. The reconciler here has no client and no watches, so any use would panic.
func TestServiceWithoutRoutesTouchesNothing(t *testing.T) {
	r := &MicroserviceReconciler{}
	var obs observed
	if err := r.reconcileRoutes(context.Background(), routedMS(), &obs); err != nil {
		t.Fatal(err)
	}
	if obs.routes.active {
		t.Fatal("routing ran for a service without routes")
	}
}
