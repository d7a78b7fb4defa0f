package cloud_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hybridsync/hybridsync/e2e/tenant"
	"github.com/hybridsync/hybridsync/engine/cloud"
)

// members renders member changes as "id" (added) and "-id" (removed), sorted.
func members(ms []cloud.MemberChange) []string {
	var out []string
	for _, m := range ms {
		if m.Removed {
			out = append(out, "-"+m.ID)
		} else {
			out = append(out, m.ID)
		}
	}
	sort.Strings(out)
	return out
}

func sortedIDs(ids ...string) []string {
	out := slices.Clone(ids)
	sort.Strings(out)
	return out
}

func unified(name string) cloud.Group {
	return cloud.Group{DisplayName: name, MailNickname: strings.ReplaceAll(strings.ToLower(name), " ", ""), MailEnabled: true, GroupTypes: []string{"Unified"}}
}

func TestReadGroupsDelta(t *testing.T) {
	e := start(t, tenant.Options{DeltaPageSize: 2}, cloud.Config{})
	ctx := context.Background()
	c := e.client
	var users []string
	for i := range 3 {
		u, err := c.CreateUser(ctx, newUser(i, "contoso.example.test"))
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, u.ID)
	}
	mk := func(g cloud.Group, ms ...string) string {
		t.Helper()
		out, err := c.CreateGroup(ctx, g)
		if err != nil {
			t.Fatalf("CreateGroup %s: %v", g.DisplayName, err)
		}
		for _, m := range ms {
			if err := c.AddGroupMember(ctx, out.ID, m); err != nil {
				t.Fatal(err)
			}
		}
		return out.ID
	}
	a := mk(unified("Team A"), users[0], users[1])
	b := mk(unified("Team B"), users[2])
	sec := mk(cloud.Group{DisplayName: "Security", MailNickname: "security", SecurityEnabled: true}, users[0])

	full, err := c.ReadGroupsDelta(ctx, "")
	if err != nil {
		t.Fatalf("full read: %v", err)
	}
	if !full.Full || full.DeltaLink == "" {
		t.Fatalf("full read: Full %v, DeltaLink %q", full.Full, full.DeltaLink)
	}
	got := map[string]cloud.GroupChange{}
	for _, g := range full.Groups {
		got[g.ID] = g
	}
	if len(full.Groups) != 2 || !slices.Equal(members(got[a].Members), sortedIDs(users[0], users[1])) || !slices.Equal(members(got[b].Members), []string{users[2]}) {
		t.Fatalf("full read groups = %+v", full.Groups)
	}
	if g := got[a]; g.Mail != "teama@contoso.onmicrosoft.com" || !g.MailEnabled || g.SecurityEnabled || g.DisplayName != "Team A" {
		t.Errorf("Team A = %+v", g.Group)
	}
	// The seed's two security groups and ours are out of scope.
	if len(full.NotUnified) != 3 || !slices.Contains(full.NotUnified, sec) {
		t.Errorf("NotUnified = %v", full.NotUnified)
	}

	// Changes: membership, a new group, a deleted one, an out-of-scope one.
	if err := c.AddGroupMember(ctx, a, users[2]); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveGroupMember(ctx, a, users[1]); err != nil {
		t.Fatal(err)
	}
	newGroup := mk(unified("Team C"), users[1])
	if err := c.DeleteGroup(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := c.UpdateGroup(ctx, sec, map[string]any{"description": "changed"}); err != nil {
		t.Fatal(err)
	}
	round, err := c.ReadGroupsDelta(ctx, full.DeltaLink)
	if err != nil {
		t.Fatalf("round of changes: %v", err)
	}
	if round.Full || round.DeltaLink == "" || round.DeltaLink == full.DeltaLink {
		t.Errorf("round: Full %v, DeltaLink new %v", round.Full, round.DeltaLink != full.DeltaLink)
	}
	got = map[string]cloud.GroupChange{}
	for _, g := range round.Groups {
		got[g.ID] = g
	}
	tests := []struct {
		name    string
		id      string
		removed string
		members []string
	}{
		{"member added and removed", a, "", sortedIDs(users[2], "-"+users[1])},
		{"created", newGroup, "", []string{users[1]}},
		{"deleted (restorable)", b, cloud.RemovedChanged, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, ok := got[tt.id]
			if !ok {
				t.Fatalf("not in the round: %+v", round.Groups)
			}
			if g.RemovedReason != tt.removed || !slices.Equal(members(g.Members), tt.members) {
				t.Errorf("= removed %q, members %v; want %q, %v", g.RemovedReason, members(g.Members), tt.removed, tt.members)
			}
		})
	}
	if len(round.Groups) != len(tests) || !slices.Equal(round.NotUnified, []string{sec}) {
		t.Errorf("round = %d groups, NotUnified %v", len(round.Groups), round.NotUnified)
	}

	// Nothing more: an empty round.
	empty, err := c.ReadGroupsDelta(ctx, round.DeltaLink)
	if err != nil || len(empty.Groups)+len(empty.NotUnified) != 0 {
		t.Fatalf("empty round = %+v, %v", empty, err)
	}

	// A refused link is ErrDeltaExpired; a full read starts again.
	e.t.ExpireDeltaTokens()
	if _, err := c.ReadGroupsDelta(ctx, empty.DeltaLink); !errors.Is(err, cloud.ErrDeltaExpired) {
		t.Fatalf("refused link: %v, want ErrDeltaExpired", err)
	} else if strings.Contains(err.Error(), "deltatoken") {
		t.Errorf("the error shows the link's token: %v", err)
	}
	again, err := c.ReadGroupsDelta(ctx, "")
	if err != nil || !again.Full || len(again.Groups) != 2 {
		t.Fatalf("full read after the refusal = %+v, %v", again, err)
	}
}

