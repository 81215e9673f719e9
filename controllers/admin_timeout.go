package controllers

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/kubeship/kubeship/internal/dbadmin"
)

// timedAdmin runs each call of an Admin under its own deadline and gives the server's
// connection slot back on Close.
type timedAdmin struct {
	dbadmin.Admin
	timeout time.Duration
	release func()
	once    sync.Once
}

func (a *timedAdmin) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	return a.Admin.Ping(ctx)
}

func (a *timedAdmin) EnsureDatabase(ctx context.Context, db, role, password, owner string) error {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	return a.Admin.EnsureDatabase(ctx, db, role, password, owner)
}

func (a *timedAdmin) DropDatabase(ctx context.Context, db, role, owner string) error {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	return a.Admin.DropDatabase(ctx, db, role, owner)
}

func (a *timedAdmin) Close() error {
	a.once.Do(a.release)
	return a.Admin.Close()
}

// serverSlots caps the connections open to each DatabaseServer. A pass that finds its
// server's slots taken fails at once instead of queueing behind them, so a server that
// stops answering can hold no more workers than it has slots.
type serverSlots struct {
	per   int
	mu    sync.Mutex
	inUse map[string]int
}

func newServerSlots(per int) *serverSlots { return &serverSlots{per: per, inUse: map[string]int{}} }

// take returns the function that gives the slot back, or nil when all are taken.
func (s *serverSlots) take(server string) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inUse[server] >= s.per {
		return nil
	}
	s.inUse[server]++
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.inUse[server]--; s.inUse[server] <= 0 {
			delete(s.inUse, server)
		}
	}
}

// serverBusyError: every connection slot to the server is taken; the pass is retried with
// backoff, and DatabaseReady says it is waiting rather than failed.
type serverBusyError struct{ server string }

func (e *serverBusyError) Error() string {
	return fmt.Sprintf("waiting for a connection to DatabaseServer %s: other services' requests are in progress", e.server)
}
