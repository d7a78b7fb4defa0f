package tenant

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hybridsync/hybridsync/e2e/tenant/graphmeta"
)

// TestRefusedAsGraphRefuses: query options and writes naming properties the
// v1.0 metadata doesn't have, or can't be written, are refused with
// Graph's status, code and message.
func TestRefusedAsGraphRefuses(t *testing.T) {
	g := newGraphEnv(t, DefaultSeed(), Options{})
	app := g.appToken(t, "test-app", "Directory.ReadWrite.All")
	st, _, u := g.call(t, app, "POST", "users", newUserBody("strict@contoso.onmicrosoft.com", nil))
	if st != 201 {
		t.Fatalf("create = %d %v", st, u)
	}
	uid := u["id"].(string)
	tests := []struct {
		name, method, path string
		body               map[string]any
		status             int
		code, msg          string
	}{
		// Directory objects are open types: the directory answers.
		{"$select of a property users lack", "GET", "users?$select=id,nonesuch", nil, 400, "Request_UnsupportedQuery",
			"Property 'nonesuch' does not exist as a declared property or extension property."},
		{"$select on one user", "GET", "users/" + uid + "?$select=displayName,shoeSize", nil, 400, "Request_UnsupportedQuery",
			"Property 'shoeSize' does not exist as a declared property or extension property."},
		{"$select of an unregistered extension", "GET", "users/" + uid + "?$select=extension_fe2174665583431c953114ff7268b7b3_Education_ObjectType", nil, 400, "Request_UnsupportedQuery",
			"Property 'extension_fe2174665583431c953114ff7268b7b3_Education_ObjectType' does not exist as a declared property or extension property."},
		{"$select of createdDateTime on a device", "GET", "devices?$select=createdDateTime", nil, 400, "Request_UnsupportedQuery",
			"Property 'createdDateTime' does not exist as a declared property or extension property."},
		{"$filter on a property users lack", "GET", "users?$filter=" + url.QueryEscape("nonesuch eq 'x'"), nil, 400, "Request_UnsupportedQuery",
			"Property 'nonesuch' does not exist as a declared property or extension property."},
		{"$orderby on a property groups lack", "GET", "groups?$orderby=nonesuch", nil, 400, "Request_UnsupportedQuery",
			"Property 'nonesuch' does not exist as a declared property or extension property."},
		{"create with an unknown property", "POST", "users", newUserBody("strict2@contoso.onmicrosoft.com", map[string]any{"shoeSize": 44}), 400, "Request_BadRequest",
			"Property 'shoeSize' does not exist as a declared property or extension property."},
		{"update with an unknown property", "PATCH", "users/" + uid, map[string]any{"jobTitle": "Clerk", "favouriteColour": "blue"}, 400, "Request_BadRequest",
			"Property 'favouriteColour' does not exist as a declared property or extension property."},
		{"group create with an unknown property", "POST", "groups", map[string]any{"displayName": "S", "mailNickname": "s", "mailEnabled": false, "securityEnabled": true, "colour": "red"}, 400, "Request_BadRequest",
			"Property 'colour' does not exist as a declared property or extension property."},
		{"organization update with an unknown property", "PATCH", "organization/" + g.t.tenantID, map[string]any{"onPremisesSyncEnabled": true, "nonesuch": 1}, 400, "Request_BadRequest",
			"Property 'nonesuch' does not exist as a declared property or extension property."},
		// Other types: Graph's OData parser and reader answer.
		{"$select of a property role assignments lack", "GET", "roleManagement/directory/roleAssignments?$select=id,nonesuch", nil, 400, "BadRequest",
			"Parsing OData Select and Expand failed: Could not find a property named 'nonesuch' on type 'microsoft.graph.unifiedRoleAssignment'."},
		{"$filter on a property domains lack", "GET", "domains?$filter=" + url.QueryEscape("nonesuch eq 'x'"), nil, 400, "BadRequest",
			"Could not find a property named 'nonesuch' on type 'microsoft.graph.domain'."},
		{"$expand of a property groups lack", "GET", "groups?$expand=nonesuch", nil, 400, "BadRequest",
			"Parsing OData Select and Expand failed: Could not find a property named 'nonesuch' on type 'microsoft.graph.group'."},
		{"$expand of a structural property", "GET", "groups?$expand=displayName", nil, 400, "BadRequest",
			"Parsing OData Select and Expand failed: Property 'displayName' on type 'microsoft.graph.group' is not a navigation property or complex property. Only navigation properties can be expanded."},
		// Read-only properties.
		{"update of a read-only property", "PATCH", "users/" + uid, map[string]any{"createdDateTime": "2020-01-01T00:00:00Z"}, 400, "Request_BadRequest",
			"Property 'createdDateTime' is read-only and cannot be set."},
		{"update of the key", "PATCH", "users/" + uid, map[string]any{"id": uid}, 400, "Request_BadRequest",
			"Property 'id' is read-only and cannot be set."},
		{"create with a read-only property", "POST", "groups", map[string]any{"displayName": "S", "mailNickname": "s", "mailEnabled": false, "securityEnabled": true, "securityIdentifier": "S-1-12-1-1-2-3-4"}, 400, "Request_BadRequest",
			"Property 'securityIdentifier' is read-only and cannot be set."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, _, b := g.call(t, app, tt.method, tt.path, tt.body)
			code, msg, _ := errorOf(b)
			if st != tt.status || code != tt.code || msg != tt.msg {
				t.Fatalf("= %d %s %q\nwant %d %s %q", st, code, msg, tt.status, tt.code, tt.msg)
			}
		})
	}
	// Nothing of a refused update was applied.
	if st, _, b := g.call(t, app, "GET", "users/"+uid+"?$select=jobTitle", nil); st != 200 || b["jobTitle"] != nil {
		t.Fatalf("after refused updates = %d %v", st, b)
	}
	// A nested property: the sync features are a complex type, not open.
	ga := g.userToken(t, "global.admin@contoso.onmicrosoft.com")
	st, _, b := g.call(t, ga, "PATCH", "directory/onPremisesSynchronization/"+g.t.tenantID, map[string]any{"features": map[string]any{"teleportEnabled": true}})
	want := "The property 'teleportEnabled' does not exist on type 'microsoft.graph.onPremisesDirectorySynchronizationFeature'. Make sure to only use property names that are defined by the type or mark the type as open type."
	if code, msg, _ := errorOf(b); st != 400 || code != "BadRequest" || msg != want {
		t.Errorf("unknown sync feature = %d %s %q", st, code, msg)
	}
}

