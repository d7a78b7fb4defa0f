package setup

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/hybridsync/hybridsync/engine/entra"
	"github.com/hybridsync/hybridsync/engine/secret"
)

// EntraVault keeps the signed-in administrator's session (its tokens) and the
// interactive sign-ins on their way through the browser. It lives only in
// memory: a restart loses it, and the page then asks to sign in again.
type EntraVault struct {
	mu      sync.Mutex
	session *entra.Session
	pending map[string]entra.Pending
	TTL     time.Duration // how long a session is kept; 0 means 2 hours
}

func (v *EntraVault) ttl() time.Duration {
	if v.TTL == 0 {
		return 2 * time.Hour
	}
	return v.TTL
}

// Put keeps a session, replacing the one before.
func (v *EntraVault) Put(s *entra.Session) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.session = s
}

// Get returns the session while it is fresh.
func (v *EntraVault) Get() (*entra.Session, bool) {
	if v == nil {
		return nil, false
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.session != nil && time.Since(v.session.At) > v.ttl() {
		v.session = nil
	}
	return v.session, v.session != nil
}

// Drop forgets the session.
func (v *EntraVault) Drop() {
	if v == nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.session = nil
}

func (v *EntraVault) putPending(p entra.Pending) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.pending == nil {
		v.pending = map[string]entra.Pending{}
	}
	for k, old := range v.pending {
		if time.Since(old.Started) > entra.PendingTTL {
			delete(v.pending, k)
		}
	}
	v.pending[p.State] = p
}

// takePending returns and forgets the sign-in started with state: a state is
// good for one callback only.
func (v *EntraVault) takePending(state string) (entra.Pending, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	p, ok := v.pending[state]
	delete(v.pending, state)
	return p, ok
}

// EntraConfig is where the console signs in to and which application it uses.
func (s *StoreChecker) EntraConfig() entra.Config { return s.Entra }

// EntraPasswordSignIn signs in with the password grant; the session waits in
// memory for Configure.
func (s *StoreChecker) EntraPasswordSignIn(ctx context.Context, user, password string) (*entra.Session, error) {
	if s.EntraVault == nil {
		return nil, errors.New("setup: no sign-in vault configured")
	}
	sess, err := s.Entra.PasswordSignIn(ctx, user, password)
	if err != nil {
		return nil, err
	}
	s.EntraVault.Put(sess)
	return sess, nil
}

// EntraSession is the signed-in administrator's session while it is in memory.
func (s *StoreChecker) EntraSession() (*entra.Session, bool) { return s.EntraVault.Get() }

// ForgetEntra drops the signed-in session.
func (s *StoreChecker) ForgetEntra() { s.EntraVault.Drop() }

// EntraStart begins an interactive sign-in: the address to send the browser to.
func (s *StoreChecker) EntraStart(ctx context.Context, redirectURI, loginHint string) (string, error) {
	if s.EntraVault == nil {
		return "", errors.New("setup: no sign-in vault configured")
	}
	u, p, err := s.Entra.StartInteractive(ctx, redirectURI, loginHint)
	if err != nil {
		return "", err
	}
	s.EntraVault.putPending(p)
	return u, nil
}

// EntraFinish completes an interactive sign-in from the callback's state and
// code (or the error the identity platform sent instead).
func (s *StoreChecker) EntraFinish(ctx context.Context, state, code string, cbErr *entra.CallbackError) error {
	p, ok := s.EntraVault.takePending(state)
	if !ok {
		return &entra.Error{Msg: "This sign-in answer does not belong to a sign-in hybridsync started, or it was already used (or the server restarted). Select Sign in interactively again."}
	}
	sess, err := s.Entra.FinishInteractive(ctx, p, code, cbErr)
	if err != nil {
		return err
	}
	s.EntraVault.Put(sess)
	return nil
}

// EntraRefreshTenant reads the tenant again: with the signed-in session, or
// else as the sync service account Configure created.
func (s *StoreChecker) EntraRefreshTenant(ctx context.Context, c ConnectEntra) (entra.Tenant, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*s.timeout())
	defer cancel()
	if sess, ok := s.EntraVault.Get(); ok {
		g, err := s.Entra.Graph(sess.TokenSource())
		if err != nil {
			return entra.Tenant{}, err
		}
		return entra.ReadTenant(ctx, g)
	}
	if c.SyncAccount == "" || c.SyncPassword == "" {
		return entra.Tenant{}, &CheckError{Msg: "Sign in on Connect to Microsoft Entra ID first: hybridsync reads the tenant's domains with that sign-in."}
	}
	pw, err := s.Box.OpenFor(secret.PurposeSyncPassword, c.SyncPassword)
	if err != nil {
		return entra.Tenant{}, &CheckError{Msg: "The saved password of the sync service account can't be read (was the secret key replaced?).", Err: err}
	}
	g, err := s.Entra.Graph(s.Entra.SyncTokens(c.SyncAccount, pw))
	if err != nil {
		return entra.Tenant{}, err
	}
	return entra.ReadTenant(ctx, g)
}
