package handlers

import (
	"errors"
	"net/http"
	"strings"

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
	h.render(w, r, http.StatusOK, authview.SignIn(authview.SignInProps{Layout: h.layoutProps(r, "Sign in", ""), Next: r.URL.Query().Get("next"), OIDCName: h.oidcButton(r)}))
}

func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	user := strings.TrimSpace(r.PostFormValue("username"))
	pw := r.PostFormValue("password")
	next := r.PostFormValue("next")
	show := func(status int, msg string) {
		h.render(w, r, status, authview.SignIn(authview.SignInProps{Layout: h.layoutProps(r, "Sign in", ""), Username: user, Error: msg, Next: next, OIDCName: h.oidcButton(r)}))
	}
	if !h.limiter.allowAttempt(clientIP(r), user) {
		h.log.Warn("sign-in rate limited", "ip", clientIP(r), "username", user)
		show(http.StatusTooManyRequests, "Too many sign-in attempts. Wait a minute, then try again.")
		return
	}
	if user == "" || pw == "" {
		show(http.StatusUnprocessableEntity, "Enter your username and password.")
		return
	}
	acct, err := h.st.AccountByUsername(r.Context(), user)
	if errors.Is(err, store.ErrNotFound) {
		auth.DummyCheck(pw)
		h.limiter.failed(user)
		h.log.Warn("sign-in failed", "ip", clientIP(r), "username", user, "reason", "no such account")
		show(http.StatusUnauthorized, msgBadCredentials)
		return
	}
	if err != nil {
		h.fail(w, r, "Unable to read the account", err)
		return
	}
	if acct.PasswordHash == "" {
		// An account made by sign-in with the identity provider has no local
		// password: refused exactly as a wrong password is.
		auth.DummyCheck(pw)
		h.limiter.failed(user)
		h.log.Warn("sign-in failed", "ip", clientIP(r), "username", user, "reason", "no local password")
		show(http.StatusUnauthorized, msgBadCredentials)
		return
	}
	ok, err := auth.CheckPassword(acct.PasswordHash, pw)
	if err != nil {
		h.fail(w, r, "Unable to check the password", err)
		return
	}
	if !ok {
		h.limiter.failed(user)
		h.log.Warn("sign-in failed", "ip", clientIP(r), "username", user, "reason", "wrong password")
		show(http.StatusUnauthorized, msgBadCredentials)
		return
	}
	if err := h.sessions.signIn(w, r, sessionFrom(r), acct.ID); err != nil {
		h.fail(w, r, "Unable to start the session", err)
		return
	}
	h.log.Info("signed in", "user", acct.Username, "ip", clientIP(r))
	redirect(w, r, safeNext(next))
}

// safeNext keeps redirects on this site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

func (h *Handler) signOut(w http.ResponseWriter, r *http.Request) {
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
	h.render(w, r, http.StatusOK, authview.FirstRun(authview.FirstRunProps{Layout: h.layoutProps(r, "First run", ""), Errs: setup.Errors{}, AdminGroup: auth.DefaultGroupNames[auth.Admins]}))
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
	if !h.limiter.allowAttempt(clientIP(r), "first-run") {
		errs.Add("", "Too many attempts. Wait a minute, then try again.")
	}
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
			h.limiter.failed("first-run")
			errs.Add("token", "This setup token is wrong or was already used. Use the newest token in the server log; restarting the server prints a new one.")
		case errors.Is(err, store.ErrAlreadySetUp):
			redirect(w, r, "/signin")
			return
		case err != nil:
			h.fail(w, r, "Unable to create the administrator", err)
			return
		default:
			h.log.Info("first administrator created", "user", user)
			if err := h.sessions.signIn(w, r, sessionFrom(r), id); err != nil {
				h.fail(w, r, "Unable to start the session", err)
				return
			}
			redirect(w, r, "/setup")
			return
		}
	}
	h.render(w, r, http.StatusUnprocessableEntity, authview.FirstRun(authview.FirstRunProps{
		Layout: h.layoutProps(r, "First run", ""), Username: user, DisplayName: display, Errs: errs, AdminGroup: auth.DefaultGroupNames[auth.Admins]}))
}
