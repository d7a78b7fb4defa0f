package cycle_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/hybridsync/hybridsync/e2e/forest"
	"github.com/hybridsync/hybridsync/e2e/tenant"
	"github.com/hybridsync/hybridsync/engine/cloud"
	"github.com/hybridsync/hybridsync/engine/cycle"
	"github.com/hybridsync/hybridsync/engine/directory"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
	"github.com/hybridsync/hybridsync/engine/writeback"
)

// The seed's Global Administrator: Graph lets only it create devices, and
// registered owners are added with a delegated sign-in.
const (
	globalUPN      = "global.admin@contoso.onmicrosoft.com"
	globalPassword = "Passw0rd!global"
)

// global is a Graph client signed in as the tenant's Global Administrator.
func (r *rig) global() *cloud.Client {
	r.t.Helper()
	g, err := cloud.New(cloud.Config{GraphURL: r.srv.URL + "/v1.0"}, &cloud.PasswordGrant{Authority: r.srv.URL + "/organizations",
		ClientID: tenant.ConnectClientID, Username: globalUPN, Password: globalPassword})
	if err != nil {
		r.t.Fatal(err)
	}
	return g
}

// wbRig is a rig whose users of usersOU are synchronized and whose
// Microsoft 365 groups are written back into groupsOU (also in the import's
// scope, so that the Group_ filter is what keeps them out) and devices into
// corp's CN=RegisteredDevices.
type wbRig struct {
	*rig
	f                 *forest.Forest
	usersOU, groupsOU string
	users             map[string]string // display name → cloud id
	userDNs           map[string]string // display name → AD DN
}

func newWBRig(t *testing.T, tag string, names ...string) *wbRig {
	t.Helper()
	corp, _ := forests(t)
	usersOU, groupsOU := makeOU(t, corp, tag+" Users"), makeOU(t, corp, tag+" Groups")
	var us []user
	w := &wbRig{f: corp, usersOU: usersOU, groupsOU: groupsOU, users: map[string]string{}, userDNs: map[string]string{}}
	for _, n := range names {
		u := user{sam: strings.ToLower(tag + n), display: tag + " " + n, upn: strings.ToLower(tag+n) + "@corp.example.test"}
		us = append(us, u)
		w.userDNs[n] = u.dn(usersOU)
	}
	addUsers(t, corp, usersOU, us)
	prepareDevices(t, corp)
	w.rig = newRig(t, map[*forest.Forest][]string{corp: {usersOU, groupsOU}}, setup.Identifying{})
	w.a.Features.GroupWriteback, w.a.Features.DeviceWriteback = true, true
	w.a.Writeback = setup.Writeback{GroupForest: corp.Name, GroupOU: groupsOU, GroupNaming: setup.NamingObjectID, DeviceForest: corp.Name}
	w.apply()
	w.succeeds(cycle.Params{})
	for _, u := range w.rig.users(tag + " ") {
		w.users[strings.TrimPrefix(u.DisplayName, tag+" ")] = u.ID
	}
	if len(w.users) != len(names) {
		t.Fatalf("synchronized users %v, want %v", w.users, names)
	}
	return w
}

// prepareDevices prepares f for device writeback as an enterprise admin
// does (CN=RegisteredDevices, the Device Registration Service objects), for
// its administrator, the rig's connector account.
func prepareDevices(t *testing.T, f *forest.Forest) {
	t.Helper()
	ctx := context.Background()
	conn := directoryAs(t, f)
	defer conn.Close()
	me, err := conn.BoundUser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.PrepareDeviceWriteback(ctx, directory.Domain{DN: f.BaseDN}, me.SID); err != nil {
		t.Fatal(err)
	}
}

// search reads objects of f below base.
func search(t *testing.T, f *forest.Forest, base, filter string, attrs ...string) []*ldap.Entry {
	t.Helper()
	conn, err := f.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	res, err := conn.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, filter, attrs, nil))
	if err != nil {
		t.Fatalf("search %s %s: %v", base, filter, err)
	}
	return res.Entries
}

