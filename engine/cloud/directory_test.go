package cloud_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/hybridsync/hybridsync/e2e/tenant"
	"github.com/hybridsync/hybridsync/engine/cloud"
)

// as is a client signed in as another account of the seed.
func (e *env) as(t *testing.T, user, pass string) *cloud.Client {
	t.Helper()
	c, err := cloud.New(cloud.Config{GraphURL: e.srv.URL + "/v1.0", HTTPClient: e.srv.Client()}, e.admin(user, pass))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// app is a client with the seed's daemon app (Directory.ReadWrite.All).
func (e *env) app(t *testing.T) *cloud.Client {
	t.Helper()
	ts := &cloud.ClientCredentials{Authority: e.authority(), ClientID: tenant.SyncClientID, ClientSecret: tenant.SyncClientSecret, HTTPClient: e.srv.Client()}
	c, err := cloud.New(cloud.Config{GraphURL: e.srv.URL + "/v1.0", HTTPClient: e.srv.Client()}, ts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestMeAndDirectoryRoles(t *testing.T) {
	e := start(t, tenant.Options{}, cloud.Config{})
	ctx := context.Background()
	me, err := e.client.Me(ctx)
	if err != nil || me.UserPrincipalName != "hybrid.admin@contoso.onmicrosoft.com" || me.ID == "" {
		t.Fatalf("Me = %+v, %v", me, err)
	}
	roles, err := e.client.MyDirectoryRoles(ctx)
	if err != nil || len(roles) != 1 || !cloud.HasRole(roles, cloud.RoleHybridIdentityAdministrator) ||
		roles[0].DisplayName != "Hybrid Identity Administrator" || roles[0].ID == roles[0].RoleTemplateID {
		t.Fatalf("MyDirectoryRoles = %+v, %v", roles, err)
	}
	helpdesk := e.as(t, "helpdesk.user@contoso.onmicrosoft.com", "Passw0rd!helpdesk")
	if roles, err := helpdesk.MyDirectoryRoles(ctx); err != nil || len(roles) != 0 {
		t.Fatalf("helpdesk roles = %+v, %v", roles, err)
	}
	if _, err := e.app(t).Me(ctx); !cloud.IsDelegatedOnly(err) {
		t.Fatalf("app Me: %v", err)
	}
}

func TestRoleAssignments(t *testing.T) {
	e := start(t, tenant.Options{}, cloud.Config{})
	ctx := context.Background()
	u := newUser(1, "contoso.onmicrosoft.com")
	created, err := e.client.CreateUser(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.client.AssignDirectoryRole(ctx, created.ID, cloud.RoleDirectorySynchronizationAccounts)
	if err != nil || a.ID == "" || a.PrincipalID != created.ID || a.DirectoryScopeID != "/" {
		t.Fatalf("AssignDirectoryRole = %+v, %v", a, err)
	}
	if _, err := e.client.AssignDirectoryRole(ctx, created.ID, cloud.RoleDirectorySynchronizationAccounts); err == nil {
		t.Fatal("assigned the same role twice")
	}
	list, err := e.client.RoleAssignments(ctx, created.ID)
	if err != nil || len(list) != 1 || list[0].RoleDefinitionID != cloud.RoleDirectorySynchronizationAccounts {
		t.Fatalf("RoleAssignments = %+v, %v", list, err)
	}

	// The new account signs in with its passwordProfile and holds the role.
	sync := e.as(t, u.UserPrincipalName, u.PasswordProfile.Password)
	roles, err := sync.MyDirectoryRoles(ctx)
	if err != nil || !cloud.HasRole(roles, cloud.RoleDirectorySynchronizationAccounts) {
		t.Fatalf("sync account roles = %+v, %v", roles, err)
	}
	tests := []struct {
		name   string
		client *cloud.Client
		ok     bool
	}{
		{"global admin", e.as(t, "global.admin@contoso.onmicrosoft.com", "Passw0rd!global"), true},
		{"directory synchronization account", sync, false},
		{"no role", e.as(t, "helpdesk.user@contoso.onmicrosoft.com", "Passw0rd!helpdesk"), false},
		{"app with Directory.ReadWrite.All", e.app(t), false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target, err := e.client.CreateUser(ctx, newUser(10+i, "contoso.onmicrosoft.com"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = tt.client.AssignDirectoryRole(ctx, target.ID, cloud.RoleUserAdministrator)
			if tt.ok != (err == nil) || (!tt.ok && !cloud.IsForbidden(err)) {
				t.Fatalf("AssignDirectoryRole: %v, want ok=%v", err, tt.ok)
			}
		})
	}
	// The sync account may still write users.
	if _, err := sync.CreateUser(ctx, newUser(20, "contoso.onmicrosoft.com")); err != nil {
		t.Fatalf("sync account CreateUser: %v", err)
	}
}

func TestFindUsers(t *testing.T) {
	e := start(t, tenant.Options{}, cloud.Config{})
	ctx := context.Background()
	for i := range 3 {
		if _, err := e.client.CreateUser(ctx, newUser(i, "contoso.example.test")); err != nil {
			t.Fatal(err)
		}
	}
	o := newUser(9, "contoso.example.test")
	o.UserPrincipalName = "o'brien@contoso.example.test"
	if _, err := e.client.CreateUser(ctx, o); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		filter string
		want   int
	}{
		{"startswith(userPrincipalName,'user00')", 3},
		{"startswith(userPrincipalName,'USER00')", 3},
		{"userPrincipalName eq 'user001@contoso.example.test'", 1},
		{"userPrincipalName eq " + cloud.Quote("O'Brien@contoso.example.test"), 1},
		{"userPrincipalName eq 'nobody@contoso.example.test'", 0},
		{"startswith(userPrincipalName,'user00') and displayName eq 'User 002'", 1},
		{"userPrincipalName eq 'user000@contoso.example.test' or userPrincipalName eq 'user001@contoso.example.test'", 2},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			us, err := e.client.FindUsers(ctx, tt.filter)
			if err != nil || len(us) != tt.want {
				t.Fatalf("FindUsers = %d users, %v; want %d", len(us), err, tt.want)
			}
		})
	}
	_, err := e.client.FindUsers(ctx, "favouriteColour eq 'blue'")
	var ge *cloud.Error
	if !errors.As(err, &ge) || ge.Status != 400 || ge.Code != "Request_UnsupportedQuery" {
		t.Fatalf("unsupported filter: %v", err)
	}
}

func TestGroupsAndMembers(t *testing.T) {
	e := start(t, tenant.Options{}, cloud.Config{})
	ctx := context.Background()
	g, err := e.client.CreateGroup(ctx, cloud.Group{DisplayName: "Sync Admins", MailNickname: "syncadmins", SecurityEnabled: true})
	if err != nil || g.ID == "" || !g.SecurityEnabled || g.MailEnabled {
		t.Fatalf("CreateGroup = %+v, %v", g, err)
	}
	var users []*cloud.User
	for i := range 3 {
		u, err := e.client.CreateUser(ctx, newUser(i, "contoso.example.test"))
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, u)
	}
	if err := e.client.AddGroupMember(ctx, g.ID, users[0].ID); err != nil {
		t.Fatal(err)
	}
	err = e.client.AddGroupMember(ctx, g.ID, users[0].ID)
	var ge *cloud.Error
	if !cloud.IsAlreadyMember(err) || !errors.As(err, &ge) || ge.Code != "Request_BadRequest" ||
		ge.Message != "One or more added object references already exist for the following modified properties: 'members'." {
		t.Fatalf("second add: %v", err)
	}
	if err := e.client.AddGroupMember(ctx, g.ID, "00000000-0000-0000-0000-000000000000"); !cloud.IsNotFound(err) {
		t.Fatalf("add missing object: %v", err)
	}
	// $ref adds and removes go through $batch.
	res, err := e.client.Batch(ctx, []cloud.BatchRequest{
		e.client.AddGroupMemberRequest(g.ID, users[1].ID),
		e.client.AddGroupMemberRequest(g.ID, users[2].ID),
		e.client.RemoveGroupMemberRequest(g.ID, users[0].ID),
		e.client.AddGroupMemberRequest(g.ID, users[1].ID),
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{204, 204, 204, 400} {
		if res[i].Status != want {
			t.Fatalf("batch %d = %d %v, want %d", i, res[i].Status, res[i].Err(), want)
		}
	}
	if !cloud.IsAlreadyMember(res[3].Err()) {
		t.Fatalf("batch duplicate: %v", res[3].Err())
	}
	members, err := e.client.GroupMembers(ctx, g.ID)
	if err != nil || len(members) != 2 || members[0].ID != users[1].ID || members[0].ODataType != "#microsoft.graph.user" {
		t.Fatalf("GroupMembers = %+v, %v", members, err)
	}
	if err := e.client.RemoveGroupMember(ctx, g.ID, users[0].ID); !cloud.IsNotMember(err) {
		t.Fatalf("remove non-member: %v", err)
	}
	if err := e.client.RemoveGroupMember(ctx, g.ID, users[1].ID); err != nil {
		t.Fatal(err)
	}

	if err := e.client.UpdateGroup(ctx, g.ID, map[string]any{"description": "People who run sync"}); err != nil {
		t.Fatal(err)
	}
	if got, err := e.client.GetGroup(ctx, g.ID); err != nil || got.Description != "People who run sync" {
		t.Fatalf("GetGroup = %+v, %v", got, err)
	}
	if err := e.client.UpdateGroup(ctx, g.ID, map[string]any{"proxyAddresses": []string{"SMTP:x@contoso.example.test"}}); !cloud.IsReadOnly(err) {
		t.Fatalf("wrote read-only proxyAddresses: %v", err)
	}
	found, err := e.client.FindGroups(ctx, "displayName eq 'HybridSync Browse'")
	if err != nil || len(found) != 1 {
		t.Fatalf("FindGroups = %+v, %v", found, err)
	}
	all, err := e.client.ListGroups(ctx, 1)
	if err != nil || len(all) != 3 {
		t.Fatalf("ListGroups = %d, %v", len(all), err)
	}

	// A Microsoft 365 group's address lives in the same namespace as users'.
	u := newUser(5, "contoso.example.test")
	u.Mail = "team@contoso.onmicrosoft.com" // a Microsoft 365 group takes the default domain
	if _, err := e.client.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.CreateGroup(ctx, cloud.Group{DisplayName: "Team", MailNickname: "team", MailEnabled: true, GroupTypes: []string{"Unified"}})
	if !cloud.IsDuplicateProxyAddress(err) {
		t.Fatalf("unified group on a taken address: %v", err)
	}
	if _, err := e.client.CreateGroup(ctx, cloud.Group{DisplayName: "DL", MailNickname: "dl", MailEnabled: true, SecurityEnabled: true}); err == nil {
		t.Fatal("created a mail-enabled security group")
	}
	if err := e.client.DeleteGroup(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.GetGroup(ctx, g.ID); !cloud.IsNotFound(err) {
		t.Fatalf("after delete: %v", err)
	}
}

func TestContactsAndDevices(t *testing.T) {
	e := start(t, tenant.Options{}, cloud.Config{})
	ctx := context.Background()
	cs, err := e.client.ListContacts(ctx)
	if err != nil || len(cs) != 1 || cs[0].Mail != "adele@partner.example.test" || len(cs[0].ProxyAddresses) != 1 {
		t.Fatalf("ListContacts = %+v, %v", cs, err)
	}
	if c, err := e.client.GetContact(ctx, cs[0].ID); err != nil || c.DisplayName != "Adele Partner" {
		t.Fatalf("GetContact = %+v, %v", c, err)
	}
	// A contact's address is taken for users too.
	u := newUser(1, "contoso.example.test")
	u.Mail = "Adele@partner.example.test"
	if _, err := e.client.CreateUser(ctx, u); !cloud.IsDuplicateProxyAddress(err) {
		t.Fatalf("user on a contact's address: %v", err)
	}

	global := e.as(t, "global.admin@contoso.onmicrosoft.com", "Passw0rd!global")
	d := cloud.Device{AccountEnabled: true, DeviceID: "4c299165-6e8f-4b45-a5ba-c5d250a707ff", DisplayName: "WKS-01", OperatingSystem: "Windows", OperatingSystemVersion: "10.0.22631",
		AlternativeSecurityIDs: []cloud.AlternativeSecurityID{{Type: 2, Key: []byte("Y3YxN2E1MWFlYw")}}}
	created, err := global.CreateDevice(ctx, d)
	if err != nil || created.ID == "" || created.DeviceID != d.DeviceID || len(created.AlternativeSecurityIDs) != 1 || string(created.AlternativeSecurityIDs[0].Key) != "Y3YxN2E1MWFlYw" {
		t.Fatalf("CreateDevice = %+v, %v", created, err)
	}
	if _, err := global.CreateDevice(ctx, d); !cloud.IsConflict(err) {
		t.Fatalf("duplicate deviceId: %v", err)
	}
	bad := d
	bad.DeviceID, bad.AlternativeSecurityIDs = "5c299165-6e8f-4b45-a5ba-c5d250a707ff", nil
	if _, err := global.CreateDevice(ctx, bad); err == nil {
		t.Fatal("created a device without alternativeSecurityIds")
	}
	if _, err := e.client.CreateDevice(ctx, bad); !cloud.IsForbidden(err) {
		t.Fatalf("hybrid identity admin CreateDevice: %v", err)
	}
	ds, err := e.client.ListDevices(ctx)
	if err != nil || len(ds) != 1 {
		t.Fatalf("ListDevices = %+v, %v", ds, err)
	}
	if got, err := e.client.GetDevice(ctx, created.ID); err != nil || got.DisplayName != "WKS-01" {
		t.Fatalf("GetDevice = %+v, %v", got, err)
	}
	if err := global.DeleteDevice(ctx, created.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.GetDevice(ctx, created.ID); !cloud.IsNotFound(err) {
		t.Fatalf("after delete: %v", err)
	}
}

func TestDomainVerification(t *testing.T) {
	e := start(t, tenant.Options{}, cloud.Config{})
	ctx := context.Background()
	recs, err := e.client.DomainVerificationRecords(ctx, "fabrikam.example.test")
	if err != nil || len(recs) != 2 {
		t.Fatalf("records = %+v, %v", recs, err)
	}
	txt, mx := recs[0], recs[1]
	if txt.RecordType != "Txt" || !strings.HasPrefix(txt.Text, "MS=ms") || len(txt.Text) != 13 || txt.ODataType != "#microsoft.graph.domainDnsTxtRecord" ||
		mx.RecordType != "Mx" || mx.MailExchange != txt.Text[3:]+".msv1.invalid" || mx.Preference != 32767 || txt.TTL != 3600 || txt.Label != "fabrikam.example.test" {
		t.Fatalf("records = %+v", recs)
	}
	if _, err := e.client.VerifyDomain(ctx, "fabrikam.example.test"); !cloud.IsDomainVerificationFailed(err) {
		t.Fatalf("verify without record: %v", err)
	}
	if d, err := e.client.VerifyDomain(ctx, "northwind.example.test"); err != nil || !d.IsVerified {
		t.Fatalf("verify northwind = %+v, %v", d, err)
	}
	d, err := e.client.AddDomain(ctx, "tailspin.example.test")
	if err != nil || d.IsVerified || d.ID != "tailspin.example.test" {
		t.Fatalf("AddDomain = %+v, %v", d, err)
	}
	if _, err := e.client.AddDomain(ctx, "tailspin.example.test"); err == nil {
		t.Fatal("added a domain twice")
	}
	if _, err := e.client.CreateUser(ctx, newUser(1, "tailspin.example.test")); !cloud.IsUnverifiedDomain(err) {
		t.Fatalf("user before verify: %v", err)
	}
	if d, err := e.client.VerifyDomain(ctx, "tailspin.example.test"); err != nil || !d.IsVerified {
		t.Fatalf("verify tailspin = %+v, %v", d, err)
	}
	if _, err := e.client.CreateUser(ctx, newUser(1, "tailspin.example.test")); err != nil {
		t.Fatalf("user after verify: %v", err)
	}
	// A subdomain of a verified domain is verified at once.
	if d, err := e.client.AddDomain(ctx, "eu.tailspin.example.test"); err != nil || !d.IsVerified {
		t.Fatalf("subdomain = %+v, %v", d, err)
	}
	org, err := e.client.Organization(ctx)
	if err != nil || len(org.VerifiedDomains) != 5 {
		t.Fatalf("organization = %+v, %v", org, err)
	}
}

func TestOnPremisesSyncSettings(t *testing.T) {
	e := start(t, tenant.Options{}, cloud.Config{})
	ctx := context.Background()
	// Reading and writing them is Global Administrator only
	// (onpremisesdirectorysynchronization-get, -update).
	if _, err := e.client.OnPremisesSync(ctx); !cloud.IsForbidden(err) {
		t.Fatalf("hybrid identity admin read: %v (docs: Global Administrator only)", err)
	}
	global := e.as(t, "global.admin@contoso.onmicrosoft.com", "Passw0rd!global")
	s, err := global.OnPremisesSync(ctx)
	if err != nil || s.ID != e.t.TenantID() || !s.Features.SoftMatchOnUpnEnabled || s.Features.BlockSoftMatchEnabled ||
		s.Configuration.AccidentalDeletionPrevention.SynchronizationPreventionType != cloud.DeletionPreventionCount {
		t.Fatalf("OnPremisesSync = %+v, %v", s, err)
	}
	patch := map[string]any{
		"features": map[string]any{"blockSoftMatchEnabled": true, "passwordSyncEnabled": true},
		"configuration": map[string]any{"accidentalDeletionPrevention": map[string]any{
			"synchronizationPreventionType": cloud.DeletionPreventionPercentage, "alertThreshold": 10}},
	}
	if err := e.client.UpdateOnPremisesSync(ctx, s.ID, patch); !cloud.IsForbidden(err) {
		t.Fatalf("hybrid identity admin update: %v (docs: Global Administrator only)", err)
	}
	if err := global.UpdateOnPremisesSync(ctx, s.ID, patch); err != nil {
		t.Fatal(err)
	}
	s, err = global.OnPremisesSync(ctx)
	if err != nil || !s.Features.BlockSoftMatchEnabled || !s.Features.PasswordSyncEnabled || s.Configuration.AccidentalDeletionPrevention.AlertThreshold != 10 {
		t.Fatalf("after update = %+v, %v", s, err)
	}
	if err := global.UpdateOnPremisesSync(ctx, s.ID, map[string]any{"features": map[string]any{"noSuchFeature": true}}); err == nil {
		t.Fatal("accepted an unknown feature")
	}
	if _, err := e.app(t).OnPremisesSync(ctx); !cloud.IsForbidden(err) {
		t.Fatalf("app read: %v", err)
	}

	org, _ := e.client.Organization(ctx)
	if org.OnPremisesSyncEnabled != nil {
		t.Fatalf("onPremisesSyncEnabled = %v before it was set", *org.OnPremisesSyncEnabled)
	}
	if err := e.client.SetOnPremisesSyncEnabled(ctx, org.ID, true); err != nil {
		t.Fatal(err)
	}
	if org, _ = e.client.Organization(ctx); org.OnPremisesSyncEnabled == nil || !*org.OnPremisesSyncEnabled {
		t.Fatalf("onPremisesSyncEnabled = %v", org.OnPremisesSyncEnabled)
	}
	helpdesk := e.as(t, "helpdesk.user@contoso.onmicrosoft.com", "Passw0rd!helpdesk")
	if err := helpdesk.SetOnPremisesSyncEnabled(ctx, org.ID, false); !cloud.IsForbidden(err) {
		t.Fatalf("no-role SetOnPremisesSyncEnabled: %v", err)
	}
	var ge *cloud.Error
	if err := e.client.SetOnPremisesSyncEnabled(ctx, "00000000-0000-0000-0000-000000000000", false); !errors.As(err, &ge) || ge.Status != http.StatusNotFound {
		t.Fatalf("other organization: %v", err)
	}
}
