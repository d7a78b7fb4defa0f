package setup

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hybridsync/hybridsync/engine/store"
)

// DiscardDraft puts the wizard back to the active configuration — the
// answers it was applied with, every page passed, on Ready to configure —
// dropping what was changed since. The saved progress takes the
// configuration's time, so the draft no longer counts as open and the
// scheduler stops waiting for it.
func (w *Wizard) DiscardDraft(ctx context.Context, cfg store.Configuration, by string) error {
	a, err := ConfigurationAnswers(cfg)
	if err != nil {
		return err
	}
	done := map[string]bool{}
	for _, p := range Visible(&a) {
		done[p.ID] = true
	}
	doneJSON, err := json.Marshal(done)
	if err != nil {
		return fmt.Errorf("setup: unable to encode progress: %w", err)
	}
	return w.Store.SaveWizardState(ctx, store.WizardState{Page: PageReady, Answers: cfg.Answers, DonePages: doneJSON, UpdatedBy: by, UpdatedAt: cfg.AppliedAt})
}
