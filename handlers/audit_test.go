package handlers

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/engine/audit"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
)

// lastAudit is the newest audit record of an action.
func (e *env) lastAudit(t *testing.T, action string) (store.AuditEvent, bool) {
	t.Helper()
	if evs := auditOf(t, e, action); len(evs) > 0 {
		return evs[0], true
	}
	return store.AuditEvent{}, false
}

// waitAudit waits until the audit trail holds n records of the action, and
// returns the newest.
func (e *env) waitAudit(t *testing.T, action string, n int) store.AuditEvent {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if evs := auditOf(t, e, action); len(evs) >= n {
			return evs[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d %s records after 10 s", n, action)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// tryPassword signs in from a new browser, as a stranger would.
func tryPassword(e *env, user, pw string) *response {
	c := e.newClient()
	c.get("/signin")
	return c.post("/signin", url.Values{"username": {user}, "password": {pw}})
}

// Each state-changing request leaves its record: who, from where, what, on
// what, how it ended; and no password in it.
func TestAuditRecordsActions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.signedIn("admin")
	tests := []struct {
		name string
		do   func(t *testing.T)
		// want is the newest record of the action.
		action, actor, target, outcome, detail string
	}{
		{"wrong password", func(t *testing.T) {
			tryPassword(e, "operator", "Wrong-but-long-1")
		}, audit.SignIn, "", "operator", audit.Failed, "wrong password"},
		{"no such account", func(t *testing.T) {
			tryPassword(e, "mallory", "Wrong-but-long-2")
		}, audit.SignIn, "", "mallory", audit.Failed, "no such account"},
		{"signed in", func(t *testing.T) { e.signedIn("operator") }, audit.SignIn, "operator", "operator", audit.Succeeded, ""},
		{"account created", func(t *testing.T) {
			admin.post("/accounts", url.Values{"username": {"dave"}, "password": {"A-long-enough-password-3"}, "groups": {"browse"}})
		}, audit.AccountAdd, "admin", "dave", audit.Succeeded, "groups: ADSyncBrowse"},
		{"groups changed", func(t *testing.T) {
			admin.post(fmt.Sprintf("/accounts/%d/groups", e.ids["helpdesk"]), url.Values{"groups": {"browse", "operators"}})
		}, audit.AccountRoles, "admin", "helpdesk", audit.Succeeded, "groups: ADSyncBrowse → ADSyncBrowse, ADSyncOperators"},
		{"last administrator kept", func(t *testing.T) {
			admin.post(fmt.Sprintf("/accounts/%d/groups", e.ids["admin"]), url.Values{"groups": {"browse"}})
		}, audit.AccountRoles, "admin", "admin", audit.Refused, "the last administrator; asked for groups: ADSyncBrowse"},
		{"schedule", func(t *testing.T) {
			admin.post("/sync/schedule", url.Values{"action": {"interval"}, "interval": {"45"}})
		}, audit.Schedule, "admin", "", audit.Succeeded, "every 30m0s → every 45m0s"},
		{"guard", func(t *testing.T) {
			admin.post("/sync/guard", url.Values{"action": {"save"}, "threshold": {"25"}, "percent": {"10"}})
		}, audit.Guard, "admin", "", audit.Succeeded, "stop at 500 deletes or 0% → stop at 25 deletes or 10%"},
		{"allow once", func(t *testing.T) {
			admin.post("/sync/guard", url.Values{"action": {"allow"}, "allow": {"70"}})
		}, audit.GuardAllowOnce, "admin", "", audit.Succeeded, "the next export may delete 70 objects, once"},
		{"oidc settings off", func(t *testing.T) {
			admin.post("/accounts/oidc", url.Values{"issuer": {"https://idp.example.test"}, "client_id": {"hs"}, "client_secret": {"Secret-Value-9"},
				"display_name": {"Example"}, "groups_claim": {"groups"}, "group_admins": {"g-admins"}})
		}, audit.OIDCSettings, "admin", "https://idp.example.test", audit.Succeeded, ""},
		{"signed out", func(t *testing.T) { e.signedIn("helpdesk").post("/signout", nil) }, audit.SignOut, "helpdesk", "helpdesk", audit.Succeeded, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.do(t)
			got, ok := e.lastAudit(t, tt.action)
			if !ok {
				t.Fatalf("no %s record", tt.action)
			}
			if got.Actor != tt.actor || got.Target != tt.target || got.Outcome != tt.outcome || got.Client != "127.0.0.1" {
				t.Errorf("record %+v\nwant actor %q target %q outcome %q from 127.0.0.1", got, tt.actor, tt.target, tt.outcome)
			}
			if tt.detail != "" && got.Detail != tt.detail {
				t.Errorf("detail %q, want %q", got.Detail, tt.detail)
			}
			if time.Since(got.At) > time.Minute {
				t.Errorf("recorded at %v", got.At)
			}
		})
	}
	all, err := e.st.AuditEvents(context.Background(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(all)
	for _, secret := range []string{testPassword, "Wrong-but-long", "A-long-enough-password-3", "Secret-Value-9"} {
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("the audit trail holds %q", secret)
		}
	}
	if o, _ := e.lastAudit(t, audit.OIDCSettings); !strings.Contains(o.Detail, "a new client secret") || !strings.Contains(o.Detail, `issuer: "" → "https://idp.example.test"`) {
		t.Errorf("oidc settings detail %q", o.Detail)
	}
}

// A throttled sign-in is recorded as refused.
func TestAuditThrottledSignIn(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, envOptions{cfg: Config{SignInBurst: 1, SignInRate: 0.0001}})
	c := e.newClient()
	c.get("/signin")
	for range 7 {
		c.post("/signin", url.Values{"username": {"operator"}, "password": {"Wrong-but-long-1"}})
	}
	got, ok := e.lastAudit(t, audit.SignIn)
	if !ok || got.Outcome != audit.Refused || !strings.Contains(got.Detail, "Try again in") {
		t.Errorf("last sign-in record %+v, want refused with when to try again", got)
	}
}

// The page filters, pages and downloads; a filter it can't read says so,
// keeps what was typed and lists nothing.
func TestAuditPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	day := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for i := range 105 {
		if err := e.st.AppendAudit(ctx, store.AuditEvent{At: day.Add(time.Duration(i) * time.Minute), Actor: "operator", Client: "127.0.0.5",
			Action: audit.SyncRun, Target: fmt.Sprintf("job %d", i), Outcome: audit.Started, Detail: "delta cycle"}); err != nil {
			t.Fatal(err)
		}
	}
	changes, _ := json.Marshal([]setup.Change{{Group: "Configure", Label: "Staging mode", Old: "No", New: "Yes"}})
	for _, ev := range []store.AuditEvent{
		{At: day.AddDate(0, 0, 1), Actor: "admin", Client: "127.0.0.1", Action: audit.ConfigureStart, Target: "job 7", Outcome: audit.Started, Detail: string(changes)},
		{At: day.AddDate(0, 0, 1), Actor: "", Client: "127.0.0.9", Action: audit.SignIn, Target: "=HYPERLINK(\"http://x\")", Outcome: audit.Failed, Detail: "no such account"},
	} {
		if err := e.st.AppendAudit(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	admin := e.signedIn("admin")

	r := admin.get("/audit?action=configure")
	wantStatus(t, r, http.StatusOK, "audit filtered on configure")
	if n := r.find(t, `[data-testid="audit-events"] tbody tr`).Length(); n != 1 {
		t.Errorf("configure filter lists %d rows", n)
	}
	if got := r.find(t, `[data-testid="audit-changes"] li`).Text(); !strings.Contains(got, "Staging mode") || !strings.Contains(got, "No") || !strings.Contains(got, "Yes") {
		t.Errorf("changes shown as %q", got)
	}

	r = admin.get("/audit?actor=operator")
	if n := r.find(t, `[data-testid="audit-events"] tbody tr`).Length(); n != auditPageSize {
		t.Errorf("first page lists %d rows, want %d", n, auditPageSize)
	}
	older, ok := r.find(t, `[data-testid="audit-older"]`).Attr("href")
	if !ok || !strings.Contains(older, "actor=operator") {
		t.Fatalf("older link %q", older)
	}
	r = admin.get(older)
	if n := r.find(t, `[data-testid="audit-events"] tbody tr`).Length(); n != 5 || r.find(t, `[data-testid="audit-older"]`).Length() != 0 {
		t.Errorf("second page lists %d rows (want 5, no older link)", n)
	}
	if r.find(t, `[data-testid="audit-newest"]`).Length() != 1 {
		t.Error("second page has no link back to the newest")
	}

	// One day, in the browser's zone (UTC here): the 105 runs of 30 November.
	r = admin.get("/audit?from=2026-11-30&to=2026-11-30&outcome=started&action=sync")
	if n := r.find(t, `[data-testid="audit-events"] tbody tr`).Length(); n != auditPageSize {
		t.Errorf("30 November lists %d rows", n)
	}
	r = admin.get("/audit?from=2026-12-01")
	if n := r.find(t, `[data-testid="audit-events"] tbody tr`).Length(); n < 2 {
		t.Errorf("from 1 December lists %d rows", n)
	}

	for _, bad := range []struct{ q, says string }{
		{"from=30.11.2026", "YYYY-MM-DD"},
		{"action=account.steal", "There is no action"},
		{"from=2026-12-02&to=2026-12-01", "first day is after the last"},
	} {
		r := admin.get("/audit?" + bad.q)
		wantStatus(t, r, http.StatusUnprocessableEntity, bad.q)
		if got := r.testid(t, "audit-error"); !strings.Contains(got, bad.says) {
			t.Errorf("%s: error %q, want %q", bad.q, got, bad.says)
		}
		if r.find(t, `[data-testid="audit-events"]`).Length() != 0 {
			t.Errorf("%s: rows listed under a filter that can't be read", bad.q)
		}
	}
	if v, _ := admin.get("/audit?from=30.11.2026").find(t, `#from`).Attr("value"); v != "30.11.2026" {
		t.Errorf("the typed day is lost: %q", v)
	}

	// CSV: everything the filter selects, no page; a formula is kept text.
	r = admin.get("/audit.csv?action=signin")
	wantStatus(t, r, http.StatusOK, "CSV")
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") || !strings.Contains(r.header.Get("Content-Disposition"), "attachment") {
		t.Errorf("CSV served as %q, %q", ct, r.header.Get("Content-Disposition"))
	}
	recs, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var stranger []string
	for _, rec := range recs[1:] {
		if rec[2] == "" && rec[4] == audit.SignIn && rec[6] == audit.Failed && rec[7] == "no such account" {
			stranger = rec
		}
	}
	if strings.Join(recs[0], ",") != "id,time,actor,client,action,target,outcome,detail" || stranger == nil || stranger[5] != `'=HYPERLINK("http://x")` {
		t.Errorf("CSV header %v, stranger's row %q", recs[0], stranger)
	}
	r = admin.get("/audit.csv?actor=operator")
	if recs, _ := csv.NewReader(bytes.NewReader(r.body)).ReadAll(); len(recs) != 106 {
		t.Errorf("CSV of operator's has %d lines, want 105 and the header", len(recs))
	}

	// JSON: an array; a Configure's changes are JSON in it, not a string.
	r = admin.get("/audit.json?action=configure.start")
	var evs []struct {
		Action string          `json:"action"`
		Detail json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(r.body, &evs); err != nil {
		t.Fatalf("JSON download: %v\n%s", err, r.body)
	}
	var cs []setup.Change
	if len(evs) != 1 || json.Unmarshal(evs[0].Detail, &cs) != nil || len(cs) != 1 || cs[0].New != "Yes" {
		t.Errorf("JSON download %s", r.body)
	}

	// Administrators only.
	for _, who := range []string{"operator", "helpdesk"} {
		c := e.signedIn(who)
		for _, p := range []string{"/audit", "/audit.csv", "/audit.json"} {
			if r := c.get(p); r.status != http.StatusForbidden {
				t.Errorf("%s GET %s: %d", who, p, r.status)
			}
		}
	}
}

// Configure records what it changes, and how its job ended: the
// configuration's change history.
func TestAuditConfigureChanges(t *testing.T) {
	t.Parallel()
	e, _, c := configuredWithTenant(t)
	first, ok := e.lastAudit(t, audit.ConfigureStart)
	if !ok || first.Actor != "admin" || !strings.Contains(first.Detail, `"label":"Staging mode","new":"No"`) {
		t.Fatalf("first Configure recorded as %+v", first)
	}
	// The runner tells of a job's end just after the job shows it ended.
	end := e.waitAudit(t, audit.ConfigureEnd, 1)
	if end.Target != first.Target || (end.Outcome != jobs.Succeeded && end.Outcome != jobs.Warnings) || end.Actor != "admin" {
		t.Fatalf("first Configure's end recorded as %+v (start %+v)", end, first)
	}

	// Turn staging mode on and configure again: exactly that is recorded.
	r := c.page("ready")
	v := withAction(formValues(t, r, "/setup/ready"), "configure")
	v.Set("staging", "on")
	id := jobIDFrom(t, c.post("/setup/configure", v))
	e.waitJob(id, 60*time.Second)
	e.waitAudit(t, audit.ConfigureEnd, 2)
	second, _ := e.lastAudit(t, audit.ConfigureStart)
	var cs []setup.Change
	if err := json.Unmarshal([]byte(second.Detail), &cs); err != nil {
		t.Fatalf("detail %q: %v", second.Detail, err)
	}
	want := []setup.Change{{Group: setup.GroupConfigure, Label: "Staging mode", Old: "No", New: "Yes"}}
	if fmt.Sprint(cs) != fmt.Sprint(want) || second.Target != fmt.Sprintf("job %d", id) {
		t.Errorf("second Configure recorded %s changes %+v, want %+v", second.Target, cs, want)
	}
	r = c.get("/audit?action=configure")
	if got := r.find(t, `[data-testid="audit-changes"]`).First().Text(); !strings.Contains(got, "Staging mode") {
		t.Errorf("the change history shows %q", got)
	}
	if r.find(t, `tr[data-action="configure.end"]`).Length() != 2 {
		t.Errorf("the change history shows %d ends", r.find(t, `tr[data-action="configure.end"]`).Length())
	}
}
