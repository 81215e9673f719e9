package controllers

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/controller-runtime/pkg/controller"
)

func TestReconcileTimeoutDefaults(t *testing.T) {
	cases := []struct {
		name string
		in   Options
		want time.Duration
	}{
		{"defaults: one minute", Options{}, time.Minute},
		{"longer database calls stretch it to four of them", Options{DatabaseTimeout: 30 * time.Second}, 2 * time.Minute},
		{"short database calls keep the minute", Options{DatabaseTimeout: 2 * time.Second}, time.Minute},
		{"set: kept as it is", Options{DatabaseTimeout: 30 * time.Second, ReconcileTimeout: 20 * time.Second}, 20 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.in.withDefaults()
			if diff := cmp.Diff(controller.Options{MaxConcurrentReconciles: 3, ReconciliationTimeout: tc.want}, opts.controllerOptions(3)); diff != "" {
				t.Errorf("controller options (-want +got):\n%s", diff)
			}
		})
	}
}
