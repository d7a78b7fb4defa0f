package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/hybridsync/hybridsync/engine/auth"
	"github.com/hybridsync/hybridsync/engine/store"
)

func TestFirstRun(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, envOptions{noAccounts: true})
	ctx := context.Background()
	const token = "the-one-time-setup-token"
	if err := e.st.SetSetting(ctx, store.SettingSetupTokenHash, auth.HashToken(token)); err != nil {
		t.Fatal(err)
	}
	c := e.newClient()
	wantRedirect(t, c.get("/signin"), "/first-run", "sign-in page before the first account")
	r := c.get("/first-run")
	wantStatus(t, r, http.StatusOK, "first-run page")
	if r.find(t, `[data-testid="firstrun-page"]`).Length() != 1 {
		t.Fatal("no first-run form")
	}

	good := url.Values{"token": {token}, "username": {"root"}, "display_name": {"The Root"}, "password": {testPassword}, "confirm": {testPassword}}
	with := func(k, v string) url.Values {
		out := url.Values{}
		for kk, vv := range good {
			out[kk] = vv
		}
		out.Set(k, v)
		return out
	}
	bad := []struct {
		name, field, msg string
		form             url.Values
	}{
		{"wrong token", "token", "This setup token is wrong or was already used", with("token", "not-the-token")},
		{"no token", "token", "Enter the setup token", with("token", "")},
		{"bad username", "username", "Use letters, digits", with("username", "root admin")},
		{"short password", "password", "at least 12 characters", with("password", "short")},
		{"passwords differ", "confirm", "don't match", with("confirm", testPassword+"!")},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			r := c.post("/first-run", tc.form)
			wantStatus(t, r, http.StatusUnprocessableEntity, tc.name)
			if got := r.testid(t, "error-"+tc.field); !strings.Contains(got, tc.msg) {
				t.Errorf("error-%s says %q, want %q", tc.field, got, tc.msg)
			}
			if v, _ := r.value(t, "display_name"); v != "The Root" && tc.field != "username" {
				t.Errorf("display name not kept: %q", v)
			}
			if n, _ := e.st.CountAccounts(ctx); n != 0 {
				t.Fatalf("%d accounts after a refused first run", n)
			}
		})
	}

	r = c.post("/first-run", good)
	wantRedirect(t, r, "/setup", "first run with the right token")
	wantRedirect(t, c.get("/setup"), "/setup/express", "the new administrator opens the wizard")
	if got := c.get("/").testid(t, "signed-in-as"); got != "The Root" {
		t.Errorf("signed in as %q", got)
	}
	a, err := e.st.AccountByUsername(ctx, "root")
	if err != nil || len(a.Roles) != 1 || a.Roles[0] != string(auth.Admins) {
		t.Fatalf("first administrator: %+v, %v", a, err)
	}
	if _, err := e.st.Setting(ctx, store.SettingSetupTokenHash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the setup token was not consumed: %v", err)
	}

	// The token worked once: first run is closed now, for everyone.
	other := e.newClient()
	wantRedirect(t, other.get("/first-run"), "/signin", "first-run page once an account exists")
	other.get("/signin")
	wantRedirect(t, other.post("/first-run", with("username", "intruder")), "/signin", "first run again with the used token")
	if n, _ := e.st.CountAccounts(ctx); n != 1 {
		t.Fatalf("%d accounts, want 1", n)
	}
}

func TestSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		name, user, password, next string
		status                     int
		msg, location              string
	}{
		{name: "wrong password", user: "admin", password: "not the password", status: 401, msg: msgBadCredentials},
		{name: "unknown user", user: "ghost", password: testPassword, status: 401, msg: msgBadCredentials},
		{name: "empty password", user: "admin", status: 422, msg: "Enter your username and password."},
		{name: "right password", user: "admin", password: testPassword, status: 303, location: "/"},
		{name: "case-insensitive username", user: "ADMIN", password: testPassword, status: 303, location: "/"},
		{name: "next kept", user: "admin", password: testPassword, next: "/jobs?x=1", status: 303, location: "/jobs?x=1"},
		{name: "next off-site", user: "admin", password: testPassword, next: "//evil.example/", status: 303, location: "/"},
		{name: "next absolute", user: "admin", password: testPassword, next: "https://evil.example/", status: 303, location: "/"},
		{name: "next backslash", user: "admin", password: testPassword, next: `/\evil.example`, status: 303, location: "/"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.newClient()
			c.get("/signin?next=" + url.QueryEscape(tc.next))
			r := c.post("/signin", url.Values{"username": {tc.user}, "password": {tc.password}, "next": {tc.next}})
			wantStatus(t, r, tc.status, tc.name)
			if tc.location != "" && r.location() != tc.location {
				t.Errorf("redirects to %q, want %q", r.location(), tc.location)
			}
			if tc.msg == "" {
				return
			}
			if got := r.testid(t, "signin-error"); got != tc.msg {
				t.Errorf("message %q, want %q", got, tc.msg)
			}
			if v, _ := r.value(t, "username"); v != tc.user {
				t.Errorf("username input holds %q, want %q", v, tc.user)
			}
			if v, _ := r.value(t, "password"); v != "" {
				t.Errorf("the password was echoed back")
			}
			if r := c.get("/"); r.status != http.StatusSeeOther {
				t.Errorf("signed in after a failed sign-in: %d", r.status)
			}
		})
	}

	// The sign-in page carries ?next= into its form, and a signed-in visitor
	// goes straight there.
	c := e.newClient()
	r := c.get("/signin?next=%2Fconfig")
	if v, _ := r.value(t, "next"); v != "/config" {
		t.Errorf("next input holds %q", v)
	}
	c.signIn("helpdesk")
	wantRedirect(t, c.get("/signin?next=%2Fconfig"), "/config", "signed-in visitor on the sign-in page")
}

func TestSignInRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, envOptions{cfg: Config{SignInBurst: 3, SignInRate: rate.Every(time.Hour)}})
	c := e.newClient()
	c.get("/signin")
	for i := range 3 {
		r := c.post("/signin", url.Values{"username": {"admin"}, "password": {"wrong password"}})
		wantStatus(t, r, http.StatusUnauthorized, "attempt "+string(rune('1'+i)))
	}
	for _, pw := range []string{"wrong password", testPassword} {
		r := c.post("/signin", url.Values{"username": {"admin"}, "password": {pw}})
		wantStatus(t, r, http.StatusTooManyRequests, "attempt after the burst")
		if got := r.testid(t, "signin-error"); !strings.Contains(got, "Too many sign-in attempts") {
			t.Errorf("rate-limit message %q", got)
		}
		if v, _ := r.value(t, "username"); v != "admin" {
			t.Errorf("username not kept: %q", v)
		}
	}
	if r := c.get("/"); r.status != http.StatusSeeOther {
		t.Errorf("signed in despite the limit: %d", r.status)
	}
}

func sessionCookie(t *testing.T, r *response) *http.Cookie {
	t.Helper()
	for _, ck := range (&http.Response{Header: r.header}).Cookies() {
		if ck.Name == cookieName || ck.Name == sessionCookieName(true) {
			return ck
		}
	}
	t.Fatalf("no %s cookie set; Set-Cookie: %q", cookieName, r.header.Values("Set-Cookie"))
	return nil
}

func TestSessionCookieFlags(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cfg    Config
		secure bool
	}{
		{Config{}, false},
		{Config{Secure: true}, true},
		// Behind a TLS-terminating proxy: the public URL says HTTPS.
		{Config{PublicURL: "https://console.example.test"}, true},
	} {
		secure := tt.secure
		e := newEnvWith(t, envOptions{cfg: tt.cfg})
		c := e.newClient()
		ck := sessionCookie(t, c.get("/signin"))
		if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure != secure || ck.Path != "/" || ck.Domain != "" {
			t.Errorf("Secure=%v: cookie HttpOnly=%v SameSite=%v Secure=%v Path=%q Domain=%q", secure, ck.HttpOnly, ck.SameSite, ck.Secure, ck.Path, ck.Domain)
		}
		if want := sessionCookieName(secure); ck.Name != want {
			t.Errorf("%+v: cookie %q, want %q", tt.cfg, ck.Name, want)
		}
		if secure {
			continue // the jar would not send a Secure cookie over http
		}
		r := c.post("/signin", url.Values{"username": {"admin"}, "password": {testPassword}})
		wantStatus(t, r, http.StatusSeeOther, "sign in")
		ck = sessionCookie(t, r)
		if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure {
			t.Errorf("signed-in cookie HttpOnly=%v SameSite=%v Secure=%v", ck.HttpOnly, ck.SameSite, ck.Secure)
		}
	}
}

