package directory_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/hybridsync/hybridsync/e2e/forest"
	"github.com/hybridsync/hybridsync/engine/directory"
)

// TestLiveWritebackSchemaGUIDs: the class GUIDs the writeback ACEs name match
// the DC's schema.
func TestLiveWritebackSchemaGUIDs(t *testing.T) {
	corp, _ := forests(t)
	raw, err := corp.Dial(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	schema := "CN=Schema,CN=Configuration," + corp.BaseDN
	for name, want := range map[string]directory.GUID{
		"group":       directory.GUIDGroupClass,
		"msDS-Device": directory.GUIDDeviceClass,
	} {
		res, err := raw.Search(ldap.NewSearchRequest(schema, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
			"(lDAPDisplayName="+name+")", []string{"schemaIDGUID"}, nil))
		if err != nil || len(res.Entries) != 1 {
			t.Fatalf("%s: %v", name, err)
		}
		var got directory.GUID
		copy(got[:], res.Entries[0].GetRawAttributeValue("schemaIDGUID"))
		if got != want {
			t.Errorf("%s: schemaIDGUID %s, constant %s", name, got, want)
		}
	}
}

// removeDeviceRegistration deletes what PrepareDeviceWriteback creates, so
// later tests see the forest as seeded.
func removeDeviceRegistration(t *testing.T, f *forest.Forest, domainDN, configNC string) {
	t.Helper()
	raw, err := f.Dial(context.Background())
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	defer raw.Close()
	for _, dn := range []string{
		directory.DeviceRegistrationServiceDN(configNC),
		"CN=Device Registration Services," + directory.DeviceRegistrationConfigDN(configNC),
		directory.DeviceRegistrationConfigDN(configNC),
		"CN=RegisteredDevices," + domainDN,
	} {
		del := ldap.NewDelRequest(dn, []ldap.Control{ldap.NewControlSubtreeDelete()})
		if err := raw.Del(del); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			t.Errorf("cleanup: delete %s: %v", dn, err)
		}
	}
}

