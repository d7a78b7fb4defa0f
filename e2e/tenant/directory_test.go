package tenant

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// graphEnv serves a tenant and calls Graph with tokens signed directly.
type graphEnv struct {
	t   *Tenant
	srv *httptest.Server
}

func newGraphEnv(t *testing.T, seed Seed, opts Options) *graphEnv {
	t.Helper()
	tn, err := New(seed, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tn)
	t.Cleanup(srv.Close)
	return &graphEnv{t: tn, srv: srv}
}

// appToken is an app-only token with application permissions.
func (g *graphEnv) appToken(t *testing.T, appID string, roles ...string) string {
	t.Helper()
	tok, err := g.t.MintToken(TokenSpec{BaseURL: g.srv.URL, AppID: appID, Roles: roles})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// userToken is a delegated token for a seeded account (by UPN), without
// wids: the emulator reads roles from the directory.
func (g *graphEnv) userToken(t *testing.T, upn string) string {
	t.Helper()
	tok, err := g.t.MintToken(TokenSpec{BaseURL: g.srv.URL, User: upn})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (g *graphEnv) call(t *testing.T, tok, method, path string, body any) (int, http.Header, map[string]any) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, g.srv.URL+"/v1.0/"+path, rd)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := g.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, resp.Header, out
}

func errorOf(body map[string]any) (code, msg, target string) {
	e, _ := body["error"].(map[string]any)
	code, _ = e["code"].(string)
	msg, _ = e["message"].(string)
	if ds, ok := e["details"].([]any); ok && len(ds) > 0 {
		d, _ := ds[0].(map[string]any)
		target, _ = d["target"].(string)
	}
	return
}

func newUserBody(upn string, extra map[string]any) map[string]any {
	m := map[string]any{"accountEnabled": true, "displayName": upn, "mailNickname": "u", "userPrincipalName": upn,
		"passwordProfile": map[string]any{"password": "Xy!long-enough-1"}}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func TestStateFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tenant.json")
	seed := DefaultSeed()
	g := newGraphEnv(t, seed, Options{StatePath: path})
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("state not written at start: %v", err)
	}
	app := g.appToken(t, "test-app", "Directory.ReadWrite.All", "RoleManagement.ReadWrite.Directory")
	st, _, u := g.call(t, app, "POST", "users", newUserBody("kept@contoso.example.test", map[string]any{"mail": "kept@contoso.example.test", "onPremisesImmutableId": "aW1t"}))
	if st != 201 {
		t.Fatalf("create user = %d %v", st, u)
	}
	uid := u["id"].(string)
	st, _, grp := g.call(t, app, "POST", "groups", map[string]any{"displayName": "Kept", "mailNickname": "kept", "mailEnabled": false, "securityEnabled": true})
	if st != 201 {
		t.Fatalf("create group = %d %v", st, grp)
	}
	gid := grp["id"].(string)
	if st, _, b := g.call(t, app, "POST", "groups/"+gid+"/members/$ref", map[string]any{"@odata.id": g.srv.URL + "/v1.0/directoryObjects/" + uid}); st != 204 {
		t.Fatalf("add member = %d %v", st, b)
	}
	if st, _, b := g.call(t, app, "POST", "roleManagement/directory/roleAssignments", map[string]any{"principalId": uid, "roleDefinitionId": RoleDirectorySynchronizationAcct, "directoryScopeId": "/"}); st != 201 {
		t.Fatalf("assign = %d %v", st, b)
	}
	if st, _, b := g.call(t, app, "POST", "domains", map[string]any{"id": "tailspin.example.test"}); st != 201 {
		t.Fatalf("add domain = %d %v", st, b)
	}
	if err := g.t.Close(); err != nil {
		t.Fatal(err)
	}
	if err := g.t.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*.tmp")); len(m) != 0 {
		t.Fatalf("temporary files left: %v", m)
	}

	// A new emulator on the same file: the state wins over the seed.
	other := DefaultSeed()
	other.TenantID = "00000000-1111-2222-3333-444444444444"
	g2 := newGraphEnv(t, other, Options{StatePath: path})
	defer g2.t.Close()
	if g2.t.TenantID() != seed.TenantID {
		t.Fatalf("tenant id = %s, want the saved %s", g2.t.TenantID(), seed.TenantID)
	}
	f := g2.t.signInFacts("kept@contoso.example.test", "Xy!long-enough-1")
	if !f.Exists || !f.PasswordOK || len(f.Groups) != 1 || f.Groups[0] != gid || len(f.Roles) != 1 || f.Roles[0] != RoleDirectorySynchronizationAcct {
		t.Fatalf("facts after reload = %+v", f)
	}
	if f := g2.t.signInFacts("mfa.admin@contoso.onmicrosoft.com", "Passw0rd!mfa"); !f.PasswordOK || !f.MFA || f.MFACode != DefaultMFACode {
		t.Fatalf("seeded admin after reload = %+v", f)
	}
	app2 := g2.appToken(t, "test-app", "Directory.ReadWrite.All")
	// Indexes are rebuilt: the saved UPN, address and immutable id are still taken.
	for _, body := range []map[string]any{
		newUserBody("KEPT@contoso.example.test", nil),
		newUserBody("other1@contoso.example.test", map[string]any{"mail": "KEPT@contoso.example.test"}),
		newUserBody("other2@contoso.example.test", map[string]any{"onPremisesImmutableId": "aW1t"}),
	} {
		if st, _, b := g2.call(t, app2, "POST", "users", body); st != 400 {
			t.Fatalf("conflict after reload = %d %v", st, b)
		}
	}
	if st, _, b := g2.call(t, app2, "GET", "domains/tailspin.example.test", nil); st != 200 || b["isVerified"] != false {
		t.Fatalf("domain after reload = %d %v", st, b)
	}
}

