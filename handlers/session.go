package handlers

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/sessions"

	"github.com/hybridsync/hybridsync/engine/auth"
	"github.com/hybridsync/hybridsync/engine/secret"
	"github.com/hybridsync/hybridsync/engine/store"
)

// The session cookie is a gorilla/sessions cookie, signed (HMAC-SHA256) and
// encrypted (AES-256) with keys made once and kept in the store, sealed by the
// secret key. It holds the
// session id, the CSRF token and the time of the last request. The store holds
// only the id's hash and the account, so signing out, or deleting the account,
// ends the session everywhere.
const (
	cookieName = "hybridsync"
	keySID     = "sid"
	keyCSRF    = "csrf"
	keySeen    = "seen"
)

type sessionManager struct {
	cs       *sessions.CookieStore
	st       *store.Store
	idle     time.Duration
	lifetime time.Duration
	// name is the cookie's: with HTTPS, "__Host-hybridsync", which browsers
	// accept only Secure, for this host alone and for every path.
	name string
}

// sessionCookieName is the session cookie's name: the __Host- prefix when
// the cookie is Secure.
func sessionCookieName(secure bool) string {
	if secure {
		return "__Host-" + cookieName
	}
	return cookieName
}

// newSealedSessionManager makes the session manager, its cookie keys read from
// the store, where they are kept sealed by the secret key.
func newSealedSessionManager(ctx context.Context, st *store.Store, box *secret.Box, secure bool, idle, lifetime time.Duration) (*sessionManager, error) {
	hk, bk, err := sessionKeys(ctx, st, box)
	if err != nil {
		return nil, err
	}
	cs := sessions.NewCookieStore(hk, bk)
	// gorilla's defaults are not safe enough: set every flag explicitly.
	cs.Options = &sessions.Options{
		Path:     "/",
		MaxAge:   int(lifetime.Seconds()),
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteLaxMode,
	}
	cs.MaxAge(int(lifetime.Seconds()))
	return &sessionManager{cs: cs, st: st, idle: idle, lifetime: lifetime, name: sessionCookieName(secure)}, nil
}

// sessionKeys returns the cookie hash and block keys: made once, never
// regenerated, and stored sealed for secret.PurposeSessionKeys, so that the
// database alone does not let anyone forge a session cookie. A value kept in
// clear by an earlier version, or sealed with a key that is no longer the
// newest, is read and stored sealed anew — the migration is this code, the
// schema does not change. With a nil box the value is read and made in clear.
func sessionKeys(ctx context.Context, st *store.Store, box *secret.Box) (hashKey, blockKey []byte, err error) {
	stored, err := st.SettingOrCreate(ctx, store.SettingSessionKeys, func() (string, error) {
		keys := auth.Token(64) + "." + auth.Token(32)
		if box == nil {
			return keys, nil
		}
		return box.SealFor(secret.PurposeSessionKeys, keys)
	})
	if err != nil {
		return nil, nil, err
	}
	keys := stored
	if secret.IsSealed(stored) {
		if box == nil {
			return nil, nil, errors.New("handlers: the session keys are sealed, and no secret key was given to open them")
		}
		if keys, err = box.OpenFor(secret.PurposeSessionKeys, stored); err != nil {
			return nil, nil, fmt.Errorf("handlers: unable to open the session keys (was the secret key replaced?): %w", err)
		}
	}
	hashB64, blockB64, ok := strings.Cut(keys, ".")
	hk, err1 := base64.RawURLEncoding.DecodeString(hashB64)
	bk, err2 := base64.RawURLEncoding.DecodeString(blockB64)
	if !ok || err1 != nil || err2 != nil || len(hk) != 64 || len(bk) != 32 {
		return nil, nil, errors.New("handlers: the stored session keys are malformed")
	}
	if box != nil && (!secret.IsSealed(stored) || box.Stale(stored)) {
		sealed, err := box.SealFor(secret.PurposeSessionKeys, keys)
		if err != nil {
			return nil, nil, fmt.Errorf("handlers: unable to seal the session keys: %w", err)
		}
		// Only if unchanged: another console sharing the database may have
		// sealed them first (the keys in clear are the same either way).
		if _, err := st.SwapSetting(ctx, store.SettingSessionKeys, stored, sealed); err != nil {
			return nil, nil, err
		}
	}
	return hk, bk, nil
}

