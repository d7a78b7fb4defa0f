package tenant

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestSchemaExtensionApp(t *testing.T) {
	g := newGraphEnv(t, DefaultSeed(), Options{})
	app := g.appToken(t, "test-app", "Directory.ReadWrite.All")
	if st, _, b := g.call(t, app, "POST", "applications", map[string]any{}); st != 400 {
		t.Fatalf("application without displayName = %d %v", st, b)
	}
	st, _, a := g.call(t, app, "POST", "applications", map[string]any{"displayName": "Tenant Schema Extension App"})
	if st != 201 || a["appId"] == "" || a["id"] == "" || a["displayName"] != "Tenant Schema Extension App" {
		t.Fatalf("create application = %d %v", st, a)
	}
	objID, appID := a["id"].(string), a["appId"].(string)
	st, _, list := g.call(t, app, "GET", "applications?$filter=displayName%20eq%20'Tenant%20Schema%20Extension%20App'&$select=id,appId", nil)
	if vals, _ := list["value"].([]any); st != 200 || len(vals) != 1 || vals[0].(map[string]any)["appId"] != appID {
		t.Fatalf("find application = %d %v", st, list)
	}
	prefix := "extension_" + strings.ReplaceAll(appID, "-", "") + "_"
	st, _, x := g.call(t, app, "POST", "applications/"+objID+"/extensionProperties",
		map[string]any{"name": "division", "dataType": "String", "targetObjects": []string{"User"}})
	if st != 201 || x["name"] != prefix+"division" || x["isSyncedFromOnPremises"] != false || x["isMultiValued"] != false ||
		x["appDisplayName"] != "Tenant Schema Extension App" || !strings.Contains(x["@odata.context"].(string), "/extensionProperties/$entity") {
		t.Fatalf("create extension = %d %v", st, x)
	}
	for _, body := range []map[string]any{
		{"name": "level", "dataType": "Number", "targetObjects": []string{"User"}},
		{"name": "level", "dataType": "Integer", "targetObjects": []string{"user"}},
		{"name": "", "dataType": "Integer", "targetObjects": []string{"User"}},
		{"name": "division", "dataType": "String", "targetObjects": []string{"User"}},
	} {
		if st, _, b := g.call(t, app, "POST", "applications/"+objID+"/extensionProperties", body); st != 400 {
			t.Errorf("extension %v = %d %v, want 400", body, st, b)
		}
	}
	if st, _, b := g.call(t, app, "POST", "applications/"+objID+"/extensionProperties",
		map[string]any{"name": "level", "dataType": "Integer", "targetObjects": []string{"User", "Group"}}); st != 201 {
		t.Fatalf("create level = %d %v", st, b)
	}
	if st, _, b := g.call(t, app, "GET", "applications/"+objID+"/extensionProperties", nil); st != 200 || len(b["value"].([]any)) != 2 {
		t.Fatalf("list extensions = %d %v", st, b)
	}

	st, _, u := g.call(t, app, "POST", "users", newUserBody("ext@contoso.example.test", nil))
	if st != 201 {
		t.Fatalf("create user = %d %v", st, u)
	}
	uid := u["id"].(string)
	// Not available until the application has a service principal.
	st, _, b := g.call(t, app, "PATCH", "users/"+uid, map[string]any{prefix + "division": "Sales"})
	if code, msg, _ := errorOf(b); st != 400 || code != "Request_BadRequest" || msg != "The following extension properties are not available: "+prefix+"division." {
		t.Fatalf("before the service principal = %d %v", st, b)
	}
	if st, _, b := g.call(t, app, "POST", "servicePrincipals", map[string]any{"appId": appID}); st != 201 || b["appId"] != appID {
		t.Fatalf("create service principal = %d %v", st, b)
	}
	if st, _, b := g.call(t, app, "POST", "servicePrincipals", map[string]any{"appId": appID}); st != 400 {
		t.Fatalf("second service principal = %d %v", st, b)
	}
	if st, _, b := g.call(t, app, "GET", "servicePrincipals?$filter=appId%20eq%20'"+appID+"'", nil); st != 200 || len(b["value"].([]any)) != 1 {
		t.Fatalf("find service principal = %d %v", st, b)
	}
	tests := []struct {
		name, path string
		body       map[string]any
		status     int
	}{
		{"user string", "users/" + uid, map[string]any{prefix + "division": "Sales", prefix + "level": 3}, 204},
		{"user wrong type", "users/" + uid, map[string]any{prefix + "level": "three"}, 400},
		{"user too long", "users/" + uid, map[string]any{prefix + "division": strings.Repeat("x", 257)}, 400},
		{"user unknown", "users/" + uid, map[string]any{prefix + "nothing": "x"}, 400},
		{"user create", "users", newUserBody("ext2@contoso.example.test", map[string]any{prefix + "division": "Ops"}), 201},
		{"group create, extension for users only", "groups", map[string]any{"displayName": "X", "mailNickname": "x", "mailEnabled": false, "securityEnabled": true, prefix + "division": "Ops"}, 400},
		{"group create", "groups", map[string]any{"displayName": "X", "mailNickname": "x", "mailEnabled": false, "securityEnabled": true, prefix + "level": 2}, 201},
	}
	for _, tt := range tests {
		method := "PATCH"
		if !strings.Contains(tt.path, "/") {
			method = "POST"
		}
		if st, _, b := g.call(t, app, method, tt.path, tt.body); st != tt.status {
			t.Errorf("%s = %d %v, want %d", tt.name, st, b, tt.status)
		}
	}
	// Returned only when selected; null clears.
	if _, _, b := g.call(t, app, "GET", "users/"+uid, nil); b[prefix+"division"] != nil {
		t.Errorf("extension returned without $select: %v", b)
	}
	if _, _, b := g.call(t, app, "GET", "users/"+uid+"?$select=id,"+prefix+"division,"+prefix+"level", nil); b[prefix+"division"] != "Sales" || b[prefix+"level"] != float64(3) {
		t.Errorf("selected extensions: %v", b)
	}
	if st, _, b := g.call(t, app, "PATCH", "users/"+uid, map[string]any{prefix + "division": nil}); st != 204 {
		t.Fatalf("clear = %d %v", st, b)
	}
	if _, _, b := g.call(t, app, "GET", "users/"+uid+"?$select=id,"+prefix+"division", nil); b[prefix+"division"] != nil {
		t.Errorf("after clearing: %v", b)
	}
	// Registering needs an application permission for applications.
	reader := g.appToken(t, "test-app", "User.Read.All")
	if st, _, b := g.call(t, reader, "POST", "applications", map[string]any{"displayName": "Other"}); st != 403 {
		t.Errorf("create application without permission = %d %v", st, b)
	}
}

