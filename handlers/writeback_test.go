package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/e2e/forest"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
)

// walkToWriteback takes the wizard to Writeback with fabrikam (svc-sync) and
// the features given.
func walkToWriteback(c *client, features url.Values) {
	c.t.Helper()
	walkToDirectories(c)
	c.mustAddForest(svcSync(c.t, fabrikamForest(c.t)))
	for _, p := range [][2]string{{"directories", "signin-configuration"}, {"signin-configuration", "ou-filtering"},
		{"ou-filtering", "identifying-users"}, {"identifying-users", "group-filtering"}, {"group-filtering", "optional-features"}} {
		c.next(p[0], nil, p[1])
	}
	c.next("optional-features", features, "writeback")
}

// jobLog is a job's log, one line per event.
func (e *env) jobLog(t *testing.T, id int64) string {
	t.Helper()
	evs, err := e.st.Events(context.Background(), id, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, ev := range evs {
		b.WriteString(ev.Message + "\n")
	}
	return b.String()
}

// Device writeback into fabrikam: the page reads that the forest is not
// prepared, refuses a non-admin's credentials, takes an enterprise admin's;
// Configure prepares the forest with them, once; the page then finds it
// ready, and a second Configure needs no credentials.
func TestWritebackPreparesTheForest(t *testing.T) {
	t.Parallel()
	fab := fabrikamForest(t)
	const name = "fabrikam.example.test"
	e := newEnv(t)
	c := e.signedIn("admin")
	walkToWriteback(c, url.Values{"password_hash_sync": {"on"}, "device_writeback": {"on"}})

	r := c.page("writeback")
	if v, _ := r.find(t, `[data-testid="field-device_forest-`+name+`"]`).Attr("checked"); v == "" && r.find(t, `[data-testid="field-device_forest-`+name+`"][checked]`).Length() != 1 {
		t.Error("the only forest is not chosen by default")
	}
	if r.find(t, `[data-testid="wb-prepare-`+name+`"]`).Length() != 1 {
		t.Fatalf("fabrikam is not said to need preparing:\n%s", r.find(t, `[data-testid="wb-`+name+`"]`).Text())
	}
	if got := r.find(t, `[data-testid="wb-schema"]`).Text(); !strings.Contains(got, "2012 R2") {
		t.Errorf("schema shown as %q", got)
	}
	if r.find(t, `[data-testid="wb-commands-`+name+`"]`).Length() != 1 {
		t.Error("no commands for an admin to run instead")
	}

	// svc-sync is no enterprise admin.
	lay := forest.LayoutOf(fab)
	bad := c.submit(r, "/setup/writeback", "wb_admin:"+name, url.Values{"wb_user:" + name: {lay.SvcSyncUPN}, "wb_password:" + name: {forest.SvcSyncPassword}})
	wantStatus(t, bad, http.StatusUnprocessableEntity, "svc-sync as enterprise admin")
	if got := bad.testid(t, "error-wb_admin:"+name); !strings.Contains(got, "not a member of Enterprise Admins") {
		t.Errorf("refusal says %q", got)
	}
	if v, _ := bad.value(t, "wb_user:"+name); v != lay.SvcSyncUPN {
		t.Errorf("the typed user is lost: %q", v)
	}
	ok := c.submit(c.page("writeback"), "/setup/writeback", "wb_admin:"+name, url.Values{"wb_user:" + name: {fab.AdminUPN}, "wb_password:" + name: {fab.AdminPassword}})
	wantRedirect(t, ok, "/setup/writeback", "the enterprise admin's credentials")
	if got := c.page("writeback").testid(t, "wb-entered-"+name); !strings.Contains(got, fab.AdminUPN) {
		t.Errorf("entered credentials shown as %q", got)
	}
	c.next("writeback", nil, "ready")

	j := c.configure(e)
	log := e.jobLog(t, j.ID)
	for _, want := range []string{"Created CN=RegisteredDevices," + fab.BaseDN, "Granted", "is ready for writeback"} {
		if !strings.Contains(log, want) {
			t.Errorf("Configure's log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, fab.AdminPassword) {
		t.Error("the log holds the enterprise admin's password")
	}

	// Prepared: the page says so and asks nothing; a second Configure
	// needs no credentials and finds the forest ready.
	r = c.page("writeback")
	if r.find(t, `[data-testid="wb-ready-`+name+`"]`).Length() != 1 || r.find(t, `input[type="password"]`).Length() != 0 {
		t.Errorf("after Configure the page shows:\n%s", r.find(t, `[data-testid="wb-`+name+`"]`).Text())
	}
	c.next("writeback", nil, "ready")
	j2 := c.configure(e)
	if log := e.jobLog(t, j2.ID); !strings.Contains(log, "is ready for writeback") || strings.Contains(log, "Created CN=") {
		t.Errorf("second Configure's log:\n%s", log)
	}
}

// Without credentials, Configure does not prepare the forest: it warns, with
// the commands, and the job does not end succeeded.
func TestWritebackWithoutCredentialsWarns(t *testing.T) {
	t.Parallel()
	corp := corpForest(t)
	const name = "corp.example.test"
	e := newEnv(t)
	c := e.signedIn("admin")
	walkToDirectories(c)
	c.mustAddForest(svcSync(t, corp))
	for _, p := range [][2]string{{"directories", "signin-configuration"}, {"signin-configuration", "ou-filtering"},
		{"ou-filtering", "identifying-users"}, {"identifying-users", "group-filtering"}, {"group-filtering", "optional-features"}} {
		c.next(p[0], nil, p[1])
	}
	c.next("optional-features", url.Values{"password_hash_sync": {"on"}, "device_writeback": {"on"}}, "writeback")
	c.next("writeback", nil, "ready")
	r := c.page("ready")
	id := jobIDFrom(t, c.post("/setup/configure", withAction(formValues(t, r, "/setup/ready"), "configure")))
	j := e.waitJob(id, 90*time.Second)
	if j.Status != jobs.Warnings {
		t.Fatalf("Configure ended %s (%s), want succeeded with warnings", j.Status, j.Error)
	}
	probs, err := e.st.Problems(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range probs[id] {
		if p.Name == "writeback-not-ready/"+name {
			found = strings.Contains(p.Action, "run the commands in this step's log")
		}
	}
	if !found {
		t.Errorf("no writeback warning for %s: %+v", name, probs)
	}
	if log := e.jobLog(t, id); !strings.Contains(log, "New-ADObject") && !strings.Contains(log, "dsacls") {
		t.Errorf("the commands are not in the log:\n%s", log)
	}
}

// The staging review lists the pending writebacks (and its CSV has them),
// when a writeback is chosen; its text filter applies to them, an operation
// or kind filter (about exports) selects none.
func TestPendingWritebacksInTheReview(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	a := setup.Defaults()
	a.Features.GroupWriteback = true
	a.Directories.Forests = []setup.ForestConn{{Forest: "fabrikam.example.test", RootDN: "DC=fabrikam,DC=example,DC=test"}}
	a.Writeback = setup.Writeback{GroupForest: "fabrikam.example.test", GroupOU: "OU=M365,DC=fabrikam,DC=example,DC=test", GroupNaming: setup.NamingObjectID}
	raw, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.SaveActiveConfiguration(ctx, store.Configuration{InstallID: "handlers-test", Answers: raw, AppliedBy: "admin"}); err != nil {
		t.Fatal(err)
	}
	const id = "3a5c3221-c465-48c0-95b8-e9305786a271"
	if err := e.st.SaveWritebackObjects(ctx, []store.WritebackObject{{Kind: store.WritebackKindGroup, CloudID: id, Forest: "fabrikam.example.test",
		Tenant: json.RawMessage(`{"id":"` + id + `","displayName":"Sales Team"}`)}}); err != nil {
		t.Fatal(err)
	}
	c := e.signedIn("helpdesk")
	r := c.get("/sync/pending")
	wantStatus(t, r, http.StatusOK, "the staging review")
	row := r.find(t, `[data-testid="pending-wb-`+id+`"]`)
	if row.Length() != 1 || !strings.Contains(row.Text(), "Sales Team") || !strings.Contains(row.Text(), "CN=Group_"+id+",OU=M365") {
		t.Errorf("pending writeback row: %q", row.Text())
	}
	for q, want := range map[string]int{"?text=sales": 1, "?text=nomatch": 0, "?op=add": 0, "?kind=user": 0} {
		if n := c.get("/sync/pending"+q).find(t, `[data-testid="pending-wb-`+id+`"]`).Length(); n != want {
			t.Errorf("%s: %d rows, want %d", q, n, want)
		}
	}
	csv := c.get("/sync/pending.csv").text()
	if !strings.Contains(csv, "Sales Team,"+id+",writeback group,add,adminDescription,,Group_"+id) {
		t.Errorf("the CSV:\n%s", csv)
	}

	// The helpdesk lookup shows its path from the tenant into the forest.
	r = c.get("/sync/lookup?q=sales+team")
	hit := r.find(t, `[data-testid="writeback-0"]`)
	if hit.Length() != 1 || hit.Find(`[data-testid="writeback-state"]`).Text() != "pending" ||
		!strings.Contains(hit.Find(`[data-testid="writeback-words"]`).Text(), "Not written yet") || hit.Find(`[data-testid="writeback-pending"] tbody tr`).Length() != 1 {
		t.Errorf("the lookup shows:\n%s", hit.Text())
	}
	// Deleted in the tenant after it was written: the next cycle deletes it.
	dn := "CN=Group_" + id + ",OU=M365,DC=fabrikam,DC=example,DC=test"
	if err := e.st.SaveWritebackObjects(ctx, []store.WritebackObject{{Kind: store.WritebackKindGroup, CloudID: id, Forest: "fabrikam.example.test",
		Tenant: json.RawMessage(`{"id":"` + id + `","displayName":"Sales Team"}`), Removed: true, DN: dn}}); err != nil {
		t.Fatal(err)
	}
	if got := c.get("/sync/lookup?q="+id).find(t, `[data-testid="writeback-0"] [data-testid="writeback-words"]`).Text(); !strings.Contains(got, "Deleted in the tenant: the next cycle deletes "+dn) {
		t.Errorf("the lookup of a deleted group says %q", got)
	}
}
