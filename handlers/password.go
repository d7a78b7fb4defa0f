package handlers

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/hybridsync/hybridsync/engine/audit"
	"github.com/hybridsync/hybridsync/engine/auth"
	"github.com/hybridsync/hybridsync/engine/setup"
	authview "github.com/hybridsync/hybridsync/views/auth"
)

// Every signed-in account changes its own password at /account/password,
// whatever its groups. The current password is asked and throttled as
// sign-in is (the same limiter and key, so guesses here and at the sign-in
// page add up); the change ends every session of the account, and this
// browser gets a fresh one.

const msgPasswordChanged = "Password changed. Every other session of your account has ended."

func (h *Handler) renderPassword(w http.ResponseWriter, r *http.Request, status int, errs setup.Errors, flash string) {
	p := authview.PasswordProps{Layout: h.layoutProps(r, "Change your password", ""), Errs: errs, Flash: flash}
	if acct := accountFrom(r); acct.PasswordHash == "" {
		p.Managed = h.providerName(r.Context())
	}
	h.render(w, r, status, authview.Password(p))
}

// providerName is the identity provider's name as the console shows it.
func (h *Handler) providerName(ctx context.Context) string {
	if p, err := h.st.OIDCProvider(ctx); err == nil && p.DisplayName != "" {
		return p.DisplayName
	}
	return "the identity provider"
}

func (h *Handler) passwordPage(w http.ResponseWriter, r *http.Request) {
	h.renderPassword(w, r, http.StatusOK, setup.Errors{}, "")
}

func (h *Handler) passwordChange(w http.ResponseWriter, r *http.Request) {
	acct := accountFrom(r)
	if acct.PasswordHash == "" {
		// Made by signing in with the identity provider: no local password,
		// and none may be set here (it would open a second way in).
		h.audit(r, audit.AccountPassword, acct.Username, audit.Refused, "no local password: managed by the identity provider")
		h.renderPassword(w, r, http.StatusConflict, setup.Errors{}, "")
		return
	}
	current, pw, confirm := r.PostFormValue("current"), r.PostFormValue("password"), r.PostFormValue("confirm")
	att, wait := h.limiter.begin(clientKey(r), "user:"+strings.ToLower(acct.Username))
	if att == nil {
		h.log.Warn("password change throttled", "user", acct.Username, "ip", clientIP(r), "wait", wait.Round(time.Second))
		h.audit(r, audit.AccountPassword, acct.Username, audit.Refused, "throttled")
		h.renderPassword(w, r, http.StatusTooManyRequests, setup.Errors{"": tooMany(w, wait, "attempts")}, "")
		return
	}
	result := abandoned
	defer func() { att.finish(result) }()

	errs := setup.Errors{}
	wrong := false
	if current == "" {
		errs.Add("current", "Enter your current password.")
	} else {
		ok, err := auth.CheckPassword(acct.PasswordHash, current)
		if err != nil {
			h.fail(w, r, "Unable to check the password", err)
			return
		}
		if ok {
			result = succeeded // the password was right: the throttle forgets its failures
		} else {
			wrong, result = true, failed
			errs.Add("current", "This is not your current password.")
		}
	}
	if msg := auth.ValidatePassword(pw, acct.Username); msg != "" {
		errs.Add("password", msg)
	} else if pw == current {
		errs.Add("password", "Choose a password other than your current one.")
	} else if pw != confirm {
		errs.Add("confirm", "The passwords don't match.")
	}
	if len(errs) > 0 {
		switch {
		case wrong:
			h.log.Warn("password not changed: wrong current password", "user", acct.Username, "ip", clientIP(r))
			h.audit(r, audit.AccountPassword, acct.Username, audit.Failed, "wrong current password")
		default:
			// The rules' words only: they never hold the password.
			var why []string
			for _, f := range []string{"current", "password", "confirm"} {
				if msg, ok := errs[f]; ok {
					why = append(why, f+": "+msg)
				}
			}
			h.audit(r, audit.AccountPassword, acct.Username, audit.Refused, strings.Join(why, " "))
		}
		h.renderPassword(w, r, http.StatusUnprocessableEntity, errs, "")
		return
	}
	hash, err := auth.HashPassword(pw)
	if err != nil {
		h.fail(w, r, "Unable to hash the password", err)
		return
	}
	ended, err := h.st.SetPassword(r.Context(), acct.ID, hash)
	if err != nil {
		h.fail(w, r, "Unable to change the password", err)
		return
	}
	// SetPassword ended this session too; this browser, which just proved
	// the password, gets a new one (a new id and CSRF token).
	if err := h.sessions.signIn(w, r, sessionFrom(r), acct.ID); err != nil {
		h.fail(w, r, "Unable to start the session", err)
		return
	}
	others := max(ended-1, 0)
	h.log.Info("password changed", "user", acct.Username, "ip", clientIP(r), "sessions_ended", others)
	h.audit(r, audit.AccountPassword, acct.Username, audit.Succeeded, "ended "+sessionCount(others)+" besides this one")
	h.renderPassword(w, r, http.StatusOK, setup.Errors{}, msgPasswordChanged)
}
