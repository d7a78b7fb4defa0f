package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hybridsync/hybridsync/engine/audit"
	"github.com/hybridsync/hybridsync/engine/auth"
	"github.com/hybridsync/hybridsync/engine/cycle"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/metaverse"
	"github.com/hybridsync/hybridsync/engine/outcome"
	"github.com/hybridsync/hybridsync/engine/schedule"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
	"github.com/hybridsync/hybridsync/views/console"
)

// GET /: the Overview. Everyone signed in sees the configuration's state;
// Browse and up also see whether sync is healthy and why not.
func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	acct := accountFrom(r)
	p := console.HomeProps{
		Layout:    h.layoutProps(r, "Overview", "home"),
		CanSetup:  auth.Satisfies(acct.Roles, auth.Admins),
		CanBrowse: auth.Satisfies(acct.Roles, auth.Browse),
	}
	cfg, err := h.st.ActiveConfiguration(ctx)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		h.fail(w, r, "Unable to read the active configuration", err)
		return
	default:
		p.Config = &cfg
	}
	if ws, err := h.st.WizardState(ctx); err == nil {
		p.WizardPage, p.WizardSaved, p.WizardBy = ws.Page, ws.UpdatedAt, ws.UpdatedBy
	}
	if p.CanBrowse {
		if err := h.health(ctx, &p); err != nil {
			h.fail(w, r, "Unable to read the state of synchronization", err)
			return
		}
	}
	h.render(w, r, http.StatusOK, console.Home(p))
}

// health reads what answers "is sync healthy?": the last cycle, the
// schedule and why it waits, staging, pending exports, sync errors, the
// deletion guard, what stays wrong until fixed, and the tenant as last read.
func (h *Handler) health(ctx context.Context, p *console.HomeProps) error {
	now := time.Now()
	p.SchedulerOn = h.cfg.Scheduler.On
	var err error
	if p.Settings, err = schedule.Load(ctx, h.st); err != nil {
		return err
	}
	state, err := cycle.ScheduleState(ctx, h.st, now)
	if err != nil {
		return err
	}
	p.Decision, p.Stale, p.LastCompleted = schedule.Decide(p.Settings, state), schedule.Warning(state), state.LastCompleted
	p.WizardOpen, p.NotStarted = state.WizardOpen, state.NotStarted
	hist, err := cycle.History(ctx, h.st, 1)
	if err != nil {
		return err
	}
	if len(hist) > 0 {
		p.LastCycle = &hist[0]
	}
	if p.Pending, err = h.st.PendingCounts(ctx); err != nil {
		return err
	}
	if p.SyncErrors, err = h.st.CountSyncErrors(ctx); err != nil {
		return err
	}
	if p.Guard, err = h.st.DeletionGuard(ctx); err != nil {
		return err
	}
	if p.Conditions, err = h.st.Conditions(ctx, ""); err != nil {
		return err
	}
	if p.Config != nil {
		a, err := setup.ConfigurationAnswers(*p.Config)
		if err != nil {
			return err
		}
		p.Staging, p.Limits, p.Tenant = a.Ready.Staging, setup.Limitations(&a), a.ConnectEntra.Tenant
	}
	p.Attention = attention(p)
	return nil
}

// attention lists, in a few words each, why sync is not healthy: none
// when it is.
func attention(p *console.HomeProps) []string {
	var out []string
	if p.Config == nil {
		return []string{"No configuration has been applied yet."}
	}
	switch {
	case p.LastCycle == nil:
		out = append(out, "No synchronization cycle has run yet.")
	case p.LastCycle.Running():
	case p.LastCycle.Job.Status != jobs.Succeeded:
		out = append(out, fmt.Sprintf("The last cycle %s.", cycleVerb(p.LastCycle.Job.Status)))
	}
	if p.Stale != "" {
		out = append(out, "No cycle has completed for more than 7 days.")
	}
	if !p.SchedulerOn || p.Settings.Suspended || p.NotStarted {
		out = append(out, "Cycles don't run on their own.")
	}
	if p.SyncErrors > 0 {
		out = append(out, fmt.Sprintf("%d sync error(s) are open.", p.SyncErrors))
	}
	if n := len(p.Conditions); n > 0 {
		out = append(out, fmt.Sprintf("%d problem(s) stay until fixed.", n))
	}
	if p.Staging {
		out = append(out, "Staging mode: nothing is exported.")
	}
	if p.Pending[metaverse.OpDelete] > 0 && p.LastCycle != nil && p.LastCycle.Job.Status == jobs.Stopped {
		out = append(out, fmt.Sprintf("%d delete(s) wait for an administrator.", p.Pending[metaverse.OpDelete]))
	}
	return out
}

// cycleVerb says how a cycle ended, to follow "The last cycle".
func cycleVerb(status string) string {
	if status == jobs.Stopped {
		return "was stopped by the deletion guard"
	}
	return outcome.Label(status)
}

// POST /setup/discard puts the wizard back to the active configuration,
// dropping a draft nobody will configure: the scheduler no longer waits
// for it (Administrators).
func (h *Handler) setupDiscard(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	cfg, err := h.st.ActiveConfiguration(ctx)
	if errors.Is(err, store.ErrNotFound) {
		h.errorPage(w, r, http.StatusConflict, "No configuration to go back to", "No configuration has been applied yet, so the wizard's answers are all there is: finish the wizard and select Configure.")
		return
	}
	if err != nil {
		h.fail(w, r, "Unable to read the active configuration", err)
		return
	}
	if err := h.wiz.DiscardDraft(ctx, cfg, username(r)); err != nil {
		h.fail(w, r, "Unable to discard the wizard's draft", err)
		return
	}
	h.log.Info("wizard draft discarded", "user", username(r), "configuration", cfg.ID)
	h.audit(r, audit.SetupDiscard, fmt.Sprintf("configuration %d", cfg.ID), audit.Succeeded, "the wizard is back to the configuration in force")
	redirect(w, r, "/")
}