// TestWhatTheEmulatorDoesNotModelIsRefused: what Graph would do but the
// emulator does not is refused as not implemented, not accepted and
// dropped.
func TestWhatTheEmulatorDoesNotModelIsRefused(t *testing.T) {
	g := newGraphEnv(t, DefaultSeed(), Options{})
	app := g.appToken(t, "test-app", "Directory.ReadWrite.All")
	for _, tt := range []struct {
		method, path string
		body         map[string]any
	}{
		{"GET", "users?$orderby=displayName", nil},
		{"GET", "users?$expand=manager", nil},
		{"POST", "groups", map[string]any{"displayName": "O", "mailNickname": "o", "mailEnabled": false, "securityEnabled": true,
			"acceptedSenders@odata.bind": []string{"https://graph.microsoft.com/v1.0/users/x"}}},
		{"GET", "devices?$expand=registeredOwners", nil},
		{"GET", "groups/delta?$top=5", nil},
		{"POST", "applications", map[string]any{"displayName": "A", "notes": "kept nowhere"}},
	} {
		st, _, b := g.call(t, app, tt.method, tt.path, tt.body)
		if code, _, _ := errorOf(b); st != 501 || code != "NotImplemented" {
			t.Errorf("%s %s = %d %v, want 501 NotImplemented", tt.method, tt.path, st, b)
		}
	}
}

