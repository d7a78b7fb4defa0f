// Package handlers is the console's HTTP side: the route table, middleware
// (sessions, CSRF, roles), form binding, rendering and the SSE streams.
package handlers

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/a-h/templ"
	"golang.org/x/time/rate"

	"github.com/hybridsync/hybridsync/engine/auth"
	"github.com/hybridsync/hybridsync/engine/cloud"
	"github.com/hybridsync/hybridsync/engine/configure"
	"github.com/hybridsync/hybridsync/engine/cycle"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/secret"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
	"github.com/hybridsync/hybridsync/views/console"
	"github.com/hybridsync/hybridsync/views/layout"
)

// Config are the console's settings.
type Config struct {
	DataDir   string
	InstallID string
	// Secure marks cookies Secure; set when the console is served over TLS.
	Secure          bool
	IdleTimeout     time.Duration
	SessionLifetime time.Duration
	// SignInRate and SignInBurst bound failed sign-in attempts per client
	// address, across all accounts (throttle.go; per account and client there
	// is also a backoff).
	SignInRate  rate.Limit
	SignInBurst int
	// SSEPing is how often an idle event stream sends a keep-alive comment.
	SSEPing time.Duration
	// Scheduler is whether this server runs cycles on the schedule, and how
	// often it checks: the Overview says when the next cycle runs.
	Scheduler configure.Scheduler
	// PublicURL is the console's address as browsers reach it (scheme://host[:port]),
	// for the addresses sign-in providers send the browser back to; empty: the
	// address each request came to.
	PublicURL string
}

func (c *Config) defaults() {
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 30 * time.Minute
	}
	if c.SessionLifetime == 0 {
		c.SessionLifetime = 12 * time.Hour
	}
	if c.SignInRate == 0 {
		c.SignInRate = rate.Every(6 * time.Second)
	}
	if c.SignInBurst == 0 {
		c.SignInBurst = 10
	}
	if c.SSEPing == 0 {
		c.SSEPing = 15 * time.Second
	}
}

// Handler serves the console.
type Handler struct {
	cfg      Config
	st       *store.Store
	box      *secret.Box
	runner   *jobs.Runner
	wiz      *setup.Wizard
	sessions *sessionManager
	limiter  *signInLimiter
	oidc     *oidcClient // sign-in with an OpenID Connect provider
	log      *slog.Logger
	done     chan struct{}
	// configureMu makes "no configure job is queued or running, so start one"
	// one step: two Configure requests at once would otherwise both start.
	configureMu sync.Mutex
	// fedLogins are the federated login checks (memory only).
	fedLogins fedLogins
	// tenant is the Graph client the lookup reads the tenant with, kept
	// with its token for the configuration and account it was made for.
	tenant struct {
		sync.Mutex
		key string
		g   *cloud.Client
	}
	// reviews are the staging review's pages and errorPages the sync
	// errors', kept until what they show changes (stampcache.go).
	reviews    stampCache[reviewKey, cycle.PendingReview]
	errorPages stampCache[store.SyncErrorFilter, errorPage]
}

// Deps are the Handler's dependencies.
type Deps struct {
	Store   *store.Store
	Box     *secret.Box
	Runner  *jobs.Runner
	Checker setup.Checker
	// RootCAs are the CA certificates trusted for the OpenID Connect sign-in
	// provider (discovery, keys, token); nil: the system's.
	RootCAs *x509.CertPool
	Log     *slog.Logger
}

// New makes the console's handler.
func New(ctx context.Context, cfg Config, d Deps) (*Handler, error) {
	cfg.defaults()
	sm, err := newSealedSessionManager(ctx, d.Store, d.Box, cfg.Secure || cfg.servedOverTLS(), cfg.IdleTimeout, cfg.SessionLifetime)
	if err != nil {
		return nil, err
	}
	return &Handler{
		cfg: cfg, st: d.Store, box: d.Box, runner: d.Runner, log: d.Log,
		wiz:      &setup.Wizard{Store: d.Store, Box: d.Box, Checker: d.Checker},
		sessions: sm,
		limiter:  newSignInLimiter(cfg.SignInRate, cfg.SignInBurst),
		oidc:     newOIDCClient(d.RootCAs),
		done:     make(chan struct{}),
	}, nil
}

