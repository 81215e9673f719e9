package controllers

import (
	"encoding/binary"
	"encoding/json"
	"hash/maphash"
	"slices"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// appliedMemo remembers, for each Microservice's children, the last state in which a
// pass saw a child hold exactly what kubeship applies: after an apply the API server
// answered, or after comparing the fields kubeship owns with the ones it wants. While
// the child's UID, kubeship's managed-fields entry on it and the apply configuration
// are all as they were then, the child still holds it, so the pass skips the
// comparison, most of what a converged pass costs.
//
// Server-Side Apply keeps the entry honest: whoever changes a field kubeship owns,
// with an update or a forced apply, takes that field from kubeship's entry, and a
// child deleted and made again has another UID. Only a client that writes managed
// fields by hand can change a value and keep the entry; this process then sees the
// change on its next start, when the memo is empty. A nil memo remembers nothing.
type appliedMemo struct {
	seed maphash.Seed
	mu   sync.Mutex
	// held is, per Microservice, the hash of the state last seen held per child kind: a
	// short list (a service has a handful of kinds), smaller than a map per service.
	held map[types.NamespacedName][]heldState
}

// heldState is the hash of the state a child of kind was last seen to hold.
type heldState struct {
	kind string
	hash uint64
}

func newAppliedMemo() *appliedMemo {
	return &appliedMemo{seed: maphash.MakeSeed(), held: map[types.NamespacedName][]heldState{}}
}

// heldIndex is the index of kind in states, or -1.
func heldIndex(states []heldState, kind string) int {
	for i, s := range states {
		if s.kind == kind {
			return i
		}
	}
	return -1
}

// appliedState is the part of a child's state that an apply configuration decides: its
// body as sent, without a resourceVersion precondition (which follows the object read
// and is compared as read, see extractAsRead).
type appliedState []byte

// stateToApply is desired's appliedState. Take it before applying: the apply response
// is decoded into desired.
func stateToApply(desired runtime.ApplyConfiguration) (appliedState, error) {
	bare, err := withResourceVersion(desired, "")
	if err != nil {
		return nil, err
	}
	return json.Marshal(bare)
}

// hash is the state of live with applied as its apply configuration; ok is false when
// live has no managed-fields entry of kubeship's apply, so there is nothing to trust.
func (m *appliedMemo) hash(live client.Object, applied appliedState) (uint64, bool) {
	entry, ok := appliedEntry(live)
	if !ok {
		return 0, false
	}
	var h maphash.Hash
	h.SetSeed(m.seed)
	for _, part := range [][]byte{[]byte(live.GetUID()), []byte(entry.APIVersion), entry.FieldsV1.GetRawBytes(), applied} {
		// Each part with its length, so no two different states run together alike.
		_, _ = h.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(part))))
		_, _ = h.Write(part)
	}
	return h.Sum64(), true
}

// appliedEntry is kubeship's Server-Side Apply entry in live's managed fields.
func appliedEntry(live client.Object) (metav1.ManagedFieldsEntry, bool) {
	for _, e := range live.GetManagedFields() {
		if e.Manager == FieldOwner && e.Operation == metav1.ManagedFieldsOperationApply && e.Subresource == "" && e.FieldsV1 != nil {
			return e, true
		}
	}
	return metav1.ManagedFieldsEntry{}, false
}

// holds tells whether live, ms's child of kind, is in the state last seen holding
// applied.
func (m *appliedMemo) holds(ms types.NamespacedName, kind string, live client.Object, applied appliedState) bool {
	if m == nil {
		return false
	}
	h, ok := m.hash(live, applied)
	if !ok {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	states := m.held[ms]
	i := heldIndex(states, kind)
	return i >= 0 && states[i].hash == h
}

// remember records that live, ms's child of kind, holds applied.
func (m *appliedMemo) remember(ms types.NamespacedName, kind string, live client.Object, applied appliedState) {
	if m == nil {
		return
	}
	h, ok := m.hash(live, applied)
	if !ok {
		m.forget(ms, kind)
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	states := m.held[ms]
	if i := heldIndex(states, kind); i >= 0 {
		states[i].hash = h
		return
	}
	// Grown by one at a time: the list stays exactly as long as the kinds remembered.
	m.held[ms] = append(slices.Clip(states), heldState{kind: kind, hash: h})
}

// forget drops what is remembered of ms's children: ms is gone, or one of its children is.
func (m *appliedMemo) forget(ms types.NamespacedName, kind string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if kind == "" {
		delete(m.held, ms)
		return
	}
	states := m.held[ms]
	i := heldIndex(states, kind)
	if i < 0 {
		return
	}
	if len(states) == 1 {
		delete(m.held, ms)
		return
	}
	m.held[ms] = slices.Delete(states, i, i+1)
}
