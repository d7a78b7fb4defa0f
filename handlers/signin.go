package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hybridsync/hybridsync/engine/audit"
	"github.com/hybridsync/hybridsync/engine/auth"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
	authview "github.com/hybridsync/hybridsync/views/auth"
)

const msgBadCredentials = "The username or password is wrong."

// needsFirstRun reports whether no account exists yet.
func (h *Handler) needsFirstRun(r *http.Request) (bool, error) {
	n, err := h.st.CountAccounts(r.Context())
	return n == 0, err
}

func (h *Handler) signInPage(w http.ResponseWriter, r *http.Request) {
	first, err := h.needsFirstRun(r)
	if err != nil {
		h.fail(w, r, "Unable to read accounts", err)
		return
	}
	if first {
		redirect(w, r, "/first-run")
		return
	}
	if accountFrom(r) != nil {
		redirect(w, r, safeNext(r.URL.Query().Get("next")))
		return
	}
	h.render(w, r, http.StatusOK, authview.SignIn(h.signInProps(r, "", "", safeNextOrEmpty(r.URL.Query().Get("next")))))
}

func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	user := strings.TrimSpace(r.PostFormValue("username"))
	pw := r.PostFormValue("password")
	next := safeNextOrEmpty(r.PostFormValue("next"))
	show := func(status int, msg string) {
		h.render(w, r, status, authview.SignIn(h.signInProps(r, user, msg, next)))
	}
	client := clientKey(r)
	att, wait := h.limiter.begin(client, "user:"+strings.ToLower(user))
	if att == nil {
		h.log.Warn("sign-in throttled", "ip", clientIP(r), "username", user, "wait", wait.Round(time.Second))
		msg := tooMany(w, wait, "sign-in attempts")
		h.auditAs(r, "", audit.SignIn, user, audit.Refused, msg)
		show(http.StatusTooManyRequests, msg)
		return
	}
	result := abandoned
	defer func() { att.finish(result) }()
	if user == "" || pw == "" {
		show(http.StatusUnprocessableEntity, "Enter your username and password.")
		return
	}
	acct, err := h.st.AccountByUsername(r.Context(), user)
	if errors.Is(err, store.ErrNotFound) {
		auth.DummyCheck(pw)
		result = failed
		h.log.Warn("sign-in failed", "ip", clientIP(r), "username", user, "reason", "no such account")
		h.auditAs(r, "", audit.SignIn, user, audit.Failed, "no such account")
		show(http.StatusUnauthorized, msgBadCredentials)
		return
	}
	if err != nil {
		h.fail(w, r, "Unable to read the account", err)
		return
	}
	if acct.Disabled {
		// Refused as a wrong password is: a disabled account says nothing
		// about itself to a stranger.
		auth.DummyCheck(pw)
		result = failed
		h.log.Warn("sign-in failed", "ip", clientIP(r), "username", user, "reason", "account disabled")
		h.auditAs(r, "", audit.SignIn, acct.Username, audit.Failed, "account disabled")
		show(http.StatusUnauthorized, msgBadCredentials)
		return
	}
	if acct.PasswordHash == "" {
		// An account made by sign-in with the identity provider has no local
		// password: refused exactly as a wrong password is.
		auth.DummyCheck(pw)
		result = failed
		h.log.Warn("sign-in failed", "ip", clientIP(r), "username", user, "reason", "no local password")
		h.auditAs(r, "", audit.SignIn, acct.Username, audit.Failed, "no local password: the account signs in with the identity provider")
		show(http.StatusUnauthorized, msgBadCredentials)
		return
	}
	ok, err := auth.CheckPassword(acct.PasswordHash, pw)
	if err != nil {
		h.fail(w, r, "Unable to check the password", err)
		return
	}
	if !ok {
		result = failed
		h.log.Warn("sign-in failed", "ip", clientIP(r), "username", user, "reason", "wrong password")
		h.auditAs(r, "", audit.SignIn, acct.Username, audit.Failed, "wrong password")
		show(http.StatusUnauthorized, msgBadCredentials)
		return
	}
	result = succeeded
	if err := h.sessions.signIn(w, r, sessionFrom(r), acct.ID); err != nil {
		h.fail(w, r, "Unable to start the session", err)
		return
	}
	h.log.Info("signed in", "user", acct.Username, "ip", clientIP(r))
	h.auditAs(r, acct.Username, audit.SignIn, acct.Username, audit.Succeeded, "")
	redirect(w, r, safeNext(next))
}

// signInProps are the sign-in page's; next is already safe.
func (h *Handler) signInProps(r *http.Request, user, msg, next string) authview.SignInProps {
	return authview.SignInProps{Layout: h.layoutProps(r, "Sign in", ""), Username: user, Error: msg, Next: next,
		OIDCName: h.oidcButton(r), Cleartext: !h.cfg.servedOverTLS()}
}

