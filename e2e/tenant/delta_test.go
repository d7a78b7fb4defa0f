package tenant

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// deltaSeed is a tenant with Microsoft 365 groups, a security group, and
// devices registered (Workplace) and joined (AzureAd) by synced users.
func deltaSeed() Seed {
	s := DefaultSeed()
	s.Users = append(s.Users,
		SeedAccount{UserPrincipalName: "adele@contoso.example.test", DisplayName: "Adele", Password: "Passw0rd!adele"},
		SeedAccount{UserPrincipalName: "bert@contoso.example.test", DisplayName: "Bert", Password: "Passw0rd!bert"},
		SeedAccount{UserPrincipalName: "cloud.only@contoso.onmicrosoft.com", DisplayName: "Cloud Only", Password: "Passw0rd!cloud"},
	)
	no, yes := false, true
	s.Groups = append(s.Groups,
		SeedGroup{DisplayName: "Sales Team", MailNickname: "sales", Description: "Sales", MailEnabled: true, SecurityEnabled: &no, GroupTypes: []string{"Unified"},
			Members: []string{"adele@contoso.example.test", "cloud.only@contoso.onmicrosoft.com"}},
		SeedGroup{DisplayName: "Project X", MailNickname: "projectx", MailEnabled: true, SecurityEnabled: &no, GroupTypes: []string{"Unified"},
			Members: []string{"bert@contoso.example.test"}},
		SeedGroup{DisplayName: "Empty Team", MailNickname: "empty", MailEnabled: true, SecurityEnabled: &no, GroupTypes: []string{"Unified"}},
	)
	v := 2
	s.Devices = append(s.Devices,
		SeedDevice{DisplayName: "ADELE-PHONE", DeviceID: "0b7e6c1a-1d2e-4f30-8a4b-5c6d7e8f9a01", OperatingSystem: "iOS", OperatingSystemVersion: "17.4",
			TrustType: "Workplace", RegisteredOwner: "adele@contoso.example.test", IsManaged: &no, IsCompliant: &no, DeviceVersion: &v},
		SeedDevice{DisplayName: "BERT-LAPTOP", DeviceID: "0b7e6c1a-1d2e-4f30-8a4b-5c6d7e8f9a02", OperatingSystem: "Windows", OperatingSystemVersion: "10.0.22631.3447",
			TrustType: "AzureAd", RegisteredOwner: "bert@contoso.example.test", IsManaged: &yes, IsCompliant: &yes,
			PhysicalIDs: []string{"[USER-GID]:0b7e6c1a-1d2e-4f30-8a4b-5c6d7e8f9a02:6825786449406074", "[GID]:g:6966518641169130"}},
	)
	return s
}

// deltaRound follows a delta link (or starts from path) to the end of the
// round: the objects of every page, the pages, and the deltaLink as a path
// under /v1.0/.
func (g *graphEnv) deltaRound(t *testing.T, tok, path string, hdr ...string) ([]map[string]any, int, string) {
	t.Helper()
	var all []map[string]any
	pages := 0
	for {
		st, _, b := g.callWith(t, tok, "GET", path, hdr...)
		if st != 200 {
			t.Fatalf("GET %s = %d %v", path, st, b)
		}
		pages++
		for _, v := range b["value"].([]any) {
			all = append(all, v.(map[string]any))
		}
		next, _ := b["@odata.nextLink"].(string)
		delta, _ := b["@odata.deltaLink"].(string)
		switch {
		case next != "" && delta == "":
			path = g.rel(t, next)
		case delta != "" && next == "":
			return all, pages, g.rel(t, delta)
		default:
			t.Fatalf("page %d has nextLink %q and deltaLink %q", pages, next, delta)
		}
	}
}

// rel makes a link handed out by the emulator a path under /v1.0/, and
// checks that it carries nothing but its token.
func (g *graphEnv) rel(t *testing.T, link string) string {
	t.Helper()
	p, ok := strings.CutPrefix(link, g.srv.URL+"/v1.0/")
	if !ok {
		t.Fatalf("link %q is not on the emulator", link)
	}
	_, q, _ := strings.Cut(p, "?")
	if !strings.HasPrefix(q, "$skiptoken=") && !strings.HasPrefix(q, "$deltatoken=") || strings.Contains(q, "&") {
		t.Fatalf("link %q carries more than its token", link)
	}
	return p
}

