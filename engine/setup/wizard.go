package setup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hybridsync/hybridsync/engine/secret"
	"github.com/hybridsync/hybridsync/engine/store"
)

// Wizard loads and saves the wizard's progress.
type Wizard struct {
	Store   *store.Store
	Box     *secret.Box
	Checker Checker
}

// State is the wizard's progress.
type State struct {
	Page    string
	Answers Answers
	Done    map[string]bool
}

// Load returns the saved progress, or a fresh wizard on its first page.
func (w *Wizard) Load(ctx context.Context) (State, error) {
	ws, err := w.Store.WizardState(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return State{Page: Pages[0].ID, Answers: Defaults(), Done: map[string]bool{}}, nil
	}
	if err != nil {
		return State{}, err
	}
	st := State{Page: ws.Page, Answers: Defaults(), Done: map[string]bool{}}
	if err := json.Unmarshal(ws.Answers, &st.Answers); err != nil {
		return State{}, fmt.Errorf("setup: saved answers are corrupt: %w", err)
	}
	if err := json.Unmarshal(ws.DonePages, &st.Done); err != nil {
		return State{}, fmt.Errorf("setup: saved progress is corrupt: %w", err)
	}
	if !IsVisible(&st.Answers, st.Page) {
		st.Page = Pages[0].ID
	}
	return st, nil
}

// Actions of a page's form.
const (
	ActionNext = "next"
	ActionBack = "back"
)

// ErrUnknownAction is returned for a button the page does not have.
var ErrUnknownAction = errors.New("setup: that page has no such button")

// ErrPageHidden is returned for a page the answers don't show.
var ErrPageHidden = errors.New("setup: that page is not part of this configuration")

// Reachable reports whether a page can be opened or submitted: it is shown for
// these answers and was passed with Next, or is the page the wizard stopped on.
func (st *State) Reachable(id string) bool {
	return IsVisible(&st.Answers, id) && (st.Done[id] || id == st.Page)
}

// Submit binds a page's form into the state and saves it. Back saves what was
// typed without judging it and returns the previous page; Next validates, saves
// either way (so nothing typed is lost), and moves on only without errors.
func (w *Wizard) Submit(ctx context.Context, st *State, pageID, action string, f Form, by string) (string, Errors, error) {
	page, ok := PageByID(pageID)
	if !ok || !IsVisible(&st.Answers, pageID) {
		return "", nil, ErrPageHidden
	}
	if page.Bind != nil {
		page.Bind(&st.Answers, f)
	}
	target := pageID
	var errs Errors
	switch action {
	case ActionBack:
		if prev, _ := Neighbours(&st.Answers, pageID); prev != "" {
			target = prev
		}
	case ActionNext, "":
		if page.Validate != nil {
			errs = page.Validate(ctx, &st.Answers, w.Checker)
		}
		if len(errs) == 0 {
			st.Done[pageID] = true
			if _, next := Neighbours(&st.Answers, pageID); next != "" {
				target = next
			}
		} else {
			delete(st.Done, pageID)
		}
	default:
		// A page's own button: it changes the answers and stays on the page.
		if page.Act == nil {
			return "", nil, ErrUnknownAction
		}
		errs = page.Act(ctx, &st.Answers, action, f, w.Checker)
		delete(st.Done, pageID)
	}
	st.Page = target
	if err := w.save(ctx, st, by); err != nil {
		return "", nil, err
	}
	return target, errs, nil
}

// Save stores the wizard's state as it is (a download recorded on a page).
func (w *Wizard) Save(ctx context.Context, st *State, by string) error { return w.save(ctx, st, by) }

func (w *Wizard) save(ctx context.Context, st *State, by string) error {
	if err := st.Answers.SealSecrets(w.Box); err != nil {
		return err
	}
	answers, err := json.Marshal(st.Answers)
	if err != nil {
		return fmt.Errorf("setup: unable to encode answers: %w", err)
	}
	done, err := json.Marshal(st.Done)
	if err != nil {
		return fmt.Errorf("setup: unable to encode progress: %w", err)
	}
	return w.Store.SaveWizardState(ctx, store.WizardState{Page: st.Page, Answers: answers, DonePages: done, UpdatedBy: by})
}

// SealSecrets encrypts the passwords typed in this request into the answers.
func (a *Answers) SealSecrets(box *secret.Box) error {
	c := &a.Components
	for _, s := range []struct {
		plain   *string
		sealed  *string
		purpose string
	}{{&c.newSQLPassword, &c.SQLPassword, secret.PurposeSQLPassword}, {&c.newServicePassword, &c.ServiceAccountPassword, secret.PurposeServiceAccountPassword}} {
		if *s.plain == "" {
			continue
		}
		v, err := box.SealFor(s.purpose, *s.plain)
		if err != nil {
			return fmt.Errorf("setup: unable to seal a password: %w", err)
		}
		*s.sealed, *s.plain = v, ""
	}
	c.upload = nil
	for i := range a.Directories.Forests {
		fc := &a.Directories.Forests[i]
		if fc.newPassword == "" {
			continue
		}
		v, err := box.SealFor(secret.ForestConnectorPassword(fc.Forest), fc.newPassword)
		if err != nil {
			return fmt.Errorf("setup: unable to seal a password: %w", err)
		}
		fc.ConnectorPassword, fc.newPassword = v, ""
	}
	a.Directories.Draft.password = ""
	return nil
}

// Return moves the wizard back to a page (one that failed when Configure
// checked every page again), so that it can be corrected and submitted.
func (w *Wizard) Return(ctx context.Context, st *State, pageID, by string) error {
	st.Page = pageID
	delete(st.Done, pageID)
	return w.save(ctx, st, by)
}

// ValidateAll validates every visible page and returns the first page with errors.
func (w *Wizard) ValidateAll(ctx context.Context, a *Answers) (string, Errors) {
	for _, p := range Visible(a) {
		if p.Validate == nil {
			continue
		}
		if errs := p.Validate(ctx, a, w.Checker); len(errs) > 0 {
			return p.ID, errs
		}
	}
	return "", nil
}