func TestDeltaLinkChecks(t *testing.T) {
	e := start(t, tenant.Options{}, cloud.Config{})
	ctx := context.Background()
	groups, err := e.client.ReadGroupsDelta(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	devices, err := e.client.ReadDevicesDelta(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		read func() error
	}{
		{"a devices link for groups", func() error { _, err := e.client.ReadGroupsDelta(ctx, devices.DeltaLink); return err }},
		{"a groups link for devices", func() error { _, err := e.client.ReadDevicesDelta(ctx, groups.DeltaLink); return err }},
		{"off the Graph host", func() error {
			_, err := e.client.ReadGroupsDelta(ctx, "https://elsewhere.example.test/v1.0/groups/delta?$deltatoken=x")
			return err
		}},
		{"not a delta link", func() error { _, err := e.client.ReadGroupsDelta(ctx, e.srv.URL+"/v1.0/groups"); return err }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.read()
			if err == nil || errors.Is(err, cloud.ErrDeltaExpired) {
				t.Fatalf("= %v, want a refusal that is not ErrDeltaExpired", err)
			}
			if strings.Contains(err.Error(), "deltatoken=") {
				t.Errorf("the error shows the link's token: %v", err)
			}
		})
	}
}

func TestDeltaRefusals(t *testing.T) {
	// How Graph refuses a token, as the client must read it.
	tests := []struct {
		status  int
		body    string
		expired bool
	}{
		{410, `{"error":{"code":"syncStateNotFound","message":"The sync state generation is not found."}}`, true},
		{410, `{"error":{"code":"SyncStateNotFound","message":"The sync state generation is not found; generation=149;[highest=157]."}}`, true},
		{400, `{"error":{"code":"resyncRequired","message":"The delta token is no longer valid, and the app must reset the sync state."}}`, true},
		{400, `{"error":{"code":"Directory_ExpiredPageToken","message":"The specified page token value has expired and can no longer be included in your request."}}`, true},
		{410, `{"error":{"code":"generalException","message":"Gone."}}`, true},
		{400, `{"error":{"code":"Request_UnsupportedQuery","message":"Unsupported query."}}`, false},
		{403, `{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}`, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status, " ", tt.body[19:40]), func(t *testing.T) {
			c := fakeDelta(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			})
			_, err := c.ReadGroupsDelta(context.Background(), "")
			if err == nil || errors.Is(err, cloud.ErrDeltaExpired) != tt.expired {
				t.Fatalf("= %v, want expired %v", err, tt.expired)
			}
		})
	}
}

