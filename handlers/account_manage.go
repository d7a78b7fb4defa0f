package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/hybridsync/hybridsync/engine/audit"
	"github.com/hybridsync/hybridsync/engine/store"
	authview "github.com/hybridsync/hybridsync/views/auth"
)

// An administrator manages the other accounts from their rows on the Accounts
// page: disable, enable, delete (after a confirmation page), end every
// session. Each action answers htmx with the row alone and a plain form post
// with the whole page, as accountGroups does, and is recorded in the audit
// trail, refusals included.

// msgSelf refuses to disable or delete the signed-in administrator's own
// account: done by mistake, it locks them out of the console at once.
func msgSelf(verb string) string {
	return "You can't " + verb + " your own account here: sign in with another administrator account to do it."
}

// renderAccountsPage renders the Accounts page with p's form, flash and error;
// it fills in the rest.
func (h *Handler) renderAccountsPage(w http.ResponseWriter, r *http.Request, status int, p authview.AccountsProps) {
	accts, err := h.st.Accounts(r.Context())
	if err != nil {
		h.fail(w, r, "Unable to list accounts", err)
		return
	}
	counts, err := h.st.SessionCounts(r.Context())
	if err != nil {
		h.fail(w, r, "Unable to count sessions", err)
		return
	}
	self := accountFrom(r).ID
	external := h.externalAccounts(r.Context()) // handlers/oidc.go
	p.Accounts = make([]authview.AccountRow, len(accts))
	for i, a := range accts {
		p.Accounts[i] = accountRow(a, self)
		p.Accounts[i].External = external[a.ID]
		p.Accounts[i].Sessions = counts[a.ID]
	}
	p.Layout, p.Groups = h.layoutProps(r, "Accounts", "accounts"), h.groupCols(r)
	if p.Form.Member == nil {
		p.Form.Member = map[string]bool{}
	}
	h.render(w, r, status, authview.Accounts(p))
}

// accountRowFor is one account's row, complete: its provider and its live
// sessions counted.
func (h *Handler) accountRowFor(r *http.Request, a store.Account) (authview.AccountRow, error) {
	row := accountRow(a, accountFrom(r).ID)
	row.External = h.externalAccounts(r.Context())[a.ID]
	n, err := h.st.CountSessions(r.Context(), a.ID)
	row.Sessions = n
	return row, err
}

// targetAccount reads the account the route's {id} names; it answers 404 and
// returns false when there is none.
func (h *Handler) targetAccount(w http.ResponseWriter, r *http.Request) (store.Account, bool) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil {
		h.notFound(w, r)
		return store.Account{}, false
	}
	acct, err := h.st.AccountByID(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		h.notFound(w, r)
		return store.Account{}, false
	}
	if err != nil {
		h.fail(w, r, "Unable to read the account", err)
		return store.Account{}, false
	}
	return acct, true
}

// rowResult is how an action on an account's row ended.
type rowResult struct {
	status int    // 200, or 422 when refused
	msg    string // the row's message (htmx)
	flash  string // the page's message on success (plain post)
}

// answerRow answers an action on acct's row: the row, read afresh, for htmx;
// the whole page otherwise, with the flash or the refusal at its top.
func (h *Handler) answerRow(w http.ResponseWriter, r *http.Request, acct store.Account, res rowResult) {
	if isFragment(r) {
		fresh, err := h.st.AccountByID(r.Context(), acct.ID)
		if err != nil {
			h.fail(w, r, "Unable to read the account", err)
			return
		}
		row, err := h.accountRowFor(r, fresh)
		if err != nil {
			h.fail(w, r, "Unable to count sessions", err)
			return
		}
		h.render(w, r, res.status, authview.AccountRowView(row, h.groupCols(r), mustCSRF(r), res.msg))
		return
	}
	// A boosted form post would leave the action's address in the address
	// bar, where reloading GETs it.
	w.Header().Set("HX-Push-Url", "/accounts")
	p := authview.AccountsProps{Flash: res.flash}
	if res.status != http.StatusOK {
		p.Flash, p.Error = "", res.msg
	}
	h.renderAccountsPage(w, r, res.status, p)
}

// sessionCount is "1 session", "2 sessions".
func sessionCount(n int) string {
	if n == 1 {
		return "1 session"
	}
	return fmt.Sprintf("%d sessions", n)
}

func (h *Handler) accountDisable(w http.ResponseWriter, r *http.Request) {
	acct, ok := h.targetAccount(w, r)
	if !ok {
		return
	}
	if acct.ID == accountFrom(r).ID {
		h.log.Warn("account not disabled: own account", "user", username(r), "account", acct.Username)
		h.audit(r, audit.AccountOff, acct.Username, audit.Refused, "own account")
		h.answerRow(w, r, acct, rowResult{status: http.StatusUnprocessableEntity, msg: msgSelf("disable")})
		return
	}
	// The store counts the enabled administrators and disables in one
	// transaction: two administrators disabling each other can't both succeed.
	ended, err := h.st.DisableAccount(r.Context(), acct.ID)
	switch {
	case errors.Is(err, store.ErrLastAdmin):
		h.log.Warn("account not disabled: last administrator", "user", username(r), "account", acct.Username)
		h.audit(r, audit.AccountOff, acct.Username, audit.Refused, "last enabled administrator")
		h.answerRow(w, r, acct, rowResult{status: http.StatusUnprocessableEntity, msg: msgLastAdmin})
		return
	case err != nil:
		h.fail(w, r, "Unable to disable the account", err)
		return
	}
	h.log.Info("account disabled", "user", username(r), "account", acct.Username, "sessions_ended", ended)
	h.audit(r, audit.AccountOff, acct.Username, audit.Succeeded, "ended "+sessionCount(ended))
	h.answerRow(w, r, acct, rowResult{status: http.StatusOK, msg: "Disabled; ended " + sessionCount(ended) + ".",
		flash: "Disabled " + acct.Username + "; ended " + sessionCount(ended) + "."})
}