// step is the run-history row of the cycle's step.
func (r *rig) step(jobID int64, step string) store.RunStep {
	r.t.Helper()
	rows, err := r.st.RunSteps(context.Background(), []int64{jobID})
	if err != nil {
		r.t.Fatal(err)
	}
	for _, row := range rows {
		if row.Step == step {
			return row
		}
	}
	r.t.Fatalf("cycle %d has no %q step: %+v", jobID, step, rows)
	return store.RunStep{}
}

// run runs a cycle that must succeed (with warnings at most) and returns it.
func (r *rig) run() (store.Job, string) {
	r.t.Helper()
	j, log := r.cycle(cycle.Params{})
	if j.Status != jobs.Succeeded && j.Status != jobs.Warnings {
		r.t.Fatalf("cycle %s: %s\n%s", j.Status, j.Error, log)
	}
	return j, log
}

func (w *wbRig) m365Group(name string, members ...string) string {
	w.t.Helper()
	ctx := context.Background()
	g, err := w.global().CreateGroup(ctx, cloud.Group{DisplayName: name, Description: "About " + name, MailEnabled: true,
		MailNickname: strings.ReplaceAll(strings.ToLower(name), " ", ""), GroupTypes: []string{"Unified"}})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, m := range members {
		if err := w.global().AddGroupMember(ctx, g.ID, m); err != nil {
			w.t.Fatal(err)
		}
	}
	return g.ID
}

func memberDNs(e *ldap.Entry) []string {
	v := slices.Clone(e.GetAttributeValues("member"))
	for i := range v {
		v[i] = strings.ToLower(v[i])
	}
	slices.Sort(v)
	return v
}