// TestOtherPropertiesAreKept: a writable property the emulator has no field
// for is checked against its type, kept, and answered when selected.
func TestOtherPropertiesAreKept(t *testing.T) {
	g := newGraphEnv(t, DefaultSeed(), Options{})
	app := g.appToken(t, "test-app", "Directory.ReadWrite.All")
	ext := map[string]any{"extensionAttribute1": "one"}
	st, _, u := g.call(t, app, "POST", "users", newUserBody("kept@contoso.onmicrosoft.com", map[string]any{"city": "Oslo", "employeeId": "E1", "onPremisesExtensionAttributes": ext}))
	if st != 201 {
		t.Fatalf("create = %d %v", st, u)
	}
	id := u["id"].(string)
	if st, _, b := g.call(t, app, "PATCH", "users/"+id, map[string]any{"city": nil, "employeeId": "E2"}); st != 204 {
		t.Fatalf("update = %d %v", st, b)
	}
	st, _, b := g.call(t, app, "GET", "users/"+id+"?$select=city,employeeId,onPremisesExtensionAttributes", nil)
	attrs, _ := b["onPremisesExtensionAttributes"].(map[string]any)
	if st != 200 || b["city"] != nil || b["employeeId"] != "E2" || attrs["extensionAttribute1"] != "one" {
		t.Fatalf("read back = %d %v", st, b)
	}
	for _, tt := range []struct {
		body      map[string]any
		code, msg string
	}{
		{map[string]any{"employeeId": 7}, "Request_BadRequest", "Invalid value specified for property 'employeeId' of resource 'User'."},
		{map[string]any{"employeeHireDate": "last Tuesday"}, "Request_BadRequest", "Invalid value specified for property 'employeeHireDate' of resource 'User'."},
		{map[string]any{"onPremisesExtensionAttributes": map[string]any{"extensionAttribute99": "x"}}, "BadRequest",
			"The property 'extensionAttribute99' does not exist on type 'microsoft.graph.onPremisesExtensionAttributes'. Make sure to only use property names that are defined by the type or mark the type as open type."},
	} {
		st, _, b := g.call(t, app, "PATCH", "users/"+id, tt.body)
		if code, msg, _ := errorOf(b); st != 400 || code != tt.code || msg != tt.msg {
			t.Errorf("PATCH %v = %d %s %q, want 400 %s %q", tt.body, st, code, msg, tt.code, tt.msg)
		}
	}
}

// TestSelectedPropertiesComeBackAsNull: a selected property without a value
// is in the answer, as null; names are matched case-insensitively and
// answered as Graph spells them.
func TestSelectedPropertiesComeBackAsNull(t *testing.T) {
	g := newGraphEnv(t, DefaultSeed(), Options{})
	app := g.appToken(t, "test-app", "Directory.ReadWrite.All")
	st, _, b := g.call(t, app, "GET", "users/hybrid.admin@contoso.onmicrosoft.com?$select=DISPLAYNAME,city,onPremisesSamAccountName,employeeId", nil)
	if st != 200 {
		t.Fatalf("get = %d %v", st, b)
	}
	for _, p := range []string{"city", "onPremisesSamAccountName", "employeeId"} {
		if v, ok := b[p]; !ok || v != nil {
			t.Errorf("%s = %v (present %v), want null", p, v, ok)
		}
	}
	if b["displayName"] == nil || b["DISPLAYNAME"] != nil {
		t.Errorf("displayName not answered as Graph spells it: %v", b)
	}
}

// TestExpandMembers: $expand=members on a group answers its members as
// directory objects, with a $select inside the parentheses.
func TestExpandMembers(t *testing.T) {
	g := newGraphEnv(t, DefaultSeed(), Options{})
	app := g.appToken(t, "test-app", "Directory.ReadWrite.All")
	q := "groups?$filter=" + url.QueryEscape("displayName eq 'HybridSync Browse'") + "&$select=id,displayName&$expand=" + url.QueryEscape("members($select=id,userPrincipalName)")
	st, _, b := g.call(t, app, "GET", q, nil)
	if st != 200 {
		t.Fatalf("list = %d %v", st, b)
	}
	vals, _ := b["value"].([]any)
	if len(vals) != 1 {
		t.Fatalf("value = %v", b)
	}
	members, _ := vals[0].(map[string]any)["members"].([]any)
	if len(members) != 1 {
		t.Fatalf("members = %v", vals[0])
	}
	m := members[0].(map[string]any)
	if m["@odata.type"] != "#microsoft.graph.user" || m["userPrincipalName"] != "helpdesk.user@contoso.onmicrosoft.com" || m["displayName"] != nil {
		t.Errorf("member = %v", m)
	}
	// memberOf from the user's side.
	st, _, b = g.call(t, app, "GET", "users/helpdesk.user@contoso.onmicrosoft.com?$select=id&$expand=memberOf", nil)
	if of, _ := b["memberOf"].([]any); st != 200 || len(of) != 1 {
		t.Fatalf("memberOf = %d %v", st, b)
	}
}