func (h *Handler) accountEnable(w http.ResponseWriter, r *http.Request) {
	acct, ok := h.targetAccount(w, r)
	if !ok {
		return
	}
	if err := h.st.EnableAccount(r.Context(), acct.ID); err != nil {
		h.fail(w, r, "Unable to enable the account", err)
		return
	}
	detail := ""
	if !acct.Disabled {
		detail = "was already enabled"
	}
	h.log.Info("account enabled", "user", username(r), "account", acct.Username)
	h.audit(r, audit.AccountOn, acct.Username, audit.Succeeded, detail)
	h.answerRow(w, r, acct, rowResult{status: http.StatusOK, msg: "Enabled.", flash: "Enabled " + acct.Username + "."})
}

// accountEndSessions ends every session of the account. Ending one's own
// starts a fresh session for this browser: every other one ends.
func (h *Handler) accountEndSessions(w http.ResponseWriter, r *http.Request) {
	acct, ok := h.targetAccount(w, r)
	if !ok {
		return
	}
	ended, err := h.st.EndSessions(r.Context(), acct.ID)
	if err != nil {
		h.fail(w, r, "Unable to end the sessions", err)
		return
	}
	if acct.ID != accountFrom(r).ID {
		h.log.Info("sessions ended", "user", username(r), "account", acct.Username, "sessions_ended", ended)
		h.audit(r, audit.AccountSessions, acct.Username, audit.Succeeded, "ended "+sessionCount(ended))
		h.answerRow(w, r, acct, rowResult{status: http.StatusOK, msg: "Ended " + sessionCount(ended) + ".",
			flash: "Ended " + sessionCount(ended) + " of " + acct.Username + "."})
		return
	}
	if err := h.sessions.signIn(w, r, sessionFrom(r), acct.ID); err != nil {
		h.fail(w, r, "Unable to start the session", err)
		return
	}
	others := max(ended-1, 0)
	h.log.Info("sessions ended", "user", username(r), "account", acct.Username, "sessions_ended", others, "own", true)
	h.audit(r, audit.AccountSessions, acct.Username, audit.Succeeded, "ended "+sessionCount(others)+" of the own account; this browser kept signed in")
	if isFragment(r) {
		// The page's CSRF token died with the session: reload it whole.
		w.Header().Set("HX-Refresh", "true")
	}
	w.Header().Set("HX-Push-Url", "/accounts")
	h.renderAccountsPage(w, r, http.StatusOK, authview.AccountsProps{Flash: "Ended every other session of your account (" + sessionCount(others) + "); this browser stays signed in."})
}

// accountDeletePage asks to confirm deleting the account.
func (h *Handler) accountDeletePage(w http.ResponseWriter, r *http.Request) {
	acct, ok := h.targetAccount(w, r)
	if !ok {
		return
	}
	msg := ""
	if acct.ID == accountFrom(r).ID {
		msg = msgSelf("delete")
	}
	h.renderDeletePage(w, r, http.StatusOK, acct, msg)
}

func (h *Handler) renderDeletePage(w http.ResponseWriter, r *http.Request, status int, acct store.Account, msg string) {
	row, err := h.accountRowFor(r, acct)
	if err != nil {
		h.fail(w, r, "Unable to count sessions", err)
		return
	}
	h.render(w, r, status, authview.DeleteAccount(authview.DeleteAccountProps{
		Layout: h.layoutProps(r, "Delete "+acct.Username, "accounts"), Account: row, Error: msg}))
}

func (h *Handler) accountDelete(w http.ResponseWriter, r *http.Request) {
	acct, ok := h.targetAccount(w, r)
	if !ok {
		return
	}
	refuse := func(reason, msg string) {
		h.log.Warn("account not deleted: "+reason, "user", username(r), "account", acct.Username)
		h.audit(r, audit.AccountDrop, acct.Username, audit.Refused, reason)
		if isFragment(r) {
			h.answerRow(w, r, acct, rowResult{status: http.StatusUnprocessableEntity, msg: msg})
			return
		}
		h.renderDeletePage(w, r, http.StatusUnprocessableEntity, acct, msg)
	}
	if acct.ID == accountFrom(r).ID {
		refuse("own account", msgSelf("delete"))
		return
	}
	err := h.st.DeleteAccount(r.Context(), acct.ID)
	switch {
	case errors.Is(err, store.ErrLastAdmin):
		refuse("last enabled administrator", msgLastAdmin)
		return
	case errors.Is(err, store.ErrNotFound):
		// Deleted by someone else meanwhile.
		h.notFound(w, r)
		return
	case err != nil:
		h.fail(w, r, "Unable to delete the account", err)
		return
	}
	// What it was, for whoever reads the trail later: the account is gone.
	detail := "groups: " + h.roleNames(r, acct.Roles)
	if acct.Disabled {
		detail += "; was disabled"
	}
	h.log.Info("account deleted", "user", username(r), "account", acct.Username, "groups", acct.Roles)
	h.audit(r, audit.AccountDrop, acct.Username, audit.Succeeded, detail)
	if isFragment(r) {
		h.render(w, r, http.StatusOK, authview.AccountGoneRow(acct.ID, acct.Username, len(h.groupCols(r))+4))
		return
	}
	w.Header().Set("HX-Push-Url", "/accounts")
	h.renderAccountsPage(w, r, http.StatusOK, authview.AccountsProps{Flash: "Deleted " + acct.Username + "."})
}
