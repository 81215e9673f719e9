package controllers

import (
	"context"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/internal/dbadmin"
)

// allowedSecret labels a Secret outside the operator's namespace so DatabaseServers may use it.
var allowedSecret = map[string]string{v1alpha1.AdminSecretLabel: "true"}

// passes counts the test manager's reconcile passes per controller and request, and
// keeps the time the last one had left before its context's deadline.
var passes = &passCounter{n: map[string]int{}, budget: map[string]time.Duration{}}

type passCounter struct {
	mu     sync.Mutex
	n      map[string]int
	budget map[string]time.Duration // zero: the pass had no deadline
}

func (p *passCounter) add(ctx context.Context, controller string, req reconcile.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := controller + "/" + req.String()
	p.n[key]++
	p.budget[key] = 0
	if deadline, ok := ctx.Deadline(); ok {
		p.budget[key] = time.Until(deadline)
	}
}

// budgetOf is how long the last pass for req had before its deadline, as it started.
func (p *passCounter) budgetOf(controller string, req reconcile.Request) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.budget[controller+"/"+req.String()]
}

func (p *passCounter) of(controller string, req reconcile.Request) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n[controller+"/"+req.String()]
}

// connects records the admin usernames the test manager's Connector was called with, to
// prove that a Secret kubeship may not read never reached a connection.
var connects = &connectLog{users: map[string]int{}}

type connectLog struct {
	mu    sync.Mutex
	users map[string]int
}

func (l *connectLog) wrap(next Connector) Connector {
	return func(ctx context.Context, cfg dbadmin.Config) (dbadmin.Admin, error) {
		l.mu.Lock()
		l.users[cfg.Username]++
		l.mu.Unlock()
		return next(ctx, cfg)
	}
}

func (l *connectLog) count(user string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.users[user]
}

func reqFor(name string) reconcile.Request {
	return reconcile.Request{NamespacedName: client.ObjectKey{Name: name}}
}
