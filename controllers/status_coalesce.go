package controllers

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubeship/kubeship/api/v1alpha1"
)

// DefaultProgressCoalesce is how long a status that only says "still on its way" may
// wait behind the previous one (--status-coalesce).
const DefaultProgressCoalesce = 2 * time.Second

// progressReasons are the Ready=False reasons of a service that is on its way and needs
// nothing from anyone: the rollout or the database is still coming up.
var progressReasons = map[string]bool{
	v1alpha1.ReasonRolloutInProgress:       true,
	v1alpha1.ReasonObservedGenerationStale: true,
	v1alpha1.ReasonDatabaseNotReady:        true,
}

// progressCoalescer holds back status writes that only refine a progress report. A
// service with a database typically has its Deployment become available a moment
// before or after its database: written as it happens, that is a third status write
// (progressing, progressing with the Deployment available, Ready) where kstatus needs
// two. A write is held back only while both the stored and the new status say Ready=False
// for a progress reason at the same generation, and for the window after a pass first
// found the refinement, so that what comes a moment later (the Deployment available a
// second after the database) goes out in the same write; progress is thus written at
// most once per window. Ready=True, a failure, a new generation and anything that needs a person are
// written at once, and a held-back status is written when its window ends: a refinement
// reaches status at most one window late. The times live in memory; after a restart the
// first write simply goes out.
//
// With first set (--first-status-delay), a Microservice's very first status may wait
// too, while it only says the service is on its way, until first after the
// Microservice's creation: a service Ready by then costs one status write instead of
// two. Meanwhile its status reads observedGeneration 0 (the CRD's default), so
// kstatus-based tools see it InProgress. The wait is counted from the creation
// timestamp, so a restart neither shortens nor lengthens it.
type progressCoalescer struct {
	window time.Duration
	first  time.Duration
	mu     sync.Mutex
	// written holds when a progress status was last written, per Microservice still
	// progressing; an entry is dropped once its service writes anything else.
	written map[types.NamespacedName]time.Time
	// held holds when a pass first held back a refinement of the last written status; an
	// entry is dropped by the next write.
	held map[types.NamespacedName]time.Time
}

func newProgressCoalescer(window, first time.Duration) *progressCoalescer {
	return &progressCoalescer{window: window, first: first, written: map[types.NamespacedName]time.Time{}, held: map[types.NamespacedName]time.Time{}}
}

// holdFor returns how long the write of next (replacing stored) should wait, or 0 to
// write it now; created is when the Microservice was created.
func (c *progressCoalescer) holdFor(key types.NamespacedName, generation int64, created time.Time, stored, next []metav1.Condition, now time.Time) time.Duration {
	if c == nil || !progressing(next, generation) {
		return 0
	}
	if meta.FindStatusCondition(stored, v1alpha1.ConditionReady) == nil {
		// Never reported: only the first-report delay applies.
		return max(0, created.Add(c.first).Sub(now))
	}
	if c.window <= 0 || !progressing(stored, generation) {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.written[key]; !ok {
		return 0
	}
	found, ok := c.held[key]
	if !ok {
		found = now
		c.held[key] = now
	}
	return max(0, found.Add(c.window).Sub(now))
}

// wrote records a status write for key at now.
func (c *progressCoalescer) wrote(key types.NamespacedName, generation int64, conditions []metav1.Condition, now time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.held = deleteKey(c.held, key)
	if progressing(conditions, generation) {
		c.written[key] = now
	} else {
		c.drop(key)
	}
}

// drop deletes key. The caller holds mu.
func (c *progressCoalescer) drop(key types.NamespacedName) {
	c.written = deleteKey(c.written, key)
	c.held = deleteKey(c.held, key)
}

// deleteKey deletes key from m and returns the map to keep: once m is empty, a new
// one, since a Go map keeps the room of its largest size (a fleet converging at once)
// after its deletes.
func deleteKey[K comparable, V any](m map[K]V, key K) map[K]V {
	delete(m, key)
	if len(m) == 0 {
		return map[K]V{}
	}
	return m
}

// forget drops key (its Microservice is gone).
func (c *progressCoalescer) forget(key types.NamespacedName) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drop(key)
}

// progressing tells whether conditions say Ready=False for a progress reason, observed
// at generation.
func progressing(conditions []metav1.Condition, generation int64) bool {
	ready := meta.FindStatusCondition(conditions, v1alpha1.ConditionReady)
	return ready != nil && ready.Status == metav1.ConditionFalse && ready.ObservedGeneration == generation && progressReasons[ready.Reason]
}
