package configure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
)

// savedAnswers are the wizard's answers as saved now (a job's own answers are
// the snapshot it started with).
func (c *run) savedAnswers(ctx context.Context) (store.WizardState, setup.Answers, error) {
	a := setup.Defaults()
	ws, err := c.d.Store.WizardState(ctx)
	if err != nil {
		return ws, a, err
	}
	if err := json.Unmarshal(ws.Answers, &a); err != nil {
		return ws, a, fmt.Errorf("the saved answers are corrupt: %w", err)
	}
	return ws, a, nil
}

// updateWizard records what Configure created in the wizard's saved answers:
// change edits them and says whether it changed anything. Without a saved
// wizard there is nothing to update.
func (c *run) updateWizard(ctx context.Context, change func(a *setup.Answers) bool) error {
	ws, a, err := c.savedAnswers(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !change(&a) {
		return nil
	}
	answers, err := json.Marshal(a)
	if err != nil {
		return err
	}
	ws.Answers = answers
	return c.d.Store.SaveWizardState(ctx, ws)
}
