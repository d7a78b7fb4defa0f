package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/mxschmitt/playwright-go"

	"github.com/hybridsync/hybridsync/e2e/forest"
	"github.com/hybridsync/hybridsync/engine/cloud"
	"github.com/hybridsync/hybridsync/engine/store"
)

// TestWritebackPageInTheBrowser: device writeback into corp. The Writeback
// page reads that the forest is not prepared yet, takes an enterprise admin's
// credentials, and Configure prepares the forest in a step of its own; the
// page then finds it ready, and a sync cycle run by hand has its writeback
// step, in the job and in the run history.
func TestWritebackPageInTheBrowser(t *testing.T) {
	needBrowser(t)
	corp, _ := needForests(t)
	dataDir := t.TempDir()
	s := startServer(t, dataDir)
	p, c := signedInPage(t, s)
	const name = "corp.example.test"
	c.driveWizardTo(map[string]url.Values{
		"directories":       corpWithSvcSync(t),
		"optional-features": {"password_hash_sync": {"on"}, "device_writeback": {"on"}},
	}, "writeback")

	p.open("/setup/writeback")
	p.onPage("writeback")
	p.ok(expect.Locator(p.id("field-device_forest-"+name)).ToBeChecked(), "the only forest is chosen")
	p.visible("wb-prepare-" + name)
	p.visible("limit-device-writeback")
	p.ok(expect.Locator(p.id("wb-"+name).GetByTestId("wb-schema")).ToContainText("2012 R2"), "the schema level")
	p.fill("wb_user:"+name, corp.AdminUPN)
	p.fill("wb_password:"+name, corp.AdminPassword)
	p.click("wb-admin-" + name)
	p.ok(expect.Locator(p.id("wb-entered-"+name)).ToContainText(corp.AdminUPN), "credentials entered")
	p.shot("writeback")
	p.click("next")
	p.onPage("ready")
	p.ok(expect.Locator(p.id("summary-Device writeback")).ToContainText(name), "the summary")

	p.click("configure")
	p.ok(expect.Page(p.page).ToHaveURL(regexp.MustCompile(`/jobs/\d+$`)), "Configure leads to the job")
	step := "Prepare " + name + " for writeback"
	slow := playwright.LocatorAssertionsToHaveTextOptions{Timeout: playwright.Float(60_000)}
	p.ok(expect.Locator(p.jobStep(step).Locator(".badge")).ToHaveText("succeeded", slow), "the preparing step")
	p.ok(expect.Locator(p.id("job-log")).ToContainText("Created CN=RegisteredDevices,"+corp.BaseDN), "the log says what was created")
	p.shot("configured")

	p.open("/setup/writeback")
	p.visible("wb-ready-" + name)
	p.ok(expectCount(p.page.Locator(`input[type="password"]`), 0), "no credentials asked for a prepared forest")

	p.open("/sync")
	p.click("sync-run")
	p.ok(expect.Page(p.page).ToHaveURL(regexp.MustCompile(`/jobs/\d+$`)), "Run now leads to the cycle")
	wb := p.jobStep("Write devices back into " + name).Locator(".badge")
	p.ok(expect.Locator(wb).ToHaveText(regexp.MustCompile(`^succeeded`), playwright.LocatorAssertionsToHaveTextOptions{Timeout: playwright.Float(90_000)}), "the writeback step ends")
	p.shot("cycle")
	p.open("/sync")
	p.ok(expect.Locator(p.id("sync-cycles").Locator("li").First()).ToContainText("write-back devices"), "the run history has the writeback step")

	// A device written back earlier and since deleted in the tenant (put in
	// the console's store as a cycle would leave it): the review lists its
	// pending delete, and the lookup shows its path into the forest.
	st, err := store.Open(context.Background(), store.Options{Dialect: store.SQLite, DSN: store.SQLitePath(dataDir)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const devID = "5d2f0c1e-8b6a-4f3e-9d21-0a1b2c3d4e5f"
	devDN := "CN=5d2f0c1e-8b6a-4f3e-9d21-0a1b2c3d4e5f,CN=RegisteredDevices," + corp.BaseDN
	if err := st.SaveWritebackObjects(context.Background(), []store.WritebackObject{{Kind: store.WritebackKindDevice, CloudID: devID, Forest: name,
		Tenant: json.RawMessage(`{"id":"` + devID + `","displayName":"LAPTOP-ALICE"}`), Removed: true, DN: devDN}}); err != nil {
		t.Fatal(err)
	}
	p.open("/sync/pending")
	p.ok(expect.Locator(p.id("pending-wb-"+devID)).ToContainText("delete"), "the pending delete in the review")
	p.open("/sync/pending?text=laptop-alice") // the review filtered to it, for the screenshot
	p.ok(expect.Locator(p.id("pending-wb-"+devID)).ToBeVisible(), "the filtered review")
	p.shot("pending-writebacks")
	p.open("/sync/lookup?q=laptop-alice")
	p.ok(expect.Locator(p.id("writeback-0").GetByTestId("writeback-words")).ToContainText("the next cycle deletes "+devDN), "the lookup's path")
	p.shot("lookup-writeback")
}

// TestGroupWritebackInTheBrowser: group writeback into fabrikam, whose schema
// has Exchange's attributes (corp's has not, so only fabrikam is offered).
// The organizational unit is picked from the forest's live tree, the
// connector account's missing rights are granted by Configure with an
// enterprise admin's credentials, and a Microsoft 365 group with a synced
// member and a cloud-only one is written back by a cycle run by hand: one
// group, named by its display name, with the synced member alone.
func TestGroupWritebackInTheBrowser(t *testing.T) {
	needBrowser(t)
	_, fab := needForests(t)
	s := startServer(t, t.TempDir())
	p, c := signedInPage(t, s)
	name := fab.Name
	l := forest.LayoutOf(fab)
	c.driveWizardTo(map[string]url.Values{
		"directories":       forestForm(t, fab, fab.IP+":636", "existing", `FABRIKAM\svc-sync`, forest.SvcSyncPassword),
		"optional-features": {"password_hash_sync": {"on"}, "group_writeback": {"on"}},
	}, "writeback")

	p.open("/setup/writeback")
	p.onPage("writeback")
	p.visible("limit-group-writeback")
	p.ok(expect.Locator(p.id("field-group_forest-"+name)).ToBeChecked(), "the only forest is chosen")
	p.visible("wb-tree-" + name)
	p.visible("wb-choose-ou-" + name) // nothing is ready before an OU is chosen
	p.ok(expectCount(p.id("wb-ready-"+name), 0), "not ready without an OU")
	p.click("pick-" + l.GroupsOU)
	p.click("field-group_naming-display-name")
	p.click("wb-refresh")
	p.ok(expect.Locator(p.id("wb-"+name).GetByTestId("wb-ou")).ToContainText("Organizational unit "+l.GroupsOU+": present"), "the OU is checked")
	p.visible("wb-prepare-" + name) // svc-sync has no rights on it yet
	p.fill("wb_user:"+name, fab.AdminUPN)
	p.fill("wb_password:"+name, fab.AdminPassword)
	p.click("wb-admin-" + name)
	p.ok(expect.Locator(p.id("wb-entered-"+name)).ToContainText(fab.AdminUPN), "credentials entered")
	p.ok(expect.Locator(p.id("group-ou-chosen")).ToHaveText(l.GroupsOU), "the OU picked from the tree is kept")
	p.ok(expect.Locator(p.id("field-group_naming-display-name")).ToBeChecked(), "the naming choice is kept")
	p.shot("group-writeback")
	p.click("next")
	p.onPage("ready")
	p.ok(expect.Locator(p.id("summary-Group writeback")).ToContainText(name), "the summary")

	p.click("configure")
	p.ok(expect.Page(p.page).ToHaveURL(regexp.MustCompile(`/jobs/\d+$`)), "Configure leads to the job")
	slow := playwright.LocatorAssertionsToHaveTextOptions{Timeout: playwright.Float(90_000)}
	p.ok(expect.Locator(p.jobStep("Prepare "+name+" for writeback").Locator(".badge")).ToHaveText("succeeded", slow), "the preparing step")

	// A first cycle synchronizes fabrikam's users (and has no group to write
	// back); then the tenant gets a Microsoft 365 group with one of them and
	// a cloud-only member.
	wbStep := "Write Microsoft 365 groups back into " + name
	p.open("/sync")
	p.click("sync-run")
	p.ok(expect.Page(p.page).ToHaveURL(regexp.MustCompile(`/jobs/\d+$`)), "Run now leads to the cycle")
	p.ok(expect.Locator(p.jobStep(wbStep).Locator(".badge")).ToHaveText(regexp.MustCompile(`^succeeded`), slow), "the first cycle's writeback step")
	ctx := context.Background()
	g := s.tenant.Graph(t, entraGlobalAdmin, entraGlobalPassword)
	anchor := immutableID(t, fab, l.UserDN(3))
	var synced string
	users, err := g.ListUsers(ctx, 999)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if u.OnPremisesImmutableID == anchor {
			synced = u.ID
		}
	}
	if synced == "" {
		t.Fatalf("%s is not in the tenant after the first cycle", l.UserDN(3))
	}
	me, err := g.Me(ctx)
	if err != nil {
		t.Fatal(err)
	}
	grp, err := g.CreateGroup(ctx, cloud.Group{DisplayName: "Project Falcon", Description: "The falcon team", MailEnabled: true,
		MailNickname: "projectfalcon", GroupTypes: []string{"Unified"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{synced, me.ID} {
		if err := g.AddGroupMember(ctx, grp.ID, m); err != nil {
			t.Fatal(err)
		}
	}

	// The next cycle writes the group back.
	p.open("/sync")
	p.click("sync-run")
	p.ok(expect.Page(p.page).ToHaveURL(regexp.MustCompile(`/jobs/\d+$`)), "Run now leads to the cycle")
	wb := p.jobStep(wbStep).Locator(".badge")
	p.ok(expect.Locator(wb).ToHaveText(regexp.MustCompile(`^succeeded`), slow), "the writeback step ends")
	p.ok(expect.Locator(p.id("job-log")).ToContainText("Project Falcon: 1 member(s) without an object in "+name+" (cloud-only, or not synchronized from it)"), "the cloud-only member is reported")
	p.shot("group-writeback-cycle")

	cn := "Project Falcon_" + grp.ID[len(grp.ID)-12:]
	conn, err := fab.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	res, err := conn.Search(ldap.NewSearchRequest(l.GroupsOU, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(adminDescription=Group_"+grp.ID+")", []string{"cn", "groupType", "member", "displayName"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Entries) != 1 {
		t.Fatalf("%d written-back groups in %s, want 1", len(res.Entries), l.GroupsOU)
	}
	e := res.Entries[0]
	if got := e.GetAttributeValue("cn"); got != cn {
		t.Errorf("cn %q, want %q", got, cn)
	}
	if got := e.GetAttributeValues("member"); len(got) != 1 || !strings.EqualFold(got[0], l.UserDN(3)) {
		t.Errorf("members %v, want only %s (the cloud-only member left out)", got, l.UserDN(3))
	}
	if got := e.GetAttributeValue("groupType"); got != "8" {
		t.Errorf("groupType %s, want 8 (universal distribution)", got)
	}

	p.open("/sync/lookup?q=" + url.QueryEscape("Project Falcon"))
	p.ok(expect.Locator(p.id("writeback-0")).ToContainText(cn), "the lookup shows the written-back group")
	p.shot("lookup-group-writeback")
}

// immutableID is the onPremisesImmutableId the sync gives the AD object dn:
// its objectGUID in base64 (the default source anchor while
// mS-DS-ConsistencyGuid is empty).
func immutableID(t *testing.T, f *forest.Forest, dn string) string {
	t.Helper()
	conn, err := f.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	res, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"objectGUID"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("read %s: %v", dn, err)
	}
	return base64.StdEncoding.EncodeToString(res.Entries[0].GetRawAttributeValue("objectGUID"))
}
