package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/hybridsync/hybridsync/engine/audit"
	"github.com/hybridsync/hybridsync/engine/auth"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
	authview "github.com/hybridsync/hybridsync/views/auth"
)

func (h *Handler) groupCols(r *http.Request) []authview.GroupCol {
	names := h.groupNames(r.Context())
	out := make([]authview.GroupCol, len(auth.Roles))
	for i, role := range auth.Roles {
		out[i] = authview.GroupCol{Role: string(role), Name: names[string(role)], Label: role.Label()}
	}
	return out
}

func accountRow(a store.Account, self int64) authview.AccountRow {
	m := map[string]bool{}
	for _, r := range a.Roles {
		m[r] = true
	}
	// Sessions -1: not counted here (h.accountRowFor counts them).
	return authview.AccountRow{ID: a.ID, Username: a.Username, DisplayName: a.DisplayName, Member: m, Self: a.ID == self, Disabled: a.Disabled, Sessions: -1}
}

func (h *Handler) renderAccounts(w http.ResponseWriter, r *http.Request, status int, errs setup.Errors, form authview.NewAccount, flash string) {
	h.renderAccountsPage(w, r, status, authview.AccountsProps{Errs: errs, Form: form, Flash: flash}) // handlers/account_manage.go
}

func (h *Handler) accountsPage(w http.ResponseWriter, r *http.Request) {
	h.renderAccounts(w, r, http.StatusOK, setup.Errors{}, authview.NewAccount{Member: map[string]bool{}}, "")
}

// rolesFrom reads the groups[] checkboxes; unknown values are an error.
func rolesFrom(r *http.Request) ([]string, bool) {
	var roles []string
	for _, v := range r.PostForm["groups"] {
		if !auth.Role(v).Valid() {
			return nil, false
		}
		if !slices.Contains(roles, v) {
			roles = append(roles, v)
		}
	}
	return roles, true
}

// maxDisplayName bounds an account's display name (bytes).
const maxDisplayName = 256

// displayNameProblem says what is wrong with a display name: too long, not
// text, or holding control characters.
func displayNameProblem(s string) string {
	switch {
	case len(s) > maxDisplayName:
		return fmt.Sprintf("Use at most %d characters (bytes) for the display name.", maxDisplayName)
	case !utf8.ValidString(s):
		return "The display name is not valid text (UTF-8)."
	case strings.ContainsFunc(s, unicode.IsControl):
		return "The display name can't hold control characters (tabs, line breaks)."
	}
	return ""
}

func (h *Handler) accountCreate(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.renderAccounts(w, r, http.StatusBadRequest, setup.Errors{"": "The form could not be read. Reload the page and try again."}, authview.NewAccount{}, "")
		return
	}
	user := strings.TrimSpace(r.PostFormValue("username"))
	display := strings.TrimSpace(r.PostFormValue("display_name"))
	pw := r.PostFormValue("password")
	roles, ok := rolesFrom(r)
	form := authview.NewAccount{Username: user, DisplayName: display, Member: map[string]bool{}}
	for _, role := range roles {
		form.Member[role] = true
	}
	errs := setup.Errors{}
	if msg := auth.ValidateUsername(user); msg != "" {
		errs.Add("username", msg)
	}
	if msg := auth.ValidatePassword(pw, user); msg != "" {
		errs.Add("password", msg)
	}
	if !ok {
		errs.Add("groups", "Choose among the four sync groups.")
	}
	if msg := displayNameProblem(display); msg != "" {
		errs.Add("display_name", msg)
		form.DisplayName = strings.ToValidUTF8(display[:min(len(display), maxDisplayName)], "")
	}
	if display == "" {
		display = user
	}
	if len(errs) == 0 {
		hash, err := auth.HashPassword(pw)
		if err != nil {
			h.fail(w, r, "Unable to hash the password", err)
			return
		}
		_, err = h.st.CreateAccount(r.Context(), store.Account{Username: user, DisplayName: display, PasswordHash: hash, CreatedBy: username(r), Roles: roles})
		switch {
		case errors.Is(err, store.ErrUsernameTaken):
			errs.Add("username", "An account with this username already exists.")
		case err != nil:
			h.fail(w, r, "Unable to create the account", err)
			return
		default:
			h.log.Info("account created", "user", username(r), "account", user, "groups", roles)
			h.audit(r, audit.AccountAdd, user, audit.Succeeded, "groups: "+h.roleNames(r, roles))
			h.renderAccounts(w, r, http.StatusOK, setup.Errors{}, authview.NewAccount{Member: map[string]bool{}}, "Added "+user+".")
			return
		}
	}
	h.renderAccounts(w, r, http.StatusUnprocessableEntity, errs, form, "")
}

