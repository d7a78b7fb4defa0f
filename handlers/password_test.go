package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hybridsync/hybridsync/engine/audit"
	"github.com/hybridsync/hybridsync/engine/auth"
)

// TestPasswordPageEveryRole: every account, whatever its groups, reaches its
// password page from the user menu.
func TestPasswordPageEveryRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, a := range testAccounts {
		c := e.signedIn(a.username)
		home := c.get("/")
		if href := home.find(t, `[data-testid="change-password-link"]`).AttrOr("href", ""); href != "/account/password" {
			t.Errorf("%s: the user menu links to %q", a.username, href)
		}
		r := c.get("/account/password")
		wantStatus(t, r, http.StatusOK, "password page as "+a.username)
		if r.find(t, `form[data-testid="change-password"][action="/account/password"]`).Length() != 1 {
			t.Errorf("%s: no password form", a.username)
		}
	}
}

// storedPasswordIs reports whether the account's stored hash matches pw.
func storedPasswordIs(t *testing.T, e *env, user, pw string) bool {
	t.Helper()
	a, err := e.st.AccountByUsername(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	ok, err := auth.CheckPassword(a.PasswordHash, pw)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestPasswordChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const newPassword = "a brand new passphrase"
	older := e.signedIn("operator") // another browser, signed in earlier
	c := e.signedIn("operator")
	c.get("/account/password")

	bad := []struct {
		name                    string
		current, password, conf string
		field, msg, outcome     string
	}{
		{"wrong current password", "not my password at all", newPassword, newPassword, "current", "This is not your current password.", audit.Failed},
		{"no current password", "", newPassword, newPassword, "current", "Enter your current password.", audit.Refused},
		{"too short", testPassword, "short", "short", "password", "Use at least 12 characters.", audit.Refused},
		{"holds the username", testPassword, "the operator of the year", "the operator of the year", "password", "The password must not contain the username.", audit.Refused},
		{"same as the current one", testPassword, testPassword, testPassword, "password", "Choose a password other than your current one.", audit.Refused},
		{"not confirmed", testPassword, newPassword, newPassword + "!", "confirm", "The passwords don't match.", audit.Refused},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			r := c.post("/account/password", url.Values{"current": {tc.current}, "password": {tc.password}, "confirm": {tc.conf}})
			wantStatus(t, r, http.StatusUnprocessableEntity, tc.name)
			if got := r.testid(t, "error-"+tc.field); got != tc.msg {
				t.Errorf("error-%s says %q, want %q", tc.field, got, tc.msg)
			}
			if !storedPasswordIs(t, e, "operator", testPassword) {
				t.Fatal("a refused change changed the password")
			}
			if older.signedOut() || c.signedOut() {
				t.Fatal("a refused change ended a session")
			}
			wantAudit(t, e, audit.AccountPassword, "operator", "operator", tc.outcome, "")
		})
	}

	oldCookie := c.cookie()
	r := c.post("/account/password", url.Values{"current": {testPassword}, "password": {newPassword}, "confirm": {newPassword}})
	wantStatus(t, r, http.StatusOK, "change the password")
	if got := r.testid(t, "flash"); got != msgPasswordChanged {
		t.Errorf("the page says %q", got)
	}
	if !storedPasswordIs(t, e, "operator", newPassword) {
		t.Fatal("the new password is not stored")
	}
	// This browser stays signed in, on a new session; the other one is out.
	if c.signedOut() {
		t.Fatal("changing the password signed this browser out")
	}
	if c.cookie() == oldCookie {
		t.Error("the session was not renewed")
	}
	if !older.signedOut() {
		t.Error("the older session survived the password change")
	}
	wantAudit(t, e, audit.AccountPassword, "operator", "operator", audit.Succeeded, "ended 1 session besides this one")
	// The page's new token works.
	c.get("/account/password")
	wantStatus(t, c.post("/account/password", url.Values{"current": {"nope"}}), http.StatusUnprocessableEntity, "a post with the new token")

	// The new password signs in; the old one does not.
	s := e.newClient()
	s.get("/signin")
	wantStatus(t, s.post("/signin", url.Values{"username": {"operator"}, "password": {testPassword}}), http.StatusUnauthorized, "old password")
	wantStatus(t, s.post("/signin", url.Values{"username": {"operator"}, "password": {newPassword}}), http.StatusSeeOther, "new password")

	// No password, right or wrong, ever reaches the audit trail.
	for _, ev := range auditOf(t, e, audit.AccountPassword) {
		for _, pw := range []string{testPassword, newPassword, "not my password at all", "the operator of the year"} {
			if strings.Contains(ev.Detail+ev.Target, pw) {
				t.Errorf("audit event %d holds a password: %+v", ev.ID, ev)
			}
		}
	}
}

