package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/e2e/tenant"
	"github.com/hybridsync/hybridsync/engine/cloud"
	"github.com/hybridsync/hybridsync/engine/cycle"
	"github.com/hybridsync/hybridsync/engine/jobs"
)

// A whole cycle against the live fabrikam forest and a tenant emulator of its
// own: Configure, then import, sync and export; the users arrive in the
// tenant; a second cycle is a delta that exports nothing new.
func TestSyncCycleAgainstTheForestAndTenant(t *testing.T) {
	t.Parallel()
	fabrikamForest(t)
	seed := tenant.DefaultSeed()
	for i := range seed.Domains {
		if seed.Domains[i].Name == "fabrikam.example.test" {
			seed.Domains[i].Verified = true
		}
	}
	em := newTenant(t, seed)
	srv := em.srv
	cfg := em.config()
	e := newEnvWith(t, envOptions{entra: &cfg})
	c := e.signedIn("admin")
	walkToReady(c, nil, nil, nil)
	c.configure(e)

	first := e.waitJob(e.startJob(cycle.Kind, cycle.Params{Trigger: cycle.TriggerManual}), 3*time.Minute)
	msgs := jobMessages(t, e, first.ID)
	if first.Status != jobs.Succeeded {
		t.Fatalf("first cycle %s: %s\n%s", first.Status, first.Error, msgs)
	}
	// fabrikam's svc-sync may not write ms-DS-ConsistencyGuid: the
	// write-back is refused with a warning, and the cycle goes on.
	for _, want := range []string{"full import", "Full sync of", "write(s) of ms-DS-ConsistencyGuid were refused", "Exported:"} {
		if !strings.Contains(msgs, want) {
			t.Errorf("the first cycle's log lacks %q:\n%s", want, msgs)
		}
	}

	// In the tenant: a fabrikam user, with its sourceAnchor.
	ctx := context.Background()
	g, err := cloud.New(cloud.Config{GraphURL: srv.URL + "/v1.0"}, &cloud.PasswordGrant{Authority: srv.URL + "/organizations", ClientID: tenant.ConnectClientID, Username: adminUPN, Password: adminPassword})
	if err != nil {
		t.Fatal(err)
	}
	users, err := g.FindUsers(ctx, "startswith(userPrincipalName,'tuser003@')")
	if err != nil || len(users) != 1 || users[0].OnPremisesImmutableID == "" {
		t.Fatalf("tuser003 in the tenant: %+v %v", users, err)
	}

	second := e.waitJob(e.startJob(cycle.Kind, cycle.Params{Trigger: cycle.TriggerManual}), 3*time.Minute)
	msgs = jobMessages(t, e, second.ID)
	if second.Status != jobs.Succeeded {
		t.Fatalf("second cycle %s: %s\n%s", second.Status, second.Error, msgs)
	}
	for _, want := range []string{"delta import", "Delta sync of", "Exported: 0 add(s)"} {
		if !strings.Contains(msgs, want) {
			t.Errorf("the second cycle's log lacks %q:\n%s", want, msgs)
		}
	}

	// The helpdesk: the cycles, and tuser003's path from the forest to the tenant.
	hd := e.signedIn("helpdesk")
	r := hd.get("/sync")
	wantStatus(t, r, http.StatusOK, "the sync page")
	if n := r.find(t, `[data-testid="sync-cycles"] li`).Length(); n != 2 {
		t.Errorf("%d cycles listed, want 2", n)
	}
	if r.find(t, `[data-testid="sync-run"]`).Length() != 0 || r.find(t, `[data-testid="schedule-form"]`).Length() != 0 {
		t.Error("Browse is offered buttons it may not use")
	}
	r = hd.get("/sync/lookup?q=" + url.QueryEscape(users[0].UserPrincipalName))
	wantStatus(t, r, http.StatusOK, "lookup")
	path := strings.Join(strings.Fields(r.find(t, `[data-testid="hit-0"] [data-testid="path"]`).Text()), " ")
	for _, want := range []string{"in scope", "synchronized", users[0].OnPremisesImmutableID, "in Microsoft Entra ID", users[0].ID} {
		if !strings.Contains(path, want) {
			t.Errorf("the path lacks %q: %s", want, path)
		}
	}
	if r.find(t, `[data-testid="hit-0"] [data-testid="cloud-attrs"]`).Length() != 1 {
		t.Error("no computed cloud attributes")
	}
	if r := hd.get("/sync/lookup?q=nobody-like-this"); r.find(t, `[data-testid="lookup-none"]`).Length() != 1 {
		t.Error("an unknown name is not said to be unknown")
	}
	// Contacts can't be exported through Graph: they stay pending, reviewable and in the CSV.
	r = hd.get("/sync/pending?kind=contact")
	wantStatus(t, r, http.StatusOK, "pending exports")
	if n, count := r.find(t, `.panel[data-testid^="pending-"] .badge.add`).Length(), r.testid(t, "pending-count"); n != 500 || !strings.Contains(count, "the first 500 are shown") {
		t.Errorf("%d pending contact adds shown (%s), want the first 500 of fabrikam's contacts", n, count)
	}
	csv := hd.get("/sync/pending.csv?kind=contact")
	if csv.status != http.StatusOK || !strings.HasPrefix(csv.header.Get("Content-Type"), "text/csv") || strings.Count(csv.text(), "\n") < 2 {
		t.Errorf("CSV: %d %s, %d lines", csv.status, csv.header.Get("Content-Type"), strings.Count(csv.text(), "\n"))
	}
	// Operators run a cycle; Browse may not.
	if r := hd.post("/sync/run", url.Values{}); r.status != http.StatusForbidden {
		t.Errorf("Browse ran a cycle: %d", r.status)
	}
	op := e.signedIn("operator")
	id := jobIDFrom(t, op.post("/sync/run", url.Values{"full": {"on"}}))
	if j := e.waitJob(id, 3*time.Minute); j.Status != jobs.Succeeded {
		t.Errorf("a full cycle from the page: %s %s", j.Status, j.Error)
	}
}

func jobMessages(t *testing.T, e *env, id int64) string {
	t.Helper()
	evs, err := e.st.Events(context.Background(), id, 0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Level+": "+ev.Message)
	}
	return strings.Join(out, "\n")
}
