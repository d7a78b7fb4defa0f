package tenant

import (
	"slices"
	"testing"
)

func TestReadOnlyPropertiesRefused(t *testing.T) {
	g := newGraphEnv(t, DefaultSeed(), Options{})
	app := g.appToken(t, "test-app", "Directory.ReadWrite.All")
	st, _, u := g.call(t, app, "POST", "users", newUserBody("ro@contoso.example.test", nil))
	if st != 201 {
		t.Fatalf("create = %d %v", st, u)
	}
	uid := u["id"].(string)
	st, _, grp := g.call(t, app, "POST", "groups", map[string]any{"displayName": "RO", "mailNickname": "ro", "mailEnabled": false, "securityEnabled": true})
	if st != 201 {
		t.Fatalf("create group = %d %v", st, grp)
	}
	gid := grp["id"].(string)
	tests := []struct {
		name, method, path string
		body               map[string]any
		prop               string
	}{
		{"user create proxyAddresses", "POST", "users", newUserBody("ro2@contoso.example.test", map[string]any{"proxyAddresses": []string{"SMTP:ro2@contoso.example.test"}}), "proxyAddresses"},
		{"user update proxyAddresses", "PATCH", "users/" + uid, map[string]any{"proxyAddresses": []string{"smtp:x@contoso.example.test"}}, "proxyAddresses"},
		{"user update onPremisesSamAccountName", "PATCH", "users/" + uid, map[string]any{"jobTitle": "Clerk", "onPremisesSamAccountName": "ro"}, "onPremisesSamAccountName"},
		{"user create onPremisesDistinguishedName", "POST", "users", newUserBody("ro3@contoso.example.test", map[string]any{"onPremisesDistinguishedName": "CN=ro3,DC=corp"}), "onPremisesDistinguishedName"},
		{"user update onPremisesSecurityIdentifier", "PATCH", "users/" + uid, map[string]any{"onPremisesSecurityIdentifier": "S-1-5-21-1"}, "onPremisesSecurityIdentifier"},
		{"group update proxyAddresses", "PATCH", "groups/" + gid, map[string]any{"proxyAddresses": []string{"SMTP:ro@contoso.example.test"}}, "proxyAddresses"},
		{"group create onPremisesSamAccountName", "POST", "groups", map[string]any{"displayName": "RO2", "mailNickname": "ro2", "mailEnabled": false, "securityEnabled": true, "onPremisesSamAccountName": "ro2"}, "onPremisesSamAccountName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, _, b := g.call(t, app, tt.method, tt.path, tt.body)
			code, msg, _ := errorOf(b)
			if st != 400 || code != "Request_BadRequest" || msg != "Property '"+tt.prop+"' is read-only and cannot be set." {
				t.Fatalf("= %d %s %q, want 400 Request_BadRequest read-only %s", st, code, msg, tt.prop)
			}
		})
	}
	// Nothing of a refused update was applied.
	if st, _, b := g.call(t, app, "GET", "users/"+uid+"?$select=jobTitle,proxyAddresses", nil); st != 200 || b["jobTitle"] != nil {
		t.Fatalf("after refused updates = %d %v", st, b)
	}
	// onPremisesImmutableId stays writable.
	if st, _, b := g.call(t, app, "PATCH", "users/"+uid, map[string]any{"onPremisesImmutableId": "cm8="}); st != 204 {
		t.Fatalf("onPremisesImmutableId = %d %v", st, b)
	}
}

