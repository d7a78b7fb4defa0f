package setup

import (
	"context"
	"strings"
	"testing"

	"github.com/hybridsync/hybridsync/engine/directory"
)

// wbChecker is a fake of the writeback checks: readiness as configured per
// forest; ea@ is an enterprise admin.
type wbChecker struct {
	Checker
	vault *Vault
	ready map[string]WritebackReadiness
}

func (c wbChecker) WritebackReadiness(_ context.Context, fc ForestConn, ou string, devices bool) (WritebackReadiness, error) {
	r, ok := c.ready[fc.Forest]
	if !ok {
		return r, &CheckError{Msg: "hybridsync can't connect to " + fc.Forest + "."}
	}
	if ou == "" {
		r.Groups = nil
	} else if r.Groups != nil {
		g := *r.Groups
		g.OU, g.OUExists = ou, g.OUExists && !strings.Contains(ou, "Gone")
		r.Groups = &g
	}
	if !devices {
		r.Devices = nil
	}
	return r, nil
}
func (c wbChecker) CheckWritebackAdmin(_ context.Context, fc ForestConn, user, pw string) error {
	if !strings.HasPrefix(user, "ea@") || pw != "pw" {
		return &CheckError{Msg: user + " is not a member of Enterprise Admins"}
	}
	c.vault.Put(WritebackVaultKey(fc.Forest), ForestCredentials{User: user, Password: pw})
	return nil
}
func (c wbChecker) HasWritebackAdmin(forest string) bool {
	_, ok := c.vault.Get(WritebackVaultKey(forest))
	return ok
}
func (c wbChecker) ForgetWritebackAdmin(forest string) { c.vault.Drop(WritebackVaultKey(forest)) }

// r2 is a 2012 R2 schema with everything device writeback writes.
func r2() directory.SchemaInfo {
	s := directory.SchemaInfo{ObjectVersion: 69, Release: "Windows Server 2012 R2", Present: map[string]bool{}}
	for _, n := range append(append([]string{}, directory.DeviceSchemaClasses...), directory.DeviceSchemaAttributes...) {
		s.Present[strings.ToLower(n)] = true
	}
	return s
}

func wbAnswers() Answers {
	a := Defaults()
	a.Features.GroupWriteback, a.Features.DeviceWriteback = true, true
	a.Directories.Forests = []ForestConn{
		{Forest: "corp.test", RootDN: "DC=corp,DC=test", Security: SecurityLDAPS, HasExchange: true, NetBIOS: "CORP"},
		{Forest: "fab.test", RootDN: "DC=fab,DC=test", Security: SecurityLDAPS},
	}
	return a
}

func TestWritebackRules(t *testing.T) {
	ctx := context.Background()
	ready := WritebackReadiness{
		Groups:  &directory.GroupReadiness{OUExists: true},
		Devices: &directory.DeviceReadiness{Schema: r2(), ContainerExists: true, ContainerDN: "CN=RegisteredDevices,DC=corp,DC=test", ServiceLocation: "CN=RegisteredDevices,DC=corp,DC=test"},
	}
	old := directory.SchemaInfo{ObjectVersion: 56, Release: "Windows Server 2012", Present: map[string]bool{}}
	chk := wbChecker{vault: &Vault{}, ready: map[string]WritebackReadiness{
		"corp.test": ready,
		"fab.test":  {Devices: &directory.DeviceReadiness{Schema: old}},
	}}
	tests := []struct {
		name  string
		form  []string
		field string // "": no error
		says  string
	}{
		{"nothing chosen", nil, "group_forest", MsgWBGroupForest},
		{"no OU", []string{"group_forest", "corp.test", "group_naming", NamingObjectID, "device_forest", "corp.test"}, "group_ou", MsgWBGroupOU},
		{"OU of another forest", []string{"group_forest", "corp.test", "group_ou", "OU=X,DC=fab,DC=test", "group_naming", NamingObjectID, "device_forest", "corp.test"}, "group_ou", MsgWBGroupOUForest},
		{"a forest without Exchange", []string{"group_forest", "fab.test", "group_ou", "OU=X,DC=fab,DC=test", "group_naming", NamingObjectID, "device_forest", "corp.test"}, "group_forest", "available only if you have Exchange"},
		{"no naming", []string{"group_forest", "corp.test", "group_ou", "OU=WB,DC=corp,DC=test", "device_forest", "corp.test"}, "group_naming", MsgWBNaming},
		{"no device forest", []string{"group_forest", "corp.test", "group_ou", "OU=WB,DC=corp,DC=test", "group_naming", NamingDisplayName}, "device_forest", MsgWBDeviceForest},
		{"the OU is gone", []string{"group_forest", "corp.test", "group_ou", "OU=Gone,DC=corp,DC=test", "group_naming", NamingObjectID, "device_forest", "corp.test"}, "group_ou", "is not in the forest"},
		{"a 2012 schema", []string{"group_forest", "corp.test", "group_ou", "OU=WB,DC=corp,DC=test", "group_naming", NamingObjectID, "device_forest", "fab.test"}, "wb:fab.test", "Windows Server 2012 R2 schema or later"},
		{"ready", []string{"group_forest", "corp.test", "group_ou", "OU=WB,DC=corp,DC=test", "group_naming", NamingObjectID, "device_forest", "corp.test"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := wbAnswers()
			writebackPage.Bind(&a, form(tt.form...))
			e := writebackPage.Validate(ctx, &a, chk)
			if tt.field == "" {
				if len(e) != 0 {
					t.Fatalf("errors %v", e)
				}
				return
			}
			if !strings.Contains(e[tt.field], tt.says) {
				t.Errorf("errors %v, want %s: %q", e, tt.field, tt.says)
			}
		})
	}
}