// Close ends the open event streams, so that a graceful shutdown does not wait
// for them.
func (h *Handler) Close() {
	select {
	case <-h.done:
	default:
		close(h.done)
	}
}

type ctxKey int

const sessionKey ctxKey = 0

func sessionFrom(r *http.Request) *session {
	s, _ := r.Context().Value(sessionKey).(*session)
	return s
}

func accountFrom(r *http.Request) *store.Account {
	if s := sessionFrom(r); s != nil {
		return s.account
	}
	return nil
}

func username(r *http.Request) string {
	if a := accountFrom(r); a != nil {
		return a.Username
	}
	return ""
}

// layoutProps is the frame of every page.
func (h *Handler) layoutProps(r *http.Request, title, nav string) layout.Props {
	p := layout.Props{Title: title, Nav: nav}
	s := sessionFrom(r)
	if s == nil {
		return p
	}
	p.CSRF, _ = s.csrf()
	if a := s.account; a != nil {
		names := h.groupNames(r.Context())
		var groups []string
		for _, role := range a.Roles {
			groups = append(groups, names[role])
		}
		sort.Strings(groups)
		p.User = &layout.User{
			Name:       a.DisplayName,
			Groups:     strings.Join(groups, ", "),
			CanSetup:   auth.Satisfies(a.Roles, auth.Admins),
			CanBrowse:  auth.Satisfies(a.Roles, auth.Browse),
			CanAccount: auth.Satisfies(a.Roles, auth.Admins),
		}
	}
	return p
}

// groupNames returns the sync groups' names by role: the configured ones, or
// the defaults before the first configure.
func (h *Handler) groupNames(ctx context.Context) map[string]string {
	out := map[string]string{}
	for r, n := range auth.DefaultGroupNames {
		out[string(r)] = n
	}
	if names, err := h.st.SyncGroups(ctx); err == nil {
		for r, n := range names {
			out[r] = n
		}
	}
	return out
}

// isFragment reports whether htmx asked for a fragment: an htmx request that is
// not a boosted navigation. Boosted requests get the full page, like a browser
// without JavaScript.
func isFragment(r *http.Request) bool {
	return r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Boosted") != "true"
}

// render writes a component with a status.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	// The page is rendered whole, then written at once: a table of 200 rows
	// written as templ renders it costs a system call every 4 KB.
	buf := renderBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledRender {
			buf.Reset()
			renderBuffers.Put(buf)
		}
	}()
	if err := c.Render(r.Context(), buf); err != nil {
		if !errors.Is(err, context.Canceled) {
			h.log.Error("render failed", "method", r.Method, "path", r.URL.Path, "user", username(r), "err", err)
		}
		http.Error(w, "The page could not be shown. The details are in the server log.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes()) // a client gone away is no error of ours
}

// renderBuffers are the buffers pages render into; one grown past
// maxPooledRender (a CSV-sized page) is left to the collector.
var renderBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledRender = 1 << 20

// fail logs an unexpected error and shows a page that says what failed, never
// the raw error.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	h.log.Error(what, "method", r.Method, "path", r.URL.Path, "user", username(r), "err", err)
	h.errorPage(w, r, http.StatusInternalServerError, "Something went wrong", what+". The details are in the server log.")
}

func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, status int, heading, msg string) {
	h.render(w, r, status, console.Error(console.ErrorProps{Layout: h.layoutProps(r, heading, ""), Status: status, Heading: heading, Message: msg}))
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.errorPage(w, r, http.StatusNotFound, "Not found", "There is no page at this address.")
}

// redirect sends a 303 See Other; htmx follows it like a browser.
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}
