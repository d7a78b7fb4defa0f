package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/hybridsync/hybridsync/engine/audit"
	"github.com/hybridsync/hybridsync/engine/auth"
	"github.com/hybridsync/hybridsync/engine/store"
)

// auditOf returns the audit trail's events of one action, newest first.
func auditOf(t testing.TB, e *env, action string) []store.AuditEvent {
	t.Helper()
	evs, err := e.st.AuditEvents(context.Background(), store.AuditFilter{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// wantAudit fails unless the newest event of action is by actor, on target,
// with outcome, and its detail holds detail.
func wantAudit(t testing.TB, e *env, action, actor, target, outcome, detail string) {
	t.Helper()
	evs := auditOf(t, e, action)
	if len(evs) == 0 {
		t.Fatalf("no %s event in the audit trail", action)
	}
	ev := evs[0]
	if ev.Actor != actor || ev.Target != target || ev.Outcome != outcome || !strings.Contains(ev.Detail, detail) || ev.Client == "" {
		t.Fatalf("newest %s event: %+v; want actor %q, target %q, outcome %q, detail with %q", action, ev, actor, target, outcome, detail)
	}
}

// signedOut reports whether the client's session has ended.
func (c *client) signedOut() bool {
	c.t.Helper()
	r := c.get("/")
	return r.status == http.StatusSeeOther && strings.HasPrefix(r.location(), "/signin")
}

// TestAccountActions runs each action on the operator's row, as an htmx
// request (the row comes back) and as a plain form post (the page comes back).
func TestAccountActions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.signedIn("admin")
	ctx := context.Background()
	var operator []*client // the operator's browsers

	steps := []struct {
		name, action string
		before       func(t *testing.T) // sets the scene
		row, flash   string             // the row's message (htmx), the page's (plain)
		auditAction  string
		auditDetail  string
		after        func(t *testing.T, r *response, hx bool)
	}{
		{
			name: "end sessions", action: "end-sessions",
			before: func(t *testing.T) { operator = []*client{e.signedIn("operator"), e.signedIn("operator")} },
			row:    "Ended 2 sessions.", flash: "Ended 2 sessions of operator.",
			auditAction: audit.AccountSessions, auditDetail: "ended 2 sessions",
			after: func(t *testing.T, r *response, _ bool) {
				for i, c := range operator {
					if !c.signedOut() {
						t.Errorf("the operator's browser %d is still signed in", i)
					}
				}
				if got := r.testid(t, "sessions-operator"); got != "0" {
					t.Errorf("the row shows %q sessions, want 0", got)
				}
			},
		},
		{
			name: "disable", action: "disable",
			before: func(t *testing.T) { operator = []*client{e.signedIn("operator")} },
			row:    "Disabled; ended 1 session.", flash: "Disabled operator; ended 1 session.",
			auditAction: audit.AccountOff, auditDetail: "ended 1 session",
			after: func(t *testing.T, r *response, _ bool) {
				if !operator[0].signedOut() {
					t.Error("the disabled account's session still works")
				}
				if got := r.testid(t, "disabled-operator"); got != "Disabled" {
					t.Errorf("the row's status says %q", got)
				}
				if r.find(t, `[data-testid="enable-operator"]`).Length() != 1 || r.find(t, `[data-testid="disable-operator"]`).Length() != 0 {
					t.Error("a disabled account's row offers Disable, or no Enable")
				}
				c := e.newClient()
				c.get("/signin")
				wantStatus(t, c.post("/signin", url.Values{"username": {"operator"}, "password": {testPassword}}), http.StatusUnauthorized, "sign in as a disabled account")
				if a, err := e.st.AccountByID(ctx, e.ids["operator"]); err != nil || !a.Disabled {
					t.Errorf("stored %+v, %v; want disabled", a, err)
				}
			},
		},
		{
			name: "enable", action: "enable",
			row: "Enabled.", flash: "Enabled operator.",
			auditAction: audit.AccountOn,
			after: func(t *testing.T, r *response, _ bool) {
				if r.find(t, `[data-testid="disabled-operator"]`).Length() != 0 || r.find(t, `[data-testid="disable-operator"]`).Length() != 1 {
					t.Error("an enabled account's row shows Disabled, or offers no Disable")
				}
				c := e.signedIn("operator") // fails the test unless it can
				wantRedirect(t, c.post("/signout", nil), "/signin", "sign out")
			},
		},
	}
	for _, hx := range []bool{true, false} {
		var hdr []string
		mode := "plain form post"
		if hx {
			hdr, mode = []string{"HX-Request", "true"}, "htmx"
		}
		for _, s := range steps {
			t.Run(mode+"/"+s.name, func(t *testing.T) {
				if s.before != nil {
					s.before(t)
				}
				admin.get("/accounts")
				r := admin.post(fmt.Sprintf("/accounts/%d/%s", e.ids["operator"], s.action), nil, hdr...)
				wantStatus(t, r, http.StatusOK, s.name)
				if hx {
					if !strings.HasPrefix(strings.TrimSpace(r.text()), "<tr") {
						t.Fatalf("the fragment is not a row: %.80q", r.text())
					}
					if got := r.testid(t, "row-msg-operator"); got != s.row {
						t.Errorf("the row says %q, want %q", got, s.row)
					}
				} else {
					if got := r.testid(t, "flash"); got != s.flash {
						t.Errorf("the page says %q, want %q", got, s.flash)
					}
					if got := r.header.Get("HX-Push-Url"); got != "/accounts" {
						t.Errorf("HX-Push-Url %q", got)
					}
				}
				wantAudit(t, e, s.auditAction, "admin", "operator", audit.Succeeded, s.auditDetail)
				s.after(t, r, hx)
			})
		}
	}
}

func TestAccountsPageRows(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.signedIn("admin")
	e.signedIn("helpdesk")
	e.signedIn("helpdesk")
	if _, err := e.st.DisableAccount(context.Background(), e.ids["nobody"]); err != nil {
		t.Fatal(err)
	}
	r := admin.get("/accounts")
	wantStatus(t, r, http.StatusOK, "accounts page")
	for user, want := range map[string]string{"admin": "1", "helpdesk": "2", "operator": "0", "nobody": "0"} {
		if got := r.testid(t, "sessions-"+user); got != want {
			t.Errorf("%s: %q sessions shown, want %s", user, got, want)
		}
	}
	cases := []struct {
		testid string
		want   bool
	}{
		{"disable-helpdesk", true},
		{"delete-helpdesk", true},
		{"end-sessions-helpdesk", true},
		{"disabled-nobody", true},
		{"enable-nobody", true},
		{"disable-nobody", false},
		{"disabled-helpdesk", false},
		// No way to lock oneself out from one's own row.
		{"disable-admin", false},
		{"delete-admin", false},
		{"self-admin", true},
		{"end-sessions-admin", true},
	}
	for _, tc := range cases {
		if got := r.find(t, `[data-testid="`+tc.testid+`"]`).Length() == 1; got != tc.want {
			t.Errorf("%s shown = %v, want %v", tc.testid, got, tc.want)
		}
	}
	// Every action form carries the CSRF token and works without JavaScript.
	r.find(t, `td form[hx-post]`).Each(func(_ int, f *goquery.Selection) {
		if f.AttrOr("method", "") != "post" || f.AttrOr("action", "") != f.AttrOr("hx-post", "") {
			t.Errorf("form %s has no plain post fallback", f.AttrOr("hx-post", ""))
		}
		if f.Find(`input[name="csrf_token"]`).AttrOr("value", "") == "" {
			t.Errorf("form %s has no CSRF token", f.AttrOr("hx-post", ""))
		}
	})
	if href := r.find(t, `[data-testid="delete-helpdesk"]`).AttrOr("href", ""); href != fmt.Sprintf("/accounts/%d/delete", e.ids["helpdesk"]) {
		t.Errorf("Delete links to %q", href)
	}
}

// TestAccountSelfRefused: an administrator can't disable or delete their own
// account from the console; nothing changes, the refusal is recorded.
func TestAccountSelfRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// A second administrator: the refusal is about oneself, not the last one.
	e.ids["admin2"] = e.createAccount("admin2", string(auth.Admins))
	admin := e.signedIn("admin")
	self := fmt.Sprintf("/accounts/%d/", e.ids["admin"])
	cases := []struct {
		name, path  string
		hdr         []string
		sel, msg    string
		auditAction string
	}{
		{"disable, htmx", self + "disable", []string{"HX-Request", "true"}, `[data-testid="row-msg-admin"]`, msgSelf("disable"), audit.AccountOff},
		{"disable, plain", self + "disable", nil, `[data-testid="accounts-error"]`, msgSelf("disable"), audit.AccountOff},
		{"delete, htmx", self + "delete", []string{"HX-Request", "true"}, `[data-testid="row-msg-admin"]`, msgSelf("delete"), audit.AccountDrop},
		{"delete, plain", self + "delete", nil, `[data-testid="delete-error"]`, msgSelf("delete"), audit.AccountDrop},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.snapshot()
			admin.get("/accounts")
			r := admin.post(tc.path, nil, tc.hdr...)
			wantStatus(t, r, http.StatusUnprocessableEntity, tc.name)
			if got := strings.TrimSpace(r.find(t, tc.sel).Text()); got != tc.msg {
				t.Errorf("the page says %q, want %q", got, tc.msg)
			}
			if after := e.snapshot(); after != before {
				t.Errorf("a refused action changed the store:\n%s\n%s", before, after)
			}
			if admin.signedOut() {
				t.Fatal("the refused action signed the administrator out")
			}
			wantAudit(t, e, tc.auditAction, "admin", "admin", audit.Refused, "own account")
		})
	}
	// The confirmation page says so up front, and offers no Delete button.
	r := admin.get(self + "delete")
	wantStatus(t, r, http.StatusOK, "delete page for oneself")
	if got := r.testid(t, "delete-error"); got != msgSelf("delete") {
		t.Errorf("the page says %q", got)
	}
	if r.find(t, `[data-testid="confirm-delete"]`).Length() != 0 {
		t.Error("the page offers to delete one's own account")
	}
}