// callWith is a GET with request headers (name, value pairs).
func (g *graphEnv) callWith(t *testing.T, tok, method, path string, hdr ...string) (int, http.Header, map[string]any) {
	t.Helper()
	if len(hdr) == 0 {
		return g.call(t, tok, method, path, nil)
	}
	req, _ := http.NewRequest(method, g.srv.URL+"/v1.0/"+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := g.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, resp.Header, out
}

func byID(items []map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, it := range items {
		out[it["id"].(string)] = it
	}
	return out
}

// membersDelta reads members@delta as "id" for an added member and "-id"
// for a removed one, sorted.
func membersDelta(t *testing.T, obj map[string]any) []string {
	t.Helper()
	raw, ok := obj["members@delta"]
	if !ok {
		return nil
	}
	var out []string
	for _, m := range raw.([]any) {
		mm := m.(map[string]any)
		if mm["@odata.type"] == "" || mm["@odata.type"] == nil {
			t.Errorf("member %v has no @odata.type", mm)
		}
		id := mm["id"].(string)
		if rm, ok := mm["@removed"].(map[string]any); ok {
			if rm["reason"] != "deleted" {
				t.Errorf("removed member %s: reason %v, want deleted", id, rm["reason"])
			}
			id = "-" + id
		}
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func sorted(s ...string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}

func (g *graphEnv) userID(t *testing.T, upn string) string {
	t.Helper()
	g.t.mu.Lock()
	defer g.t.mu.Unlock()
	id, ok := g.t.byUPN[strings.ToLower(upn)]
	if !ok {
		t.Fatalf("no user %s", upn)
	}
	return id
}

func (g *graphEnv) groupID(t *testing.T, name string) string {
	t.Helper()
	g.t.mu.Lock()
	defer g.t.mu.Unlock()
	for _, gr := range g.t.groups {
		if gr.DisplayName == name {
			return gr.ID
		}
	}
	t.Fatalf("no group %s", name)
	return ""
}

func TestGroupsDeltaRounds(t *testing.T) {
	g := newGraphEnv(t, deltaSeed(), Options{DeltaPageSize: 2})
	app := g.appToken(t, "test-app", "Directory.ReadWrite.All")
	adele, bert, cloud := g.userID(t, "adele@contoso.example.test"), g.userID(t, "bert@contoso.example.test"), g.userID(t, "cloud.only@contoso.onmicrosoft.com")
	sales, projectX, empty := g.groupID(t, "Sales Team"), g.groupID(t, "Project X"), g.groupID(t, "Empty Team")
	browse := g.groupID(t, "HybridSync Browse")

	// The first round: every group, a page at a time, with its members.
	items, pages, link := g.deltaRound(t, app, "groups/delta")
	if pages != 3 {
		t.Errorf("first round took %d pages of 2 for 5 groups, want 3", pages)
	}
	got := byID(items)
	if len(items) != 5 || len(got) != 5 {
		t.Fatalf("first round = %d objects (%d distinct), want the 5 groups", len(items), len(got))
	}
	s := got[sales]
	for k, want := range map[string]any{"displayName": "Sales Team", "mailNickname": "sales", "mail": "sales@contoso.onmicrosoft.com", "mailEnabled": true, "securityEnabled": false, "visibility": "Public"} {
		if s[k] != want {
			t.Errorf("Sales Team %s = %v, want %v", k, s[k], want)
		}
	}
	if gt, _ := s["groupTypes"].([]any); len(gt) != 1 || gt[0] != "Unified" {
		t.Errorf("Sales Team groupTypes = %v", s["groupTypes"])
	}
	for _, tt := range []struct {
		id   string
		want []string
	}{
		{sales, sorted(adele, cloud)},
		{projectX, []string{bert}},
		{empty, nil}, // no members: members@delta left out (delta-query-groups)
	} {
		if m := membersDelta(t, got[tt.id]); !slices.Equal(m, tt.want) {
			t.Errorf("first round members@delta of %s = %v, want %v", got[tt.id]["displayName"], m, tt.want)
		}
	}

	// Nothing changed: an empty round and a new deltaLink.
	items, _, link = g.deltaRound(t, app, link)
	if len(items) != 0 {
		t.Fatalf("round without changes = %v", items)
	}

	// Changes of every kind.
	ref := func(id string) map[string]any {
		return map[string]any{"@odata.id": g.srv.URL + "/v1.0/directoryObjects/" + id}
	}
	st, _, created := g.call(t, app, "POST", "groups", map[string]any{"displayName": "New Team", "mailNickname": "newteam", "mailEnabled": true, "securityEnabled": false,
		"groupTypes": []string{"Unified"}, "description": "made after the first round",
		"members@odata.bind": []string{g.srv.URL + "/v1.0/directoryObjects/" + adele}, "owners@odata.bind": []string{g.srv.URL + "/v1.0/users/" + bert}})
	if st != 201 || created["mail"] != "newteam@contoso.onmicrosoft.com" {
		t.Fatalf("create Unified group = %d %v", st, created)
	}
	newTeam := created["id"].(string)
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"POST", "groups/" + projectX + "/members/$ref", ref(adele)},
		{"DELETE", "groups/" + sales + "/members/" + cloud + "/$ref", nil},
		{"PATCH", "groups/" + empty, map[string]any{"description": "still empty"}},
		{"DELETE", "groups/" + browse, nil},
		{"DELETE", "users/" + bert, nil}, // leaves Project X and New Team's owners
	} {
		if st, _, b := g.call(t, app, c.method, c.path, c.body); st != 204 {
			t.Fatalf("%s %s = %d %v", c.method, c.path, st, b)
		}
	}
	items, _, link = g.deltaRound(t, app, link)
	got = byID(items)
	if len(got) != 5 {
		t.Errorf("round of changes = %d objects, want New Team, Project X, Sales Team, Empty Team and the deleted group: %v", len(got), items)
	}
	for _, tt := range []struct {
		name    string
		id      string
		members []string
		check   func(map[string]any) bool
	}{
		{"created", newTeam, []string{adele}, func(o map[string]any) bool {
			return o["displayName"] == "New Team" && o["description"] == "made after the first round"
		}},
		{"member added, member deleted", projectX, sorted(adele, "-"+bert), func(o map[string]any) bool { return o["displayName"] == "Project X" }},
		{"member removed", sales, []string{"-" + cloud}, func(o map[string]any) bool { return o["mail"] == "sales@contoso.onmicrosoft.com" }},
		{"property changed", empty, nil, func(o map[string]any) bool {
			return o["description"] == "still empty" && o["displayName"] == "Empty Team"
		}},
		{"deleted", browse, nil, func(o map[string]any) bool {
			rm, _ := o["@removed"].(map[string]any)
			return len(o) == 2 && rm["reason"] == "changed"
		}},
	} {
		o := got[tt.id]
		if o == nil {
			t.Errorf("%s: group not in the round", tt.name)
			continue
		}
		if !tt.check(o) {
			t.Errorf("%s: %v", tt.name, o)
		}
		if m := membersDelta(t, o); !slices.Equal(m, tt.members) {
			t.Errorf("%s: members@delta = %v, want %v", tt.name, m, tt.members)
		}
	}
	if st, _, b := g.call(t, app, "GET", "groups/"+newTeam+"/owners", nil); st != 200 || len(b["value"].([]any)) != 0 {
		t.Errorf("owners after the owner was deleted = %d %v", st, b)
	}

	// The old deltaLink still reads from where it was handed out.
	items, _, _ = g.deltaRound(t, app, link)
	if len(items) != 0 {
		t.Errorf("round after the changes were read = %v", items)
	}
}

func TestGroupsDeltaSelect(t *testing.T) {
	g := newGraphEnv(t, deltaSeed(), Options{})
	app := g.appToken(t, "test-app", "Directory.ReadWrite.All")
	sales, projectX := g.groupID(t, "Sales Team"), g.groupID(t, "Project X")
	adele := g.userID(t, "adele@contoso.example.test")
	_, _, names := g.deltaRound(t, app, "groups/delta?$select=displayName")
	first, _, withMembers := g.deltaRound(t, app, "groups/delta?$select=displayName,members")
	if o := byID(first)[sales]; len(o) != 3 || o["displayName"] != "Sales Team" || o["members@delta"] == nil {
		t.Errorf("$select=displayName,members: %v", o)
	}
	_, _, minimal := g.deltaRound(t, app, "groups/delta?$select=displayName,description")

	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"PATCH", "groups/" + sales, map[string]any{"description": "only the description"}},
		{"PATCH", "groups/" + projectX, map[string]any{"displayName": "Project Y"}},
		{"POST", "groups/" + projectX + "/members/$ref", map[string]any{"@odata.id": g.srv.URL + "/v1.0/directoryObjects/" + adele}},
	} {
		if st, _, b := g.call(t, app, c.method, c.path, c.body); st != 204 {
			t.Fatalf("%s %s = %d %v", c.method, c.path, st, b)
		}
	}
	tests := []struct {
		name   string
		link   string
		prefer string
		want   map[string][]string // id → the properties returned
	}{
		// A change to a property not selected does not bring the group
		// back (delta-query-overview).
		{"displayName", names, "", map[string][]string{projectX: {"displayName", "id"}}},
		{"displayName and members", withMembers, "", map[string][]string{projectX: {"displayName", "id", "members@delta"}}},
		{"all selected returned", minimal, "", map[string][]string{sales: {"description", "displayName", "id"}, projectX: {"description", "displayName", "id"}}},
		{"Prefer: return=minimal", minimal, "return=minimal", map[string][]string{sales: {"description", "id"}, projectX: {"displayName", "id"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hdr []string
			if tt.prefer != "" {
				hdr = []string{"Prefer", tt.prefer}
			}
			items, _, _ := g.deltaRound(t, app, tt.link, hdr...)
			got := map[string][]string{}
			for _, it := range items {
				var keys []string
				for k := range it {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				got[it["id"].(string)] = keys
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("round = %v\nwant %v", got, tt.want)
			}
		})
	}
}

func TestGroupsDeltaFilter(t *testing.T) {
	g := newGraphEnv(t, deltaSeed(), Options{})
	app := g.appToken(t, "test-app", "Directory.ReadWrite.All")
	sales, projectX := g.groupID(t, "Sales Team"), g.groupID(t, "Project X")
	items, _, link := g.deltaRound(t, app, "groups/delta?$filter="+strings.ReplaceAll("id eq '"+sales+"' or id eq '"+strings.ToUpper(projectX)+"'", " ", "%20"))
	if got := byID(items); len(items) != 2 || got[sales] == nil || got[projectX] == nil {
		t.Fatalf("filtered first round = %v", items)
	}
	for _, id := range []string{sales, g.groupID(t, "Empty Team")} {
		if st, _, b := g.call(t, app, "PATCH", "groups/"+id, map[string]any{"description": "changed"}); st != 204 {
			t.Fatalf("PATCH = %d %v", st, b)
		}
	}
	if items, _, _ := g.deltaRound(t, app, link); len(items) != 1 || items[0]["id"] != sales {
		t.Errorf("filtered round of changes = %v, want only Sales Team", items)
	}

	var many []string
	for i := range 51 {
		many = append(many, fmt.Sprintf("id eq '00000000-0000-4000-8000-%012d'", i))
	}
	for _, tt := range []struct {
		name, query string
		status      int
		code        string
	}{
		{"not by id", "$filter=displayName%20eq%20'Sales%20Team'", 400, "Request_UnsupportedQuery"},
		{"startswith", "$filter=startswith(id,'a')", 400, "Request_UnsupportedQuery"},
		{"id and another", "$filter=id%20eq%20'" + sales + "'%20and%20displayName%20eq%20'x'", 400, "Request_UnsupportedQuery"},
		{"51 ids", "$filter=" + strings.ReplaceAll(strings.Join(many, " or "), " ", "%20"), 400, "Request_UnsupportedQuery"},
		{"$top", "$top=5", 501, "NotImplemented"},
		{"$expand", "$expand=members", 501, "NotImplemented"},
		{"owners", "$select=owners", 501, "NotImplemented"},
		{"unknown property", "$select=nonesuch", 400, "Request_UnsupportedQuery"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, _, b := g.call(t, app, "GET", "groups/delta?"+tt.query, nil)
			if code, _, _ := errorOf(b); st != tt.status || code != tt.code {
				t.Errorf("= %d %v, want %d %s", st, b, tt.status, tt.code)
			}
		})
	}
}

