package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/engine/audit"
	"github.com/hybridsync/hybridsync/engine/configure"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
)

// page opens a wizard page and checks that it is the one asked for.
func (c *client) page(id string) *response {
	c.t.Helper()
	r := c.get("/setup/" + id)
	wantStatus(c.t, r, http.StatusOK, "GET /setup/"+id)
	if r.find(c.t, `[data-testid="page-`+id+`"]`).Length() != 1 {
		c.t.Fatalf("GET /setup/%s does not show that page", id)
	}
	return r
}

// next submits a page as shown, with changes, and expects to land on want.
func (c *client) next(id string, change url.Values, want string) {
	c.t.Helper()
	r := c.submit(c.page(id), "/setup/"+id, "next", change)
	wantRedirect(c.t, r, "/setup/"+want, "Next on "+id)
}

func TestWizardNavigation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.signedIn("admin")
	wantRedirect(t, c.get("/setup"), "/setup/express", "a fresh wizard")
	cases := []struct {
		name, method, path string
		status             int
		location           string
	}{
		{"not reached yet", "GET", "/setup/ready", 303, "/setup/express"},
		{"not reached yet, later section", "GET", "/setup/optional-features", 303, "/setup/express"},
		{"hidden without AD FS", "GET", "/setup/adfs-farm", 303, "/setup/express"},
		{"hidden without PingFederate", "GET", "/setup/ping-login", 303, "/setup/express"},
		{"hidden without SSO", "GET", "/setup/single-sign-on", 303, "/setup/express"},
		{"no such page", "GET", "/setup/nope", 404, ""},
		{"Next on a hidden page", "POST", "/setup/adfs-farm", 303, "/setup/express"},
		{"Next on no such page", "POST", "/setup/nope", 303, "/setup/express"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r *response
			if tc.method == "GET" {
				r = c.get(tc.path)
			} else {
				r = c.post(tc.path, url.Values{"action": {"next"}})
			}
			wantStatus(t, r, tc.status, tc.method+" "+tc.path)
			if r.location() != tc.location {
				t.Errorf("redirects to %q, want %q", r.location(), tc.location)
			}
		})
	}
	c.next("express", nil, "components")
	wantRedirect(t, c.get("/setup"), "/setup/components", "resume after Customize")
	wantRedirect(t, c.get("/setup/user-signin"), "/setup/components", "a page after the current one")
	c.page("express") // a page already passed can be opened again
	if st := c.page("components").find(t, `[data-testid="step-express"]`); !st.HasClass("done") {
		t.Errorf("the steps list does not show express as done")
	}
}

// badComponents is an Install required components form wrong in every field
// that can be wrong at once.
var badComponents = url.Values{
	"custom_location":          {"on"},
	"location":                 {"relative/dir"},
	"use_sql":                  {"on"},
	"sql_server":               {"bad host!"},
	"sql_instance":             {"9lives"},
	"sql_database":             {"1db"},
	"sql_permission":           {"dbo"},
	"sql_login":                {`CONTOSO\sync`},
	"sql_trust_cert":           {"on"},
	"use_service_account":      {"on"},
	"service_account_type":     {"domain"},
	"service_account_name":     {"justaname"},
	"custom_groups":            {"on"},
	"group_admins":             {"Admins@corp"},
	"group_operators":          {"HS Ops"},
	"group_browse":             {"hs ops"},
	"group_passwordset":        {"HS Passwords"},
	"import_settings":          {"on"},
	"sql_password":             {""},
	"service_account_password": {""},
}

var badComponentsErrors = map[string]string{
	"location":                 "Enter an absolute path",
	"sql_server":               "not a valid host name",
	"sql_instance":             "An instance name starts with a letter",
	"sql_database":             "Use a name that starts with a letter",
	"sql_login":                "Windows authentication is not available",
	"sql_password":             "Enter the SQL login's password.",
	"service_account_name":     "Include the domain",
	"service_account_password": "Enter the service account's password.",
	"group_admins":             setup.MsgGroupsLocal,
	"group_browse":             "already used for Operators",
	"settings_file":            "Choose a settings file",
}