// anonymousWith reports whether a replayed cookie leaves its holder signed out.
func anonymousWith(e *env, cookie string) bool {
	c := e.newClient()
	c.setCookie(cookie)
	r := c.get("/")
	return r.status == http.StatusSeeOther && r.location() == "/signin?next=%2F"
}

func TestSessionRenewedOnSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient()
	c.get("/signin")
	preCookie, preToken := c.cookie(), c.csrf
	c.signIn("admin")
	first := c.cookie()
	if first == preCookie || c.csrf == preToken {
		t.Fatal("signing in kept the cookie or the CSRF token of before")
	}
	if !anonymousWith(e, preCookie) {
		t.Error("the pre-sign-in cookie is signed in")
	}
	if anonymousWith(e, first) {
		t.Fatal("the signed-in cookie does not work")
	}

	// Signing in again, in the same browser, ends the earlier session.
	r := c.post("/signin", url.Values{"username": {"admin"}, "password": {testPassword}})
	wantRedirect(t, r, "/", "sign in again")
	if c.cookie() == first {
		t.Fatal("signing in again kept the cookie")
	}
	if !anonymousWith(e, first) {
		t.Error("the earlier session still works after signing in again")
	}
	if anonymousWith(e, c.cookie()) {
		t.Error("the new session does not work")
	}
}

func TestSignOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.signedIn("admin")
	cookie, token := c.cookie(), c.csrf
	wantRedirect(t, c.post("/signout", nil), "/signin", "sign out")
	wantRedirect(t, c.get("/jobs"), "/signin?next=%2Fjobs", "after signing out")
	// The old cookie was ended on the server, not only forgotten by the browser.
	if !anonymousWith(e, cookie) {
		t.Fatal("the cookie of before signing out still works")
	}
	replay := e.newClient()
	replay.setCookie(cookie)
	if r := replay.postWith(csrfField, token, "/accounts", url.Values{"username": {"replayed"}, "password": {testPassword}}); r.status != http.StatusUnauthorized {
		t.Errorf("POST with the old cookie and token: %d, want 401", r.status)
	}
}

func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	const idle = 2 * time.Second
	e := newEnvWith(t, envOptions{cfg: Config{IdleTimeout: idle}})
	c := e.signedIn("helpdesk")
	// Activity keeps the session alive well past the idle timeout.
	for end := time.Now().Add(idle + time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		if r := c.get("/jobs"); r.status != http.StatusOK {
			t.Fatalf("signed out while active: %d %s", r.status, r.location())
		}
	}
	cookie := c.cookie()
	time.Sleep(idle + 1100*time.Millisecond)
	wantRedirect(t, c.get("/jobs"), "/signin?next=%2Fjobs", "after the idle timeout")
	if !anonymousWith(e, cookie) {
		t.Error("the idle session's cookie still works")
	}
}

// A disabled account's right password is refused as a wrong one is, not
// with a failure of the server.
func TestSignInDisabledAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.st.DisableAccount(context.Background(), e.ids["operator"]); err != nil {
		t.Fatal(err)
	}
	c := e.newClient()
	c.get("/signin")
	r := c.post("/signin", url.Values{"username": {"operator"}, "password": {testPassword}})
	wantStatus(t, r, http.StatusUnauthorized, "a disabled account signs in")
	if !strings.Contains(string(r.body), msgBadCredentials) {
		t.Errorf("the refusal says:\n%s", r.body)
	}
}