// safeNext keeps redirects on this site: it returns next re-encoded when next
// is a path on this site, and "/" for anything else. The rule allows, rather
// than refuses: next must be printable ASCII with no space or backslash (a
// tab, a newline or a backslash is dropped or read as "/" by browsers, so
// "/<tab>/evil" or "/\evil" lead to another site), start with exactly one
// "/" followed by anything but "/", "\" or their encoded forms, and parse
// as a path with an optional query and nothing else.
func safeNext(next string) string {
	if next == "/" {
		return "/"
	}
	if len(next) < 2 || next[0] != '/' || next[1] == '/' {
		return "/"
	}
	for i := 0; i < len(next); i++ {
		if c := next[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return "/"
		}
	}
	if len(next) >= 4 {
		switch strings.ToLower(next[1:4]) {
		case "%2f", "%5c":
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return "/"
	}
	p := u.EscapedPath()
	if len(p) < 2 || p[0] != '/' || p[1] == '/' || p[1] == '\\' {
		return "/"
	}
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return p
}

// safeNextOrEmpty is safeNext that keeps "" as "" (no next given).
func safeNextOrEmpty(next string) string {
	if next == "" {
		return ""
	}
	return safeNext(next)
}

func (h *Handler) signOut(w http.ResponseWriter, r *http.Request) {
	h.audit(r, audit.SignOut, username(r), audit.Succeeded, "")
	if err := h.sessions.signOut(w, r, sessionFrom(r)); err != nil {
		h.fail(w, r, "Unable to end the session", err)
		return
	}
	redirect(w, r, "/signin")
}

func (h *Handler) firstRunPage(w http.ResponseWriter, r *http.Request) {
	first, err := h.needsFirstRun(r)
	if err != nil {
		h.fail(w, r, "Unable to read accounts", err)
		return
	}
	if !first {
		redirect(w, r, "/signin")
		return
	}
	h.render(w, r, http.StatusOK, authview.FirstRun(authview.FirstRunProps{Layout: h.layoutProps(r, "First run", ""), Errs: setup.Errors{}, AdminGroup: auth.DefaultGroupNames[auth.Admins], Cleartext: !h.cfg.servedOverTLS()}))
}

func (h *Handler) firstRun(w http.ResponseWriter, r *http.Request) {
	first, err := h.needsFirstRun(r)
	if err != nil {
		h.fail(w, r, "Unable to read accounts", err)
		return
	}
	if !first {
		redirect(w, r, "/signin")
		return
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	user := strings.TrimSpace(r.PostFormValue("username"))
	display := strings.TrimSpace(r.PostFormValue("display_name"))
	pw, confirm := r.PostFormValue("password"), r.PostFormValue("confirm")
	errs := setup.Errors{}
	// The setup token is throttled as sign-in is, per client: one client's
	// wrong tokens never slow another's.
	att, wait := h.limiter.begin(clientKey(r), "first-run")
	if att == nil {
		h.log.Warn("first run throttled", "ip", clientIP(r), "wait", wait.Round(time.Second))
		errs.Add("", tooMany(w, wait, "attempts"))
		h.auditAs(r, "", audit.FirstRun, user, audit.Refused, errs[""])
	}
	result := abandoned
	defer func() { att.finish(result) }()
	if token == "" {
		errs.Add("token", "Enter the setup token from the server log.")
	}
	if msg := auth.ValidateUsername(user); msg != "" {
		errs.Add("username", msg)
	}
	if display == "" {
		display = user
	}
	if msg := auth.ValidatePassword(pw, user); msg != "" {
		errs.Add("password", msg)
	} else if pw != confirm {
		errs.Add("confirm", "The passwords don't match.")
	}
	if len(errs) == 0 {
		hash, err := auth.HashPassword(pw)
		if err != nil {
			h.fail(w, r, "Unable to hash the password", err)
			return
		}
		id, err := h.st.CreateFirstAdmin(r.Context(), store.Account{Username: user, DisplayName: display, PasswordHash: hash, Roles: []string{string(auth.Admins)}}, auth.HashToken(token))
		switch {
		case errors.Is(err, store.ErrBadSetupToken):
			result = failed
			h.auditAs(r, "", audit.FirstRun, user, audit.Failed, "wrong or used setup token")
			errs.Add("token", "This setup token is wrong or was already used. Use the newest token in the server log; restarting the server prints a new one.")
		case errors.Is(err, store.ErrAlreadySetUp):
			redirect(w, r, "/signin")
			return
		case err != nil:
			h.fail(w, r, "Unable to create the administrator", err)
			return
		default:
			result = succeeded
			h.log.Info("first administrator created", "user", user)
			h.auditAs(r, user, audit.FirstRun, user, audit.Succeeded, "the first administrator")
			if err := h.sessions.signIn(w, r, sessionFrom(r), id); err != nil {
				h.fail(w, r, "Unable to start the session", err)
				return
			}
			redirect(w, r, "/setup")
			return
		}
	}
	h.render(w, r, http.StatusUnprocessableEntity, authview.FirstRun(authview.FirstRunProps{
		Layout: h.layoutProps(r, "First run", ""), Username: user, DisplayName: display, Errs: errs, AdminGroup: auth.DefaultGroupNames[auth.Admins], Cleartext: !h.cfg.servedOverTLS()}))
}