// fakeDelta is a client of an emulator whose delta answers come from
// answer: for what the emulator never sends (replays, a group over several
// pages, Graph's refusals).
func fakeDelta(t *testing.T, answer http.HandlerFunc) *cloud.Client {
	t.Helper()
	tn, err := tenant.New(tenant.DefaultSeed(), tenant.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/delta") {
			answer(w, r)
			return
		}
		tn.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	ts := &cloud.PasswordGrant{Authority: srv.URL + "/" + tn.InitialDomain(), ClientID: clientID, Username: "hybrid.admin@contoso.onmicrosoft.com", Password: "Passw0rd!hybrid", HTTPClient: srv.Client()}
	c, err := cloud.New(cloud.Config{GraphURL: srv.URL + "/v1.0", HTTPClient: srv.Client()}, ts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestGroupsDeltaMerges: a group over several pages (a large group's
// members, or a replay) is one change, the latest word on each member winning
// (delta-query-groups, "Paging through members in a large group").
func TestGroupsDeltaMerges(t *testing.T) {
	pages := []string{
		`{"@odata.nextLink":"%s/v1.0/groups/delta?$skiptoken=2","value":[
			{"id":"a","displayName":"Big","groupTypes":["Unified"],"mailEnabled":true,"members@delta":[{"@odata.type":"#microsoft.graph.user","id":"u1"},{"@odata.type":"#microsoft.graph.user","id":"u2"}]},
			{"id":"gone","@removed":{"reason":"deleted"}}]}`,
		`{"@odata.nextLink":"%s/v1.0/groups/delta?$skiptoken=3","value":[
			{"id":"a","displayName":"Bigger","groupTypes":["Unified"],"mailEnabled":true,"members@delta":[{"@odata.type":"#microsoft.graph.user","id":"u1","@removed":{"reason":"deleted"}},{"@odata.type":"#microsoft.graph.group","id":"g3"}]},
			{"id":"back","@removed":{"reason":"changed"}}]}`,
		`{"@odata.deltaLink":"%s/v1.0/groups/delta?$deltatoken=next","value":[
			{"id":"back","displayName":"Restored","groupTypes":["Unified"]},
			{"id":"s","displayName":"Security","groupTypes":[],"securityEnabled":true}]}`,
	}
	c := fakeDelta(t, func(w http.ResponseWriter, r *http.Request) {
		i := 0
		switch r.URL.Query().Get("$skiptoken") {
		case "2":
			i = 1
		case "3":
			i = 2
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, pages[i], "http://"+r.Host)
	})
	d, err := c.ReadGroupsDelta(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range d.Groups {
		got = append(got, fmt.Sprintf("%s %q %s %v", g.ID, g.DisplayName, g.RemovedReason, members(g.Members)))
	}
	want := []string{`a "Bigger"  [-u1 g3 u2]`, `gone "" deleted []`, `back "Restored"  []`}
	if fmt.Sprint(got) != fmt.Sprint(want) || !slices.Equal(d.NotUnified, []string{"s"}) || !strings.HasSuffix(d.DeltaLink, "$deltatoken=next") {
		t.Errorf("merged = %q, NotUnified %v, link %q\nwant %q", got, d.NotUnified, d.DeltaLink, want)
	}
}

func TestReadDevicesDelta(t *testing.T) {
	e := start(t, tenant.Options{DeltaPageSize: 1}, cloud.Config{})
	ctx := context.Background()
	global := e.as(t, "global.admin@contoso.onmicrosoft.com", "Passw0rd!global")
	owner, err := e.client.CreateUser(ctx, newUser(1, "contoso.example.test"))
	if err != nil {
		t.Fatal(err)
	}
	mkDevice := func(name, devID, trust string) string {
		t.Helper()
		d, err := global.CreateDevice(ctx, cloud.Device{AccountEnabled: true, DisplayName: name, DeviceID: devID, OperatingSystem: "Windows", OperatingSystemVersion: "10.0.22631",
			TrustType: trust, AlternativeSecurityIDs: []cloud.AlternativeSecurityID{{Type: 2, Key: []byte("X509:<SHA1-TP-PUBKEY>" + devID)}}})
		if err != nil {
			t.Fatalf("CreateDevice %s: %v", name, err)
		}
		if err := global.AddRegisteredOwner(ctx, d.ID, owner.ID); err != nil {
			t.Fatalf("AddRegisteredOwner: %v", err)
		}
		return d.ID
	}
	registered := mkDevice("REGISTERED", "6a1f7c30-0000-4000-8000-000000000001", "Workplace")
	joined := mkDevice("JOINED", "6a1f7c30-0000-4000-8000-000000000002", "AzureAd")

	full, err := e.client.ReadDevicesDelta(ctx, "")
	if err != nil {
		t.Fatalf("full read: %v", err)
	}
	if !full.Full || len(full.Devices) != 2 {
		t.Fatalf("full read = %+v", full)
	}
	for _, d := range full.Devices {
		want := map[string]string{registered: "Workplace", joined: "AzureAd"}[d.ID]
		if d.TrustType != want || d.AccountEnabled == nil || !*d.AccountEnabled || len(d.AlternativeSecurityIDs) != 1 ||
			!strings.HasPrefix(string(d.AlternativeSecurityIDs[0].Key), "X509:") || d.OperatingSystem != "Windows" {
			t.Errorf("device %s = %+v", d.DisplayName, d.DeviceState)
		}
		if len(d.Owners) != 1 || d.Owners[0].ID != owner.ID || d.Owners[0].UserPrincipalName != owner.UserPrincipalName || d.Owners[0].ODataType != "#microsoft.graph.user" {
			t.Errorf("owners of %s = %+v", d.DisplayName, d.Owners)
		}
	}
	owners, err := e.client.RegisteredOwners(ctx, joined)
	if err != nil || len(owners) != 1 || owners[0].ID != owner.ID {
		t.Fatalf("RegisteredOwners = %+v, %v", owners, err)
	}

	// One disabled, one deleted.
	res, err := global.Batch(ctx, []cloud.BatchRequest{{Method: http.MethodPatch, URL: "/devices/" + registered, Body: map[string]any{"accountEnabled": false}}})
	if err != nil || res[0].Err() != nil {
		t.Fatalf("disable: %v %v", err, res)
	}
	if err := global.DeleteDevice(ctx, joined); err != nil {
		t.Fatal(err)
	}
	round, err := e.client.ReadDevicesDelta(ctx, full.DeltaLink)
	if err != nil {
		t.Fatalf("round: %v", err)
	}
	got := map[string]cloud.DeviceChange{}
	for _, d := range round.Devices {
		got[d.ID] = d
	}
	if d := got[registered]; round.Full || len(round.Devices) != 2 || d.AccountEnabled == nil || *d.AccountEnabled || d.RemovedReason != "" || len(d.Owners) != 1 {
		t.Errorf("round = %+v", round.Devices)
	}
	if d := got[joined]; d.RemovedReason != cloud.RemovedDeleted || d.Owners != nil {
		t.Errorf("deleted device = %+v", d)
	}
}
