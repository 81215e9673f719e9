package controllers

import (
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
)

// Status writes that meet a conflict are retried after a wait that doubles with each
// conflict of the same Microservice in a row, from conflictRetryFirst up to
// conflictRetryMax, and starts over once a write goes through.
const (
	conflictRetryFirst = 5 * time.Millisecond
	conflictRetryMax   = 10 * time.Second
)

// statusConflicts spaces the retries of status writes that met a conflict. A conflict
// is usually the cache lagging behind kubeship's own previous write and clears at once;
// one that keeps coming back (another writer racing, an API server answering 409) must
// not turn the pass into a loop.
type statusConflicts struct {
	limiter workqueue.TypedRateLimiter[types.NamespacedName]
}

func newStatusConflicts() *statusConflicts {
	return &statusConflicts{limiter: workqueue.NewTypedItemExponentialFailureRateLimiter[types.NamespacedName](conflictRetryFirst, conflictRetryMax)}
}

// retryAfter records one more conflict for key and returns how long to wait. A nil
// statusConflicts always waits conflictRetryFirst.
func (c *statusConflicts) retryAfter(key types.NamespacedName) time.Duration {
	if c == nil {
		return conflictRetryFirst
	}
	return c.limiter.When(key)
}

// clear forgets key's conflicts: its status went through, or it is gone.
func (c *statusConflicts) clear(key types.NamespacedName) {
	if c != nil {
		c.limiter.Forget(key)
	}
}