func TestDeltaTokenRefused(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	g := newGraphEnv(t, deltaSeed(), Options{Now: clock, DeltaPageSize: 2})
	app := g.appToken(t, "test-app", "Directory.ReadWrite.All")
	_, _, groups := g.deltaRound(t, app, "groups/delta?$select=displayName")
	_, _, devices := g.deltaRound(t, app, "devices/delta")
	_, _, old := g.deltaRound(t, app, "groups/delta")
	st, _, page := g.call(t, app, "GET", "groups/delta", nil)
	if st != 200 || page["@odata.nextLink"] == nil {
		t.Fatalf("first page = %d %v", st, page)
	}
	skip := g.rel(t, page["@odata.nextLink"].(string))
	_, tok, _ := strings.Cut(groups, "$deltatoken=")

	tests := []struct {
		name     string
		path     string
		before   func()
		status   int
		code     string
		location string // the Location's query, when refused
	}{
		{"garbage token", "groups/delta?$deltatoken=nonsense", nil, 410, "syncStateNotFound", "$deltatoken="},
		{"a groups token on devices", "devices/delta?$deltatoken=" + tok, nil, 410, "syncStateNotFound", "$select=displayName&$deltatoken="},
		{"a deltatoken as a skiptoken", "groups/delta?$skiptoken=" + tok, nil, 410, "syncStateNotFound", "$select=displayName&$deltatoken="},
		{"$select beside a token", groups + "&$select=description", nil, 501, "NotImplemented", ""},
		{"six days old", groups, func() { mu.Lock(); now = now.Add(6 * 24 * time.Hour); mu.Unlock() }, 200, "", ""},
		{"eight days old", old, func() { mu.Lock(); now = now.Add(2 * 24 * time.Hour); mu.Unlock() }, 410, "syncStateNotFound", "$deltatoken="},
		{"tokens expired by the tenant", devices, func() { g.t.ExpireDeltaTokens() }, 410, "syncStateNotFound", "$deltatoken="},
		{"a skiptoken after the reset", skip, nil, 410, "syncStateNotFound", "$deltatoken="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.before != nil {
				tt.before()
			}
			app := g.appToken(t, "test-app", "Directory.ReadWrite.All") // the clock moves
			st, h, b := g.call(t, app, "GET", tt.path, nil)
			code, _, _ := errorOf(b)
			if st != tt.status || code != tt.code {
				t.Fatalf("= %d %v, want %d %s", st, b, tt.status, tt.code)
			}
			if tt.location != "" {
				path, _, _ := strings.Cut(tt.path, "?")
				if want := g.srv.URL + "/v1.0/" + path + "?" + tt.location; h.Get("Location") != want {
					t.Errorf("Location = %q, want %q", h.Get("Location"), want)
				}
				// The Location starts a full read.
				items, _, _ := g.deltaRound(t, app, strings.TrimPrefix(h.Get("Location"), g.srv.URL+"/v1.0/"))
				if len(items) == 0 {
					t.Error("the Location's round is empty")
				}
			}
		})
	}
}

