package handlers

import (
	"errors"
	"net/http"

	"github.com/hybridsync/hybridsync/engine/auth"
	"github.com/hybridsync/hybridsync/engine/store"
	"github.com/hybridsync/hybridsync/views/console"
	jobsview "github.com/hybridsync/hybridsync/views/jobs"
)

func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	acct := accountFrom(r)
	p := console.HomeProps{
		Layout:    h.layoutProps(r, "Overview", "home"),
		CanSetup:  auth.Satisfies(acct.Roles, auth.Admins),
		CanBrowse: auth.Satisfies(acct.Roles, auth.Browse),
	}
	cfg, err := h.st.ActiveConfiguration(r.Context())
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		h.fail(w, r, "Unable to read the active configuration", err)
		return
	default:
		p.Configured, p.AppliedAt, p.AppliedBy = true, jobsview.When(cfg.AppliedAt), cfg.AppliedBy
	}
	if ws, err := h.st.WizardState(r.Context()); err == nil {
		p.WizardPage = ws.Page
	}
	if p.CanBrowse {
		js, err := h.st.Jobs(r.Context(), 5)
		if err != nil {
			h.fail(w, r, "Unable to list jobs", err)
			return
		}
		p.RecentJobs = h.jobRows(js)
	}
	h.render(w, r, http.StatusOK, console.Home(p))
}
