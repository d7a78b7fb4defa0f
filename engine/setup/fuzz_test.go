package setup

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/engine/auth"
)

// componentFields are the components page's fields, in the order the fuzz
// function takes them.
var componentFields = []string{"location", "sql_server", "sql_instance", "sql_database", "sql_permission", "sql_login",
	"sql_password", "service_account_type", "service_account_name", "service_account_password",
	"group_admins", "group_operators", "group_browse", "group_passwordset"}

var componentBoxes = []string{"custom_location", "use_sql", "sql_trust_cert", "use_service_account", "custom_groups", "import_settings"}

// errorFields are every key validateComponents may report.
var errorFields = map[string]bool{"location": true, "sql_server": true, "sql_instance": true, "sql_database": true,
	"sql_permission": true, "sql_login": true, "sql_password": true, "service_account_type": true, "service_account_name": true,
	"service_account_password": true, "group_admins": true, "group_operators": true, "group_browse": true,
	"group_passwordset": true, "settings_file": true}

func FuzzComponentsForm(f *testing.F) {
	good, _ := json.Marshal(sampleExport())
	seeds := []struct {
		v     [14]string
		boxes uint8
		file  []byte
	}{
		{[14]string{}, 0, nil},
		{[14]string{"/var/lib/hybridsync", "sql01.contoso.com", "SQLEXPRESS,1533", "HybridSync", "sa", "hs", "pw", "managed", `CONTOSO\hs$`, "",
			"A", "B", "C", "D"}, 0xff, good},
		{[14]string{"relative", "[::1]", ",1433", "1db", "dbo", `DOM\x`, "", "domain", "svc@contoso.com", "pw",
			`CONTOSO\x`, "x@y", "a", "A"}, 0x1f, []byte("{")},
		{[14]string{"/proc/x", "-bad-", "S,99999", "", "", "", "", "", "", "", "", "", "", ""}, 0x3f, nil},
		{[14]string{"/\x00", "a..b", "ÉX", "db]", "x", "", "", "x", "x", "", " . ", "a\tb", strings.Repeat("é", 300), "|"}, 0x3f, []byte("null")},
	}
	for _, s := range seeds {
		f.Add(s.v[0], s.v[1], s.v[2], s.v[3], s.v[4], s.v[5], s.v[6], s.v[7], s.v[8], s.v[9], s.v[10], s.v[11], s.v[12], s.v[13], s.boxes, s.file)
	}
	f.Fuzz(func(t *testing.T, v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13 string, boxes uint8, file []byte) {
		vals := url.Values{}
		for i, v := range []string{v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10, v11, v12, v13} {
			vals.Set(componentFields[i], v)
		}
		for i, name := range componentBoxes {
			if boxes&(1<<i) != 0 {
				vals.Set(name, "on")
			}
		}
		fm := Form{Values: vals}
		if boxes&0x80 != 0 {
			fm.File = &Upload{Name: "settings.json", Data: file}
		}
		a := Defaults()
		componentsPage.Bind(&a, fm)
		errs := componentsPage.Validate(context.Background(), &a, nil)
		for field, msg := range errs {
			if !errorFields[field] || msg == "" {
				t.Fatalf("error on unknown field %q: %q", field, msg)
			}
		}
		// What binds and validates must also describe, notice, summarise and
		// seal without trouble.
		_ = componentsPage.Notices(&a)
		_ = Summary(a, "/data")
		c := a.Components
		if len(errs) != 0 {
			return
		}
		if c.UseSQLServer {
			u, err := url.Parse(c.SQLServerDSN("pw", c.SQLDatabase))
			if err != nil {
				t.Fatalf("a valid form makes an unparsable DSN: %v", err)
			}
			if strings.Trim(u.Hostname(), "[]") != strings.Trim(c.SQLServer, "[]") {
				t.Fatalf("DSN host %q, server %q", u.Hostname(), c.SQLServer)
			}
		}
		if c.CustomGroups || c.Imported != nil {
			seen := map[string]bool{}
			for _, r := range auth.Roles {
				n := strings.ToLower(c.GroupName(r))
				if checkGroupName(c.GroupName(r)) != "" || seen[n] {
					t.Fatalf("accepted group names %v", c.SyncGroupNames())
				}
				seen[n] = true
			}
		}
		if c.CustomLocation && checkPath(c.Location) != "" {
			t.Fatalf("accepted location %q", c.Location)
		}
	})
}

func FuzzParseExport(f *testing.F) {
	good, _ := json.Marshal(sampleExport())
	f.Add(good)
	f.Add([]byte(`{"format":"hybridsync-settings","version":1,"settings":{"signIn":{"method":"none"},"syncGroups":{"admins":"A","browse":"a"}}}`))
	f.Add([]byte(`{"format":"hybridsync-settings","version":1,"settings":{"signIn":{"method":"pass-through","sso":true},"features":{"requires":[]},"syncGroups":null}}`))
	f.Add([]byte(`{"format":"hybridsync-settings","version":2}`))
	f.Add([]byte(`{"format":"hybridsync-settings","version":1} {}`))
	f.Add([]byte(`{"format":"hybridsync-settings","version":1,"settings":{"signIn":{"method":"federation-adfs","sso":true}}}`))
	f.Add([]byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := ParseExport(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error message")
			}
			return
		}
		// Any accepted export round-trips: written again, it reads back the same.
		b1, err := json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		y, err := ParseExport(b1)
		if err != nil {
			t.Fatalf("an accepted export, written again, is refused: %v\n%s", err, b1)
		}
		b2, _ := json.Marshal(y)
		if !bytes.Equal(b1, b2) {
			t.Fatalf("round trip changed the export:\n%s\n%s", b1, b2)
		}
		// And it applies to answers that the pages then accept.
		a := Defaults()
		x.ApplyTo(&a)
		if errs := validateSignIn(a.SignIn); len(errs) != 0 {
			t.Fatalf("applied sign-in fails its page: %v", errs)
		}
		if errs := validateFeatures(&a); len(errs) != 0 {
			t.Fatalf("applied features fail their page: %v", errs)
		}
		seen := map[string]bool{}
		for _, r := range auth.Roles {
			n := a.Components.GroupName(r)
			if msg := checkGroupName(n); msg != "" || seen[strings.ToLower(n)] {
				t.Fatalf("applied groups fail the components page: %v", a.Components.SyncGroupNames())
			}
			seen[strings.ToLower(n)] = true
		}
		_ = NewExport(a, x.Source, "fuzz", "/data", time.Unix(0, 0))
	})
}