func TestUniquenessAcrossObjectTypes(t *testing.T) {
	seed := DefaultSeed()
	seed.Groups = append(seed.Groups, SeedGroup{DisplayName: "Sales DL", MailEnabled: true, Mail: "sales@contoso.example.test",
		ProxyAddresses: []string{"SMTP:sales@contoso.example.test", "smtp:vente@contoso.example.test"}})
	g := newGraphEnv(t, seed, Options{})
	app := g.appToken(t, "test-app", "Directory.ReadWrite.All")
	if st, _, b := g.call(t, app, "POST", "users", newUserBody("taken@contoso.example.test", map[string]any{"mail": "team@contoso.onmicrosoft.com"})); st != 201 {
		t.Fatalf("create = %d %v", st, b)
	}
	tests := []struct {
		name, path string
		body       map[string]any
		target     string
	}{
		{"user mail = contact mail", "users", newUserBody("a@contoso.example.test", map[string]any{"mail": "adele@partner.example.test"}), "proxyAddresses"},
		{"user mail = group alias", "users", newUserBody("b@contoso.example.test", map[string]any{"mail": "VENTE@contoso.example.test"}), "proxyAddresses"},
		{"user mail = group mail", "users", newUserBody("c@contoso.example.test", map[string]any{"mail": "sales@contoso.example.test"}), "proxyAddresses"},
		{"unified group = user mail", "groups", map[string]any{"displayName": "Team", "mailNickname": "team", "mailEnabled": true, "securityEnabled": false, "groupTypes": []string{"Unified"}}, "proxyAddresses"},
		{"user UPN", "users", newUserBody("Helpdesk.User@contoso.onmicrosoft.com", nil), "userPrincipalName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, _, b := g.call(t, app, "POST", tt.path, tt.body)
			code, _, target := errorOf(b)
			if st != 400 || code != "Request_BadRequest" || target != tt.target {
				t.Fatalf("= %d %s %s (%v), want 400 ObjectConflict on %s", st, code, target, b, tt.target)
			}
		})
	}
	// Deleting the group frees its addresses.
	st, _, list := g.call(t, app, "GET", "groups?$filter=displayName%20eq%20'Sales%20DL'", nil)
	vals, _ := list["value"].([]any)
	if st != 200 || len(vals) != 1 {
		t.Fatalf("find group = %d %v", st, list)
	}
	gid := vals[0].(map[string]any)["id"].(string)
	if st, _, b := g.call(t, app, "DELETE", "groups/"+gid, nil); st != 204 {
		t.Fatalf("delete = %d %v", st, b)
	}
	if st, _, b := g.call(t, app, "POST", "users", newUserBody("c@contoso.example.test", map[string]any{"mail": "sales@contoso.example.test"})); st != 201 {
		t.Fatalf("after delete = %d %v", st, b)
	}
}

