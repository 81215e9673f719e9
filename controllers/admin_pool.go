package controllers

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/kubeship/kubeship/internal/dbadmin"
)

// DefaultAdminIdle is how long an admin session no pass uses stays open for the next.
const DefaultAdminIdle = time.Minute

// adminPool keeps one admin session per DatabaseServer and login, shared by the passes
// that provision or drop databases on it. Each login costs the server a TLS handshake
// and a password exchange (SCRAM's key derivation on PostgreSQL), which is most of what
// provisioning a shared database costs it; a fleet of services created together would
// otherwise log in once per service. A session is keyed by everything it was opened
// with (the server's UID, address, admin user and password, TLS mode and CA), so a
// rotated admin Secret or a recreated server opens a new one and the old one closes
// once idle. A session whose server cannot be reached or refuses the login is
// dropped, so the next pass logs in afresh.
type adminPool struct {
	idle     time.Duration
	mu       sync.Mutex
	sessions map[adminKey]*pooledSession
}

// adminKey is what an admin session was opened with; secrets only as digests.
type adminKey struct {
	server   types.UID
	engine   string
	host     string
	port     int
	username string
	password [sha256.Size]byte
	sslMode  string
	ca       [sha256.Size]byte
}

func newAdminKey(server types.UID, cfg dbadmin.Config, caPEM []byte) adminKey {
	return adminKey{
		server: server, engine: cfg.Engine, host: cfg.Host, port: cfg.Port, username: cfg.Username,
		password: sha256.Sum256([]byte(cfg.Password)), sslMode: cfg.SSLMode, ca: sha256.Sum256(caPEM),
	}
}

type pooledSession struct {
	admin dbadmin.Admin
	users int
	// dropped: no longer in the pool; closed when its last user is done.
	dropped bool
	idle    *time.Timer
}

func newAdminPool(idle time.Duration) *adminPool {
	return &adminPool{idle: idle, sessions: map[adminKey]*pooledSession{}}
}

// get returns the session for key, opening one with connect when there is none. Close
// the returned Admin to give it back.
func (p *adminPool) get(ctx context.Context, key adminKey, connect func(ctx context.Context) (dbadmin.Admin, error)) (dbadmin.Admin, error) {
	if s := p.take(key); s != nil {
		return &pooledAdmin{Admin: s.admin, pool: p, key: key, session: s}, nil
	}
	admin, err := connect(ctx)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.sessions[key]
	if ok {
		// Another pass opened one meanwhile: keep that one.
		_ = admin.Close()
	} else {
		s = &pooledSession{admin: admin}
		p.sessions[key] = s
	}
	p.use(s)
	return &pooledAdmin{Admin: s.admin, pool: p, key: key, session: s}, nil
}

// take returns key's session, counted as used, or nil.
func (p *adminPool) take(key adminKey) *pooledSession {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.sessions[key]
	if !ok {
		return nil
	}
	p.use(s)
	return s
}

// use counts one more user of s. The caller holds mu.
func (p *adminPool) use(s *pooledSession) {
	s.users++
	if s.idle != nil {
		s.idle.Stop()
		s.idle = nil
	}
}

// release gives s back; broken drops it from the pool. The last user of a dropped
// session closes it; an unused one closes after the idle time.
func (p *adminPool) release(key adminKey, s *pooledSession, broken bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s.users--
	if broken && !s.dropped {
		s.dropped = true
		if p.sessions[key] == s {
			p.sessions = deleteKey(p.sessions, key)
		}
	}
	if s.users > 0 {
		return
	}
	if s.dropped {
		_ = s.admin.Close()
		return
	}
	s.idle = time.AfterFunc(p.idle, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if s.users > 0 || s.dropped {
			return
		}
		s.dropped = true
		p.sessions = deleteKey(p.sessions, key)
		_ = s.admin.Close()
	})
}

// open counts the sessions in the pool.
func (p *adminPool) open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.sessions)
}

// pooledAdmin is one pass's use of a pooled session.
type pooledAdmin struct {
	dbadmin.Admin
	pool    *adminPool
	key     adminKey
	session *pooledSession
	once    sync.Once
	mu      sync.Mutex
	broken  bool
}

func (a *pooledAdmin) EnsureDatabase(ctx context.Context, db, role, password, owner string) error {
	return a.note(a.Admin.EnsureDatabase(ctx, db, role, password, owner))
}

func (a *pooledAdmin) DropDatabase(ctx context.Context, db, role, owner string) error {
	return a.note(a.Admin.DropDatabase(ctx, db, role, owner))
}

// note marks the session broken when err says the server is out of reach or refused
// the login.
func (a *pooledAdmin) note(err error) error {
	if err != nil && (dbadmin.IsUnreachable(err) || dbadmin.IsAuthError(err)) {
		a.mu.Lock()
		a.broken = true
		a.mu.Unlock()
	}
	return err
}

// Close gives the session back to the pool; it does not close it.
func (a *pooledAdmin) Close() error {
	a.once.Do(func() {
		a.mu.Lock()
		broken := a.broken
		a.mu.Unlock()
		a.pool.release(a.key, a.session, broken)
	})
	return nil
}