// wantKept checks that every typed value is back in its input.
func wantKept(t *testing.T, r *response, typed url.Values) {
	t.Helper()
	for name, vs := range typed {
		sel := r.find(t, `input[name="`+name+`"]`)
		if sel.Length() == 0 {
			t.Errorf("no input %s", name)
			continue
		}
		switch typ, _ := sel.First().Attr("type"); typ {
		case "password":
			if v, ok := sel.Attr("value"); ok && v != "" {
				t.Errorf("password %s echoed back", name)
			}
		case "checkbox":
			if got := sel.Is("[checked]"); got != (vs[0] == "on") {
				t.Errorf("checkbox %s checked=%v, want %v", name, got, vs[0] == "on")
			}
		case "radio":
			if sel.Filter(`[value="`+vs[0]+`"]`).Is("[checked]") != true {
				t.Errorf("radio %s=%s not checked", name, vs[0])
			}
		default:
			if v, _ := sel.Attr("value"); v != vs[0] {
				t.Errorf("input %s holds %q, want %q", name, v, vs[0])
			}
		}
	}
}

func TestWizardKeepsInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.signedIn("admin")
	c.next("express", nil, "components")

	// Next with bad input: 422, an error on every bad field, nothing lost.
	r := c.postMultipart("/setup/components", withAction(badComponents, "next"), "", "", nil)
	wantStatus(t, r, http.StatusUnprocessableEntity, "Next with bad input")
	if r.testid(t, "page-error") == "" {
		t.Error("no page-level message")
	}
	for field, msg := range badComponentsErrors {
		if got := r.testid(t, "error-"+field); !strings.Contains(got, msg) {
			t.Errorf("error-%s says %q, want %q", field, got, msg)
		}
	}
	if n := r.find(t, `[data-testid^="error-"]`).Length(); n != len(badComponentsErrors) {
		t.Errorf("%d field errors, want %d", n, len(badComponentsErrors))
	}
	wantKept(t, r, badComponents)

	// Back saves what was typed without judging it.
	wantRedirect(t, c.submit(r, "/setup/components", "back", nil), "/setup/express", "Back with bad input")
	c.next("express", nil, "components")
	r = c.page("components")
	wantKept(t, r, badComponents)
	if n := r.find(t, `[data-testid^="error-"]`).Length(); n != 0 {
		t.Errorf("a plain GET shows %d errors", n)
	}

	// Passwords typed once are kept sealed, not re-asked for.
	r = c.submit(r, "/setup/components", "next", url.Values{"sql_password": {"Sql-Secret-1"}, "service_account_password": {"Svc-Secret-1"}})
	wantStatus(t, r, http.StatusUnprocessableEntity, "Next with passwords")
	for _, f := range []string{"sql_password", "service_account_password"} {
		if r.find(t, `[data-testid="error-`+f+`"]`).Length() != 0 {
			t.Errorf("%s asked for again", f)
		}
	}
	if strings.Contains(r.text(), "Sql-Secret-1") || strings.Contains(r.text(), "Svc-Secret-1") {
		t.Error("a password is in the page")
	}
	ws, err := e.st.WizardState(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(ws.Answers), "Sql-Secret-1") {
		t.Error("the SQL password is stored in the clear")
	}

	// Fix everything: leave every option unselected.
	c.next("components", url.Values{"custom_location": {""}, "use_sql": {""}, "use_service_account": {""}, "custom_groups": {""}, "import_settings": {""}}, "user-signin")

	// User sign-in: AD FS with single sign-on ticked clears single sign-on,
	// with a note instead of an error.
	wantRedirect(t, c.submit(c.page("user-signin"), "/setup/user-signin", "next", url.Values{"method": {setup.MethodADFS}, "sso": {"on"}}),
		"/setup/connect-entra", "SSO with AD FS")
	r = c.page("user-signin")
	wantKept(t, r, url.Values{"method": {setup.MethodADFS}, "sso": {""}})
	if got := r.find(t, `[data-testid="field-sso"]`).Closest("label").NextFiltered(`[data-testid="notice"]`).Text(); got != setup.MsgSSOCleared {
		t.Errorf("the note at single sign-on says %q", got)
	}
	if n := r.find(t, `[data-testid^="error-"]`).Length(); n != 0 {
		t.Errorf("%d errors", n)
	}

	// Then Back and Next, and the choice is still there.
	wantRedirect(t, c.submit(r, "/setup/user-signin", "back", url.Values{"method": {setup.MethodPTA}, "sso": {"on"}}), "/setup/components", "Back")
	c.next("components", nil, "user-signin")
	wantKept(t, c.page("user-signin"), url.Values{"method": {setup.MethodPTA}, "sso": {"on"}})

	// A page with nothing to bind takes any method; an unknown one is an error.
	r = c.submit(c.page("user-signin"), "/setup/user-signin", "next", url.Values{"method": {"carrier-pigeon"}, "sso": {""}})
	wantStatus(t, r, http.StatusUnprocessableEntity, "unknown method")
	if got := r.testid(t, "error-method"); got != setup.MsgChooseMethod {
		t.Errorf("error-method says %q", got)
	}

	// AD FS shows its pages; they are hidden again without it.
	c.next("user-signin", url.Values{"method": {setup.MethodADFS}, "sso": {""}}, "connect-entra")
	for _, p := range []string{"connect-entra", "directories", "signin-configuration", "ou-filtering", "identifying-users", "group-filtering"} {
		next := map[string]string{"connect-entra": "directories", "directories": "signin-configuration", "signin-configuration": "ou-filtering",
			"ou-filtering": "identifying-users", "identifying-users": "group-filtering", "group-filtering": "optional-features"}[p]
		switch p {
		case "directories":
			c.mustAddForest(svcSync(t, corpForest(t)))
		case "connect-entra":
			c.signInEntra(adminUPN, adminPassword)
		}
		c.next(p, nil, next)
	}
	c.next("optional-features", nil, "adfs-farm")
	c.page("adfs-farm")
	wantRedirect(t, c.get("/setup/ping-domain"), "/setup/adfs-farm", "PingFederate page with AD FS")
}

