package controllers

import (
	"testing"
	"time"
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
			got := tc.in.withDefaults().controllerOptions(3)
			if got.ReconciliationTimeout != tc.want || got.MaxConcurrentReconciles != 3 {
				t.Errorf("ReconciliationTimeout %s, MaxConcurrentReconciles %d; want %s, 3", got.ReconciliationTimeout, got.MaxConcurrentReconciles, tc.want)
			}
		})
	}
}