// TestPasswordChangeThrottled: guesses at the current password are throttled
// with sign-in's limiter, per account and client, and count towards sign-in.
func TestPasswordChangeThrottled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ids["guesser"] = e.createAccount("guesser", string(auth.Browse))
	c := e.signedIn("guesser")
	c.get("/account/password")
	guess := url.Values{"current": {"a wrong guess"}, "password": {"a brand new passphrase"}, "confirm": {"a brand new passphrase"}}
	for i := range throttleFree {
		wantStatus(t, c.post("/account/password", guess), http.StatusUnprocessableEntity, "guess "+string(rune('1'+i)))
	}
	r := c.post("/account/password", guess)
	wantStatus(t, r, http.StatusTooManyRequests, "a guess past the free ones")
	if got := r.testid(t, "page-error"); !strings.HasPrefix(got, "Too many attempts.") || r.header.Get("Retry-After") == "" {
		t.Errorf("the page says %q (Retry-After %q)", got, r.header.Get("Retry-After"))
	}
	wantAudit(t, e, audit.AccountPassword, "guesser", "guesser", audit.Refused, "throttled")
	// Even the right password waits, and so does sign-in for that account
	// from this address; another account does not.
	wantStatus(t, c.post("/account/password", url.Values{"current": {testPassword}}), http.StatusTooManyRequests, "the right password while throttled")
	s := e.newClient()
	s.get("/signin")
	wantStatus(t, s.post("/signin", url.Values{"username": {"guesser"}, "password": {testPassword}}), http.StatusTooManyRequests, "sign-in while throttled")
	e.signedIn("operator")
	if c.signedOut() {
		t.Error("throttling signed the guesser out")
	}
}

// TestPasswordManagedByProvider: an account made by signing in with the
// identity provider has no local password, and gets none here.
func TestPasswordManagedByProvider(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn := newOIDCTenant(t)
	const (
		user = "helpdesk.user@contoso.onmicrosoft.com"
		pass = "Passw0rd!helpdesk"
	)
	tn.configure(e, map[string]string{"browse": strings.Join(tn.groupIDs(user), "\n")})
	c := e.newClient()
	wantRedirect(t, c.oidcSignIn(user, pass, "/"), "/", "sign in with the provider")
	r := c.get("/account/password")
	wantStatus(t, r, http.StatusOK, "password page")
	if got := r.testid(t, "password-managed"); !strings.Contains(got, "Contoso") {
		t.Errorf("the page says %q", got)
	}
	if r.find(t, `[data-testid="change-password"]`).Length() != 0 {
		t.Error("the page offers to set a local password")
	}
	before := e.snapshot()
	r = c.post("/account/password", url.Values{"current": {""}, "password": {"a brand new passphrase"}, "confirm": {"a brand new passphrase"}})
	wantStatus(t, r, http.StatusConflict, "set a password")
	if after := e.snapshot(); after != before {
		t.Errorf("the refused change changed the store:\n%s\n%s", before, after)
	}
	a, err := e.st.AccountByUsername(context.Background(), user)
	if err != nil || a.PasswordHash != "" {
		t.Errorf("the account has a password hash %q (%v)", a.PasswordHash, err)
	}
	wantAudit(t, e, audit.AccountPassword, user, user, audit.Refused, "identity provider")
}
