package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/hybridsync/hybridsync/engine/auth"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/schedule"
	"github.com/hybridsync/hybridsync/engine/store"
)

// publicRoutes are the only routes anyone may use without signing in. A new
// public route fails TestRouteTable until it is added here, on purpose.
var publicRoutes = []string{
	"GET /auth/oidc/callback",
	"GET /auth/oidc/start",
	"GET /first-run",
	"GET /healthz",
	"GET /signin",
	"POST /first-run",
	"POST /signin",
}

// outsideRouteTable are the routes Routes() adds beside the route table.
var outsideRouteTable = []string{
	"GET /static/*", // embedded assets, public
}

func TestRouteTable(t *testing.T) {
	e := newEnvWith(t, envOptions{noAccounts: true})
	walked := walkedRoutes(t, e.h)
	var public []string
	for _, key := range walked {
		if slices.Contains(outsideRouteTable, key) {
			continue
		}
		rt, ok := declared(key)
		if !ok {
			t.Errorf("%s is routed but not in routeTable, so it declares no access", key)
			continue
		}
		if rt.access == (access{}) {
			t.Errorf("%s declares no access", key)
		}
		if rt.access.public {
			public = append(public, key)
		}
		if rt.method == http.MethodGet && strings.Contains(rt.pattern, "signout") {
			t.Errorf("%s: signing out changes state, so it must not be a GET", key)
		}
	}
	slices.Sort(public)
	if !slices.Equal(public, publicRoutes) {
		t.Errorf("public routes are %q, want exactly %q", public, publicRoutes)
	}
	for _, rt := range routeTable {
		if key := rt.method + " " + rt.pattern; !slices.Contains(walked, key) {
			t.Errorf("routeTable has %s but the router does not serve it", key)
		}
	}
	for _, key := range outsideRouteTable {
		if !slices.Contains(walked, key) {
			t.Errorf("the router no longer serves %s; update outsideRouteTable", key)
		}
	}
}

// stateChanging lists the walked routes that take anything but GET.
func stateChanging(t *testing.T, e *env) []string {
	var out []string
	for _, key := range walkedRoutes(t, e.h) {
		if !strings.HasPrefix(key, "GET ") {
			out = append(out, key)
		}
	}
	if len(out) < 8 {
		t.Fatalf("only %d state-changing routes walked: %q", len(out), out)
	}
	return out
}

// csrfCase is how to use one state-changing route successfully.
type csrfCase struct {
	path   func(f *csrfFixture) string
	form   func(f *csrfFixture, mode csrfMode) url.Values
	accept func(t *testing.T, f *csrfFixture, mode csrfMode, r *response)
}

type csrfFixture struct {
	e        *env
	c        *client
	failedID int64
}

// wizardPage is the page the saved wizard state is on.
func (f *csrfFixture) wizardPage() string {
	st, err := f.e.h.wiz.Load(context.Background())
	if err != nil {
		panic(err)
	}
	return st.Page
}