// TestSchemaExtensionAppSurvivesARestart: the application, its service
// principal, its extensions and the values written are in the state file.
func TestSchemaExtensionAppSurvivesARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tenant.json")
	g := newGraphEnv(t, DefaultSeed(), Options{StatePath: path})
	app := g.appToken(t, "test-app", "Directory.ReadWrite.All")
	_, _, a := g.call(t, app, "POST", "applications", map[string]any{"displayName": "Tenant Schema Extension App"})
	objID, appID := a["id"].(string), a["appId"].(string)
	_, _, x := g.call(t, app, "POST", "applications/"+objID+"/extensionProperties", map[string]any{"name": "division", "dataType": "String", "targetObjects": []string{"User"}})
	name, _ := x["name"].(string)
	g.call(t, app, "POST", "servicePrincipals", map[string]any{"appId": appID})
	if st, _, b := g.call(t, app, "POST", "users", newUserBody("kept@contoso.example.test", map[string]any{name: "Sales"})); st != 201 {
		t.Fatalf("create user = %d %v", st, b)
	}
	if err := g.t.Close(); err != nil {
		t.Fatal(err)
	}
	g2 := newGraphEnv(t, DefaultSeed(), Options{StatePath: path})
	defer g2.t.Close()
	app2 := g2.appToken(t, "test-app", "Directory.ReadWrite.All")
	if st, _, b := g2.call(t, app2, "GET", "applications/"+objID+"/extensionProperties", nil); st != 200 || len(b["value"].([]any)) != 1 {
		t.Fatalf("extensions after reload = %d %v", st, b)
	}
	if _, _, b := g2.call(t, app2, "GET", "users/kept@contoso.example.test?$select=id,"+name, nil); b[name] != "Sales" {
		t.Fatalf("value after reload: %v", b)
	}
	// Still available: the service principal came back too.
	if st, _, b := g2.call(t, app2, "PATCH", "users/kept@contoso.example.test", map[string]any{name: "Ops"}); st != 204 {
		t.Fatalf("write after reload = %d %v", st, b)
	}
}