// session is one request's view of its cookie.
type session struct {
	s       *sessions.Session
	account *store.Account
	sidHash string
}

// load reads the cookie and its server-side session. A bad or expired cookie
// simply yields an anonymous session.
func (m *sessionManager) load(r *http.Request) (*session, error) {
	gs, err := m.cs.Get(r, m.name)
	if err != nil {
		// Undecodable (old keys, tampering): start afresh.
		gs, err = m.cs.New(r, m.name)
		if gs == nil {
			return nil, fmt.Errorf("handlers: unable to start a session: %w", err)
		}
	}
	out := &session{s: gs}
	sid, _ := gs.Values[keySID].(string)
	if sid == "" {
		return out, nil
	}
	seen, _ := gs.Values[keySeen].(int64)
	if time.Since(time.Unix(seen, 0)) > m.idle {
		_ = m.st.DeleteSession(r.Context(), auth.HashToken(sid))
		delete(gs.Values, keySID)
		return out, nil
	}
	se, acct, err := m.st.SessionAccount(r.Context(), auth.HashToken(sid))
	if errors.Is(err, store.ErrNotFound) {
		delete(gs.Values, keySID)
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	out.account, out.sidHash = &acct, se.IDHash
	return out, nil
}

// csrf returns the session's CSRF token, making one if needed; it reports
// whether the cookie must be saved.
func (s *session) csrf() (string, bool) {
	if t, ok := s.s.Values[keyCSRF].(string); ok && t != "" {
		return t, false
	}
	t := auth.Token(32)
	s.s.Values[keyCSRF] = t
	return t, true
}

func (s *session) checkCSRF(got string) bool {
	want, _ := s.s.Values[keyCSRF].(string)
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// touch records activity; it reports whether the cookie must be saved (at most
// once a minute, to spare a Set-Cookie on every request, but at least twice per
// idle timeout, or a short one would end an active session).
func (s *session) touch(now time.Time, idle time.Duration) bool {
	seen, _ := s.s.Values[keySeen].(int64)
	every := min(int64(60), int64(idle/2/time.Second))
	if s.account == nil || now.Unix()-seen < every {
		return false
	}
	s.s.Values[keySeen] = now.Unix()
	return true
}

// signIn starts a new server-side session with a new id and a new CSRF token:
// nothing from before sign-in survives it (no session fixation).
func (m *sessionManager) signIn(w http.ResponseWriter, r *http.Request, s *session, accountID int64) error {
	if s.sidHash != "" {
		_ = m.st.DeleteSession(r.Context(), s.sidHash)
	}
	sid := auth.Token(32)
	now := time.Now()
	if err := m.st.CreateSession(r.Context(), store.Session{IDHash: auth.HashToken(sid), AccountID: accountID, CreatedAt: now, ExpiresAt: now.Add(m.lifetime)}); err != nil {
		return err
	}
	s.s.Values = map[any]any{keySID: sid, keyCSRF: auth.Token(32), keySeen: now.Unix()}
	return s.s.Save(r, w)
}

// signOut ends the session here and in the store.
func (m *sessionManager) signOut(w http.ResponseWriter, r *http.Request, s *session) error {
	if s.sidHash != "" {
		if err := m.st.DeleteSession(r.Context(), s.sidHash); err != nil {
			return err
		}
	}
	s.s.Values = map[any]any{keyCSRF: auth.Token(32)}
	return s.s.Save(r, w)
}
