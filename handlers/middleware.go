package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hybridsync/hybridsync/engine/auth"
	"github.com/hybridsync/hybridsync/views/ui"
)

// maxBody bounds every request body; the largest legitimate one is a settings
// file upload (setup.MaxExportSize) with the rest of its form.
const maxBody = 2 << 20

// logRequests logs each request with its status and duration. Being the
// outermost middleware, the one every response passes, it also sends
// Strict-Transport-Security when the console is reached over HTTPS.
func (h *Handler) logRequests(next http.Handler) http.Handler {
	hsts := h.cfg.servedOverTLS()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		if hsts {
			w.Header().Set("Strict-Transport-Security", hstsValue)
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p) // the server's own way to abort a response
				}
				h.log.Error("panic", "method", r.Method, "path", r.URL.Path, "user", rec.user, "panic", p)
				if !rec.wrote {
					h.errorPage(rec, r, http.StatusInternalServerError, "Something went wrong", "The request failed. The details are in the server log.")
				}
			}
			if r.URL.Path != "/healthz" && !strings.HasPrefix(r.URL.Path, "/static/") {
				h.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "user", rec.user, "duration", time.Since(start).Round(time.Microsecond))
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
	user   string // set by loadSession: r here has no session in its context
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush and SetWriteDeadline.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// hstsValue tells browsers to use only HTTPS for this host for a year. No
// includeSubDomains: the console's host name may share a domain with sites
// that are not all HTTPS.
const hstsValue = "max-age=31536000"

// servedOverTLS reports whether browsers reach the console over HTTPS: it
// serves TLS itself (Secure, set by --tls-cert), or its public URL, the
// address of a TLS-terminating proxy in front of it, is https.
func (c Config) servedOverTLS() bool {
	return c.Secure || len(c.PublicURL) >= 8 && strings.EqualFold(c.PublicURL[:8], "https://")
}

// securityHeaders sets the headers every response carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		if r.URL.Path != "/healthz" && !strings.HasPrefix(r.URL.Path, "/static/") {
			hd.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// zoneCookie is the cookie in which the console's script tells the browser's
// time zone (an IANA name such as Europe/Paris).
const zoneCookie = "tz"

// zones caches the time zones browsers named: loading one reads tzdata.
var zones sync.Map // name -> *time.Location

// browserZone puts the browser's time zone, when its script has told it,
// into the request's context: every time on the page is shown in it.
func browserZone(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(zoneCookie); err == nil && c.Value != "" && len(c.Value) < 64 {
			loc, ok := zones.Load(c.Value)
			if !ok {
				if l, err := time.LoadLocation(c.Value); err == nil && c.Value != "Local" {
					loc, _ = zones.LoadOrStore(c.Value, l)
				}
			}
			if l, ok := loc.(*time.Location); ok {
				r = r.WithContext(ui.WithZone(r.Context(), l))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// loadSession puts the request's session in its context and, for every
// state-changing method, checks the CSRF token (form field csrf_token, or the
// X-CSRF-Token header that htmx sends).
func (h *Handler) loadSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := h.sessions.load(r)
		if err != nil {
			h.fail(w, r, "Unable to read the session", err)
			return
		}
		_, fresh := s.csrf()
		if s.touch(time.Now(), h.sessions.idle) || fresh {
			if err := s.s.Save(r, w); err != nil {
				h.fail(w, r, "Unable to save the session", err)
				return
			}
		}
		r = r.WithContext(context.WithValue(r.Context(), sessionKey, s))
		if rec, ok := w.(*statusRecorder); ok {
			rec.user = username(r)
		}
		if !safeMethod(r.Method) {
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
			tok := r.Header.Get("X-CSRF-Token")
			if tok == "" {
				var err error
				tok, err = formValue(r, "csrf_token")
				// A body over the limit is cut before its token can be read:
				// say what is wrong rather than "expired".
				var tooBig *http.MaxBytesError
				if tok == "" && errors.As(err, &tooBig) {
					h.log.Warn("request body too large", "method", r.Method, "path", r.URL.Path, "user", username(r))
					h.errorPage(w, r, http.StatusRequestEntityTooLarge, "Too large", msgTooLarge)
					return
				}
			}
			if !s.checkCSRF(tok) {
				h.log.Warn("CSRF token missing or wrong", "method", r.Method, "path", r.URL.Path, "user", username(r))
				h.errorPage(w, r, http.StatusForbidden, "This form has expired",
					"The page was open too long or in another session. Go back, reload the page and try again.")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// msgTooLarge is shown for a body over maxBody.
var msgTooLarge = fmt.Sprintf("The form is larger than %d MiB. A settings file is much smaller; check that you chose the right file.", maxBody>>20)

// formValue reads a form field from a urlencoded or multipart body; the error
// says why the body could not be read.
func formValue(r *http.Request, name string) (string, error) {
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(maxBody)
	} else {
		err = r.ParseForm()
	}
	// PostFormValue, not FormValue: a token in the URL would leak into logs and
	// Referer headers, so it is never accepted from the query string.
	return r.PostFormValue(name), err
}

// access is what a route needs.
type access struct {
	public   bool      // anyone, signed in or not
	role     auth.Role // "" with public false: any signed-in account
	signedIn bool
}

var (
	public   = access{public: true}
	signedIn = access{signedIn: true}
)

func need(r auth.Role) access { return access{role: r} }

func (a access) String() string {
	switch {
	case a.public:
		return "public"
	case a.role == "":
		return "signed in"
	}
	return string(a.role)
}

// guard enforces a route's access.
func (h *Handler) guard(a access, next http.HandlerFunc) http.HandlerFunc {
	if a.public {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request) {
		acct := accountFrom(r)
		if acct == nil {
			if r.Method == http.MethodGet && !isFragment(r) {
				redirect(w, r, "/signin?next="+urlQueryEscape(r.URL.RequestURI()))
				return
			}
			h.errorPage(w, r, http.StatusUnauthorized, "Signed out", "Your session ended. Sign in again.")
			return
		}
		if a.role != "" && !auth.Satisfies(acct.Roles, a.role) {
			names := h.groupNames(r.Context())
			h.log.Warn("forbidden", "method", r.Method, "path", r.URL.Path, "user", acct.Username, "needs", a.role)
			h.errorPage(w, r, http.StatusForbidden, "Not allowed",
				"This needs membership of the "+names[string(a.role)]+" group ("+a.role.Label()+"). Ask an administrator if you need it.")
			return
		}
		next(w, r)
	}
}