func withAction(v url.Values, action string) url.Values {
	out := url.Values{"action": {action}}
	for k, vs := range v {
		if len(vs) == 1 && vs[0] == "" {
			continue
		}
		out[k] = vs
	}
	return out
}

// walkToReady takes a fresh wizard to Ready to configure with the choices
// given for components, sign-in and features. On Connect your directories it
// adds fabrikam (whose schema has Exchange, so every feature is offered) with
// its existing svc-sync account.
func walkToReady(c *client, components, signIn, features url.Values) {
	c.t.Helper()
	c.next("express", nil, "components")
	c.next("components", components, "user-signin")
	c.next("user-signin", signIn, "connect-entra")
	pages := []string{"connect-entra", "directories", "signin-configuration", "ou-filtering", "identifying-users", "group-filtering", "optional-features"}
	for i, p := range pages[:len(pages)-1] {
		switch p {
		case "directories":
			c.mustAddForest(svcSync(c.t, fabrikamForest(c.t)))
		case "connect-entra":
			c.signInEntra(adminUPN, adminPassword)
		}
		c.next(p, nil, pages[i+1])
	}
	c.next("optional-features", features, "ready")
}

var customGroups = url.Values{
	"custom_groups": {"on"}, "group_admins": {"HS-Admins"}, "group_operators": {"HS-Operators"},
	"group_browse": {"HS-Browse"}, "group_passwordset": {"HS-Passwords"},
}

