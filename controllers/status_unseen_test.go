package controllers

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

func TestUnseenStatuses(t *testing.T) {
	at := func(uid, rv string, observed int64) *v1alpha1.Microservice {
		return &v1alpha1.Microservice{
			ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "shop", UID: types.UID(uid), ResourceVersion: rv},
			Status:     v1alpha1.MicroserviceStatus{ObservedGeneration: observed},
		}
	}
	cacheAt := func(rv string) func() string { return func() string { return rv } }
	tests := []struct {
		name string
		// steps run on a fresh unseenStatuses, then the cache's copy is read.
		steps  func(u *unseenStatuses)
		cached *v1alpha1.Microservice
		want   *v1alpha1.Microservice
	}{{
		name:   "the cache still holds the version the write replaced: the pass reads the write",
		steps:  func(u *unseenStatuses) { u.wrote(at("u1", "11", 1), "10", cacheAt("10")) },
		cached: at("u1", "10", 0),
		want:   at("u1", "11", 1),
	}, {
		name:   "the cache already holds the write: nothing held",
		steps:  func(u *unseenStatuses) { u.wrote(at("u1", "11", 1), "10", cacheAt("11")) },
		cached: at("u1", "11", 1),
		want:   at("u1", "11", 1),
	}, {
		name: "the cache moved on after the write: its copy is read as it is",
		steps: func(u *unseenStatuses) {
			u.wrote(at("u1", "11", 1), "10", cacheAt("10"))
			u.cacheMoved(at("u1", "11", 1))
		},
		cached: at("u1", "10", 0),
		want:   at("u1", "10", 0),
	}, {
		name: "an event that repeats the replaced version keeps the write",
		steps: func(u *unseenStatuses) {
			u.wrote(at("u1", "11", 1), "10", cacheAt("10"))
			u.cacheMoved(at("u1", "10", 0))
		},
		cached: at("u1", "10", 0),
		want:   at("u1", "11", 1),
	}, {
		name:   "someone else's change is in the cache: read as it is",
		steps:  func(u *unseenStatuses) { u.wrote(at("u1", "11", 1), "10", cacheAt("10")) },
		cached: at("u1", "12", 0),
		want:   at("u1", "12", 0),
	}, {
		name:   "deleted and made again under the same name: the new object is read as it is",
		steps:  func(u *unseenStatuses) { u.wrote(at("u1", "11", 1), "10", cacheAt("10")) },
		cached: at("u2", "10", 0),
		want:   at("u2", "10", 0),
	}, {
		name: "a write over an unseen write: the cache before both reads the last",
		steps: func(u *unseenStatuses) {
			u.wrote(at("u1", "11", 1), "10", cacheAt("10"))
			u.wrote(at("u1", "12", 2), "11", cacheAt("10"))
		},
		cached: at("u1", "10", 0),
		want:   at("u1", "12", 2),
	}, {
		name: "a write over a version this process did not write, while the cache lags: nothing held",
		steps: func(u *unseenStatuses) {
			u.wrote(at("u1", "11", 1), "10", cacheAt("10"))
			u.wrote(at("u1", "14", 2), "13", cacheAt("10"))
		},
		cached: at("u1", "10", 0),
		want:   at("u1", "10", 0),
	}, {
		name: "forgotten",
		steps: func(u *unseenStatuses) {
			u.wrote(at("u1", "11", 1), "10", cacheAt("10"))
			u.forget(types.NamespacedName{Namespace: "team", Name: "shop"})
		},
		cached: at("u1", "10", 0),
		want:   at("u1", "10", 0),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newUnseenStatuses()
			tt.steps(u)
			got := tt.cached.DeepCopy()
			u.readOwnWrite(got)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("read (-want +got):\n%s", diff)
			}
		})
	}
}

// A write's entry is gone once the cache has caught up, so a converged fleet holds
// nothing; a nil unseenStatuses holds nothing and reads the cache as it is.
func TestUnseenStatusesHoldNothingOnceSeen(t *testing.T) {
	u := newUnseenStatuses()
	for _, name := range []string{"a", "b", "c"} {
		ms := &v1alpha1.Microservice{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: name, UID: "u", ResourceVersion: "2"}}
		u.wrote(ms, "1", func() string { return "1" })
		u.cacheMoved(ms)
	}
	if len(u.byKey) != 0 {
		t.Errorf("held after the cache caught up: %v", u.byKey)
	}

	var none *unseenStatuses
	ms := &v1alpha1.Microservice{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "a", ResourceVersion: "1"}}
	none.wrote(ms, "0", func() string { return "0" })
	none.cacheMoved(ms)
	none.forget(types.NamespacedName{})
	got := ms.DeepCopy()
	none.readOwnWrite(got)
	if diff := cmp.Diff(ms, got); diff != "" {
		t.Errorf("a nil unseenStatuses changed the read (-want +got):\n%s", diff)
	}
}
