package controllers

import (
	"context"
	"sync"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/kubeship/kubeship/api/v1alpha1"
	"github.com/kubeship/kubeship/internal/dbadmin"
)

// allowedSecret labels a Secret outside the operator's namespace so DatabaseServers may use it.
var allowedSecret = map[string]string{v1alpha1.AdminSecretLabel: "true"}

// passes counts the test manager's reconcile passes per controller and request.
var passes = &passCounter{n: map[string]int{}}

type passCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (p *passCounter) add(controller string, req reconcile.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n[controller+"/"+req.String()]++
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