// accountGroups replaces an account's groups. It answers htmx with the row
// alone, and a plain form post with the whole page.
func (h *Handler) accountGroups(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil {
		h.notFound(w, r)
		return
	}
	acct, err := h.st.AccountByID(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		h.notFound(w, r)
		return
	}
	if err != nil {
		h.fail(w, r, "Unable to read the account", err)
		return
	}
	if err := r.ParseForm(); err != nil {
		h.errorPage(w, r, http.StatusBadRequest, "Bad form", "The form could not be read. Reload the page and try again.")
		return
	}
	roles, ok := rolesFrom(r)
	msg, status := "", http.StatusOK
	if !ok {
		msg, status = "Choose among the four sync groups.", http.StatusUnprocessableEntity
	} else {
		// The store counts the administrators and changes the groups in one
		// transaction: two administrators removing each other at the same
		// moment can't both succeed.
		err := h.st.SetRoles(r.Context(), id, roles, username(r))
		switch {
		case errors.Is(err, store.ErrLastAdmin):
			msg, status = msgLastAdmin, http.StatusUnprocessableEntity
			h.log.Warn("groups not changed: last administrator", "user", username(r), "account", acct.Username, "groups", roles)
			h.audit(r, audit.AccountRoles, acct.Username, audit.Refused, "the last administrator; asked for groups: "+h.roleNames(r, roles))
		case err != nil:
			h.fail(w, r, "Unable to change the groups", err)
			return
		default:
			h.log.Info("groups changed", "user", username(r), "account", acct.Username, "groups", roles)
			h.audit(r, audit.AccountRoles, acct.Username, audit.Succeeded, "groups: "+h.roleNames(r, acct.Roles)+" → "+h.roleNames(r, roles))
			acct.Roles = roles
			msg = "Saved."
		}
	}
	if isFragment(r) {
		row, err := h.accountRowFor(r, acct)
		if err != nil {
			h.fail(w, r, "Unable to read the account", err)
			return
		}
		h.render(w, r, status, authview.AccountRowView(row, h.groupCols(r), mustCSRF(r), msg))
		return
	}
	if status != http.StatusOK {
		h.renderAccounts(w, r, status, setup.Errors{"": msg}, authview.NewAccount{Member: map[string]bool{}}, "")
		return
	}
	h.renderAccounts(w, r, status, setup.Errors{}, authview.NewAccount{Member: map[string]bool{}}, "Saved the groups of "+acct.Username+".")
}

// msgLastAdmin refuses a change that would leave no enabled administrator.
const msgLastAdmin = "hybridsync needs at least one administrator: add another before removing this one."

// roleNames are the sync groups' names of roles, for the audit trail.
func (h *Handler) roleNames(r *http.Request, roles []string) string {
	if len(roles) == 0 {
		return "none"
	}
	names := h.groupNames(r.Context())
	out := make([]string, len(roles))
	for i, role := range roles {
		out[i] = names[role]
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

func mustCSRF(r *http.Request) string {
	t, _ := sessionFrom(r).csrf()
	return t
}