// Credentials to prepare a forest: refused for a non-admin with what was
// typed kept, held in memory once accepted, asked again when memory lost
// them, forgotten on request.
func TestWritebackAdmin(t *testing.T) {
	ctx := context.Background()
	need := WritebackReadiness{Devices: &directory.DeviceReadiness{Schema: r2(), ContainerDN: "CN=RegisteredDevices,DC=corp,DC=test"}}
	chk := wbChecker{vault: &Vault{}, ready: map[string]WritebackReadiness{"corp.test": need}}
	a := wbAnswers()
	a.Features.GroupWriteback = false
	ok := []string{"device_forest", "corp.test"}

	// Not prepared, no credentials: Next is allowed (Configure gives the commands).
	writebackPage.Bind(&a, form(ok...))
	if e := writebackPage.Validate(ctx, &a, chk); len(e) != 0 {
		t.Fatalf("a forest to prepare, without credentials: %v", e)
	}
	v := viewWriteback(ctx, &a, chk).(WritebackView)
	if !v.NeedsPreparation("corp.test") {
		t.Error("the view does not say the forest needs preparing")
	}

	writebackPage.Bind(&a, form(append(ok, "wb_user:corp.test", "da@corp.test")...))
	e := actWriteback(ctx, &a, ActionWritebackAdmin+":corp.test", form("wb_password:corp.test", "pw"), chk)
	if !strings.Contains(e["wb_admin:corp.test"], "not a member of Enterprise Admins") || a.Writeback.Admins["corp.test"].User != "da@corp.test" || chk.HasWritebackAdmin("corp.test") {
		t.Fatalf("non-admin: %v %+v", e, a.Writeback.Admins)
	}
	if e := actWriteback(ctx, &a, ActionWritebackAdmin+":corp.test", Form{}, chk); e["wb_password:corp.test"] == "" {
		t.Errorf("no password: %v", e)
	}
	writebackPage.Bind(&a, form(append(ok, "wb_user:corp.test", "ea@corp.test")...))
	if e := actWriteback(ctx, &a, ActionWritebackAdmin+":corp.test", form("wb_password:corp.test", "pw"), chk); len(e) != 0 {
		t.Fatalf("enterprise admin: %v", e)
	}
	if a.Writeback.Admins["corp.test"].EnteredAs != "ea@corp.test" || !chk.HasWritebackAdmin("corp.test") {
		t.Fatalf("accepted credentials not recorded: %+v", a.Writeback.Admins)
	}
	if rows := summarizeWriteback(a); len(rows) != 2 || !strings.Contains(rows[1].Value, "ea@corp.test") {
		t.Errorf("summary %v", rows)
	}

	// The server restarted: the vault is empty, the answers still say entered.
	chk.vault.Drop(WritebackVaultKey("corp.test"))
	if e := writebackPage.Validate(ctx, &a, chk); e["wb_admin:corp.test"] != MsgWBAdminGone {
		t.Errorf("after a restart: %v", e)
	}
	if e := actWriteback(ctx, &a, ActionWritebackForget+":corp.test", Form{}, chk); len(e) != 0 || a.Writeback.Admins["corp.test"].EnteredAs != "" {
		t.Errorf("forget: %v %+v", e, a.Writeback.Admins)
	}
	if e := writebackPage.Validate(ctx, &a, chk); len(e) != 0 {
		t.Errorf("after forgetting: %v", e)
	}

	// Over plain LDAP, hybridsync does not change a forest's permissions.
	a.Directories.Forests[0].Security = SecurityInsecure
	writebackPage.Bind(&a, form(append(ok, "wb_user:corp.test", "ea@corp.test")...))
	if e := actWriteback(ctx, &a, ActionWritebackAdmin+":corp.test", form("wb_password:corp.test", "pw"), chk); !strings.Contains(e["wb_admin:corp.test"], "only over LDAPS or StartTLS") {
		t.Errorf("insecure: %v", e)
	}
	if e := actWriteback(ctx, &a, "wb_admin:nowhere.test", Form{}, chk); e[""] == "" {
		t.Error("an unknown forest's button is accepted")
	}
}

