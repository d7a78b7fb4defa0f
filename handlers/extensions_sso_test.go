package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/go-ldap/ldap/v3"

	"github.com/hybridsync/hybridsync/e2e/forest"
	"github.com/hybridsync/hybridsync/engine/directory"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
)

// Directory extensions and Enable single sign-on over HTTP, against corp.

// walkToFeatures takes a fresh wizard, with the sign-in choices given, to
// Optional features, with corp added (svc-sync).
func walkToFeatures(t *testing.T, c *client, corp *forest.Forest, signIn url.Values) {
	t.Helper()
	c.next("express", nil, "components")
	c.next("components", nil, "user-signin")
	c.next("user-signin", signIn, "connect-entra")
	c.passEntra()
	c.mustAddForest(svcSync(t, corp))
	pages := []string{"directories", "signin-configuration", "ou-filtering", "identifying-users", "group-filtering", "optional-features"}
	for i, p := range pages[:len(pages)-1] {
		c.next(p, nil, pages[i+1])
	}
}

// extNames lists the attributes the page offers.
func extNames(t *testing.T, r *response) []string {
	t.Helper()
	var out []string
	r.find(t, `input[type=checkbox][name="ext_attr"]`).Each(func(_ int, s *goquery.Selection) { out = append(out, s.AttrOr("value", "")) })
	return out
}