func TestMailSetsTheSMTPProxyAddress(t *testing.T) {
	g := newGraphEnv(t, DefaultSeed(), Options{})
	app := g.appToken(t, "test-app", "Directory.ReadWrite.All")
	proxies := func(id string) []string {
		t.Helper()
		st, _, b := g.call(t, app, "GET", "users/"+id+"?$select=mail,proxyAddresses", nil)
		if st != 200 {
			t.Fatalf("get = %d %v", st, b)
		}
		var out []string
		for _, p := range b["proxyAddresses"].([]any) {
			out = append(out, p.(string))
		}
		return out
	}
	st, _, u := g.call(t, app, "POST", "users", newUserBody("mia@contoso.example.test", map[string]any{"mail": "mia@contoso.example.test"}))
	if st != 201 {
		t.Fatalf("create = %d %v", st, u)
	}
	id := u["id"].(string)
	if got := proxies(id); !slices.Equal(got, []string{"SMTP:mia@contoso.example.test"}) {
		t.Fatalf("after create: %v", got)
	}
	if st, _, b := g.call(t, app, "PATCH", "users/"+id, map[string]any{"mail": "mia.new@contoso.example.test"}); st != 204 {
		t.Fatalf("update = %d %v", st, b)
	}
	if got := proxies(id); !slices.Equal(got, []string{"smtp:mia@contoso.example.test", "SMTP:mia.new@contoso.example.test"}) {
		t.Fatalf("after a new mail: %v", got)
	}
	// Back to the old address: it is the primary again, no repeat.
	if st, _, b := g.call(t, app, "PATCH", "users/"+id, map[string]any{"mail": "MIA@contoso.example.test"}); st != 204 {
		t.Fatalf("update = %d %v", st, b)
	}
	if got := proxies(id); !slices.Equal(got, []string{"SMTP:mia@contoso.example.test", "smtp:mia.new@contoso.example.test"}) {
		t.Fatalf("after the old mail again: %v", got)
	}
	// The addresses stay taken: another user's mail on the alias conflicts.
	st, _, b := g.call(t, app, "POST", "users", newUserBody("other@contoso.example.test", map[string]any{"mail": "mia.new@contoso.example.test"}))
	code, msg, target := errorOf(b)
	if st != 400 || code != "Request_BadRequest" || target != "proxyAddresses" || msg != "Another object with the same value for property proxyAddresses already exists." {
		t.Fatalf("conflict = %d %s %q %s", st, code, msg, target)
	}
	// What Exchange sets, Graph reads.
	if err := g.t.SetProxyAddresses("mia@contoso.example.test", []string{"SMTP:mia@contoso.example.test", "smtp:m@contoso.example.test"}); err != nil {
		t.Fatal(err)
	}
	if got := proxies(id); !slices.Equal(got, []string{"SMTP:mia@contoso.example.test", "smtp:m@contoso.example.test"}) {
		t.Fatalf("after SetProxyAddresses: %v", got)
	}
	if err := g.t.SetProxyAddresses("other@contoso.example.test", nil); err == nil {
		t.Fatal("SetProxyAddresses of an unknown user succeeded")
	}
}

func TestDeviceUpdate(t *testing.T) {
	g := newGraphEnv(t, DefaultSeed(), Options{})
	app := g.appToken(t, "test-app", "Directory.ReadWrite.All")
	st, _, d := g.call(t, app, "POST", "devices", map[string]any{"accountEnabled": true, "deviceId": "6f1b6c2e-7a3d-4c55-9e1a-0b2c3d4e5f60",
		"displayName": "PC1", "operatingSystem": "Windows", "operatingSystemVersion": "10.0.19045",
		"alternativeSecurityIds": []map[string]any{{"type": 2, "key": "eA=="}}})
	if st != 201 {
		t.Fatalf("create device = %d %v", st, d)
	}
	id := d["id"].(string)
	if st, _, b := g.call(t, app, "PATCH", "devices/"+id, map[string]any{"deviceId": "7f1b6c2e-7a3d-4c55-9e1a-0b2c3d4e5f61"}); st != 400 {
		t.Fatalf("deviceId update = %d %v", st, b)
	}
	if st, _, b := g.call(t, app, "PATCH", "devices/"+id, map[string]any{"accountEnabled": false, "operatingSystem": "Windows Server", "operatingSystemVersion": "10.0.20348"}); st != 204 {
		t.Fatalf("update = %d %v", st, b)
	}
	if _, _, b := g.call(t, app, "GET", "devices/"+id, nil); b["accountEnabled"] != false || b["operatingSystem"] != "Windows Server" || b["operatingSystemVersion"] != "10.0.20348" || b["deviceId"] != "6f1b6c2e-7a3d-4c55-9e1a-0b2c3d4e5f60" {
		t.Fatalf("after the update: %v", b)
	}
}