func TestGroupCN(t *testing.T) {
	const id = "3a5c3221-c465-48c0-95b8-e9305786a271"
	tests := []struct{ naming, display, want string }{
		{NamingObjectID, "Administrators", "Group_" + id},
		{"", "Administrators", "Group_" + id},
		{NamingDisplayName, "Administrators", "Administrators_e9305786a271"},
		{NamingDisplayName, "  Sales  ", "Sales_e9305786a271"},
		{NamingDisplayName, strings.Repeat("é", 60), strings.Repeat("é", 51) + "_e9305786a271"},
	}
	for _, tt := range tests {
		if got := GroupCN(tt.naming, id, tt.display); got != tt.want {
			t.Errorf("GroupCN(%q, %q) = %q, want %q", tt.naming, tt.display, got, tt.want)
		}
	}
}

// TestOUPending: a forest receiving the groups is not ready before its
// organizational unit is chosen (the page says so instead of "ready").
func TestOUPending(t *testing.T) {
	cases := []struct {
		name    string
		groups  bool
		forest  string
		ou      string
		ask     string
		pending bool
	}{
		{"no OU yet", true, "corp.test", "", "corp.test", true},
		{"no OU yet, any case", true, "corp.test", "", "CORP.test", true},
		{"OU chosen", true, "corp.test", "OU=G,DC=corp,DC=test", "corp.test", false},
		{"another forest", true, "corp.test", "", "fab.test", false},
		{"group writeback off", false, "corp.test", "", "corp.test", false},
	}
	for _, c := range cases {
		a := &Answers{}
		a.Features.GroupWriteback = c.groups
		a.Writeback = Writeback{GroupForest: c.forest, GroupOU: c.ou}
		if got := a.Writeback.OUPending(a, c.ask); got != c.pending {
			t.Errorf("%s: OUPending %v, want %v", c.name, got, c.pending)
		}
	}
}

// TestWritebackDefaultsToTheExchangeForest: with two forests and Exchange in
// one, group writeback goes to that one unless another is chosen.
func TestWritebackDefaultsToTheExchangeForest(t *testing.T) {
	a := Defaults()
	a.Features.GroupWriteback = true
	a.Directories.Forests = []ForestConn{{Forest: "corp.test"}, {Forest: "fab.test", HasExchange: true}}
	viewWriteback(context.Background(), &a, nil)
	if a.Writeback.GroupForest != "fab.test" {
		t.Errorf("group forest %q, want fab.test", a.Writeback.GroupForest)
	}
	a.Writeback.GroupForest = "corp.test" // chosen: kept (and refused by the rules)
	viewWriteback(context.Background(), &a, nil)
	if a.Writeback.GroupForest != "corp.test" {
		t.Errorf("the chosen forest became %q", a.Writeback.GroupForest)
	}
}
