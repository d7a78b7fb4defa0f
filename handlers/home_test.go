package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/engine/configure"
	"github.com/hybridsync/hybridsync/engine/cycle"
	"github.com/hybridsync/hybridsync/engine/entra"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
)

// The Overview says why the scheduler waits — here, a wizard draft saved
// since the configuration was applied — and an administrator may discard
// the draft: the wizard goes back to the active configuration and the
// scheduler stops waiting. Browse sees why, without the button.
func TestOverviewDiscardsAWizardDraft(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, envOptions{cfg: Config{Scheduler: configure.Scheduler{On: true}}})
	ctx := context.Background()
	a := setup.Defaults()
	a.SignIn.Method, a.Features.PasswordHashSync = setup.MethodNone, false
	applied, _ := json.Marshal(a)
	if _, err := e.st.SaveActiveConfiguration(ctx, store.Configuration{InstallID: "handlers-test", Answers: applied, AppliedBy: "admin"}); err != nil {
		t.Fatal(err)
	}
	// The draft: Staging ticked on Ready, not configured.
	draft := a
	draft.Ready.Staging = true
	b, _ := json.Marshal(draft)
	// Saved after the configuration was applied: in the same millisecond
	// it would not be a draft of a newer change.
	active, err := e.st.ActiveConfiguration(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.SaveWizardState(ctx, store.WizardState{Page: setup.PageReady, Answers: b, DonePages: []byte(`{}`), UpdatedBy: "admin", UpdatedAt: active.AppliedAt.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	if s, err := cycle.ScheduleState(ctx, e.st, time.Now().Add(time.Second)); err != nil || !s.WizardOpen {
		t.Fatalf("the draft does not hold the scheduler: %+v %v", s, err)
	}

	hd := e.signedIn("helpdesk").get("/")
	wantStatus(t, hd, http.StatusOK, "the Overview as Browse")
	if got := hd.testid(t, "wizard-draft"); !strings.Contains(got, "The scheduler waits until it is configured or discarded") {
		t.Errorf("Browse is not told why the scheduler waits: %q", got)
	}
	if hd.find(t, `[data-testid="discard-draft"]`).Length() != 0 {
		t.Error("Browse is offered to discard the draft")
	}
	c := e.signedIn("admin")
	if c.get("/").find(t, `[data-testid="discard-draft"]`).Length() != 1 {
		t.Fatal("no button to discard the draft for an administrator")
	}
	if r := e.signedIn("helpdesk").post("/setup/discard", url.Values{}); r.status != http.StatusForbidden {
		t.Errorf("Browse discarded the draft: %d", r.status)
	}
	wantRedirect(t, c.post("/setup/discard", url.Values{}), "/", "discard the draft")

	if s, err := cycle.ScheduleState(ctx, e.st, time.Now()); err != nil || s.WizardOpen {
		t.Errorf("the scheduler still waits for the discarded draft: %+v %v", s, err)
	}
	st, err := e.h.wiz.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Answers.Ready.Staging || st.Page != setup.PageReady {
		t.Errorf("the wizard is not back at the active configuration: staging %v on %s", st.Answers.Ready.Staging, st.Page)
	}
	if r := c.get("/"); r.find(t, `[data-testid="wizard-draft"]`).Length() != 0 {
		t.Error("the Overview still shows the draft")
	}
}

// TestOverviewShowsTheFeaturesAsRead: the features Configure read (as a
// Global Administrator) are shown as a table, each as read.
func TestOverviewShowsTheFeaturesAsRead(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, envOptions{})
	a := setup.Defaults()
	a.SignIn.Method, a.Features.PasswordHashSync = setup.MethodNone, false
	a.ConnectEntra.Tenant = &entra.Tenant{DisplayName: "Contoso", InitialDomain: "contoso.onmicrosoft.com", Sync: &entra.SyncFeatures{
		ReadAt: time.Now().UTC().Format(time.RFC3339), PasswordHashSync: true, BlockSoftMatch: true, DeletionPrevention: "enabledForCount", DeletionThreshold: 500}}
	applied, _ := json.Marshal(a)
	if _, err := e.st.SaveActiveConfiguration(context.Background(), store.Configuration{InstallID: "handlers-test", Answers: applied, AppliedBy: "admin"}); err != nil {
		t.Fatal(err)
	}
	hd := e.signedIn("helpdesk").get("/")
	wantStatus(t, hd, http.StatusOK, "the Overview as Browse")
	table := hd.find(t, `table[data-testid="tenant-features"]`)
	if table.Length() != 1 {
		t.Fatalf("no features table: %q", hd.find(t, `[data-testid="tenant"]`).Text())
	}
	for _, want := range []string{"Password hash synchronizationon", "Soft matchblocked", "Hard match takeover of cloud objectsallowed"} {
		if !strings.Contains(strings.Join(strings.Fields(table.Text()), ""), strings.ReplaceAll(want, " ", "")) {
			t.Errorf("features table %q lacks %q", table.Text(), want)
		}
	}
}