func TestDeltaLatest(t *testing.T) {
	g := newGraphEnv(t, deltaSeed(), Options{})
	app := g.appToken(t, "test-app", "Directory.ReadWrite.All")
	items, pages, link := g.deltaRound(t, app, "groups/delta?$deltatoken=latest")
	if len(items) != 0 || pages != 1 {
		t.Fatalf("$deltatoken=latest = %d objects in %d pages", len(items), pages)
	}
	sales := g.groupID(t, "Sales Team")
	if st, _, b := g.call(t, app, "PATCH", "groups/"+sales, map[string]any{"displayName": "Sales"}); st != 204 {
		t.Fatalf("PATCH = %d %v", st, b)
	}
	if items, _, _ := g.deltaRound(t, app, link); len(items) != 1 || items[0]["displayName"] != "Sales" {
		t.Errorf("round after latest = %v", items)
	}
	// The function's other spellings (delta-query-overview).
	for _, path := range []string{"groups/delta()", "groups/microsoft.graph.delta", "devices/delta()", "devices/microsoft.graph.delta()"} {
		if items, _, _ := g.deltaRound(t, app, path); len(items) == 0 {
			t.Errorf("%s: no objects", path)
		}
	}
}

func TestDevicesDeltaAndOwners(t *testing.T) {
	g := newGraphEnv(t, deltaSeed(), Options{})
	app := g.appToken(t, "test-app", "Directory.ReadWrite.All")
	admin := g.userToken(t, "global.admin@contoso.onmicrosoft.com")
	adele, bert := g.userID(t, "adele@contoso.example.test"), g.userID(t, "bert@contoso.example.test")

	items, _, link := g.deltaRound(t, app, "devices/delta")
	if len(items) != 2 {
		t.Fatalf("first round = %v", items)
	}
	var phone, laptop map[string]any
	for _, it := range items {
		switch it["displayName"] {
		case "ADELE-PHONE":
			phone = it
		case "BERT-LAPTOP":
			laptop = it
		}
	}
	if phone == nil || laptop == nil {
		t.Fatalf("first round = %v", items)
	}
	for _, c := range []struct {
		dev  map[string]any
		prop string
		want any
	}{
		{phone, "trustType", "Workplace"},
		{phone, "deviceId", "0b7e6c1a-1d2e-4f30-8a4b-5c6d7e8f9a01"},
		{phone, "operatingSystem", "iOS"},
		{phone, "operatingSystemVersion", "17.4"},
		{phone, "accountEnabled", true},
		{phone, "isManaged", false},
		{phone, "isCompliant", false},
		{phone, "deviceVersion", float64(2)},
		{laptop, "trustType", "AzureAd"},
		{laptop, "isManaged", true},
		{laptop, "isCompliant", true},
	} {
		if c.dev[c.prop] != c.want {
			t.Errorf("%s %s = %v, want %v", c.dev["displayName"], c.prop, c.dev[c.prop], c.want)
		}
	}
	if ids, _ := laptop["physicalIds"].([]any); len(ids) != 2 {
		t.Errorf("physicalIds = %v", laptop["physicalIds"])
	}
	if alt, _ := phone["alternativeSecurityIds"].([]any); len(alt) != 1 {
		t.Errorf("alternativeSecurityIds = %v", phone["alternativeSecurityIds"])
	}
	if _, ok := phone["registeredOwners"]; ok {
		t.Error("devices/delta returned registeredOwners; Graph does not")
	}
	owners := func(dev string) []string {
		t.Helper()
		st, _, b := g.call(t, app, "GET", "devices/"+dev+"/registeredOwners?$select=id,userPrincipalName", nil)
		if st != 200 {
			t.Fatalf("registeredOwners = %d %v", st, b)
		}
		var out []string
		for _, v := range b["value"].([]any) {
			m := v.(map[string]any)
			if m["@odata.type"] != "#microsoft.graph.user" {
				t.Errorf("owner %v", m)
			}
			out = append(out, m["id"].(string))
		}
		return out
	}
	phoneID, laptopID := phone["id"].(string), laptop["id"].(string)
	if o := owners(phoneID); !slices.Equal(o, []string{adele}) {
		t.Errorf("ADELE-PHONE owners = %v", o)
	}

	// Owners: delegated only (device-post-registeredowners); not tracked by delta.
	ownerRef := map[string]any{"@odata.id": g.srv.URL + "/v1.0/directoryObjects/" + bert}
	for _, tt := range []struct {
		name, tok, method, path string
		body                    any
		status                  int
	}{
		{"app-only add", app, "POST", "devices/" + phoneID + "/registeredOwners/$ref", ownerRef, 403},
		{"add", admin, "POST", "devices/" + phoneID + "/registeredOwners/$ref", ownerRef, 204},
		{"add twice", admin, "POST", "devices/" + phoneID + "/registeredOwners/$ref", ownerRef, 400},
		{"a group as owner", admin, "POST", "devices/" + phoneID + "/registeredOwners/$ref", map[string]any{"@odata.id": g.srv.URL + "/v1.0/directoryObjects/" + g.groupID(t, "Sales Team")}, 501},
		{"no such device", admin, "POST", "devices/00000000-0000-4000-8000-000000000000/registeredOwners/$ref", ownerRef, 404},
		{"remove", admin, "DELETE", "devices/" + phoneID + "/registeredOwners/" + bert + "/$ref", nil, 204},
		{"remove again", admin, "DELETE", "devices/" + phoneID + "/registeredOwners/" + bert + "/$ref", nil, 400},
	} {
		if st, _, b := g.call(t, tt.tok, tt.method, tt.path, tt.body); st != tt.status {
			t.Errorf("%s = %d %v, want %d", tt.name, st, b, tt.status)
		}
	}

	// A new device, one changed, one deleted.
	st, _, created := g.call(t, admin, "POST", "devices", map[string]any{"accountEnabled": true, "displayName": "NEW-PC", "deviceId": "0b7e6c1a-1d2e-4f30-8a4b-5c6d7e8f9a03",
		"operatingSystem": "Windows", "operatingSystemVersion": "10.0.26100", "trustType": "AzureAd", "isManaged": true,
		"alternativeSecurityIds": []map[string]any{{"type": 2, "key": "WDUwOTpzaGExdGh1bWJwcmludA=="}}})
	if st != 201 {
		t.Fatalf("create device = %d %v", st, created)
	}
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"PATCH", "devices/" + phoneID, map[string]any{"accountEnabled": false}},
		{"DELETE", "devices/" + laptopID, nil},
	} {
		if st, _, b := g.call(t, admin, c.method, c.path, c.body); st != 204 {
			t.Fatalf("%s %s = %d %v", c.method, c.path, st, b)
		}
	}
	items, _, _ = g.deltaRound(t, app, link)
	got := byID(items)
	if len(items) != 3 {
		t.Errorf("round of changes = %v", items)
	}
	if o := got[created["id"].(string)]; o == nil || o["displayName"] != "NEW-PC" || o["isManaged"] != true {
		t.Errorf("created device = %v", o)
	}
	if o := got[phoneID]; o == nil || o["accountEnabled"] != false {
		t.Errorf("changed device = %v", o)
	}
	// A device is not restorable (deletedItems holds applications, groups
	// and users): "deleted".
	if o := got[laptopID]; o == nil || len(o) != 2 || o["@removed"].(map[string]any)["reason"] != "deleted" {
		t.Errorf("deleted device = %v", o)
	}
}

func TestDeltaTokensSurviveTheStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tenant.json")
	g := newGraphEnv(t, deltaSeed(), Options{StatePath: path})
	app := g.appToken(t, "test-app", "Directory.ReadWrite.All")
	_, _, link := g.deltaRound(t, app, "groups/delta")
	sales, cloud := g.groupID(t, "Sales Team"), g.userID(t, "cloud.only@contoso.onmicrosoft.com")
	if st, _, b := g.call(t, app, "DELETE", "users/"+cloud, nil); st != 204 {
		t.Fatalf("delete user = %d %v", st, b)
	}
	if err := g.t.Close(); err != nil {
		t.Fatal(err)
	}
	g2 := newGraphEnv(t, deltaSeed(), Options{StatePath: path})
	defer g2.t.Close()
	app2 := g2.appToken(t, "test-app", "Directory.ReadWrite.All")
	items, _, _ := g2.deltaRound(t, app2, link)
	if len(items) != 1 || items[0]["id"] != sales || !slices.Equal(membersDelta(t, items[0]), []string{"-" + cloud}) {
		t.Fatalf("round after a restart = %v", items)
	}
	// The member that is gone keeps its type.
	if m := items[0]["members@delta"].([]any)[0].(map[string]any); m["@odata.type"] != "#microsoft.graph.user" {
		t.Errorf("removed member = %v", m)
	}
}