func TestWizardConfigureAndImport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.signedIn("admin")
	walkToReady(c, customGroups, url.Values{"method": {setup.MethodPTA}}, url.Values{"password_writeback": {"on"}, "exchange_hybrid": {"on"}})

	r := c.page("ready")
	if got := r.find(t, `[data-testid="summary"]`).Text(); !strings.Contains(got, "Pass-through authentication") {
		t.Errorf("the summary does not show the sign-in method:\n%s", got)
	}
	// The Configure button posts the Ready form to /setup/configure (formaction).
	if got := r.find(t, `[data-testid="configure"]`).AttrOr("formaction", ""); got != "/setup/configure" {
		t.Fatalf("Configure posts to %q", got)
	}
	v := formValues(t, r, "/setup/ready")
	v.Set("staging", "on")
	id := jobIDFrom(t, c.post("/setup/configure", withAction(v, "configure")))
	// Pass-through authentication, password writeback and Exchange hybrid
	// can't take effect in full (setup.Limitations): warnings.
	if j := e.waitJob(id, 30*time.Second); j.Status != jobs.Warnings {
		t.Fatalf("configure job %s: %s", j.Status, j.Error)
	}
	jr := c.get(fmt.Sprintf("/jobs/%d", id))
	wantStatus(t, jr, http.StatusOK, "the job page")
	if got := jr.testid(t, "job-status"); got != "succeeded with warnings" {
		t.Errorf("the job page says %q", got)
	}
	if jr.find(t, `[data-testid="configured"]`).Length() != 1 {
		t.Error("no 'configuration complete' notice")
	}
	if jr.find(t, `[sse-connect]`).Length() != 0 {
		t.Error("a finished job's page still opens an event stream")
	}
	wantRedirect(t, c.get("/setup"), "/setup/ready", "resume after configuring")
	if r := c.page("ready"); r.find(t, `[data-testid="rerun"]`).Length() != 1 {
		t.Error("the wizard does not say it edits the active configuration")
	}
	cr := c.get("/config")
	if got := cr.testid(t, "config-applied"); !strings.Contains(got, "by admin") {
		t.Errorf("config page: %q", got)
	}
	// The custom sync groups now name the groups everywhere.
	if got := c.get("/accounts").find(t, `[data-testid="accounts"] th`).Text(); !strings.Contains(got, "HS-Admins") {
		t.Errorf("accounts page does not use the custom group names: %q", got)
	}

	// Export, then import on another server.
	x := c.get("/config/export")
	wantStatus(t, x, http.StatusOK, "export")
	if ct := x.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("export Content-Type %q", ct)
	}
	if cd := x.header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="hybridsync-settings-`) {
		t.Errorf("export Content-Disposition %q", cd)
	}
	var exp setup.Export
	if err := json.Unmarshal(x.body, &exp); err != nil {
		t.Fatalf("export is not JSON: %v", err)
	}
	if exp.Settings.SignIn.Method != setup.MethodPTA || !exp.Settings.Features.PasswordWriteback || exp.Settings.SyncGroups["admins"] != "HS-Admins" || !exp.Settings.Ready.Staging {
		t.Errorf("export does not hold the configuration: %+v", exp.Settings)
	}

	e2 := newEnv(t)
	c2 := e2.signedIn("admin")
	c2.next("express", nil, "components")
	cases := []struct {
		name, file string
		data       []byte
		field, msg string
	}{
		{"not JSON", "x.json", []byte("not json"), "settings_file", "not valid JSON"},
		{"another format", "x.json", []byte(`{"format":"other","version":1}`), "settings_file", "not a hybridsync settings export"},
		{"empty", "x.json", nil, "settings_file", "Choose a settings file"},
	}
	for _, tc := range cases {
		r := c2.postMultipart("/setup/components", url.Values{"action": {"next"}, "import_settings": {"on"}}, "settings_file", tc.file, tc.data)
		wantStatus(t, r, http.StatusUnprocessableEntity, "import "+tc.name)
		if got := r.testid(t, "error-"+tc.field); !strings.Contains(got, tc.msg) {
			t.Errorf("import %s: error says %q", tc.name, got)
		}
	}
	imports := func() []string {
		evs, err := e2.st.AuditEvents(context.Background(), store.AuditFilter{Action: audit.SettingsImport})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, ev := range evs {
			out = append(out, ev.Target+" "+ev.Outcome)
		}
		return out
	}
	// The two files that could be read as files are recorded refused (the
	// empty one is no file).
	if got := imports(); strings.Join(got, ",") != "x.json refused,x.json refused" {
		t.Errorf("audit trail of the refused imports: %q", got)
	}
	r = c2.postMultipart("/setup/components", url.Values{"action": {"next"}, "import_settings": {"on"}, "sql_database": {"HybridSync"}, "sql_permission": {"sa"}}, "settings_file", "exported.json", x.body)
	wantRedirect(t, r, "/setup/user-signin", "import the export")
	if got := imports(); len(got) != 3 || got[0] != "exported.json succeeded" {
		t.Errorf("audit trail after the import: %q", got)
	}
	wantKept(t, c2.page("user-signin"), url.Values{"method": {setup.MethodPTA}})
	r = c2.page("components")
	if got := r.testid(t, "imported"); !strings.Contains(got, "exported.json") {
		t.Errorf("components page: imported says %q", got)
	}
	wantKept(t, r, url.Values{"custom_groups": {"on"}, "group_admins": {"HS-Admins"}})
	// The imported settings survive Next without the file again.
	c2.next("components", nil, "user-signin")
	if got := imports(); len(got) != 3 {
		t.Errorf("Next again recorded another import: %q", got)
	}
	ws, _ := e2.st.WizardState(context.Background())
	var a setup.Answers
	if err := json.Unmarshal(ws.Answers, &a); err != nil {
		t.Fatal(err)
	}
	if a.SignIn.Method != setup.MethodPTA || !a.Features.PasswordWriteback || !a.Features.ExchangeHybrid || !a.Ready.Staging || a.Components.Imported == nil {
		t.Errorf("imported answers: %+v", a)
	}
}