func TestRoleAssignmentAuthorization(t *testing.T) {
	g := newGraphEnv(t, DefaultSeed(), Options{})
	app := g.appToken(t, "test-app", "Directory.ReadWrite.All")
	st, _, u := g.call(t, app, "POST", "users", newUserBody("connector@contoso.onmicrosoft.com", nil))
	if st != 201 {
		t.Fatalf("create = %d %v", st, u)
	}
	uid := u["id"].(string)
	// The connector account becomes a Directory Synchronization Account.
	st, _, _ = g.call(t, g.userToken(t, "hybrid.admin@contoso.onmicrosoft.com"), "POST", "roleManagement/directory/roleAssignments",
		map[string]any{"principalId": uid, "roleDefinitionId": RoleDirectorySynchronizationAcct, "directoryScopeId": "/"})
	if st != 201 {
		t.Fatalf("hybrid admin assigns = %d", st)
	}
	tests := []struct {
		name, token string
		want        int
	}{
		{"global administrator", g.userToken(t, "global.admin@contoso.onmicrosoft.com"), 201},
		{"app with RoleManagement.ReadWrite.Directory", g.appToken(t, "roles-app", "RoleManagement.ReadWrite.Directory"), 201},
		{"app with Directory.ReadWrite.All", app, 403},
		{"no role", g.userToken(t, "helpdesk.user@contoso.onmicrosoft.com"), 403},
		{"directory synchronization account", g.userToken(t, "connector@contoso.onmicrosoft.com"), 403},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, target := g.call(t, app, "POST", "users", newUserBody("target"+string(rune('a'+i))+"@contoso.onmicrosoft.com", nil))
			st, _, b := g.call(t, tt.token, "POST", "roleManagement/directory/roleAssignments",
				map[string]any{"principalId": target["id"], "roleDefinitionId": RoleUserAdministrator, "directoryScopeId": "/"})
			if code, _, _ := errorOf(b); st != tt.want || (st == 403 && code != "Authorization_RequestDenied") {
				t.Fatalf("= %d %v, want %d", st, b, tt.want)
			}
		})
	}
	// The directory sync account writes users, and /me/memberOf shows its role.
	sync := g.userToken(t, "connector@contoso.onmicrosoft.com")
	if st, _, b := g.call(t, sync, "POST", "users", newUserBody("synced@contoso.onmicrosoft.com", nil)); st != 201 {
		t.Fatalf("sync account writes a user = %d %v", st, b)
	}
	st, _, roles := g.call(t, sync, "GET", "me/memberOf/microsoft.graph.directoryRole", nil)
	vals, _ := roles["value"].([]any)
	if st != 200 || len(vals) != 1 || vals[0].(map[string]any)["roleTemplateId"] != RoleDirectorySynchronizationAcct ||
		vals[0].(map[string]any)["@odata.type"] != "#microsoft.graph.directoryRole" {
		t.Fatalf("memberOf = %d %v", st, roles)
	}
}

func TestThrottlingOnNewWrites(t *testing.T) {
	g := newGraphEnv(t, DefaultSeed(), Options{WriteBudget: 3, WriteWindow: time.Hour})
	global := g.userToken(t, "global.admin@contoso.onmicrosoft.com")
	st, _, grp := g.call(t, global, "POST", "groups", map[string]any{"displayName": "G", "mailNickname": "g", "mailEnabled": false, "securityEnabled": true})
	if st != 201 {
		t.Fatalf("group = %d %v", st, grp)
	}
	gid := grp["id"].(string)
	helpdesk := g.t.signInFacts("helpdesk.user@contoso.onmicrosoft.com", "").UserID
	writes := []struct{ method, path string }{
		{"POST", "groups/" + gid + "/members/$ref"},
		{"PATCH", "directory/onPremisesSynchronization/" + g.t.TenantID()},
	}
	bodies := []any{map[string]any{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/" + helpdesk}, map[string]any{"features": map[string]any{"blockSoftMatchEnabled": true}}}
	for i, w := range writes {
		if st, _, b := g.call(t, global, w.method, w.path, bodies[i]); st/100 != 2 {
			t.Fatalf("%s %s = %d %v", w.method, w.path, st, b)
		}
	}
	for _, w := range []struct{ method, path string }{
		{"POST", "domains"}, {"POST", "roleManagement/directory/roleAssignments"}, {"DELETE", "groups/" + gid},
		{"PATCH", "organization/" + g.t.TenantID()}, {"POST", "devices"},
	} {
		st, h, b := g.call(t, global, w.method, w.path, map[string]any{})
		if code, _, _ := errorOf(b); st != 429 || code != "TooManyRequests" || h.Get("Retry-After") == "" {
			t.Fatalf("%s %s over budget = %d %v (Retry-After %q)", w.method, w.path, st, b, h.Get("Retry-After"))
		}
	}
}

func TestSeedGroupsAndFacts(t *testing.T) {
	tn, err := New(DefaultSeed(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		upn, pass     string
		ok, locked    bool
		roles, groups int
	}{
		{"hybrid.admin@contoso.onmicrosoft.com", "Passw0rd!hybrid", true, false, 1, 0},
		{"locked.admin@contoso.onmicrosoft.com", "Passw0rd!locked", true, true, 1, 0},
		{"helpdesk.user@contoso.onmicrosoft.com", "Passw0rd!helpdesk", true, false, 0, 1},
		{"ops.user@contoso.onmicrosoft.com", "Passw0rd!ops", true, false, 0, 1},
		{"ops.user@contoso.onmicrosoft.com", "wrong", false, false, 0, 1},
	}
	for _, tt := range tests {
		f := tn.signInFacts(tt.upn, tt.pass)
		if !f.Exists || f.PasswordOK != tt.ok || f.Locked != tt.locked || len(f.Roles) != tt.roles || len(f.Groups) != tt.groups || !f.Enabled {
			t.Errorf("%s: %+v", tt.upn, f)
		}
	}
	if f := tn.signInFacts("nobody@contoso.onmicrosoft.com", "x"); f.Exists || f.PasswordOK {
		t.Errorf("unknown account: %+v", f)
	}
	bad := DefaultSeed()
	bad.Groups = append(bad.Groups, SeedGroup{DisplayName: "X", Members: []string{"ghost@contoso.onmicrosoft.com"}})
	if _, err := New(bad, Options{}); err == nil {
		t.Error("seeded a group with an unknown member")
	}
}