func randomGUID(t *testing.T) []byte {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLiveDeviceWriteback: readiness on a fresh forest says what is missing;
// a non-admin cannot prepare; the Enterprise Admin prepares (twice: the
// second time writes nothing); readiness then says ready; the connector
// account creates, changes and deletes an msDS-Device; an account without
// the rights is refused.
func TestLiveDeviceWriteback(t *testing.T) {
	corp, _ := forests(t)
	ctx := testCtx(t)
	admin := dialAdmin(t, corp)
	fi := mustForest(t, admin)
	dom := fi.Domains[0]
	t.Cleanup(func() { removeDeviceRegistration(t, corp, dom.DN, fi.ConfigurationNC) })

	acct, err := admin.CreateConnectorAccount(ctx, dom, directory.Rights{})
	if err != nil {
		t.Fatalf("CreateConnectorAccount: %v (%v)", err, errors.Unwrap(err))
	}
	ac := dial(t, corp, acct.UPN, acct.Password)
	svc := dial(t, corp, forest.LayoutOf(corp).SvcSyncUPN, forest.SvcSyncPassword)
	svcUser, err := svc.BoundUser(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// Before: the schema is 2012 R2 (Samba 4.17's default), nothing else.
	r, err := ac.DeviceWritebackReadiness(ctx, dom, acct.SID)
	if err != nil {
		t.Fatalf("readiness before: %v", err)
	}
	t.Logf("before: %+v", r)
	if r.Schema.ObjectVersion != directory.SchemaVersion2012R2 || r.Schema.Release != "Windows Server 2012 R2" {
		t.Errorf("schema %d (%s), want 69 (Windows Server 2012 R2)", r.Schema.ObjectVersion, r.Schema.Release)
	}
	if m := r.Schema.Missing(append(append([]string{}, directory.DeviceSchemaClasses...), directory.DeviceSchemaAttributes...)); len(m) > 0 {
		t.Errorf("2012 R2 schema lacks %v", m)
	}
	// Samba 4.17's 2012 R2 schema has neither 2016 attribute; say so.
	if m := r.Schema.Missing(directory.DeviceSchemaAttributes2016); strings.Join(m, ",") != "msDS-IsCompliant,msDS-KeyCredentialLink" ||
		len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "msDS-IsCompliant and msDS-KeyCredentialLink") {
		t.Errorf("2016 attributes missing %v, notes %q", m, r.Notes)
	}
	if r.Ready() || r.ContainerExists || r.ServiceLocation != "" || !r.NeedsPreparation() || len(r.Problems) != 2 ||
		!strings.Contains(r.Problems[0], "CN=RegisteredDevices,"+dom.DN+" does not exist yet") ||
		!strings.Contains(r.Problems[1], "Device Registration Service object CN=DeviceRegistrationService,CN=Device Registration Services,CN=Device Registration Configuration,CN=Services,"+fi.ConfigurationNC+" does not exist yet") {
		t.Errorf("readiness before: problems %q", r.Problems)
	}

	// The connector account itself may not prepare the forest.
	_, err = ac.PrepareDeviceWriteback(ctx, dom, acct.SID)
	if de := asError(t, err); !directory.IsPermissionDenied(err) || !strings.Contains(de.Msg, "needs an Enterprise Admin") {
		t.Errorf("prepare as the connector account: %q (%v)", de.Msg, de.Detail())
	}

	// The Enterprise Admin prepares; a second run changes nothing.
	p, err := admin.PrepareDeviceWriteback(ctx, dom, acct.SID)
	if err != nil {
		t.Fatalf("prepare: %v (%v)", err, errors.Unwrap(err))
	}
	wantCreated := []string{
		"CN=RegisteredDevices," + dom.DN,
		directory.DeviceRegistrationConfigDN(fi.ConfigurationNC),
		"CN=Device Registration Services," + directory.DeviceRegistrationConfigDN(fi.ConfigurationNC),
		directory.DeviceRegistrationServiceDN(fi.ConfigurationNC),
	}
	if strings.Join(p.Created, "|") != strings.Join(wantCreated, "|") || p.ACEsAdded != 2 || len(p.Updated) != 0 {
		t.Errorf("prepare = %+v, want created %v and 2 ACEs", p, wantCreated)
	}
	if p2, err := admin.PrepareDeviceWriteback(ctx, dom, acct.SID); err != nil || p2.Changed() {
		t.Errorf("prepare again = %+v, %v; want no change", p2, err)
	}
	raw, err := corp.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	res, err := raw.Search(ldap.NewSearchRequest(directory.DeviceRegistrationServiceDN(fi.ConfigurationNC), ldap.ScopeBaseObject,
		ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"objectClass", "msDS-DeviceLocation", "msDS-IsEnabled"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if e := res.Entries[0]; !strings.EqualFold(e.GetAttributeValue("msDS-DeviceLocation"), "CN=RegisteredDevices,"+dom.DN) ||
		e.GetAttributeValue("msDS-IsEnabled") != "TRUE" {
		t.Errorf("DRS object: %v", e.Attributes)
	}

	// After: ready, as the connector account sees it.
	r, err = ac.DeviceWritebackReadiness(ctx, dom, acct.SID)
	if err != nil || !r.Ready() || !r.ContainerExists || !r.RightsChecked || len(r.MissingRights) != 0 || r.NeedsPreparation() {
		t.Errorf("readiness after: %+v, %v", r, err)
	}
	// An account without the grants: named rights missing.
	r, err = svc.DeviceWritebackReadiness(ctx, dom, svcUser.SID)
	if err != nil || r.Ready() || strings.Join(r.MissingRights, "|") != "Create and delete devices in CN=RegisteredDevices|Read and write all properties of devices" {
		t.Errorf("readiness for svc-sync: missing %q, problems %q, %v", r.MissingRights, r.Problems, err)
	}

	// The connector account writes a device with the must-have attributes
	// (and the 2012 R2 ones Entra Connect writes), changes it, deletes it.
	acRaw, err := corp.DialAs(ctx, acct.UPN, acct.Password)
	if err != nil {
		t.Fatal(err)
	}
	defer acRaw.Close()
	deviceID := randomGUID(t)
	owner, err := directory.ParseSID(svcUser.SID)
	if err != nil {
		t.Fatal(err)
	}
	dn := fmt.Sprintf("CN=%x,CN=RegisteredDevices,%s", deviceID, dom.DN)
	add := ldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{"msDS-Device"})
	add.Attribute("displayName", []string{"WB14-LAPTOP"})
	add.Attribute("altSecurityIdentities", []string{"X509:<SHA1-TP-PUBKEY>0123456789abcdef0123456789abcdef01234567"})
	add.Attribute("msDS-DeviceID", []string{string(deviceID)})
	add.Attribute("msDS-IsEnabled", []string{"TRUE"})
	add.Attribute("msDS-DeviceOSType", []string{"Windows"})
	add.Attribute("msDS-DeviceOSVersion", []string{"10.0.22631.3880"})
	add.Attribute("msDS-RegisteredOwner", []string{string(owner)})
	add.Attribute("msDS-CloudAnchor", []string{"Device_" + fmt.Sprintf("%x", deviceID)})
	add.Attribute("msDS-DevicePhysicalIDs", []string{"[USER-GID]:0123", "[GID]:g:6966"})
	add.Attribute("msDS-IsManaged", []string{"FALSE"})
	if err := acRaw.Add(add); err != nil {
		t.Fatalf("connector account creates a device: %v", err)
	}
	res, err = acRaw.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=msDS-Device)", []string{"msDS-DeviceID", "msDS-RegisteredOwner", "msDS-IsEnabled", "displayName"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("read the device back: %v", err)
	}
	e := res.Entries[0]
	if !bytes.Equal(e.GetRawAttributeValue("msDS-DeviceID"), deviceID) || !bytes.Equal(e.GetRawAttributeValue("msDS-RegisteredOwner"), owner) ||
		e.GetAttributeValue("msDS-IsEnabled") != "TRUE" {
		t.Errorf("device read back: %v", e.Attributes)
	}
	mod := ldap.NewModifyRequest(dn, nil)
	mod.Replace("msDS-IsEnabled", []string{"FALSE"})
	mod.Replace("displayName", []string{"WB14-LAPTOP (renamed)"})
	if err := acRaw.Modify(mod); err != nil {
		t.Errorf("connector account changes the device: %v", err)
	}
	// msDS-DeviceID is 16 bytes exactly (rangeLower = rangeUpper = 16).
	bad := ldap.NewModifyRequest(dn, nil)
	bad.Replace("msDS-DeviceID", []string{"short"})
	if err := acRaw.Modify(bad); err == nil {
		t.Error("a 5-byte msDS-DeviceID was accepted")
	} else {
		t.Logf("5-byte msDS-DeviceID refused: %v", err)
	}

	// svc-sync may not create or delete devices there.
	svcRaw, err := corp.DialAs(ctx, forest.LayoutOf(corp).SvcSyncUPN, forest.SvcSyncPassword)
	if err != nil {
		t.Fatal(err)
	}
	defer svcRaw.Close()
	add2 := *add
	add2.DN = fmt.Sprintf("CN=%x,CN=RegisteredDevices,%s", randomGUID(t), dom.DN)
	if err := svcRaw.Add(&add2); !directory.IsPermissionDenied(err) {
		t.Errorf("svc-sync creates a device: %v, want insufficient access", err)
	}
	if err := svcRaw.Del(ldap.NewDelRequest(dn, nil)); !directory.IsPermissionDenied(err) {
		t.Errorf("svc-sync deletes a device: %v, want insufficient access", err)
	}
	if err := acRaw.Del(ldap.NewDelRequest(dn, nil)); err != nil {
		t.Errorf("connector account deletes the device: %v", err)
	}

	// The admin's commands name this forest's objects and account.
	script := directory.DeviceWritebackCommands(directory.ScriptParams{
		Domain: dom, ConfigurationNC: fi.ConfigurationNC, Account: dom.NetBIOS + `\` + acct.SAM,
	})
	if !strings.Contains(script, "'CN=RegisteredDevices,"+dom.DN+"'") || !strings.Contains(script, `'CORP\`+acct.SAM+`'`) {
		t.Errorf("commands:\n%s", script)
	}
}

// TestLiveGroupWriteback: the OU's readiness, a refused grant by the
// connector account itself, the admin's grant (twice: idempotent), and the
// connector account creating a universal group, changing its members and
// deleting it; svc-sync is refused.
func TestLiveGroupWriteback(t *testing.T) {
	corp, _ := forests(t)
	ctx := testCtx(t)
	admin := dialAdmin(t, corp)
	fi := mustForest(t, admin)
	dom := fi.Domains[0]
	l := forest.LayoutOf(corp)
	raw, err := corp.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	ou := "OU=WB14 Group Writeback," + corp.BaseDN
	mk := ldap.NewAddRequest(ou, nil)
	mk.Attribute("objectClass", []string{"organizationalUnit"})
	if err := raw.Add(mk); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := corp.Dial(context.Background())
		if err != nil {
			return
		}
		defer c.Close()
		if err := c.Del(ldap.NewDelRequest(ou, []ldap.Control{ldap.NewControlSubtreeDelete()})); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	acct, err := admin.CreateConnectorAccount(ctx, dom, directory.Rights{})
	if err != nil {
		t.Fatalf("CreateConnectorAccount: %v", err)
	}
	ac := dial(t, corp, acct.UPN, acct.Password)

	// An OU that does not exist, and an object that is not a container.
	if r, err := ac.GroupWritebackReadiness(ctx, "OU=Nowhere,"+corp.BaseDN, acct.SID); err != nil || r.Ready() || r.OUExists ||
		!strings.Contains(strings.Join(r.Problems, " "), "does not exist") {
		t.Errorf("missing OU: %+v, %v", r, err)
	}
	if r, err := ac.GroupWritebackReadiness(ctx, l.SvcSyncDN, acct.SID); err != nil || r.Ready() ||
		!strings.Contains(strings.Join(r.Problems, " "), "not an organizational unit") {
		t.Errorf("a user as OU: %+v, %v", r, err)
	}
	r, err := ac.GroupWritebackReadiness(ctx, ou, acct.SID)
	if err != nil || r.Ready() || !r.OUExists || r.HasExternalDirectoryObjectID || !r.RightsChecked || len(r.MissingRights) != 3 ||
		len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "adminDescription only") {
		t.Errorf("readiness before: %+v, %v", r, err)
	}
	_, err = ac.PrepareGroupWriteback(ctx, ou, acct.SID)
	if de := asError(t, err); !directory.IsPermissionDenied(err) || !strings.Contains(de.Msg, "not allowed") {
		t.Errorf("grant by the connector account itself: %q", de.Msg)
	}
	if p, err := admin.PrepareGroupWriteback(ctx, ou, acct.SID); err != nil || p.ACEsAdded != 3 {
		t.Errorf("prepare = %+v, %v; want 3 ACEs", p, err)
	}
	if p, err := admin.PrepareGroupWriteback(ctx, ou, acct.SID); err != nil || p.Changed() {
		t.Errorf("prepare again = %+v, %v; want no change", p, err)
	}
	if r, err := ac.GroupWritebackReadiness(ctx, ou, acct.SID); err != nil || !r.Ready() || len(r.MissingRights) != 0 {
		t.Errorf("readiness after: %+v, %v", r, err)
	}

	acRaw, err := corp.DialAs(ctx, acct.UPN, acct.Password)
	if err != nil {
		t.Fatal(err)
	}
	defer acRaw.Close()
	id := fmt.Sprintf("%x-%x-%x-%x-%x", randomGUID(t)[:4], []byte{1, 2}, []byte{3, 4}, []byte{5, 6}, randomGUID(t)[:6])
	dn := "CN=Group_" + id + "," + ou
	add := ldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{"group"})
	add.Attribute("groupType", []string{"8"}) // universal distribution
	add.Attribute("adminDescription", []string{"Group_" + id})
	add.Attribute("displayName", []string{"WB14 Project"})
	add.Attribute("description", []string{"Microsoft 365 group written back"})
	add.Attribute("member", []string{l.SvcSyncDN})
	if err := acRaw.Add(add); err != nil {
		t.Fatalf("connector account creates a group: %v", err)
	}
	res, err := acRaw.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=group)", []string{"groupType", "sAMAccountName", "member"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("read the group back: %v", err)
	}
	t.Logf("group without a sAMAccountName given: the DC named it %q", res.Entries[0].GetAttributeValue("sAMAccountName"))
	if res.Entries[0].GetAttributeValue("groupType") != "8" || len(res.Entries[0].GetAttributeValues("member")) != 1 {
		t.Errorf("group: %v", res.Entries[0].Attributes)
	}
	mod := ldap.NewModifyRequest(dn, nil)
	mod.Delete("member", []string{l.SvcSyncDN})
	mod.Replace("displayName", []string{"WB14 Project (renamed)"})
	if err := acRaw.Modify(mod); err != nil {
		t.Errorf("connector account changes the group: %v", err)
	}

	svcRaw, err := corp.DialAs(ctx, l.SvcSyncUPN, forest.SvcSyncPassword)
	if err != nil {
		t.Fatal(err)
	}
	defer svcRaw.Close()
	add2 := *add
	add2.DN = "CN=Group_other," + ou
	if err := svcRaw.Add(&add2); !directory.IsPermissionDenied(err) {
		t.Errorf("svc-sync creates a group: %v, want insufficient access", err)
	}
	if err := svcRaw.Del(ldap.NewDelRequest(dn, nil)); !directory.IsPermissionDenied(err) {
		t.Errorf("svc-sync deletes the group: %v, want insufficient access", err)
	}
	if err := acRaw.Del(ldap.NewDelRequest(dn, nil)); err != nil {
		t.Errorf("connector account deletes the group: %v", err)
	}
}