// csrfCases has an entry for every state-changing route; TestCSRF fails on a
// route without one.
var csrfCases = map[string]csrfCase{
	"POST /jobs/{id}/cancel": {
		// A finished job: refused as not running, past the CSRF check.
		path: func(f *csrfFixture) string { return fmt.Sprintf("/jobs/%d/cancel", f.failedID) },
		form: func(*csrfFixture, csrfMode) url.Values { return url.Values{} },
		accept: func(t *testing.T, f *csrfFixture, _ csrfMode, r *response) {
			wantStatus(t, r, http.StatusConflict, "cancel a finished job")
		},
	},
	"POST /federation/verify": {
		// Without federation in the configuration: the page says there is
		// nothing to verify, past the CSRF check.
		path: func(*csrfFixture) string { return "/federation/verify" },
		form: func(*csrfFixture, csrfMode) url.Values { return url.Values{} },
		accept: func(t *testing.T, f *csrfFixture, _ csrfMode, r *response) {
			wantStatus(t, r, http.StatusOK, "verify federation")
			if !strings.Contains(string(r.body), "verify-none") {
				t.Fatalf("verify federation without federation:\n%s", r.body)
			}
		},
	},
	"POST /federation/login": {
		// Without federation in the configuration: refused with the reason.
		path: func(*csrfFixture) string { return "/federation/login" },
		form: func(*csrfFixture, csrfMode) url.Values { return url.Values{"login_user": {"someone@contoso.com"}} },
		accept: func(t *testing.T, f *csrfFixture, _ csrfMode, r *response) {
			wantStatus(t, r, http.StatusUnprocessableEntity, "federated login without federation")
		},
	},
	"POST /first-run": {
		path: func(*csrfFixture) string { return "/first-run" },
		form: func(*csrfFixture, csrfMode) url.Values {
			return url.Values{"token": {"whatever"}, "username": {"second"}, "password": {testPassword}, "confirm": {testPassword}}
		},
		accept: func(t *testing.T, f *csrfFixture, _ csrfMode, r *response) {
			wantRedirect(t, r, "/signin", "first run once an account exists")
		},
	},
	"POST /signin": {
		path: func(*csrfFixture) string { return "/signin" },
		form: func(*csrfFixture, csrfMode) url.Values {
			return url.Values{"username": {"admin"}, "password": {testPassword}}
		},
		accept: func(t *testing.T, f *csrfFixture, _ csrfMode, r *response) {
			wantRedirect(t, r, "/", "sign in")
		},
	},
	"POST /signout": {
		path: func(*csrfFixture) string { return "/signout" },
		form: func(*csrfFixture, csrfMode) url.Values { return url.Values{} },
		accept: func(t *testing.T, f *csrfFixture, _ csrfMode, r *response) {
			wantRedirect(t, r, "/signin", "sign out")
			if r := f.c.get("/"); r.status != http.StatusSeeOther {
				t.Fatalf("still signed in after signing out: %d", r.status)
			}
			f.c.signIn("admin")
		},
	},
	"POST /setup/configure": {
		path: func(*csrfFixture) string { return "/setup/configure" },
		form: func(*csrfFixture, csrfMode) url.Values { return url.Values{"action": {"configure"}} },
		accept: func(t *testing.T, f *csrfFixture, _ csrfMode, r *response) {
			id := jobIDFrom(t, r)
			if j := f.e.waitJob(id, 30*time.Second); j.Status != jobs.Succeeded && j.Status != jobs.Warnings {
				t.Fatalf("configure job %d %s: %s", id, j.Status, j.Error)
			}
		},
	},
	"POST /setup/discard": {
		path: func(*csrfFixture) string { return "/setup/discard" },
		form: func(*csrfFixture, csrfMode) url.Values { return url.Values{} },
		accept: func(t *testing.T, f *csrfFixture, _ csrfMode, r *response) {
			// Back to the active configuration, or refused when none was applied yet.
			if !(r.status == http.StatusSeeOther && r.header.Get("Location") == "/") && r.status != http.StatusConflict {
				t.Fatalf("discard the draft: %d %s", r.status, r.header.Get("Location"))
			}
		},
	},
	"POST /setup/{page}": {
		// Back from the page the wizard is on: always reachable, never judged.
		path: func(f *csrfFixture) string { return "/setup/" + f.wizardPage() },
		form: func(*csrfFixture, csrfMode) url.Values { return url.Values{"action": {"back"}} },
		accept: func(t *testing.T, f *csrfFixture, _ csrfMode, r *response) {
			if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/setup/") {
				t.Fatalf("Back: %d to %q, want a redirect to a wizard page", r.status, r.header.Get("Location"))
			}
		},
	},
	"POST /setup/connect-entra/interactive": {
		// With the wizard past Connect to Microsoft Entra ID (the test forests
		// up), the browser is sent to the tenant's sign-in page; before it,
		// to the page the wizard stopped on.
		path: func(*csrfFixture) string { return "/setup/connect-entra/interactive" },
		form: func(*csrfFixture, csrfMode) url.Values { return url.Values{"action": {"interactive"}} },
		accept: func(t *testing.T, f *csrfFixture, _ csrfMode, r *response) {
			st, _ := f.e.h.wiz.Load(context.Background())
			want := testTenant(t).srv.URL + "/organizations/oauth2/v2.0/authorize?"
			if !st.Reachable("connect-entra") {
				want = "/setup/" + st.Page
			}
			if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), want) {
				t.Fatalf("interactive sign-in: %d to %q, want a redirect to %s", r.status, r.location(), want)
			}
		},
	},
	"POST /sync/run": {
		// With a configuration applied (the test forests up), a cycle starts
		// (or the one started a moment ago is still running); before one,
		// the page says there is nothing to synchronize.
		path: func(*csrfFixture) string { return "/sync/run" },
		form: func(*csrfFixture, csrfMode) url.Values { return url.Values{} },
		accept: func(t *testing.T, f *csrfFixture, _ csrfMode, r *response) {
			_, err := f.e.st.ActiveConfiguration(context.Background())
			switch {
			case err != nil:
				wantStatus(t, r, http.StatusUnprocessableEntity, "run a cycle without a configuration")
				if got := r.testid(t, "sync-error"); !strings.Contains(got, "No configuration has been applied yet") {
					t.Errorf("the page says %q", got)
				}
			case r.status == http.StatusConflict:
				if got := r.testid(t, "sync-error"); !strings.Contains(got, "already running") {
					t.Errorf("the page says %q", got)
				}
			default:
				jobIDFrom(t, r)
			}
		},
	},
	"POST /sync/schedule": {
		path: func(*csrfFixture) string { return "/sync/schedule" },
		form: func(_ *csrfFixture, mode csrfMode) url.Values {
			return url.Values{"action": {"interval"}, "interval": {strconv.Itoa(40 + int(mode))}}
		},
		accept: func(t *testing.T, f *csrfFixture, mode csrfMode, r *response) {
			wantRedirect(t, r, "/sync", "change the interval")
			if s, err := schedule.Load(context.Background(), f.e.st); err != nil || s.Interval != time.Duration(40+int(mode))*time.Minute {
				t.Fatalf("schedule %+v, %v", s, err)
			}
		},
	},
	"POST /sync/guard": {
		path: func(*csrfFixture) string { return "/sync/guard" },
		form: func(_ *csrfFixture, mode csrfMode) url.Values {
			return url.Values{"action": {"save"}, "threshold": {strconv.Itoa(600 + int(mode))}, "percent": {"0"}}
		},
		accept: func(t *testing.T, f *csrfFixture, mode csrfMode, r *response) {
			wantRedirect(t, r, "/sync", "change the threshold")
			if g, err := f.e.st.DeletionGuard(context.Background()); err != nil || g.Threshold != 600+int(mode) || !g.Enabled {
				t.Fatalf("guard %+v, %v", g, err)
			}
		},
	},
	"POST /jobs/{id}/retry": {
		path: func(f *csrfFixture) string { return fmt.Sprintf("/jobs/%d/retry", f.failedID) },
		form: func(*csrfFixture, csrfMode) url.Values { return url.Values{} },
		accept: func(t *testing.T, f *csrfFixture, _ csrfMode, r *response) {
			id := jobIDFrom(t, r)
			if id == f.failedID {
				t.Fatalf("retry redirected to the failed job itself")
			}
			if j := f.e.waitJob(id, 30*time.Second); j.RetryOf != f.failedID {
				t.Fatalf("job %d retries %d, want %d", id, j.RetryOf, f.failedID)
			}
		},
	},
	"POST /accounts": {
		path: func(*csrfFixture) string { return "/accounts" },
		form: func(_ *csrfFixture, mode csrfMode) url.Values {
			return url.Values{"username": {"new-" + mode.String()}, "password": {testPassword}, "groups": {"browse"}}
		},
		accept: func(t *testing.T, f *csrfFixture, mode csrfMode, r *response) {
			wantStatus(t, r, http.StatusOK, "add an account")
			a, err := f.e.st.AccountByUsername(context.Background(), "new-"+mode.String())
			if err != nil || !slices.Equal(a.Roles, []string{"browse"}) {
				t.Fatalf("account not created as asked: %+v, %v", a, err)
			}
		},
	},
	"POST /accounts/oidc": {
		// Sign-in with the provider turned off: saved without contacting it.
		path: func(*csrfFixture) string { return "/accounts/oidc" },
		form: func(_ *csrfFixture, mode csrfMode) url.Values {
			return url.Values{"issuer": {"https://idp.example.test/" + mode.String()}, "client_id": {"client"}, "client_secret": {"secret"}, "display_name": {"Example"}}
		},
		accept: func(t *testing.T, f *csrfFixture, mode csrfMode, r *response) {
			wantStatus(t, r, http.StatusOK, "save the sign-in provider")
			p, err := f.e.st.OIDCProvider(context.Background())
			if err != nil || p.Issuer != "https://idp.example.test/"+mode.String() {
				t.Fatalf("provider not saved as asked: %+v, %v", p, err)
			}
		},
	},
	"POST /accounts/{id}/disable": {
		path: func(f *csrfFixture) string { return fmt.Sprintf("/accounts/%d/disable", f.e.ids["helpdesk"]) },
		form: func(*csrfFixture, csrfMode) url.Values { return url.Values{} },
		accept: func(t *testing.T, f *csrfFixture, _ csrfMode, r *response) {
			wantStatus(t, r, http.StatusOK, "disable an account")
			if a, err := f.e.st.AccountByID(context.Background(), f.e.ids["helpdesk"]); err != nil || !a.Disabled {
				t.Fatalf("not disabled: %+v, %v", a, err)
			}
		},
	},
	"POST /accounts/{id}/enable": {
		// Sorted after disable: enables helpdesk again.
		path: func(f *csrfFixture) string { return fmt.Sprintf("/accounts/%d/enable", f.e.ids["helpdesk"]) },
		form: func(*csrfFixture, csrfMode) url.Values { return url.Values{} },
		accept: func(t *testing.T, f *csrfFixture, _ csrfMode, r *response) {
			wantStatus(t, r, http.StatusOK, "enable an account")
			if a, err := f.e.st.AccountByID(context.Background(), f.e.ids["helpdesk"]); err != nil || a.Disabled {
				t.Fatalf("not enabled: %+v, %v", a, err)
			}
		},
	},
	"POST /accounts/{id}/end-sessions": {
		path: func(f *csrfFixture) string { return fmt.Sprintf("/accounts/%d/end-sessions", f.e.ids["operator"]) },
		form: func(*csrfFixture, csrfMode) url.Values { return url.Values{} },
		accept: func(t *testing.T, f *csrfFixture, _ csrfMode, r *response) {
			wantStatus(t, r, http.StatusOK, "end an account's sessions")
		},
	},
	"POST /accounts/{id}/delete": {
		// The first accepted request deletes pwreset; the second, past the
		// CSRF check, finds no account left to delete.
		path: func(f *csrfFixture) string { return fmt.Sprintf("/accounts/%d/delete", f.e.ids["pwreset"]) },
		form: func(*csrfFixture, csrfMode) url.Values { return url.Values{} },
		accept: func(t *testing.T, f *csrfFixture, mode csrfMode, r *response) {
			if mode == csrfField {
				wantStatus(t, r, http.StatusOK, "delete an account")
			} else {
				wantStatus(t, r, http.StatusNotFound, "delete a deleted account")
			}
			if _, err := f.e.st.AccountByID(context.Background(), f.e.ids["pwreset"]); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("not deleted: %v", err)
			}
		},
	},
	"POST /account/password": {
		// Changed and changed back: sign-out's case signs in again with it.
		path: func(*csrfFixture) string { return "/account/password" },
		form: func(_ *csrfFixture, mode csrfMode) url.Values {
			from, to := testPassword, testPassword+" two"
			if mode != csrfField {
				from, to = to, from
			}
			return url.Values{"current": {from}, "password": {to}, "confirm": {to}}
		},
		accept: func(t *testing.T, f *csrfFixture, _ csrfMode, r *response) {
			wantStatus(t, r, http.StatusOK, "change the own password")
			if got := r.testid(t, "flash"); got != msgPasswordChanged {
				t.Fatalf("the page says %q", got)
			}
		},
	},
	"POST /accounts/{id}/groups": {
		path: func(f *csrfFixture) string { return fmt.Sprintf("/accounts/%d/groups", f.e.ids["nobody"]) },
		form: func(_ *csrfFixture, mode csrfMode) url.Values {
			if mode == csrfField {
				return url.Values{"groups": {"browse"}}
			}
			return url.Values{"groups": {"operators"}}
		},
		accept: func(t *testing.T, f *csrfFixture, mode csrfMode, r *response) {
			wantStatus(t, r, http.StatusOK, "change groups")
			want := []string{"browse"}
			if mode != csrfField {
				want = []string{"operators"}
			}
			a, err := f.e.st.AccountByID(context.Background(), f.e.ids["nobody"])
			if err != nil || !slices.Equal(a.Roles, want) {
				t.Fatalf("groups are %v (%v), want %v", a.Roles, err, want)
			}
		},
	},
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := &csrfFixture{e: e, c: e.signedIn("admin")}
	f.failedID = e.startJob(kindFail, nil)
	e.waitJob(f.failedID, 10*time.Second)
	// POST /setup/configure needs a forest: corp, with its existing svc-sync
	// account, added on Connect your directories (where the wizard then is).
	// Without the test forests, only accepting Configure is skipped.
	haveForest := forestsUp(t)
	if haveForest {
		walkToDirectories(f.c)
		f.c.mustAddForest(svcSync(t, corpForest(t)))
	}

	// Another session's perfectly valid token is still the wrong token here.
	other := e.newClient()
	other.get("/signin")
	if other.csrf == "" || other.csrf == f.c.csrf {
		t.Fatalf("no distinct token for the other session")
	}
	refusals := []struct {
		name string
		mode csrfMode
		tok  string
	}{
		{"no token", csrfNone, ""},
		{"empty field", csrfField, ""},
		{"other session's token in the field", csrfField, other.csrf},
		{"other session's token in the header", csrfHeader, other.csrf},
		{"made-up token in the header", csrfHeader, "AAAA" + f.c.csrf[4:]},
	}

	routes := stateChanging(t, e)
	for _, key := range routes {
		if _, ok := csrfCases[key]; !ok {
			t.Errorf("%s has no case in csrfCases: add how to use it", key)
		}
	}
	if t.Failed() {
		return
	}

	before := e.snapshot()
	cookie := f.c.cookie()
	for _, key := range routes {
		tc := csrfCases[key]
		for _, ref := range refusals {
			t.Run("refused/"+key+"/"+ref.name, func(t *testing.T) {
				r := f.c.postWith(ref.mode, ref.tok, tc.path(f), tc.form(f, csrfField))
				wantStatus(t, r, http.StatusForbidden, key)
				if got := r.testid(t, "error-page"); !strings.Contains(got, "This form has expired") {
					t.Errorf("refusal page says %q", got)
				}
			})
		}
	}
	if after := e.snapshot(); after != before {
		t.Errorf("refused requests changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if f.c.cookie() != cookie {
		t.Errorf("a refused request replaced the session cookie")
	}
	if r := f.c.get("/"); r.status != http.StatusOK || r.testid(t, "signed-in-as") != "User admin" {
		t.Fatalf("refused requests ended the session: %d", r.status)
	}

	// Accepted with the token in the form field and in the X-CSRF-Token header.
	// Sign-out goes last: it ends the session the others use.
	slices.SortStableFunc(routes, func(a, b string) int {
		return boolInt(a == "POST /signout") - boolInt(b == "POST /signout")
	})
	for _, key := range routes {
		tc := csrfCases[key]
		for _, mode := range []csrfMode{csrfField, csrfHeader} {
			t.Run("accepted/"+key+"/"+mode.String(), func(t *testing.T) {
				if key == "POST /setup/configure" && !haveForest {
					t.Skip("Configure needs a forest, and the test forests are unavailable")
				}
				f.c.get("/") // the token of this session
				r := f.c.postWith(mode, f.c.csrf, tc.path(f), tc.form(f, mode))
				if r.status == http.StatusForbidden {
					t.Fatalf("refused with a valid token: %s", r.testid(t, "error-page"))
				}
				tc.accept(t, f, mode, r)
			})
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestRoles checks every walked route against every role: a role that the
// route's declared access does not grant gets 403 and changes nothing.
func TestRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	jobID := e.startJob(kindFail, nil)
	e.waitJob(jobID, 10*time.Second)

	clients := map[string]*client{}
	for _, a := range testAccounts {
		clients[a.username] = e.signedIn(a.username)
	}
	anon := e.newClient()
	anon.get("/signin")

	routes := walkedRoutes(t, e.h)
	before := e.snapshot()
	for _, key := range routes {
		if slices.Contains(outsideRouteTable, key) {
			continue
		}
		rt, ok := declared(key)
		if !ok {
			t.Fatalf("%s is not in routeTable", key)
		}
		path := concrete(rt.pattern, jobID, e.ids["admin"], "components")
		for _, a := range testAccounts {
			granted := rt.access.public || rt.access.role == "" || auth.Satisfies(a.roles, rt.access.role)
			c := clients[a.username]
			switch {
			case rt.method == http.MethodGet && granted:
				if r := c.get(path); r.status == http.StatusForbidden || r.status == http.StatusUnauthorized || r.status >= 500 {
					t.Errorf("%s as %s (%v): %d, want it allowed", key, a.username, a.roles, r.status)
				}
			case rt.method == http.MethodGet:
				if r := c.get(path); r.status != http.StatusForbidden {
					t.Errorf("%s as %s (%v): %d, want 403", key, a.username, a.roles, r.status)
				}
			case !granted:
				r := c.post(path, url.Values{"action": {"next"}, "groups": {"admins"}, "username": {"x" + a.username}, "password": {testPassword}})
				if r.status != http.StatusForbidden {
					t.Errorf("%s as %s (%v): %d, want 403", key, a.username, a.roles, r.status)
				} else if got := r.testid(t, "error-page"); !strings.Contains(got, "Not allowed") {
					t.Errorf("%s as %s: the 403 page says %q", key, a.username, got)
				}
			}
		}
		if rt.access.public {
			continue
		}
		// Anonymous: pages redirect to sign-in, everything else is refused.
		if rt.method == http.MethodGet {
			wantRedirect(t, anon.get(path), "/signin?next="+url.QueryEscape(path), "anonymous "+key)
			if r := anon.get(path, "HX-Request", "true"); r.status != http.StatusUnauthorized {
				t.Errorf("anonymous htmx %s: %d, want 401", key, r.status)
			}
		} else {
			if r := anon.post(path, url.Values{"action": {"next"}}); r.status != http.StatusUnauthorized {
				t.Errorf("anonymous %s with a token: %d, want 401", key, r.status)
			}
			if r := anon.postWith(csrfNone, "", path, url.Values{"action": {"next"}}); r.status != http.StatusForbidden {
				t.Errorf("anonymous %s without a token: %d, want 403", key, r.status)
			}
		}
	}
	if after := e.snapshot(); after != before {
		t.Errorf("forbidden requests changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// The same, spelled out for the roles people ask about.
	jobPage := fmt.Sprintf("/jobs/%d", jobID)
	cases := []struct {
		user, method, path string
		want               int
	}{
		{"helpdesk", "GET", "/config", 200},
		{"helpdesk", "GET", "/jobs", 200},
		{"helpdesk", "GET", jobPage, 200},
		{"helpdesk", "GET", "/setup", 403},
		{"helpdesk", "GET", "/setup/components", 403},
		{"helpdesk", "GET", "/accounts", 403},
		{"helpdesk", "GET", "/config/export", 403},
		{"helpdesk", "POST", "/setup/configure", 403},
		{"helpdesk", "POST", "/accounts", 403},
		{"operator", "GET", "/config", 200},
		{"operator", "GET", "/jobs", 200},
		{"operator", "GET", jobPage, 200},
		{"operator", "GET", "/setup", 403},
		{"operator", "GET", "/setup/express", 403},
		{"operator", "POST", "/setup/express", 403},
		{"operator", "POST", "/setup/configure", 403},
		{"operator", "POST", jobPage + "/retry", 403},
		{"pwreset", "GET", "/", 200},
		{"pwreset", "GET", "/config", 403},
		{"pwreset", "GET", "/jobs", 403},
		{"nobody", "GET", "/", 200},
		{"nobody", "GET", "/config", 403},
		{"admin", "GET", "/setup", 303},
		{"admin", "GET", "/accounts", 200},
	}
	for _, tc := range cases {
		var r *response
		if tc.method == "GET" {
			r = clients[tc.user].get(tc.path)
		} else {
			r = clients[tc.user].post(tc.path, url.Values{"action": {"next"}})
		}
		if r.status != tc.want {
			t.Errorf("%s %s as %s: %d, want %d", tc.method, tc.path, tc.user, r.status, tc.want)
		}
	}
	// A Browse user sees no retry button and no export link.
	if r := clients["helpdesk"].get(jobPage); r.find(t, `[data-testid="retry"]`).Length() != 0 {
		t.Errorf("the job page offers Retry to a Browse user")
	}

	// Every role may sign out.
	for _, a := range testAccounts {
		c := clients[a.username]
		wantRedirect(t, c.post("/signout", nil), "/signin", "sign out as "+a.username)
	}
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, envOptions{noAccounts: true})
	r := e.newClient().get("/healthz")
	wantStatus(t, r, http.StatusOK, "healthz")
	if strings.TrimSpace(r.text()) != "ok" {
		t.Errorf("healthz says %q", r.text())
	}
}

func TestSecurityHeadersAndStatic(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient()
	r := c.get("/signin")
	wantStatus(t, r, http.StatusOK, "sign-in page")
	for name, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Cache-Control":          "no-store",
		"Referrer-Policy":        "same-origin",
	} {
		if got := r.header.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	csp := r.header.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("CSP %q lacks %q", csp, d)
		}
	}
	if strings.Contains(csp, "script-src 'self' 'unsafe-inline'") {
		t.Errorf("CSP allows inline scripts: %q", csp)
	}
	// The page loads exactly the pinned assets, and they are served.
	for _, sel := range []string{`script[src]`, `link[rel="stylesheet"]`} {
		r.find(t, sel).Each(func(_ int, s *goquery.Selection) {
			src, ok := s.Attr("src")
			if !ok {
				src, _ = s.Attr("href")
			}
			a := c.get(src)
			if a.status != http.StatusOK || len(a.body) == 0 {
				t.Errorf("asset %s: %d, %d bytes", src, a.status, len(a.body))
			}
		})
	}
	js := c.get("/static/vendor/htmx-2.0.11.min.js")
	wantStatus(t, js, http.StatusOK, "htmx")
	if ct := js.header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("htmx served as %q", ct)
	}
	if !strings.Contains(js.text(), "htmx") {
		t.Errorf("htmx asset does not look like htmx")
	}
	if js.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("assets lack nosniff")
	}
	if cc := js.header.Get("Cache-Control"); !strings.Contains(cc, "max-age") {
		t.Errorf("assets are not cacheable: %q", cc)
	}
	if r := c.get("/static/nope.js"); r.status != http.StatusNotFound {
		t.Errorf("missing asset: %d", r.status)
	}
	// Unknown pages and methods get pages of their own, never a 500.
	if r := c.get("/no/such/page"); r.status != http.StatusNotFound || r.testid(t, "error-page") == "" {
		t.Errorf("unknown page: %d", r.status)
	}
	req := c.newRequest(http.MethodDelete, "/accounts", nil, "X-CSRF-Token", c.csrf)
	if r := c.do(req); r.status != http.StatusMethodNotAllowed && r.status != http.StatusForbidden {
		t.Errorf("DELETE /accounts: %d", r.status)
	}
}
