package handlers

import (
	"io/fs"
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/hybridsync/hybridsync/engine/auth"
	"github.com/hybridsync/hybridsync/web"
)

// route is one entry of the route table: every route states what it needs.
type route struct {
	method, pattern string
	access          access
	handle          func(*Handler, http.ResponseWriter, *http.Request)
}

// routeTable is every route of the console. GET never changes state, except
// GET /auth/oidc/callback (see there).
var routeTable = []route{
	{"GET", "/healthz", public, (*Handler).healthz},

	{"GET", "/first-run", public, (*Handler).firstRunPage},
	{"POST", "/first-run", public, (*Handler).firstRun},
	{"GET", "/signin", public, (*Handler).signInPage},
	{"POST", "/signin", public, (*Handler).signIn},
	{"POST", "/signout", signedIn, (*Handler).signOut},
	// Sign-in with the OpenID Connect provider (handlers/oidc.go). The
	// callback is the one GET that changes state: like POST /signin, it finds
	// or creates the account and starts a session. The state parameter, bound
	// to this browser's session cookie by /auth/oidc/start, is its CSRF check.
	{"GET", "/auth/oidc/start", public, (*Handler).oidcStart},
	{"GET", "/auth/oidc/callback", public, (*Handler).oidcCallback},

	{"GET", "/", signedIn, (*Handler).home},
	// Every account changes its own password, whatever its groups.
	{"GET", "/account/password", signedIn, (*Handler).passwordPage},
	{"POST", "/account/password", signedIn, (*Handler).passwordChange},

	// Read-only views: the helpdesk's Browse role and up.
	{"GET", "/config", need(auth.Browse), (*Handler).configPage},
	{"GET", "/jobs", need(auth.Browse), (*Handler).jobsPage},
	{"GET", "/jobs/{id}", need(auth.Browse), (*Handler).jobPage},
	{"GET", "/jobs/{id}/events", need(auth.Browse), (*Handler).jobEvents},
	{"GET", "/sync", need(auth.Browse), (*Handler).syncPage},
	{"GET", "/sync/pending", need(auth.Browse), (*Handler).syncPending},
	{"GET", "/sync/pending.csv", need(auth.Browse), (*Handler).syncPendingCSV},
	{"GET", "/sync/lookup", need(auth.Browse), (*Handler).syncLookup},
	{"GET", "/sync/errors", need(auth.Browse), (*Handler).syncErrors},

	// Running sync: Operators.
	{"POST", "/sync/run", need(auth.Operators), (*Handler).syncRun},

	// The wizard and everything it changes: Administrators.
	{"GET", "/setup", need(auth.Admins), (*Handler).setupResume},
	{"GET", "/setup/{page}", need(auth.Admins), (*Handler).setupPage},
	{"GET", "/setup/ou-filtering/children", need(auth.Admins), (*Handler).ouChildren},
	{"GET", "/setup/single-sign-on/intranet-zone.txt", need(auth.Admins), (*Handler).ssoIntranetZone},
	{"GET", "/setup/ping-settings/export", need(auth.Admins), (*Handler).pingExport},
	{"GET", "/federation/verify", need(auth.Admins), (*Handler).federationVerify},
	{"POST", "/federation/verify", need(auth.Admins), (*Handler).federationVerify},
	{"POST", "/federation/login", need(auth.Admins), (*Handler).federationLogin},
	{"GET", "/federation/login/callback", need(auth.Admins), (*Handler).federationLoginCallback},
	{"GET", "/jobs/{id}/scripts/{file}", need(auth.Admins), (*Handler).jobScript},
	{"POST", "/setup/connect-entra/interactive", need(auth.Admins), (*Handler).entraInteractive},
	{"GET", "/setup/connect-entra/callback", need(auth.Admins), (*Handler).entraCallback},
	{"POST", "/setup/configure", need(auth.Admins), (*Handler).setupConfigure},
	{"POST", "/setup/discard", need(auth.Admins), (*Handler).setupDiscard},
	{"POST", "/setup/{page}", need(auth.Admins), (*Handler).setupSubmit},
	{"POST", "/jobs/{id}/retry", need(auth.Admins), (*Handler).jobRetry},
	{"POST", "/jobs/{id}/cancel", need(auth.Admins), (*Handler).jobCancel},
	{"POST", "/sync/schedule", need(auth.Admins), (*Handler).syncSchedule},
	{"POST", "/sync/guard", need(auth.Admins), (*Handler).syncGuard},
	{"GET", "/config/export", need(auth.Admins), (*Handler).configExport},
	{"GET", "/accounts", need(auth.Admins), (*Handler).accountsPage},
	{"POST", "/accounts", need(auth.Admins), (*Handler).accountCreate},
	{"POST", "/accounts/{id}/groups", need(auth.Admins), (*Handler).accountGroups},
	{"POST", "/accounts/{id}/disable", need(auth.Admins), (*Handler).accountDisable},
	{"POST", "/accounts/{id}/enable", need(auth.Admins), (*Handler).accountEnable},
	{"POST", "/accounts/{id}/end-sessions", need(auth.Admins), (*Handler).accountEndSessions},
	{"GET", "/accounts/{id}/delete", need(auth.Admins), (*Handler).accountDeletePage},
	{"POST", "/accounts/{id}/delete", need(auth.Admins), (*Handler).accountDelete},
	{"GET", "/audit", need(auth.Admins), (*Handler).auditPage},
	{"GET", "/audit.csv", need(auth.Admins), (*Handler).auditCSV},
	{"GET", "/audit.json", need(auth.Admins), (*Handler).auditJSON},
	{"GET", "/accounts/oidc", need(auth.Admins), (*Handler).oidcSettingsPage},
	{"POST", "/accounts/oidc", need(auth.Admins), (*Handler).oidcSettingsSave},
}

// Routes returns the console's router.
func (h *Handler) Routes() http.Handler {
	r := chi.NewRouter()
	// GetHead answers HEAD on every GET route (monitors probe /healthz so).
	r.Use(h.logRequests, securityHeaders, browserZone, middleware.GetHead)

	static, _ := fs.Sub(web.FS, "static")
	r.Method("GET", "/static/*", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))

	r.Group(func(r chi.Router) {
		r.Use(h.loadSession)
		for _, rt := range routeTable {
			handle := rt.handle
			r.Method(rt.method, rt.pattern, h.guard(rt.access, func(w http.ResponseWriter, r *http.Request) { handle(h, w, r) }))
		}
		r.NotFound(h.notFound)
		r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
			h.errorPage(w, r, http.StatusMethodNotAllowed, "Not allowed", "This address does not take that kind of request.")
		})
	})
	return r
}

// cacheStatic lets browsers keep the assets: their names carry their versions.
func cacheStatic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		next.ServeHTTP(w, r)
	})
}

func (h *Handler) healthz(w http.ResponseWriter, r *http.Request) {
	if _, err := h.st.CountAccounts(r.Context()); err != nil {
		h.log.Error("health check failed", "err", err)
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