// TestGzipBodies: a body sent gzip-compressed (as the Graph SDKs send
// every body) is read; an encoding Graph doesn't take is refused.
func TestGzipBodies(t *testing.T) {
	g := newGraphEnv(t, DefaultSeed(), Options{})
	app := g.appToken(t, "test-app", "Directory.ReadWrite.All")
	post := func(enc string, body []byte) (int, map[string]any) {
		req, _ := http.NewRequest("POST", g.srv.URL+"/v1.0/users", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+app)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Content-Encoding", enc)
		resp, err := g.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	plain, _ := json.Marshal(newUserBody("gzip@contoso.onmicrosoft.com", nil))
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, _ = zw.Write(plain)
	_ = zw.Close()
	if st, b := post("gzip", zipped.Bytes()); st != 201 || b["userPrincipalName"] != "gzip@contoso.onmicrosoft.com" {
		t.Fatalf("gzip create = %d %v", st, b)
	}
	if st, b := post("gzip", plain); st != 400 || !strings.Contains(b["error"].(map[string]any)["message"].(string), "Unable to read JSON") {
		t.Errorf("a body that says gzip but isn't = %d %v", st, b)
	}
	if st, b := post("br", plain); st != 415 {
		t.Errorf("brotli = %d %v", st, b)
	}
}

// TestSyncFeaturesAreTheMetadatas: the emulator serves every feature of
// onPremisesDirectorySynchronizationFeature in the v1.0 metadata, and no
// other.
func TestSyncFeaturesAreTheMetadatas(t *testing.T) {
	ft := graphmeta.Lookup("onPremisesDirectorySynchronizationFeature")
	var want []string
	for _, p := range ft.Properties() {
		want = append(want, p.Name)
	}
	got := slices.Clone(dirSyncFeatures)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("features served = %v\nmetadata = %v", got, want)
	}
}

// TestEveryGraphRouteIsTyped: every Graph route names a type of the v1.0
// metadata, so that its query options and writes are checked; only $batch
// and $ref routes, which take neither, name none.
func TestEveryGraphRouteIsTyped(t *testing.T) {
	for _, rt := range graphRoutes() {
		untyped := strings.HasSuffix(rt.pattern, "/$batch") || strings.HasSuffix(rt.pattern, "/$ref")
		switch {
		case untyped && rt.typ != "":
			t.Errorf("%s names a type (%s) but takes no query options", rt.pattern, rt.typ)
		case !untyped && graphmeta.Lookup(rt.typ) == nil:
			t.Errorf("%s serves %q, which is not a type of the v1.0 metadata table", rt.pattern, rt.typ)
		}
	}
}

// TestCountAsGraphCounts: counting directory objects is an advanced query
// (aad-advanced-queries): with ConsistencyLevel: eventual, ?$count=true adds
// @odata.count and /$count answers the number; without it Graph ignores
// ?$count=true and refuses /$count.
func TestCountAsGraphCounts(t *testing.T) {
	g := newGraphEnv(t, DefaultSeed(), Options{})
	app := g.appToken(t, "test-app", "Directory.ReadWrite.All")
	get := func(path string, eventual bool) (int, string, http.Header) {
		req, _ := http.NewRequest("GET", g.srv.URL+"/v1.0/"+path, nil)
		req.Header.Set("Authorization", "Bearer "+app)
		req.Header.Set("client-request-id", "11111111-2222-4333-8444-555555555555")
		if eventual {
			req.Header.Set("ConsistencyLevel", "eventual")
		}
		resp, err := g.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		_, _ = io.Copy(&b, resp.Body)
		return resp.StatusCode, b.String(), resp.Header
	}
	_, all, _ := get("users?$select=id&$top=999", false)
	n := strings.Count(all, `"id"`)
	if n < 3 {
		t.Fatalf("only %d users: %s", n, all)
	}
	st, body, h := get("users?$count=true&$top=1&$select=id", true)
	var page map[string]any
	_ = json.Unmarshal([]byte(body), &page)
	if st != 200 || page["@odata.count"] != float64(n) || len(page["value"].([]any)) != 1 {
		t.Errorf("$count=true, eventual = %d %s, want @odata.count %d", st, body, n)
	}
	if h.Get("request-id") == "" || h.Get("client-request-id") != "11111111-2222-4333-8444-555555555555" {
		t.Errorf("a success without request ids: %v", h)
	}
	if st, body, _ := get("users?$count=true&$top=1", false); st != 200 || strings.Contains(body, "@odata.count") {
		t.Errorf("$count=true without the header = %d %s, want it ignored", st, body)
	}
	if st, body, h := get("users/$count", true); st != 200 || body != strconv.Itoa(n) || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		t.Errorf("users/$count = %d %q %s, want %d as text", st, body, h.Get("Content-Type"), n)
	}
	if st, body, _ := get("users/$count", false); st != 400 || !strings.Contains(body, `"$count is not currently supported."`) {
		t.Errorf("users/$count without the header = %d %s", st, body)
	}
	if st, body, _ := get("users/delta()", false); st != 501 || !strings.Contains(body, "NotImplemented") {
		t.Errorf("users/delta() = %d %s, want 501", st, body)
	}
}