// A Microsoft 365 group with a synchronized member and a cloud-only member
// is written back as a universal distribution group holding the synchronized
// one; the next import leaves it out (Group_); a member added and one
// removed are one value each; the group deleted in the tenant is deleted in
// AD.
func TestWritebackGroupLifecycle(t *testing.T) {
	w := newWBRig(t, "WBG", "Alice", "Bob")
	ctx := context.Background()
	cloudOnly, err := w.global().CreateUser(ctx, cloud.User{AccountEnabled: cloud.Bool(true), DisplayName: "WBG Cloud Only",
		MailNickname: "wbgcloud", UserPrincipalName: "wbgcloud@contoso.onmicrosoft.com", PasswordProfile: &cloud.PasswordProfile{Password: "Xy!long-enough-1"}})
	if err != nil {
		t.Fatal(err)
	}
	id := w.m365Group("WBG Team", w.users["Alice"], cloudOnly.ID)

	j, log := w.run()
	dn := "CN=Group_" + id + "," + w.groupsOU
	es := search(t, w.f, w.groupsOU, "(adminDescription=Group_"+id+")", "groupType", "displayName", "description", "member", "cn")
	if len(es) != 1 {
		t.Fatalf("written-back groups: %d, want 1\n%s", len(es), log)
	}
	e := es[0]
	if !strings.EqualFold(e.DN, dn) || e.GetAttributeValue("groupType") != "8" || e.GetAttributeValue("displayName") != "WBG Team" ||
		e.GetAttributeValue("description") != "About WBG Team" {
		t.Errorf("written back as %s groupType %s displayName %q description %q", e.DN, e.GetAttributeValue("groupType"),
			e.GetAttributeValue("displayName"), e.GetAttributeValue("description"))
	}
	if got, want := memberDNs(e), []string{strings.ToLower(w.userDNs["Alice"])}; !slices.Equal(got, want) {
		t.Errorf("members %v, want %v (the cloud-only member left out)", got, want)
	}
	row := w.step(j.ID, cycle.StepWriteBackGroups)
	if row.Connector != w.f.Name || row.Adds != 1 || row.Errors != 0 || !strings.Contains(row.Note, "not written") || row.Status != jobs.Succeeded {
		t.Errorf("run history: %+v", row)
	}
	if !strings.Contains(log, "Not written: WBG Team: 1 member(s)") {
		t.Errorf("the cloud-only member is not reported:\n%s", log)
	}

	// The next cycle imports the written-back group and leaves it out.
	j, _ = w.run()
	rows, err := w.st.CSObjectsByDN(ctx, strings.ToLower(w.f.Name), []string{dn})
	if err != nil || len(rows) != 1 {
		t.Fatalf("the written-back group in the connector space: %d row(s), %v", len(rows), err)
	}
	if rows[0].InScope || !strings.Contains(rows[0].Reason, "written back") {
		t.Errorf("the written-back group was imported in scope: %+v", rows[0])
	}
	if row := w.step(j.ID, cycle.StepWriteBackGroups); row.Adds+row.Updates+row.Memberships+row.Deletes != 0 {
		t.Errorf("nothing changed, yet the writeback wrote: %+v", row)
	}

	// Bob joins, then Alice leaves: one value each.
	if err := w.global().AddGroupMember(ctx, id, w.users["Bob"]); err != nil {
		t.Fatal(err)
	}
	j, _ = w.run()
	if row := w.step(j.ID, cycle.StepWriteBackGroups); row.Memberships != 1 || row.Adds+row.Updates+row.Deletes != 0 {
		t.Errorf("a member added: %+v", row)
	}
	if err := w.global().RemoveGroupMember(ctx, id, w.users["Alice"]); err != nil {
		t.Fatal(err)
	}
	j, log = w.run()
	if row := w.step(j.ID, cycle.StepWriteBackGroups); row.Memberships != 1 || row.Adds+row.Updates+row.Deletes != 0 {
		t.Errorf("a member removed: %+v\n%s", row, log)
	}
	es = search(t, w.f, w.groupsOU, "(adminDescription=Group_"+id+")", "member")
	if len(es) != 1 || !slices.Equal(memberDNs(es[0]), []string{strings.ToLower(w.userDNs["Bob"])}) {
		t.Fatalf("members after the changes: %v", es)
	}

	// Renamed in the tenant: displayName follows.
	if err := w.global().UpdateGroup(ctx, id, map[string]any{"displayName": "WBG Team Renamed"}); err != nil {
		t.Fatal(err)
	}
	j, _ = w.run()
	if row := w.step(j.ID, cycle.StepWriteBackGroups); row.Updates != 1 {
		t.Errorf("a displayName change: %+v", row)
	}
	if es := search(t, w.f, w.groupsOU, "(adminDescription=Group_"+id+")", "displayName"); len(es) != 1 || es[0].GetAttributeValue("displayName") != "WBG Team Renamed" {
		t.Errorf("displayName not updated: %v", es)
	}

	// Deleted in the tenant: deleted in AD.
	if err := w.global().DeleteGroup(ctx, id); err != nil {
		t.Fatal(err)
	}
	j, log = w.run()
	if row := w.step(j.ID, cycle.StepWriteBackGroups); row.Deletes != 1 {
		t.Errorf("the group deleted: %+v\n%s", row, log)
	}
	if es := search(t, w.f, w.groupsOU, "(adminDescription=Group_"+id+")"); len(es) != 0 {
		t.Errorf("the group is still in AD: %s", es[0].DN)
	}
}