func TestWizardConfigureRefusedWhileRunning(t *testing.T) {
	t.Parallel()
	// One job at a time, and a gate job holding the slot: a configure job
	// stays queued until the gate opens.
	e := newEnvWith(t, envOptions{maxJobs: 1})
	c := e.signedIn("admin")
	// Configure needs a forest: corp, with its existing svc-sync account.
	walkToDirectories(c)
	c.mustAddForest(svcSync(t, corpForest(t)))
	gate := e.startJob(kindGate, nil)

	// Several Configure at once (a double click): one job, the rest refused.
	const n = 6
	var wg sync.WaitGroup
	statuses := make([]int, n)
	tok := c.csrf
	for i := range n {
		wg.Go(func() {
			req := c.newRequest(http.MethodPost, "/setup/configure", strings.NewReader(url.Values{"action": {"configure"}, "csrf_token": {tok}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			res, err := c.hc.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			statuses[i] = res.StatusCode
		})
	}
	wg.Wait()
	started, refused := 0, 0
	for _, s := range statuses {
		switch s {
		case http.StatusSeeOther:
			started++
		case http.StatusConflict:
			refused++
		}
	}
	if started != 1 || refused != n-1 {
		t.Errorf("concurrent Configure: statuses %v, want one 303 and %d 409", statuses, n-1)
	}
	configureJobs := func() []int64 {
		js, err := e.st.Jobs(context.Background(), 100)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, j := range js {
			if j.Kind == configure.Kind {
				ids = append(ids, j.ID)
			}
		}
		return ids
	}
	ids := configureJobs()
	if len(ids) != 1 {
		t.Fatalf("%d configure jobs started, want 1", len(ids))
	}
	// The audit trail has the one start and the refusals.
	for outcome, want := range map[string]int{audit.Started: 1, audit.Refused: n - 1} {
		evs, err := e.st.AuditEvents(context.Background(), store.AuditFilter{Action: audit.ConfigureStart, Outcome: outcome})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != want {
			t.Errorf("%d Configure records %s, want %d", len(evs), outcome, want)
		}
	}

	// And one more, after the others: refused with a message naming the job.
	r := c.post("/setup/configure", url.Values{"action": {"configure"}})
	wantStatus(t, r, http.StatusConflict, "Configure while one is queued")
	if got := r.testid(t, "page-error"); !strings.Contains(got, fmt.Sprintf("already being applied (job %d)", ids[0])) {
		t.Errorf("page-error says %q", got)
	}
	if r.find(t, `[data-testid="page-ready"]`).Length() != 1 {
		t.Error("the refusal is not shown on Ready to configure")
	}

	e.release()
	e.waitJob(gate, 10*time.Second)
	// Password hash synchronization (the default) can't upload hashes: warnings.
	if j := e.waitJob(ids[0], 30*time.Second); j.Status != jobs.Warnings {
		t.Fatalf("configure job %s: %s", j.Status, j.Error)
	}
	// Once it finished, Configure runs again.
	jobIDFrom(t, c.post("/setup/configure", url.Values{"action": {"configure"}}))
}

func TestWizardConfigureValidatesEveryPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.signedIn("admin")
	c.next("express", nil, "components")
	// Bad input saved on components, then straight to Configure.
	r := c.postMultipart("/setup/components", withAction(url.Values{"use_sql": {"on"}}, "back"), "", "", nil)
	wantRedirect(t, r, "/setup/express", "Back")
	r = c.post("/setup/configure", url.Values{"action": {"configure"}})
	wantStatus(t, r, http.StatusUnprocessableEntity, "Configure with a bad page")
	if r.find(t, `[data-testid="page-components"]`).Length() != 1 || r.header.Get("HX-Push-Url") != "/setup/components" {
		t.Errorf("Configure does not show the page with errors (HX-Push-Url %q)", r.header.Get("HX-Push-Url"))
	}
	if got := r.testid(t, "error-sql_server"); got == "" {
		t.Error("no error on the bad field")
	}
	if js, _ := e.st.Jobs(context.Background(), 10); len(js) != 0 {
		t.Errorf("a job started: %+v", js)
	}
}

func TestTooLargeBody(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.signedIn("admin")
	c.next("express", nil, "components")
	big := make([]byte, maxBody+1024)
	for i := range big {
		big[i] = 'a'
	}
	check := func(t *testing.T, r *response) {
		t.Helper()
		if r.status >= 500 || r.status < 400 {
			t.Fatalf("status %d", r.status)
		}
		page := strings.Join(strings.Fields(r.find(t, "main").Text()), " ")
		if !strings.Contains(page, "larger than 2 MiB") {
			t.Errorf("status %d, no clear message: %s", r.status, page)
		}
	}
	t.Run("multipart, token in the header", func(t *testing.T) {
		r := c.postMultipart("/setup/components", url.Values{"action": {"next"}, "import_settings": {"on"}}, "settings_file", "big.json", big, "X-CSRF-Token", c.csrf)
		check(t, r)
	})
	t.Run("multipart, token in the form", func(t *testing.T) {
		check(t, c.postMultipart("/setup/components", url.Values{"action": {"next"}, "import_settings": {"on"}}, "settings_file", "big.json", big))
	})
	t.Run("urlencoded, token in the header", func(t *testing.T) {
		check(t, c.postWith(csrfHeader, c.csrf, "/setup/components", url.Values{"action": {"next"}, "location": {string(big)}}))
	})
	t.Run("urlencoded, token in the form", func(t *testing.T) {
		check(t, c.post("/setup/components", url.Values{"action": {"next"}, "location": {string(big)}}))
	})
	// A file over the import limit but under the body limit: the import says so.
	r := c.postMultipart("/setup/components", url.Values{"action": {"next"}, "import_settings": {"on"}}, "settings_file", "big.json", big[:setup.MaxExportSize+10])
	wantStatus(t, r, http.StatusUnprocessableEntity, "a settings file over the import limit")
	if got := r.testid(t, "error-settings_file"); !strings.Contains(got, "larger than") {
		t.Errorf("error-settings_file says %q", got)
	}
	if r := c.get("/"); r.status != http.StatusOK {
		t.Errorf("signed out after a large body: %d", r.status)
	}
}

// A page not reached yet takes no submission, as it can't be opened: the post
// is sent back to the page the wizard is on and nothing is saved.
func TestWizardRefusesUnreachedPage(t *testing.T) {
	e := newEnv(t)
	c := e.signedIn("admin")
	before := e.snapshot()
	r := c.post("/setup/optional-features", url.Values{"action": {"next"}, "group_writeback": {"on"}})
	wantRedirect(t, r, "/setup/express", "post to an unreached page")
	if after := e.snapshot(); after != before {
		t.Fatalf("an unreached page's post changed the store:\nbefore %s\nafter  %s", before, after)
	}
}

// htmx reads how a wizard page goes into the browser's history from its
// answer: the page shown where the browser already is replaces its entry
// (errors, a page's own buttons), another page pushes one.
func TestWizardHistory(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.signedIn("admin")
	htmx := func(at string) []string { return []string{"HX-Request", "true", "HX-Current-URL", e.srv.URL + at} }
	wantHistory := func(t *testing.T, r *response, push, replace string) {
		t.Helper()
		if got := r.header.Get("HX-Push-Url"); got != push {
			t.Errorf("HX-Push-Url %q, want %q", got, push)
		}
		if got := r.header.Get("HX-Replace-Url"); got != replace {
			t.Errorf("HX-Replace-Url %q, want %q", got, replace)
		}
	}

	// Next: a 303 to the next page, which htmx follows and pushes.
	wantRedirect(t, c.post("/setup/express", url.Values{"action": {"next"}}, htmx("/setup/express")...), "/setup/components", "Customize")
	r := c.get("/setup/components", htmx("/setup/express")...)
	wantStatus(t, r, http.StatusOK, "the next page")
	wantHistory(t, r, "/setup/components", "")

	// Errors: the same page again, in place of its entry.
	r = c.postMultipart("/setup/components", withAction(badComponents, "next"), "", "", nil, htmx("/setup/components")...)
	wantStatus(t, r, http.StatusUnprocessableEntity, "Next with errors")
	wantHistory(t, r, "", "/setup/components")

	// A page's own button redirects to the page: that answer replaces too.
	r = c.get("/setup/components", htmx("/setup/components")...)
	wantHistory(t, r, "", "/setup/components")

	// A page opened from the steps list, or a plain browser's request.
	c.next("components", url.Values{"custom_location": {""}, "use_sql": {""}, "use_service_account": {""}, "custom_groups": {""}, "import_settings": {""}}, "user-signin")
	wantHistory(t, c.get("/setup/components", htmx("/setup/user-signin")...), "/setup/components", "")
	wantHistory(t, c.get("/setup/components"), "/setup/components", "")
}

// With AD FS chosen its pages are real: the farm page refuses to go on
// without the farm's certificate, says so at the field, and an existing farm
// without its metadata read is refused the same way.
func TestWizardADFSFarmRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.signedIn("admin")
	c.next("express", nil, "components")
	c.next("components", nil, "user-signin")
	c.next("user-signin", url.Values{"method": {setup.MethodADFS}, "sso": {"on"}}, "connect-entra")
	pages := []string{"connect-entra", "directories", "signin-configuration", "ou-filtering", "identifying-users", "group-filtering", "optional-features", "adfs-farm"}
	for i, p := range pages[:len(pages)-1] {
		switch p {
		case "directories":
			c.mustAddForest(svcSync(t, corpForest(t)))
		case "connect-entra":
			c.signInEntra(adminUPN, adminPassword)
		}
		c.next(p, nil, pages[i+1])
	}
	r := c.page("adfs-farm")
	resp := c.post("/setup/adfs-farm", withAction(formValues(t, r, "/setup/adfs-farm"), "next"))
	wantStatus(t, resp, http.StatusUnprocessableEntity, "Next without a certificate")
	if got := signInText(resp.testid(t, "error-adfs_cert")); got != setup.MsgADFSNeedCert {
		t.Errorf("the certificate's error: %q", got)
	}
	form := formValues(t, r, "/setup/adfs-farm")
	form.Set("adfs_farm", setup.FarmExisting)
	form.Set("adfs_existing", "sts.example.invalid")
	resp = c.post("/setup/adfs-farm", withAction(form, "next"))
	wantStatus(t, resp, http.StatusUnprocessableEntity, "Next without the metadata")
	if got := signInText(resp.testid(t, "error-adfs_existing")); got != setup.MsgADFSReadFirst {
		t.Errorf("the existing farm's error: %q", got)
	}
	if got := resp.find(t, `[data-testid="field-adfs_existing"]`).AttrOr("value", ""); got != "sts.example.invalid" {
		t.Errorf("what was typed is lost: %q", got)
	}
	// Single sign-on was cleared: AD FS offers the same.
	if a := e.savedAnswers(); a.SignIn.SSO {
		t.Error("single sign-on stays on with AD FS")
	}
}

// A value far longer than any field needs, or not UTF-8, is refused before
// anything of the submission is saved.
func TestWizardRefusesOversizedValues(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.signedIn("admin")
	c.next("express", nil, "components")
	for _, tt := range []struct {
		name, value, want string
	}{
		{"too long", strings.Repeat("a", maxFieldBytes+1), "This value is too long"},
		{"not UTF-8", "Sync\xffAdmins", "not valid text (UTF-8)"},
	} {
		r := c.post("/setup/components", url.Values{"action": {"next"}, "custom_groups": {"on"}, "group_admins": {tt.value}})
		wantStatus(t, r, http.StatusUnprocessableEntity, tt.name)
		if got := signInText(r.testid(t, "error-group_admins")); !strings.Contains(got, tt.want) {
			t.Errorf("%s: the field says %q", tt.name, got)
		}
		if a := e.savedAnswers(); a.Components.CustomGroups || a.Components.GroupNames["admins"] != "" {
			t.Errorf("%s: saved %+v", tt.name, a.Components)
		}
	}
}
