package setup

import (
	"context"
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

// form builds a Form from field/value pairs.
func form(kv ...string) Form {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return Form{Values: v}
}

// sqlForm is a valid "use an existing SQL Server" form, with overrides.
func sqlForm(kv ...string) []string {
	base := map[string]string{"use_sql": "on", "sql_server": "sql01.contoso.com", "sql_instance": "SQLEXPRESS",
		"sql_database": "HybridSync", "sql_permission": "sa", "sql_login": "hybridsync", "sql_password": "pw"}
	for i := 0; i+1 < len(kv); i += 2 {
		base[kv[i]] = kv[i+1]
	}
	var out []string
	for k, v := range base {
		out = append(out, k, v)
	}
	return out
}

func groupsForm(admins, operators, browse, pwset string) []string {
	return []string{"custom_groups", "on", "group_admins", admins, "group_operators", operators, "group_browse", browse, "group_passwordset", pwset}
}

func validateForm(a *Answers, f Form) Errors {
	componentsPage.Bind(a, f)
	return componentsPage.Validate(context.Background(), a, nil)
}

func TestComponentsValidation(t *testing.T) {
	long := strings.Repeat("a", 1025)
	tests := []struct {
		name  string
		form  []string
		field string // "" with msg "" means no errors at all
		msg   string // a substring of the field's error; exact when exact is set
		exact bool
	}{
		{name: "nothing chosen", form: nil},
		{name: "checkboxes off ignore their fields", form: []string{"location", "relative", "sql_server", "bad host!", "group_admins", `A\B`}},

		// Installation location.
		{name: "location empty", form: []string{"custom_location", "on"}, field: "location", msg: "Enter the folder"},
		{name: "location relative", form: []string{"custom_location", "on", "location", "data/hs"}, field: "location", msg: "absolute path"},
		{name: "location root", form: []string{"custom_location", "on", "location", "/"}, field: "location", msg: "not the root"},
		{name: "location root, unclean", form: []string{"custom_location", "on", "location", "/./"}, field: "location", msg: "not the root"},
		{name: "location in /proc", form: []string{"custom_location", "on", "location", "/proc/1"}, field: "location", msg: "outside /proc"},
		{name: "location /sys", form: []string{"custom_location", "on", "location", "/sys"}, field: "location", msg: "outside /sys"},
		{name: "location via .. into /dev", form: []string{"custom_location", "on", "location", "/srv/../dev/shm"}, field: "location", msg: "outside /dev"},
		{name: "location /devices is fine", form: []string{"custom_location", "on", "location", "/devices/hs"}},
		{name: "location too long", form: []string{"custom_location", "on", "location", "/" + long}, field: "location", msg: "1,024"},
		{name: "location with NUL", form: []string{"custom_location", "on", "location", "/srv/a\x00b"}, field: "location", msg: "can't hold"},
		{name: "location fine", form: []string{"custom_location", "on", "location", "/var/lib/hybridsync"}},
		{name: "location surrounding spaces trimmed", form: []string{"custom_location", "on", "location", "  /var/lib/hs  "}},

		// SQL Server.
		{name: "sql valid", form: sqlForm()},
		{name: "sql ipv4", form: sqlForm("sql_server", "10.0.0.5")},
		{name: "sql ipv6", form: sqlForm("sql_server", "::1")},
		{name: "sql ipv6 bracketed", form: sqlForm("sql_server", "[fe80::1]")},
		{name: "sql single label", form: sqlForm("sql_server", "SQL01")},
		{name: "sql trailing dot", form: sqlForm("sql_server", "sql01.contoso.com.")},
		{name: "sql host empty", form: sqlForm("sql_server", ""), field: "sql_server", msg: "Enter the SQL Server's host"},
		{name: "sql host with instance", form: sqlForm("sql_server", `SQL01\SQLEXPRESS`), field: "sql_server", msg: "Instance name"},
		{name: "sql host with port", form: sqlForm("sql_server", "SQL01,1433"), field: "sql_server", msg: "Instance name"},
		{name: "sql host underscore", form: sqlForm("sql_server", "sql_01"), field: "sql_server", msg: "not a valid host name"},
		{name: "sql host leading hyphen", form: sqlForm("sql_server", "-sql"), field: "sql_server", msg: "not a valid host name"},
		{name: "sql host empty label", form: sqlForm("sql_server", "a..b"), field: "sql_server", msg: "not a valid host name"},
		{name: "sql host non-ascii", form: sqlForm("sql_server", "sqlé.contoso.com"), field: "sql_server", msg: "not a valid host name"},
		{name: "sql host label too long", form: sqlForm("sql_server", strings.Repeat("a", 64)+".com"), field: "sql_server", msg: "not a valid host name"},
		{name: "sql host too long", form: sqlForm("sql_server", strings.Repeat("abcdefgh.", 29)+"com"), field: "sql_server", msg: "253"},
		{name: "sql default instance", form: sqlForm("sql_instance", "")},
		{name: "sql instance with port", form: sqlForm("sql_instance", "SQLEXPRESS,1533")},
		{name: "sql port only", form: sqlForm("sql_instance", ",1533")},
		{name: "sql instance port zero", form: sqlForm("sql_instance", "SQLEXPRESS,0"), field: "sql_instance", msg: "port number"},
		{name: "sql instance port too big", form: sqlForm("sql_instance", "SQLEXPRESS,65536"), field: "sql_instance", msg: "port number"},
		{name: "sql instance port text", form: sqlForm("sql_instance", "SQLEXPRESS,abc"), field: "sql_instance", msg: "port number"},
		{name: "sql instance port missing", form: sqlForm("sql_instance", "SQLEXPRESS,"), field: "sql_instance", msg: "port number"},
		{name: "sql instance starts with digit", form: sqlForm("sql_instance", "1SQL"), field: "sql_instance", msg: "starts with a letter"},
		{name: "sql instance too long", form: sqlForm("sql_instance", strings.Repeat("S", 17)), field: "sql_instance", msg: "16 characters"},
		{name: "sql instance backslash", form: sqlForm("sql_instance", `SQL\X`), field: "sql_instance", msg: "starts with a letter"},
		{name: "sql database empty", form: sqlForm("sql_database", ""), field: "sql_database", msg: "Enter the name"},
		{name: "sql database hyphen", form: sqlForm("sql_database", "hybrid-sync"), field: "sql_database", msg: "starts with a letter"},
		{name: "sql database digit first", form: sqlForm("sql_database", "1db"), field: "sql_database", msg: "starts with a letter"},
		{name: "sql database bracket", form: sqlForm("sql_database", "db]x"), field: "sql_database", msg: "starts with a letter"},
		{name: "sql database symbols", form: sqlForm("sql_database", "_db@1$#")},
		{name: "sql database too long", form: sqlForm("sql_database", strings.Repeat("d", 129)), field: "sql_database", msg: "128"},
		{name: "sql dbo", form: sqlForm("sql_permission", "dbo")},
		{name: "sql permission missing", form: sqlForm("sql_permission", ""), field: "sql_permission", msg: "(SA)"},
		{name: "sql permission unknown", form: sqlForm("sql_permission", "owner"), field: "sql_permission", msg: "(DBO)"},
		{name: "sql login empty", form: sqlForm("sql_login", ""), field: "sql_login", msg: "Enter the SQL login"},
		{name: "sql login windows", form: sqlForm("sql_login", `CONTOSO\svc`), field: "sql_login", msg: "Windows authentication"},
		{name: "sql password empty", form: sqlForm("sql_password", ""), field: "sql_password", msg: "password"},

		// Service account.
		{name: "managed netbios", form: []string{"use_service_account", "on", "service_account_type", "managed", "service_account_name", `CONTOSO\hybridsync$`}},
		{name: "managed upn", form: []string{"use_service_account", "on", "service_account_type", "managed", "service_account_name", "hybridsync$@contoso.com"}},
		{name: "managed without $", form: []string{"use_service_account", "on", "service_account_type", "managed", "service_account_name", `CONTOSO\hybridsync`},
			field: "service_account_name", msg: "ends with $"},
		{name: "managed without domain", form: []string{"use_service_account", "on", "service_account_type", "managed", "service_account_name", "hybridsync$"},
			field: "service_account_name", msg: "Include the domain"},
		{name: "managed empty domain", form: []string{"use_service_account", "on", "service_account_type", "managed", "service_account_name", `\hybridsync$`},
			field: "service_account_name", msg: "DOMAIN\\name"},
		{name: "dot domain", form: []string{"use_service_account", "on", "service_account_type", "managed", "service_account_name", `.\hybridsync$`},
			field: "service_account_name", msg: "DOMAIN\\name"},
		{name: "empty user", form: []string{"use_service_account", "on", "service_account_type", "domain", "service_account_name", `CONTOSO\`, "service_account_password", "x"},
			field: "service_account_name", msg: "DOMAIN\\name"},
		{name: "bad character in user", form: []string{"use_service_account", "on", "service_account_type", "domain", "service_account_name", `CONTOSO\a*b`, "service_account_password", "x"},
			field: "service_account_name", msg: "DOMAIN\\name"},
		{name: "account name empty", form: []string{"use_service_account", "on", "service_account_type", "domain", "service_account_password", "x"},
			field: "service_account_name", msg: "Enter the account"},
		{name: "domain account", form: []string{"use_service_account", "on", "service_account_type", "domain", "service_account_name", `CONTOSO\svc-sync`, "service_account_password", "pw"}},
		{name: "domain account upn", form: []string{"use_service_account", "on", "service_account_type", "domain", "service_account_name", "svc@contoso.com", "service_account_password", "pw"}},
		{name: "domain account no password", form: []string{"use_service_account", "on", "service_account_type", "domain", "service_account_name", `CONTOSO\svc`},
			field: "service_account_password", msg: "password"},
		{name: "domain account ending $", form: []string{"use_service_account", "on", "service_account_type", "domain", "service_account_name", `CONTOSO\svc$`, "service_account_password", "pw"},
			field: "service_account_name", msg: "managed service accounts"},
		{name: "domain account without domain", form: []string{"use_service_account", "on", "service_account_type", "domain", "service_account_name", "svc", "service_account_password", "pw"},
			field: "service_account_name", msg: "Include the domain"},
		{name: "account type missing", form: []string{"use_service_account", "on", "service_account_name", `CONTOSO\svc`},
			field: "service_account_type", msg: "managed service account or a domain account"},

		// Custom sync groups.
		{name: "groups valid", form: groupsForm("HSAdmins", "HSOperators", "HS Browse", "HS.PasswordSet")},
		{name: "group empty", form: groupsForm("HSAdmins", "", "HSBrowse", "HSPw"), field: "group_operators", msg: "Enter a group name."},
		{name: "group netbios domain", form: groupsForm(`CONTOSO\x`, "b", "c", "d"), field: "group_admins", msg: MsgGroupsLocal, exact: true},
		{name: "group upn domain", form: groupsForm("a", "b", "x@y", "d"), field: "group_browse", msg: MsgGroupsLocal, exact: true},
		{name: "group duplicate", form: groupsForm("Sync", "Other", "Sync", "Last"), field: "group_browse", msg: "already used for Administrators"},
		{name: "group duplicate other case", form: groupsForm("a", "b", "c", "A"), field: "group_passwordset", msg: "already used for Administrators"},
		{name: "group forbidden character", form: groupsForm("a", "b", "c", "d|e"), field: "group_passwordset", msg: "can't contain any of"},
		{name: "group forbidden bracket", form: groupsForm("a[1]", "b", "c", "d"), field: "group_admins", msg: "can't contain any of"},
		{name: "group dots and spaces", form: groupsForm("a", " . . ", "c", "d"), field: "group_operators", msg: "only of dots and spaces"},
		{name: "group control character", form: groupsForm("a", "b\tc", "c", "d"), field: "group_operators", msg: "control characters"},
		{name: "group too long", form: groupsForm("a", "b", strings.Repeat("g", 257), "d"), field: "group_browse", msg: "256"},
		{name: "group 256 runes is fine", form: groupsForm("a", "b", strings.Repeat("é", 256), "d")},

		// Import.
		{name: "import without a file", form: []string{"import_settings", "on"}, field: "settings_file", msg: "Choose a settings file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Defaults()
			errs := validateForm(&a, form(tt.form...))
			if tt.field == "" && tt.msg == "" {
				if len(errs) != 0 {
					t.Fatalf("unexpected errors: %v", errs)
				}
				return
			}
			got, ok := errs[tt.field]
			if !ok {
				t.Fatalf("no error on %q; errors: %v", tt.field, errs)
			}
			if tt.exact && got != tt.msg || !tt.exact && !strings.Contains(got, tt.msg) {
				t.Errorf("%s: %q, want %q", tt.field, got, tt.msg)
			}
			if len(errs) != 1 {
				t.Errorf("more errors than the one expected: %v", errs)
			}
		})
	}
}

func TestComponentsSavedPasswordsCount(t *testing.T) {
	// A password saved earlier (sealed) satisfies the rule without being typed again.
	a := Defaults()
	a.Components.SQLPassword = "sealed:v1:xxx"
	a.Components.ServiceAccountPassword = "sealed:v1:yyy"
	f := form(append(sqlForm("sql_password", ""), "use_service_account", "on", "service_account_type", "domain",
		"service_account_name", `CONTOSO\svc`)...)
	if errs := validateForm(&a, f); len(errs) != 0 {
		t.Fatalf("saved passwords were not counted: %v", errs)
	}
	if a.Components.SQLPassword != "sealed:v1:xxx" || a.Components.ServiceAccountPassword != "sealed:v1:yyy" {
		t.Fatal("binding an empty password field dropped the saved one")
	}
}

func TestComponentsBindKeepsInput(t *testing.T) {
	a := Defaults()
	f := form("custom_location", "on", "location", "  /srv/hs  ", "sql_password", "  spaced pw  ", "custom_groups", "yes",
		"group_admins", " Admins ", "use_sql", "true", "sql_trust_cert", "1", "sql_server", "x")
	componentsPage.Bind(&a, f)
	c := a.Components
	if !c.CustomLocation || c.Location != "/srv/hs" || !c.CustomGroups || c.GroupNames["admins"] != "Admins" || !c.UseSQLServer || !c.SQLTrustCert {
		t.Fatalf("bound %+v", c)
	}
	if c.newSQLPassword != "  spaced pw  " {
		t.Fatalf("a password keeps its spaces; got %q", c.newSQLPassword)
	}
	if notes := componentsPage.Notices(&a); len(notes) != 1 || !strings.Contains(notes[0].Text, "certificate") {
		t.Errorf("trust-certificate notice: %v", notes)
	}
	a.Components.UseServiceAccount, a.Components.SQLPermission = true, PermissionDBO
	if notes := componentsPage.Notices(&a); len(notes) != 2 || !strings.Contains(notes[0].Text, "DBO") {
		t.Errorf("DBO service-account notice: %v", notes)
	}
}

func TestComponentsImport(t *testing.T) {
	exp := NewExport(Answers{
		SignIn:     SignIn{Method: MethodPTA, SSO: true},
		Features:   Features{PasswordHashSync: true, GroupWriteback: true},
		Ready:      Ready{Staging: true},
		Components: Components{CustomGroups: true, GroupNames: map[string]string{"admins": "SyncAdmins"}},
	}, ExportSource{InstallID: "old"}, "alice", "/var/lib/hs", time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	good, err := json.Marshal(exp)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		file    *Upload
		prior   *Imported
		extra   []string
		wantErr string
	}{
		{name: "good file", file: &Upload{Name: "settings.json", Data: good}},
		{name: "not json", file: &Upload{Name: "x.json", Data: []byte("hello")}, wantErr: "not valid JSON"},
		{name: "empty file", file: &Upload{Name: "x.json", Data: nil}, wantErr: "empty"},
		{name: "imported earlier, no new file", prior: &Imported{FileName: "earlier.json"}},
		{name: "good file but another error", file: &Upload{Name: "settings.json", Data: good}, extra: []string{"custom_location", "on"}, wantErr: "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Defaults()
			a.Components.Imported = tt.prior
			f := form(append([]string{"import_settings", "on"}, tt.extra...)...)
			f.File = tt.file
			errs := validateForm(&a, f)
			switch {
			case tt.wantErr == "-":
				// A browser can't refill a file input, so a good file is applied
				// even when another field has an error.
				if _, ok := errs["location"]; !ok || a.Components.Imported == nil || a.Components.Imported.FileName != "settings.json" {
					t.Fatalf("with other errors the file must still be applied: %v, %+v", errs, a.Components.Imported)
				}
			case tt.wantErr != "":
				if !strings.Contains(errs["settings_file"], tt.wantErr) {
					t.Fatalf("settings_file error %q, want %q", errs["settings_file"], tt.wantErr)
				}
			case len(errs) != 0:
				t.Fatalf("errors: %v", errs)
			case tt.file != nil:
				want := &Imported{FileName: "settings.json", ExportedAt: "2025-01-02T03:04:05Z", ExportedBy: "alice", Version: ProductVersion}
				if !reflect.DeepEqual(a.Components.Imported, want) {
					t.Errorf("Imported = %+v, want %+v", a.Components.Imported, want)
				}
				if a.SignIn != (SignIn{Method: MethodPTA, SSO: true}) || !a.Ready.Staging || !a.Features.GroupWriteback {
					t.Errorf("the file's settings were not applied: %+v", a)
				}
				if a.Components.GroupName("admins") != "SyncAdmins" || a.Components.GroupName("browse") != "ADSyncBrowse" {
					t.Errorf("groups: %v", a.Components.SyncGroupNames())
				}
			}
		})
	}
}

func TestParseInstance(t *testing.T) {
	tests := []struct {
		in       string
		name     string
		port     int
		wantsErr bool
	}{
		{"", "", 0, false},
		{"SQLEXPRESS", "SQLEXPRESS", 0, false},
		{"SQLEXPRESS,1533", "SQLEXPRESS", 1533, false},
		{"SQLEXPRESS , 1533", "SQLEXPRESS", 1533, false},
		{",1533", "", 1533, false},
		{"_inst$1", "_inst$1", 0, false},
		{"SQLEXPRESS,", "", 0, true},
		{"SQLEXPRESS,0", "", 0, true},
		{"SQLEXPRESS,65535", "SQLEXPRESS", 65535, false},
		{"SQLEXPRESS,65536", "", 0, true},
		{"SQLEXPRESS,-1", "", 0, true},
		{"SQLEXPRESS,1,2", "", 0, true},
		{"$X", "", 0, true},
		{"1X", "", 0, true},
		{"X-Y", "", 0, true},
		{"ÉX", "", 0, true},
		{strings.Repeat("A", 16), strings.Repeat("A", 16), 0, false},
		{strings.Repeat("A", 17), "", 0, true},
	}
	for _, tt := range tests {
		name, port, msg := ParseInstance(tt.in)
		if (msg != "") != tt.wantsErr || name != tt.name || port != tt.port {
			t.Errorf("ParseInstance(%q) = %q, %d, %q; want %q, %d, error %v", tt.in, name, port, msg, tt.name, tt.port, tt.wantsErr)
		}
	}
}

func TestGroupNamesAndDescribe(t *testing.T) {
	c := Components{}
	want := map[string]string{"admins": "ADSyncAdmins", "operators": "ADSyncOperators", "browse": "ADSyncBrowse", "passwordset": "ADSyncPasswordSet"}
	if got := c.SyncGroupNames(); !reflect.DeepEqual(got, want) {
		t.Errorf("defaults: %v", got)
	}
	// Names typed while custom groups were off are not used.
	c.GroupNames = map[string]string{"admins": "X"}
	if got := c.SyncGroupNames()["admins"]; got != "ADSyncAdmins" {
		t.Errorf("custom names used while custom groups is off: %s", got)
	}
	c.CustomGroups = true
	if got := c.SyncGroupNames()["admins"]; got != "X" {
		t.Errorf("custom name not used: %s", got)
	}
	tests := []struct {
		c    Components
		want string
	}{
		{Components{}, "Embedded LocalDB (SQLite) at /data/hybridsync.db"},
		{Components{CustomLocation: true, Location: "/srv/hs"}, "Embedded LocalDB (SQLite) at /srv/hs/hybridsync.db"},
		{Components{UseSQLServer: true, SQLServer: "sql01", SQLDatabase: "HS", SQLPermission: "dbo"}, "SQL Server sql01 (default instance), database HS, database owner (DBO) permissions"},
		{Components{UseSQLServer: true, SQLServer: "sql01", SQLInstance: "I,1", SQLDatabase: "HS", SQLPermission: "sa"}, "SQL Server sql01 (I,1), database HS, SQL Server administrator (SA) permissions"},
	}
	for _, tt := range tests {
		if got := tt.c.Describe("/data"); got != tt.want {
			t.Errorf("Describe = %q, want %q", got, tt.want)
		}
	}
}
