package setup

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleExport() Export {
	a := Answers{
		SignIn:   SignIn{Method: MethodPTA, SSO: true},
		Features: Features{PasswordHashSync: true, GroupWriteback: true, ExchangeHybrid: true, Requires: []string{RequireExchangeSchema}},
		Ready:    Ready{Staging: true, StartSync: false},
		Components: Components{CustomGroups: true, GroupNames: map[string]string{"admins": "SyncAdmins", "operators": "SyncOps"},
			UseSQLServer: true, SQLServer: "sql01", SQLDatabase: "HS", SQLPermission: PermissionSA, SQLPassword: "sealed:v1:secret"},
	}
	return NewExport(a, ExportSource{InstallID: "install-1", ConfigurationID: 3, AppliedAt: "2025-01-01T00:00:00Z", AppliedBy: "alice"},
		"bob", "/var/lib/hs", time.Date(2025, 2, 3, 4, 5, 6, 0, time.FixedZone("x", 3600)))
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestExportRoundTrip(t *testing.T) {
	exp := sampleExport()
	if exp.ExportedAt != "2025-02-03T03:05:06Z" {
		t.Errorf("ExportedAt = %s, want UTC RFC 3339", exp.ExportedAt)
	}
	data := marshal(t, exp)
	if bytes.Contains(data, []byte("sealed:")) || bytes.Contains(data, []byte("secret")) {
		t.Fatalf("the export holds a secret: %s", data)
	}
	got, err := ParseExport(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Fatalf("round trip:\n got  %+v\n want %+v", got, exp)
	}
	wantGroups := map[string]string{"admins": "SyncAdmins", "operators": "SyncOps", "browse": "ADSyncBrowse", "passwordset": "ADSyncPasswordSet"}
	if !reflect.DeepEqual(got.Settings.SyncGroups, wantGroups) {
		t.Errorf("SyncGroups = %v", got.Settings.SyncGroups)
	}
	if !strings.Contains(got.Settings.Database, "SQL Server sql01") {
		t.Errorf("Database = %q", got.Settings.Database)
	}
}

func TestParseExportRefuses(t *testing.T) {
	good := marshal(t, sampleExport())
	edit := func(fn func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		fn(m)
		return marshal(t, m)
	}
	settings := func(m map[string]any) map[string]any { return m["settings"].(map[string]any) }
	groups := func(m map[string]any) map[string]any { return settings(m)["syncGroups"].(map[string]any) }
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "empty"},
		{"too large", append(good, bytes.Repeat([]byte(" "), MaxExportSize)...), "larger than 1024 KiB"},
		{"not json", []byte("<xml/>"), "not valid JSON"},
		{"array", []byte("[]"), "not valid JSON"},
		{"wrong type", edit(func(m map[string]any) { m["version"] = "1" }), "version has the wrong type"},
		{"wrong format", edit(func(m map[string]any) { m["format"] = "adsync-settings" }), "not a hybridsync settings export"},
		{"no format", edit(func(m map[string]any) { delete(m, "format") }), "not a hybridsync settings export"},
		{"wrong version", edit(func(m map[string]any) { m["version"] = 2 }), "format version 2; this hybridsync reads version 1"},
		{"unknown top-level field", edit(func(m map[string]any) { m["password"] = "x" }), "not valid JSON"},
		{"unknown nested field", edit(func(m map[string]any) { settings(m)["sqlPassword"] = "x" }), "not valid JSON"},
		{"trailing data", append(append([]byte{}, good...), []byte(` {}`)...), "data after its end"},
		{"trailing garbage", append(append([]byte{}, good...), 'x'), "data after its end"},
		{"SSO with AD FS", edit(func(m map[string]any) { settings(m)["signIn"] = map[string]any{"method": MethodADFS, "sso": true} }), MsgSSOUnavailableADFS},
		{"SSO with none", edit(func(m map[string]any) { settings(m)["signIn"] = map[string]any{"method": MethodNone, "sso": true} }), MsgSSOOnlyPHSPTA},
		{"unknown method", edit(func(m map[string]any) { settings(m)["signIn"] = map[string]any{"method": "kerberos"} }), MsgChooseMethod},
		{"PHS sign-in without PHS", edit(func(m map[string]any) {
			settings(m)["signIn"] = map[string]any{"method": MethodPHS}
			settings(m)["features"].(map[string]any)["passwordHashSync"] = false
		}), MsgPHSRequired},
		{"legacy sync with writeback", edit(func(m map[string]any) { settings(m)["features"].(map[string]any)["legacySyncActive"] = true }), MsgLegacyChosen},
		{"unknown group role", edit(func(m map[string]any) { groups(m)["auditors"] = "Auditors" }), `unknown sync group "auditors"`},
		{"domain group", edit(func(m map[string]any) { groups(m)["admins"] = `CONTOSO\Admins` }), MsgGroupsLocal},
		{"upn group", edit(func(m map[string]any) { groups(m)["browse"] = "browse@contoso.com" }), MsgGroupsLocal},
		{"empty group", edit(func(m map[string]any) { groups(m)["browse"] = "" }), "Enter a group name"},
		{"forbidden character", edit(func(m map[string]any) { groups(m)["browse"] = "a*b" }), "can't contain"},
		{"same name twice", edit(func(m map[string]any) { groups(m)["browse"] = "SyncAdmins" }), "twice"},
		{"same name twice, other case", edit(func(m map[string]any) { groups(m)["browse"] = "syncadmins" }), "twice"},
		{"a custom name that another group keeps by default", edit(func(m map[string]any) {
			groups(m)["admins"] = "adsyncbrowse"
			delete(groups(m), "browse")
		}), "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseExport(tt.data)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestExportApplyTo(t *testing.T) {
	tests := []struct {
		name       string
		groups     map[string]string
		legacyHere bool
		wantCustom bool
		wantNames  map[string]string
	}{
		{"default names", map[string]string{"admins": "ADSyncAdmins", "operators": "ADSyncOperators", "browse": "ADSyncBrowse", "passwordset": "ADSyncPasswordSet"}, false, false, nil},
		{"no groups", nil, false, false, nil},
		{"one custom", map[string]string{"admins": "A"}, true, true,
			map[string]string{"admins": "A", "operators": "ADSyncOperators", "browse": "ADSyncBrowse", "passwordset": "ADSyncPasswordSet"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := Export{Settings: ExportSettings{
				SignIn:     SignIn{Method: MethodADFS},
				Features:   Features{GroupWriteback: true, Requires: []string{"bogus"}},
				Ready:      Ready{Staging: true},
				SyncGroups: tt.groups,
			}}
			a := Defaults()
			a.Components.CustomGroups = true
			a.Components.GroupNames = map[string]string{"admins": "typed"}
			a.Components.Location = "/keep"
			a.Features.LegacySyncActive = tt.legacyHere
			x.ApplyTo(&a)
			if a.Components.CustomGroups != tt.wantCustom || !reflect.DeepEqual(a.Components.GroupNames, tt.wantNames) {
				t.Errorf("groups: custom %v %v", a.Components.CustomGroups, a.Components.GroupNames)
			}
			if a.SignIn.Method != MethodADFS || !a.Ready.Staging || !a.Features.GroupWriteback || a.Components.Location != "/keep" {
				t.Errorf("answers after ApplyTo: %+v", a)
			}
			if !reflect.DeepEqual(a.Features.Requires, []string{RequireExchangeSchema}) {
				t.Errorf("Requires = %v; it is derived, never imported", a.Features.Requires)
			}
			if a.Features.LegacySyncActive != tt.legacyHere {
				t.Errorf("LegacySyncActive = %v: what this server knows about its tenant must survive an import", a.Features.LegacySyncActive)
			}
		})
	}
}