// TestAccountEndOwnSessions: ending one's own sessions ends the others, and
// this browser goes on with a fresh session and token.
func TestAccountEndOwnSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin, other := e.signedIn("admin"), e.signedIn("admin")
	old := admin.cookie()
	admin.get("/accounts")
	r := admin.post(fmt.Sprintf("/accounts/%d/end-sessions", e.ids["admin"]), nil)
	wantStatus(t, r, http.StatusOK, "end own sessions")
	if got := r.testid(t, "flash"); got != "Ended every other session of your account (1 session); this browser stays signed in." {
		t.Errorf("flash %q", got)
	}
	if !other.signedOut() {
		t.Error("the other browser is still signed in")
	}
	if admin.cookie() == old {
		t.Error("the session cookie was not renewed")
	}
	// The page's new token works at once.
	wantStatus(t, admin.post(fmt.Sprintf("/accounts/%d/end-sessions", e.ids["operator"]), nil), http.StatusOK, "next action with the new token")
	wantAudit(t, e, audit.AccountSessions, "admin", "operator", audit.Succeeded, "ended 0 sessions")
	evs := auditOf(t, e, audit.AccountSessions)
	if len(evs) != 2 || evs[1].Target != "admin" || !strings.Contains(evs[1].Detail, "ended 1 session") {
		t.Errorf("audit events %+v", evs)
	}
	// As htmx, the page is reloaded whole: its token is gone with the session.
	r = admin.post(fmt.Sprintf("/accounts/%d/end-sessions", e.ids["admin"]), nil, "HX-Request", "true")
	wantStatus(t, r, http.StatusOK, "end own sessions, htmx")
	if r.header.Get("HX-Refresh") != "true" {
		t.Error("no HX-Refresh for htmx")
	}
	if admin.signedOut() {
		t.Error("ending one's own sessions signed this browser out")
	}
}

func TestAccountDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	admin := e.signedIn("admin")
	helpdesk := e.signedIn("helpdesk")
	path := fmt.Sprintf("/accounts/%d/delete", e.ids["helpdesk"])

	// GET asks, and changes nothing.
	before := e.snapshot()
	r := admin.get(path)
	wantStatus(t, r, http.StatusOK, "delete page")
	if !strings.Contains(r.testid(t, "delete-account-page"), "Its 1 live session ends now.") {
		t.Errorf("the page does not count the sessions:\n%s", r.testid(t, "delete-account-page"))
	}
	if r.find(t, `form[action="`+path+`"] [data-testid="confirm-delete"]`).Length() != 1 {
		t.Fatal("no confirmation form")
	}
	if after := e.snapshot(); after != before {
		t.Fatalf("GET changed the store:\n%s\n%s", before, after)
	}

	r = admin.post(path, nil)
	wantStatus(t, r, http.StatusOK, "delete")
	if got := r.testid(t, "flash"); got != "Deleted helpdesk." {
		t.Errorf("flash %q", got)
	}
	if r.find(t, `[data-testid="account-helpdesk"]`).Length() != 0 {
		t.Error("the page still lists helpdesk")
	}
	if _, err := e.st.AccountByUsername(ctx, "helpdesk"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("helpdesk: %v, want ErrNotFound", err)
	}
	if !helpdesk.signedOut() {
		t.Error("the deleted account's session still works")
	}
	wantAudit(t, e, audit.AccountDrop, "admin", "helpdesk", audit.Succeeded, "groups: ADSyncBrowse")
	// Again: there is nothing left to delete.
	wantStatus(t, admin.post(path, nil), http.StatusNotFound, "delete again")
	wantStatus(t, admin.get(path), http.StatusNotFound, "delete page of a deleted account")

	// As htmx, the row is replaced by a line that says so.
	r = admin.post(fmt.Sprintf("/accounts/%d/delete", e.ids["nobody"]), nil, "HX-Request", "true")
	wantStatus(t, r, http.StatusOK, "delete, htmx")
	if got := r.testid(t, "deleted-nobody"); got != "Deleted nobody." {
		t.Errorf("the row says %q", got)
	}
}

