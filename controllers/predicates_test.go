package controllers

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrlevent "sigs.k8s.io/controller-runtime/pkg/event"
)

// TestVersionChangedDropsRepeatsOnly: what an informer re-delivers after listing again
// (the version it already held) wakes nothing; any new version, creation or deletion
// does, including a change made while the watch was down.
func TestVersionChangedDropsRepeatsOnly(t *testing.T) {
	at := func(rv string, replicas int32) *appsv1.Deployment {
		return &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "api", Namespace: "shop", ResourceVersion: rv},
			Status:     appsv1.DeploymentStatus{AvailableReplicas: replicas},
		}
	}
	p := versionChanged()
	for _, tc := range []struct {
		name     string
		old, new *appsv1.Deployment
		want     bool
	}{
		{"relisted, same version", at("41", 2), at("41", 2), false},
		{"status changed while the watch was down", at("41", 1), at("57", 2), true},
		{"metadata-only change", at("41", 2), at("42", 2), true},
	} {
		if got := p.Update(ctrlevent.UpdateEvent{ObjectOld: tc.old, ObjectNew: tc.new}); got != tc.want {
			t.Errorf("%s: Update = %v, want %v", tc.name, got, tc.want)
		}
	}
	if !p.Create(ctrlevent.CreateEvent{Object: at("41", 0)}) {
		t.Error("a creation must wake its Microservice")
	}
	if !p.Delete(ctrlevent.DeleteEvent{Object: at("41", 2)}) {
		t.Error("a deletion must wake its Microservice")
	}
}