// A device registered to a synchronized user is written back as an
// msDS-Device in CN=RegisteredDevices with its owner's SID, and removed when
// it is deleted in the tenant; a device whose owner is cloud-only is not.
func TestWritebackDeviceLifecycle(t *testing.T) {
	w := newWBRig(t, "WBD", "Dana")
	ctx := context.Background()
	g := w.global()
	const devID = "1d2c3b4a-5e6f-4a1b-8c9d-0e1f2a3b4c5d"
	key := utf16le("X509:<SHA1-TP-PUBKEY>0123456789ABCDEF0123456789ABCDEF01234567oaBcDeFgHiJkLmNoPqRsTuVwXyZ=")
	d, err := g.CreateDevice(ctx, cloud.Device{AccountEnabled: true, DisplayName: "WBD-LAPTOP", DeviceID: devID, OperatingSystem: "Windows",
		OperatingSystemVersion: "10.0.22631.3447", TrustType: "Workplace", AlternativeSecurityIDs: []cloud.AlternativeSecurityID{{Type: 2, Key: key}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.AddRegisteredOwner(ctx, d.ID, w.users["Dana"]); err != nil {
		t.Fatal(err)
	}
	j, log := w.run()
	container := "CN=RegisteredDevices," + w.f.BaseDN
	want, _ := writeback.DeviceIDBytes(devID)
	es := search(t, w.f, container, "(msDS-DeviceID="+ldap.EscapeFilter(string(want))+")",
		"cn", "displayName", "msDS-IsEnabled", "msDS-DeviceOSType", "msDS-DeviceOSVersion", "altSecurityIdentities", "msDS-RegisteredOwner", "msDS-CloudAnchor")
	if len(es) != 1 {
		t.Fatalf("written-back devices: %d, want 1\n%s", len(es), log)
	}
	e := es[0]
	sid := objectSID(t, w.f, w.userDNs["Dana"])
	if e.GetAttributeValue("cn") != devID || e.GetAttributeValue("displayName") != "WBD-LAPTOP" || e.GetAttributeValue("msDS-IsEnabled") != "TRUE" ||
		e.GetAttributeValue("msDS-DeviceOSType") != "Windows" || e.GetAttributeValue("msDS-DeviceOSVersion") != "10.0.22631.3447" ||
		!strings.HasPrefix(e.GetAttributeValue("altSecurityIdentities"), "X509:<SHA1-TP-PUBKEY>0123") ||
		string(e.GetRawAttributeValue("msDS-RegisteredOwner")) != sid || string(e.GetRawAttributeValue("msDS-CloudAnchor")) != "Device_"+d.ID {
		t.Errorf("written back as %s: cn %q displayName %q enabled %q os %q %q alt %q owner %s anchor %q", e.DN, e.GetAttributeValue("cn"),
			e.GetAttributeValue("displayName"), e.GetAttributeValue("msDS-IsEnabled"), e.GetAttributeValue("msDS-DeviceOSType"),
			e.GetAttributeValue("msDS-DeviceOSVersion"), e.GetAttributeValue("altSecurityIdentities"),
			base64.StdEncoding.EncodeToString(e.GetRawAttributeValue("msDS-RegisteredOwner")), e.GetRawAttributeValue("msDS-CloudAnchor"))
	}
	if row := w.step(j.ID, cycle.StepWriteBackDevices); row.Adds != 1 || row.Errors != 0 || row.Connector != w.f.Name {
		t.Errorf("run history: %+v", row)
	}
	// Nothing changed in the tenant: the next cycle writes nothing (what was
	// written, binary values included, is remembered byte for byte).
	j, _ = w.run()
	if row := w.step(j.ID, cycle.StepWriteBackDevices); row.Adds+row.Updates+row.Deletes+row.Errors != 0 {
		t.Errorf("a cycle with nothing changed wrote: %+v", row)
	}

	// Disabled in the tenant: msDS-IsEnabled follows.
	res, err := g.Batch(ctx, []cloud.BatchRequest{{Method: "PATCH", URL: "/devices/" + d.ID, Body: map[string]any{"accountEnabled": false}}})
	if err != nil || res[0].Err() != nil {
		t.Fatalf("disable: %v %v", err, res)
	}
	j, _ = w.run()
	if row := w.step(j.ID, cycle.StepWriteBackDevices); row.Updates != 1 {
		t.Errorf("disabled: %+v", row)
	}
	if es := search(t, w.f, container, "(cn="+devID+")", "msDS-IsEnabled"); len(es) != 1 || es[0].GetAttributeValue("msDS-IsEnabled") != "FALSE" {
		t.Errorf("msDS-IsEnabled after disabling: %v", es)
	}

	if err := g.DeleteDevice(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	j, _ = w.run()
	if row := w.step(j.ID, cycle.StepWriteBackDevices); row.Deletes != 1 {
		t.Errorf("deleted: %+v", row)
	}
	if es := search(t, w.f, container, "(cn="+devID+")"); len(es) != 0 {
		t.Errorf("the device is still in AD: %s", es[0].DN)
	}
}

// TestWritebackDeviceOwnerChange: Graph's device delta does not report a
// change of registered owners, so a delta cycle leaves msDS-RegisteredOwner
// as it was; a full cycle reads the devices again and writes the new owner.
func TestWritebackDeviceOwnerChange(t *testing.T) {
	w := newWBRig(t, "WBO", "Ann", "Ben")
	ctx := context.Background()
	g := w.global()
	const devID = "2e3d4c5b-6f7a-4b2c-9d0e-1f2a3b4c5d6e"
	d, err := g.CreateDevice(ctx, cloud.Device{AccountEnabled: true, DisplayName: "WBO-LAPTOP", DeviceID: devID, OperatingSystem: "Windows",
		OperatingSystemVersion: "10.0.22631.3447", TrustType: "Workplace",
		AlternativeSecurityIDs: []cloud.AlternativeSecurityID{{Type: 2, Key: utf16le("X509:<SHA1-TP-PUBKEY>89ABCDEF0123456789ABCDEF0123456789ABCDEFoaBcDeFgHiJkLmNoPqRsTuVwXyZ=")}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.AddRegisteredOwner(ctx, d.ID, w.users["Ann"]); err != nil {
		t.Fatal(err)
	}
	w.run()
	container := "CN=RegisteredDevices," + w.f.BaseDN
	owner := func() string {
		t.Helper()
		es := search(t, w.f, container, "(cn="+devID+")", "msDS-RegisteredOwner")
		if len(es) != 1 {
			t.Fatalf("written-back devices: %d, want 1", len(es))
		}
		return string(es[0].GetRawAttributeValue("msDS-RegisteredOwner"))
	}
	ann, ben := objectSID(t, w.f, w.userDNs["Ann"]), objectSID(t, w.f, w.userDNs["Ben"])
	if owner() != ann {
		t.Fatal("the device's owner in AD is not Ann")
	}

	// Ben owns it now, and Ann no longer does.
	if err := g.AddRegisteredOwner(ctx, d.ID, w.users["Ben"]); err != nil {
		t.Fatal(err)
	}
	res, err := g.Batch(ctx, []cloud.BatchRequest{{Method: "DELETE", URL: "/devices/" + d.ID + "/registeredOwners/" + w.users["Ann"] + "/$ref"}})
	if err != nil || res[0].Err() != nil {
		t.Fatalf("remove Ann as owner: %v %v", err, res)
	}
	j, _ := w.run()
	if row := w.step(j.ID, cycle.StepWriteBackDevices); row.Updates != 0 {
		t.Errorf("a delta cycle updated the device: %+v (Graph's delta does not report owners)", row)
	}
	if owner() != ann {
		t.Error("the owner changed without a full cycle")
	}
	j, _ = w.cycle(cycle.Params{Full: true})
	if row := w.step(j.ID, cycle.StepWriteBackDevices); row.Updates != 1 || row.Errors != 0 {
		t.Errorf("full cycle: %+v, want one update", row)
	}
	if owner() != ben {
		t.Error("a full cycle did not write Ben as the owner")
	}
}

func utf16le(s string) []byte {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r), byte(r>>8))
	}
	return b
}

// Staging mode reads the tenant and lists what it would write, and writes
// nothing; once staging is off, the same cycle writes it.
func TestWritebackStagingWritesNothing(t *testing.T) {
	w := newWBRig(t, "WBS", "Erin")
	w.a.Ready.Staging = true
	w.apply()
	id := w.m365Group("WBS Team", w.users["Erin"])
	j, log := w.run()
	row := w.step(j.ID, cycle.StepWriteBackGroups)
	if row.Adds != 1 || row.Memberships != 0 || !strings.Contains(row.Note, "Nothing written") {
		t.Errorf("staging run history: %+v", row)
	}
	if !strings.Contains(log, "Pending: add group WBS Team") {
		t.Errorf("the pending add is not listed:\n%s", log)
	}
	if es := search(t, w.f, w.groupsOU, "(adminDescription=Group_"+id+")"); len(es) != 0 {
		t.Fatalf("staging mode wrote %s", es[0].DN)
	}
	// The staging review lists it, and its CSV has a row per attribute.
	cfg, err := w.st.ActiveConfiguration(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pending, err := cycle.PendingWritebacks(context.Background(), w.st, w.a, cfg.ID)
	if err != nil || len(pending) != 1 || pending[0].Op != writeback.OpAdd || pending[0].CloudID != id {
		t.Fatalf("pending writebacks %+v, %v", pending, err)
	}
	var buf bytes.Buffer
	if err := writeback.WriteCSV(&buf, pending); err != nil {
		t.Fatal(err)
	}
	if csv := buf.String(); !strings.Contains(csv, "WBS Team,"+id+",writeback group,add,adminDescription,,Group_"+id) {
		t.Errorf("the review CSV:\n%s", csv)
	}
	w.a.Ready.Staging = false
	w.apply()
	w.run()
	if es := search(t, w.f, w.groupsOU, "(adminDescription=Group_"+id+")", "member"); len(es) != 1 || len(es[0].GetAttributeValues("member")) != 1 {
		t.Fatalf("after staging: %v", es)
	}
}

// The deletion guard holds deletes in the forest as it holds the export's:
// over the threshold, the step stops and nothing is deleted, until an
// administrator allows them once.
func TestWritebackDeletionGuard(t *testing.T) {
	w := newWBRig(t, "WBX", "Finn")
	ctx := context.Background()
	var ids []string
	for _, n := range []string{"WBX One", "WBX Two", "WBX Three"} {
		ids = append(ids, w.m365Group(n, w.users["Finn"]))
	}
	w.run()
	if es := search(t, w.f, w.groupsOU, "(adminDescription=Group_*)"); len(es) != 3 {
		t.Fatalf("written back: %d, want 3", len(es))
	}
	if err := w.st.SetDeletionGuard(ctx, store.DeletionGuard{Enabled: true, Threshold: 2}, "test"); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if err := w.global().DeleteGroup(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	j, log := w.cycle(cycle.Params{})
	if j.Status != jobs.Stopped || !strings.Contains(j.Error, "deletion guard") {
		t.Fatalf("cycle %s: %s\n%s", j.Status, j.Error, log)
	}
	if row := w.step(j.ID, cycle.StepWriteBackGroups); row.Status != jobs.Stopped || row.Deletes != 3 {
		t.Errorf("stopped step: %+v", row)
	}
	if es := search(t, w.f, w.groupsOU, "(adminDescription=Group_*)"); len(es) != 3 {
		t.Fatalf("the guard let %d delete(s) through", 3-len(es))
	}
	if err := w.st.AllowDeletesOnce(ctx, 3, "test"); err != nil {
		t.Fatal(err)
	}
	j, log = w.run()
	if row := w.step(j.ID, cycle.StepWriteBackGroups); row.Deletes != 3 {
		t.Errorf("allowed: %+v\n%s", row, log)
	}
	if es := search(t, w.f, w.groupsOU, "(adminDescription=Group_*)"); len(es) != 0 {
		t.Fatalf("%d group(s) left after the allowed deletes", len(es))
	}
	if g, _ := w.st.DeletionGuard(ctx); g.AllowDeletes != 0 {
		t.Errorf("the allowance was not spent: %+v", g)
	}
}

// A writeback killed after its LDAP add reached the forest, before the add
// was recorded (the intent is, the DN is not): the restarted cycle finds the
// group by its adminDescription and takes it over; nothing is created twice.
// And one killed before the add: the group is created once.
func TestWritebackRestartCreatesNothingTwice(t *testing.T) {
	w := newWBRig(t, "WBR", "Gil", "Hal")
	ctx := context.Background()
	sent := w.m365Group("WBR Sent", w.users["Gil"], w.users["Hal"])
	unsent := w.m365Group("WBR Unsent", w.users["Gil"])

	// What the killed run left: both intents recorded; the first add
	// reached the forest (with one member only), the second did not.
	dir := directoryAs(t, w.f)
	defer dir.Close()
	sentDN := "CN=Group_" + sent + "," + w.groupsOU
	if err := dir.AddObject(ctx, sentDN, map[string][]string{"objectClass": {"group"}, "groupType": {"8"}, "displayName": {"WBR Sent"},
		"adminDescription": {"Group_" + sent}, "member": {w.userDNs["Gil"]}}); err != nil {
		t.Fatal(err)
	}
	started := time.Now().Add(-time.Minute)
	if err := w.st.SaveWritebackObjects(ctx, []store.WritebackObject{
		{Kind: store.WritebackKindGroup, CloudID: sent, Forest: w.f.Name, CreateStartedAt: started},
		{Kind: store.WritebackKindGroup, CloudID: unsent, Forest: w.f.Name, CreateStartedAt: started},
	}); err != nil {
		t.Fatal(err)
	}

	j, log := w.run()
	for id, members := range map[string]int{sent: 2, unsent: 1} {
		es := search(t, w.f, w.groupsOU, "(adminDescription=Group_"+id+")", "member", "description")
		if len(es) != 1 {
			t.Fatalf("group %s: %d object(s) in AD, want 1\n%s", id, len(es), log)
		}
		if n := len(es[0].GetAttributeValues("member")); n != members {
			t.Errorf("group %s: %d member(s), want %d", id, n, members)
		}
	}
	row := w.step(j.ID, cycle.StepWriteBackGroups)
	if !strings.Contains(row.Note, "1 object(s) found already written") || row.Adds != 2 || row.Errors != 0 {
		t.Errorf("run history: %+v\n%s", row, log)
	}
	objs, err := w.st.WritebackObjects(ctx, store.WritebackKindGroup)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.DN == "" || !o.CreateStartedAt.IsZero() {
			t.Errorf("record of %s after the restart: DN %q, intent %v", o.CloudID, o.DN, o.CreateStartedAt)
		}
	}
	// And nothing more the cycle after.
	j, _ = w.run()
	if row := w.step(j.ID, cycle.StepWriteBackGroups); row.Adds+row.Updates+row.Memberships+row.Deletes != 0 {
		t.Errorf("a second cycle wrote: %+v", row)
	}
}

// directoryAs dials f as its administrator through engine/directory.
func directoryAs(t *testing.T, f *forest.Forest) *directory.Conn {
	t.Helper()
	pem, err := os.ReadFile(f.CACertPEM)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := directory.Dial(context.Background(), directory.Target{Forest: f.Name, Host: f.IP, Security: directory.LDAPS, CAPEM: pem}, f.AdminUPN, f.AdminPassword)
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

// A forest not ready for writeback (here: the organizational unit is gone)
// gets nothing written: a warning, said once, and the cycle goes on.
func TestWritebackForestNotReady(t *testing.T) {
	w := newWBRig(t, "WBN", "Ivy")
	w.a.Writeback.GroupOU = "OU=Not There," + w.f.BaseDN
	w.apply()
	id := w.m365Group("WBN Team", w.users["Ivy"])
	j, log := w.run()
	row := w.step(j.ID, cycle.StepWriteBackGroups)
	if j.Status != jobs.Warnings || row.Status != jobs.Warnings || !strings.Contains(row.Note, "not ready") || row.Adds != 0 {
		t.Errorf("cycle %s, step %+v\n%s", j.Status, row, log)
	}
	if es := search(t, w.f, w.f.BaseDN, "(adminDescription=Group_"+id+")"); len(es) != 0 {
		t.Errorf("written into an unprepared forest: %s", es[0].DN)
	}
	j, _ = w.run()
	if row := w.step(j.ID, cycle.StepWriteBackGroups); row.Status != jobs.Succeeded || !strings.Contains(row.Note, "not ready") {
		t.Errorf("the second cycle: %+v (said once, then logged)", row)
	}
}