func TestExtensionsAgainstTheForest(t *testing.T) {
	t.Parallel()
	corp := corpForest(t)
	e := newEnv(t)
	c := e.signedIn("admin")
	walkToFeatures(t, c, corp, nil)
	c.next("optional-features", url.Values{"directory_extensions": {"on"}}, "directory-extensions")

	const page = "/setup/directory-extensions"
	r := c.page("directory-extensions")
	body := r.find(t, "body").Text()
	for _, want := range []string{setup.MsgExtCaseSensitive, setup.MsgExtValueLimit, "At most 100 attributes"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	names := extNames(t, r)
	has := map[string]bool{}
	for _, n := range names {
		has[n] = true
	}
	// corp's schema: carLicense (multi-valued Unicode string) is offered;
	// what sync maps already, DNs and systemOnly attributes are not.
	if !has["carLicense"] || len(names) <= setup.MaxExtensions {
		t.Fatalf("%d attributes offered (carLicense: %v)", len(names), has["carLicense"])
	}
	for _, not := range []string{"cn", "mail", "userPrincipalName", "proxyAddresses", "manager", "objectSid", "objectGUID", "unicodePwd"} {
		if has[not] {
			t.Errorf("%s is offered", not)
		}
	}
	row := strings.Join(strings.Fields(r.find(t, `[data-testid="ext-carLicense"]`).Text()), " ")
	if !strings.Contains(row, "String") || !strings.Contains(row, "multi-valued") || !strings.Contains(row, corp.Name) {
		t.Errorf("carLicense row: %q", row)
	}

	// The filter is case sensitive.
	filter := func(q string) *response {
		t.Helper()
		wantRedirect(t, c.submit(c.page("directory-extensions"), page, setup.ActionExtFilter, url.Values{"ext_filter": {q}}), page, "filter "+q)
		return c.page("directory-extensions")
	}
	if got := extNames(t, filter("carLicense")); len(got) != 1 || got[0] != "carLicense" {
		t.Errorf("filter carLicense: %v", got)
	}
	r = filter("CARLICENSE")
	if got := extNames(t, r); len(got) != 0 {
		t.Errorf("filter CARLICENSE: %v", got)
	}
	if r.find(t, `[data-testid="ext-none"]`).Length() != 1 {
		t.Error("no message that nothing matches")
	}
	wantRedirect(t, c.submit(c.page("directory-extensions"), page, setup.ActionExtClearFilter, nil), page, "clear the filter")

	// More than 100 is refused, and nothing is lost.
	r = c.submit(c.page("directory-extensions"), page, "next", url.Values{"ext_attr": names[:setup.MaxExtensions+1]})
	wantStatus(t, r, http.StatusUnprocessableEntity, "Next with 101 attributes")
	if got := r.testid(t, "error-ext_attr"); !strings.Contains(got, setup.MsgExtTooMany) {
		t.Errorf("error-ext_attr says %q", got)
	}
	if n := len(e.savedAnswers().Extensions.Selected); n != setup.MaxExtensions+1 {
		t.Errorf("%d selections kept", n)
	}

	// Two, one of them hidden by the filter while the other is changed.
	pick := []string{"carLicense", names[0]}
	if names[0] == "carLicense" {
		pick[1] = names[1]
	}
	wantRedirect(t, c.submit(c.page("directory-extensions"), page, "next", url.Values{"ext_attr": pick}), "/setup/ready", "Next with two attributes")
	r = filter("carLicense")
	if !r.find(t, `input[name="ext_attr"][value="carLicense"]`).Is("[checked]") {
		t.Error("carLicense shows unselected")
	}
	wantRedirect(t, c.submit(r, page, "next", nil), "/setup/ready", "Next with the filter on")
	sel := e.savedAnswers().Extensions.Selected
	if len(sel) != 2 {
		t.Fatalf("saved %+v", sel)
	}
	for _, s := range sel {
		if s.Type == "" || len(s.Forests) != 1 || s.Forests[0] != corp.Name {
			t.Errorf("saved %+v without its type or forest", s)
		}
	}
	if got := c.page("ready").find(t, `[data-testid="summary"]`).Text(); !strings.Contains(got, "carLicense") {
		t.Error("the summary does not name the attributes")
	}
}

// toSSO takes a fresh wizard with single sign-on chosen to Enable single
// sign-on, with corp added.
func toSSO(t *testing.T, c *client, corp *forest.Forest) {
	t.Helper()
	walkToFeatures(t, c, corp, url.Values{"sso": {"on"}})
	c.next("optional-features", nil, "single-sign-on")
}

// ssoCreds enters credentials for corp on Enable single sign-on.
func (c *client) ssoCreds(corp *forest.Forest, user, password string) *response {
	c.t.Helper()
	return c.submit(c.page("single-sign-on"), "/setup/single-sign-on", setup.ActionSSOCreds+":"+corp.Name,
		url.Values{"sso_user:" + corp.Name: {user}, "sso_password:" + corp.Name: {password}})
}

func TestSSOAgainstTheForest(t *testing.T) {
	t.Parallel()
	corp := corpForest(t)
	e := newEnv(t)
	c := e.signedIn("admin")
	toSSO(t, c, corp)
	key := setup.SSOVaultKey(corp.Name)

	r := c.page("single-sign-on")
	body := r.find(t, "body").Text()
	for _, want := range append([]string{setup.MsgSSOSkip, setup.SSOAutologonURL, setup.SSOGatewayURL, "with a value of 1 for both URLs"}, setup.IntranetZoneSteps...) {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// Next with neither credentials nor skip.
	r = c.submit(r, "/setup/single-sign-on", "next", nil)
	wantStatus(t, r, http.StatusUnprocessableEntity, "Next without credentials")
	if got := r.testid(t, "error-sso:"+corp.Name); got != setup.MsgSSONeedCreds {
		t.Errorf("error says %q", got)
	}

	// The download has the instructions, both URLs.
	dl := c.get(r.find(t, `[data-testid="sso-download"]`).AttrOr("href", ""))
	wantStatus(t, dl, http.StatusOK, "download the instructions")
	if !strings.Contains(dl.header.Get("Content-Disposition"), "attachment") || !strings.HasPrefix(dl.header.Get("Content-Type"), "text/plain") {
		t.Errorf("not a text download: %v", dl.header)
	}
	for _, want := range []string{setup.SSOAutologonURL, setup.SSOGatewayURL, "Site to Zone Assignment List"} {
		if !strings.Contains(dl.text(), want) {
			t.Errorf("the download lacks %q", want)
		}
	}
	wantStatus(t, e.signedIn("helpdesk").get("/setup/single-sign-on/intranet-zone.txt"), http.StatusForbidden, "download as helpdesk")

	// svc-sync is no domain admin: refused, nothing kept.
	r = c.ssoCreds(corp, forest.LayoutOf(corp).SvcSyncUPN, forest.SvcSyncPassword)
	wantStatus(t, r, http.StatusUnprocessableEntity, "svc-sync as domain admin")
	if got := r.testid(t, "error-sso:"+corp.Name); !strings.Contains(got, "is not a member of Domain Admins") {
		t.Errorf("svc-sync: error says %q", got)
	}
	if _, ok := e.vault.Get(key); ok {
		t.Fatal("svc-sync's credentials are in the vault")
	}
	// Administrator is: kept in memory under the SSO key only.
	wantRedirect(t, c.ssoCreds(corp, corp.AdminUPN, corp.AdminPassword), "/setup/single-sign-on", "Administrator")
	if creds, ok := e.vault.Get(key); !ok || creds.User != corp.AdminUPN {
		t.Fatalf("the vault holds %+v, %v", creds, ok)
	}
	if _, ok := e.vault.Get(corp.Name); ok {
		t.Error("the SSO credentials took the connector credentials' key")
	}
	if r := c.page("single-sign-on"); r.find(t, `[data-testid="sso-entered-`+corp.Name+`"]`).Length() != 1 {
		t.Error("the page does not say the credentials are entered")
	}
	if sf := e.savedAnswers().SSO.Forests[corp.Name]; sf.EnteredAs != corp.AdminUPN || sf.Skip {
		t.Errorf("saved %+v", sf)
	}
	c.next("single-sign-on", nil, "ready")

	// Configure creates AZUREADSSOACC$ with its SPN, and drops the credentials.
	j := c.configure(e)
	step := "Create the single sign-on computer account in " + corp.Name
	found := false
	for _, s := range j.Steps {
		if s.Name == step {
			found = s.Status == jobs.Succeeded
		}
	}
	if !found {
		t.Fatalf("no successful step %q in %+v", step, j.Steps)
	}
	if _, ok := e.vault.Get(key); ok {
		t.Error("the domain admin credentials are still in memory after Configure")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := corp.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	res, err := conn.Search(ldap.NewSearchRequest(corp.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(sAMAccountName="+directory.SSOAccountSAM+")", []string{"servicePrincipalName"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Entries) != 1 || res.Entries[0].GetAttributeValue("servicePrincipalName") != directory.SSOAccountSPN {
		t.Fatalf("AZUREADSSOACC$ in corp: %+v", res.Entries)
	}
	dn := res.Entries[0].DN
	// The DN is recorded in the wizard and the applied configuration.
	if sf := e.savedAnswers().SSO.Forests[corp.Name]; !strings.EqualFold(sf.ComputerDN, dn) || sf.EnteredAs != "" {
		t.Errorf("wizard answers after Configure: %+v", sf)
	}
	cfg, err := e.st.ActiveConfiguration(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var applied setup.Answers
	if err := json.Unmarshal(cfg.Answers, &applied); err != nil {
		t.Fatal(err)
	}
	if sf := applied.SSO.Forests[corp.Name]; !strings.EqualFold(sf.ComputerDN, dn) {
		t.Errorf("applied answers: %+v", sf)
	}
	if r := c.page("single-sign-on"); r.find(t, `[data-testid="sso-computer-`+corp.Name+`"]`).Length() != 1 {
		t.Error("the page does not show the computer account")
	}
	ev, err := e.st.Events(context.Background(), j.ID, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	for _, x := range ev {
		log.WriteString(x.Message + "\n")
	}
	if !strings.Contains(log.String(), directory.SSOAccountSPN) {
		t.Errorf("the job's log does not name the SPN:\n%s", log.String())
	}

	// The Administrator's password is nowhere in what the console wrote.
	db := store.SQLitePath(e.dataDir)
	sources := map[string][]byte{"server log": []byte(e.logs.String())}
	for _, p := range []string{db, db + "-wal", db + "-journal"} {
		if b, err := os.ReadFile(p); err == nil {
			sources[p] = b
		}
	}
	if len(sources) < 2 {
		t.Fatal("no database file")
	}
	for where, b := range sources {
		for _, enc := range encodings(corp.AdminPassword) {
			if bytes.Contains(b, enc) {
				t.Errorf("the domain admin password is in %s (as %q)", where, enc)
			}
		}
	}
}

// A restart forgets the credentials: the page asks for them again; skipping
// the forest lets the wizard go on, and Configure then has no SSO step.
func TestSSORestartAsksAgain(t *testing.T) {
	t.Parallel()
	corp := corpForest(t)
	e := newEnv(t)
	c := e.signedIn("admin")
	toSSO(t, c, corp)
	wantRedirect(t, c.ssoCreds(corp, corp.AdminUPN, corp.AdminPassword), "/setup/single-sign-on", "Administrator")
	c.next("single-sign-on", nil, "ready")

	e2 := newEnvWith(t, envOptions{restartOf: e})
	c2 := e2.signedIn("admin")
	c2.signInEntraAgain()
	r := c2.post("/setup/configure", withAction(formValues(t, c2.page("ready"), "/setup/ready"), "configure"))
	wantStatus(t, r, http.StatusUnprocessableEntity, "Configure after a restart")
	if r.find(t, `[data-testid="page-single-sign-on"]`).Length() != 1 {
		t.Fatal("Configure does not show Enable single sign-on")
	}
	if got := r.testid(t, "error-sso:"+corp.Name); got != setup.MsgSSOGone {
		t.Errorf("error says %q, want %q", got, setup.MsgSSOGone)
	}
	if js, _ := e2.st.Jobs(context.Background(), 10); len(js) != 0 {
		t.Errorf("a job started: %+v", js)
	}
	// Skip the forest: Next passes, and Configure makes no SSO step.
	c2.next("single-sign-on", url.Values{"sso_skip:" + corp.Name: {"on"}}, "ready")
	if sf := e2.savedAnswers().SSO.Forests[corp.Name]; !sf.Skip {
		t.Errorf("saved %+v", sf)
	}
	j := c2.configure(e2)
	for _, s := range j.Steps {
		if strings.Contains(s.Name, "single sign-on") {
			t.Errorf("a skipped forest has the step %q", s.Name)
		}
	}
}