// TestAccountActionsForbidden: only administrators manage accounts.
func TestAccountActionsForbidden(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	victim := e.signedIn("helpdesk")
	before := e.snapshot()
	for _, user := range []string{"helpdesk", "operator", "pwreset", "nobody"} {
		c := e.signedIn(user)
		for _, action := range []string{"disable", "enable", "delete", "end-sessions"} {
			path := fmt.Sprintf("/accounts/%d/%s", e.ids["helpdesk"], action)
			if r := c.post(path, nil); r.status != http.StatusForbidden {
				t.Errorf("POST %s as %s: %d, want 403", path, user, r.status)
			}
		}
		if r := c.get(fmt.Sprintf("/accounts/%d/delete", e.ids["operator"])); r.status != http.StatusForbidden {
			t.Errorf("GET the delete page as %s: %d, want 403", user, r.status)
		}
	}
	if after := e.snapshot(); after != before {
		t.Errorf("forbidden requests changed the store:\n%s\n%s", before, after)
	}
	if victim.signedOut() {
		t.Error("a forbidden request ended helpdesk's session")
	}
}

// TestAdminsDisablingEachOther: two administrators, each disabling or
// deleting the other at the same moment, leave one enabled administrator; the
// second request is refused with the reason, or finds its session already
// ended (401).
func TestAdminsDisablingEachOther(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	const rounds = 30
	refused := 0
	for round := range rounds {
		// A fresh pair each round (a deleted one can't come back), and the
		// previous round's survivor no longer an administrator.
		names := [2]string{fmt.Sprintf("a%d", round), fmt.Sprintf("b%d", round)}
		for _, n := range names {
			e.ids[n] = e.createAccount(n, string(auth.Admins))
		}
		accts, err := e.st.Accounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range accts {
			if a.Username != names[0] && a.Username != names[1] {
				if err := e.st.SetRoles(ctx, a.ID, nil, "test"); err != nil {
					t.Fatal(err)
				}
			}
		}
		clients := []*client{e.signedIn(names[0]), e.signedIn(names[1])}
		action := []string{"disable", "delete"}[round%2]
		reqs := make([]*http.Request, 2)
		for i, c := range clients {
			form := url.Values{"csrf_token": {c.csrf}}
			reqs[i] = c.newRequest(http.MethodPost, fmt.Sprintf("/accounts/%d/%s", e.ids[names[1-i]], action), strings.NewReader(form.Encode()), "HX-Request", "true")
			reqs[i].Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		results := race(clients, reqs)

		enabled := 0
		for _, n := range names {
			a, err := e.st.AccountByID(ctx, e.ids[n])
			if err == nil && !a.Disabled {
				enabled++
			}
		}
		if enabled != 1 {
			t.Fatalf("round %d (%s): %d enabled administrators left, want 1; answers %d, %d", round, action, enabled, results[0].status, results[1].status)
		}
		ok := 0
		for _, r := range results {
			if r.err != nil {
				t.Fatalf("round %d: %v", round, r.err)
			}
			switch r.status {
			case http.StatusOK:
				ok++
			case http.StatusUnprocessableEntity:
				refused++
				if !strings.Contains(r.body, "needs at least one administrator") {
					t.Fatalf("round %d: refused without saying why:\n%s", round, r.body)
				}
			case http.StatusUnauthorized:
				// Its session ended with its account before it was let in.
			default:
				t.Fatalf("round %d: answer %d:\n%s", round, r.status, r.body)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d requests succeeded, want 1", round, ok)
		}
	}
	t.Logf("%d of %d rounds refused by the last-administrator check, the rest by the ended session", refused, rounds)
	if n := len(auditOf(t, e, "account")); n < rounds {
		t.Errorf("%d account events recorded for %d rounds", n, rounds)
	}
}
