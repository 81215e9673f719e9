package controllers

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlevent "sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// unseenStatuses holds the status writes of this process that the cache has not caught
// up with yet, so that a pass reads its own writes. A child's event often wakes a
// Microservice a moment after its status was written and before the watch has brought
// that write back; read from the cache as it is, the pass would compute against the old
// status, and its write, with the old resourceVersion as precondition, would be a
// conflict (a wasted request and a retry) or, when nothing changed since, a write
// that repeats the last one.
//
// A write is held only while the cache still holds the very version it replaced: the
// object after the write is then known exactly (the API server's answer), since a
// status write changes nothing but status and resourceVersion. Once the cache moves on
// (to the write, or past it to someone else's change), the entry is dropped and the
// cache is read as it is. A nil unseenStatuses holds nothing.
type unseenStatuses struct {
	mu sync.Mutex
	// byKey is, per Microservice, its last status write not yet seen in the cache.
	byKey map[types.NamespacedName]statusWrite
}

// statusWrite is one status write: the version it replaced and the object's version
// and status after it, as the API server answered.
type statusWrite struct {
	uid          types.UID
	replaced, rv string
	status       v1alpha1.MicroserviceStatus
}

func newUnseenStatuses() *unseenStatuses {
	return &unseenStatuses{byKey: map[types.NamespacedName]statusWrite{}}
}

// wrote records that ms (as the API server answered its status write) replaced the
// version replaced. cached reads the version the cache holds ("" when none): when the
// cache has already moved past replaced, there is nothing to hold.
func (u *unseenStatuses) wrote(ms *v1alpha1.Microservice, replaced string, cached func() string) {
	if u == nil {
		return
	}
	key := client.ObjectKeyFromObject(ms)
	// Under the lock, so that the cache's event for this write either came before (and
	// the cache already shows it) or comes after and finds the entry to drop.
	u.mu.Lock()
	defer u.mu.Unlock()
	// A write over a write still unseen: the cache may still hold the version before
	// both, and the object after them is as well known.
	if w, ok := u.byKey[key]; ok && w.uid == ms.UID && w.rv == replaced {
		replaced = w.replaced
	}
	if cached() != replaced {
		u.drop(key)
		return
	}
	u.byKey[key] = statusWrite{uid: ms.UID, replaced: replaced, rv: ms.ResourceVersion, status: *ms.Status.DeepCopy()}
}

// readOwnWrite brings ms, as read from the cache, up to this process's last status write
// when the cache still holds the version that write replaced; otherwise it drops what
// it held for ms.
func (u *unseenStatuses) readOwnWrite(ms *v1alpha1.Microservice) {
	if u == nil {
		return
	}
	key := client.ObjectKeyFromObject(ms)
	u.mu.Lock()
	defer u.mu.Unlock()
	w, ok := u.byKey[key]
	if !ok {
		return
	}
	if w.uid != ms.UID || w.replaced != ms.ResourceVersion {
		u.drop(key)
		return
	}
	ms.Status = *w.status.DeepCopy()
	ms.ResourceVersion = w.rv
}

// cacheMoved is told that the cache now holds obj at its current version (a watch
// event): a write it replaced is no longer unseen.
func (u *unseenStatuses) cacheMoved(obj client.Object) {
	if u == nil || obj == nil {
		return
	}
	key := client.ObjectKeyFromObject(obj)
	u.mu.Lock()
	defer u.mu.Unlock()
	if w, ok := u.byKey[key]; ok && (w.uid != obj.GetUID() || w.replaced != obj.GetResourceVersion()) {
		u.drop(key)
	}
}

// handler follows the cache's Microservice events to drop the writes it has caught up
// with; it asks for no pass.
func (u *unseenStatuses) handler() handler.EventHandler {
	type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]
	return handler.Funcs{
		UpdateFunc: func(_ context.Context, e ctrlevent.UpdateEvent, _ queue) { u.cacheMoved(e.ObjectNew) },
		DeleteFunc: func(_ context.Context, e ctrlevent.DeleteEvent, _ queue) {
			if e.Object != nil {
				u.forget(client.ObjectKeyFromObject(e.Object))
			}
		},
	}
}

// forget drops key (its Microservice is gone).
func (u *unseenStatuses) forget(key types.NamespacedName) {
	if u == nil {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.drop(key)
}

// drop deletes key. The caller holds mu.
func (u *unseenStatuses) drop(key types.NamespacedName) {
	u.byKey = deleteKey(u.byKey, key)
}
