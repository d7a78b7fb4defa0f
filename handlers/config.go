package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hybridsync/hybridsync/engine/auth"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
	"github.com/hybridsync/hybridsync/views/console"
)

func (h *Handler) activeAnswers(r *http.Request) (store.Configuration, setup.Answers, error) {
	cfg, err := h.st.ActiveConfiguration(r.Context())
	if err != nil {
		return cfg, setup.Answers{}, err
	}
	a, err := setup.ConfigurationAnswers(cfg)
	return cfg, a, err
}

// configChanges is what applying a would change of the configuration in
// force, as the audit trail keeps it: JSON of []setup.Change, "[]" for
// nothing. The first configuration changes every row from nothing.
func (h *Handler) configChanges(r *http.Request, a setup.Answers) string {
	var was []setup.SummaryGroup
	_, old, err := h.activeAnswers(r)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		h.log.Error("unable to read the configuration in force for the audit trail", "err", err)
		return "the configuration in force could not be read, so what changed is not known"
	default:
		was = setup.Summary(old, h.cfg.DataDir)
	}
	changes := setup.Changes(was, setup.Summary(a, h.cfg.DataDir))
	if changes == nil {
		changes = []setup.Change{}
	}
	b, _ := json.Marshal(changes) // strings only: it can't fail
	return string(b)
}

func (h *Handler) configPage(w http.ResponseWriter, r *http.Request) {
	p := console.ConfigProps{Layout: h.layoutProps(r, "Configuration", "config")}
	cfg, a, err := h.activeAnswers(r)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		h.fail(w, r, "Unable to read the active configuration", err)
		return
	default:
		p.Found, p.Config, p.Summary = true, cfg, setup.Summary(a, h.cfg.DataDir)
		p.CanExport = auth.Satisfies(accountFrom(r).Roles, auth.Admins)
		p.Federation = setup.Federates(&a)
	}
	h.render(w, r, http.StatusOK, console.Config(p))
}

// configExport downloads the active configuration as a settings file.
func (h *Handler) configExport(w http.ResponseWriter, r *http.Request) {
	cfg, err := h.st.ActiveConfiguration(r.Context())
	if errors.Is(err, store.ErrNotFound) {
		h.errorPage(w, r, http.StatusNotFound, "Nothing to export", "No configuration has been applied yet.")
		return
	}
	if err != nil {
		h.fail(w, r, "Unable to read the active configuration", err)
		return
	}
	now := time.Now()
	x, err := setup.ExportConfiguration(cfg, username(r), h.cfg.DataDir, now)
	if err != nil {
		h.fail(w, r, "Unable to export the active configuration", err)
		return
	}
	body, err := json.MarshalIndent(x, "", "  ")
	if err != nil {
		h.fail(w, r, "Unable to encode the settings", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="hybridsync-settings-%s.json"`, now.UTC().Format("20060102-150405")))
	_, _ = w.Write(append(body, '\n'))
}
