package setup

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/engine/secret"
)

func TestValidateDraft(t *testing.T) {
	good := []string{"forest", "corp.example.test", "security", "ldaps", "account", "existing", "user", `CORP\svc`, "password", "pw"}
	with := func(kv ...string) []string {
		out := append([]string(nil), good...)
		for i := 0; i < len(kv); i += 2 {
			for j := 0; j < len(out); j += 2 {
				if out[j] == kv[i] {
					out[j+1] = kv[i+1]
				}
			}
		}
		return out
	}
	tests := []struct {
		name  string
		form  []string
		field string
		want  string
	}{
		{"good", good, "", ""},
		{"UPN", with("user", "svc@corp.example.com"), "", ""},
		{"FQDN domain", with("user", `corp.example.test\svc`), "", ""},
		{"no forest", with("forest", ""), "forest", "Enter the forest's DNS name"},
		{"NetBIOS for forest", with("forest", "CORP"), "forest", "not its NetBIOS name"},
		{"bad DNS name", with("forest", "corp..test"), "forest", "not a valid DNS name"},
		{"explicit host", with("forest", "corp.example.test"), "", ""},
		{"bad port", append(with(), "host", "dc1:abc"), "host", "port number"},
		{"no security", with("security", ""), "security", "Choose how to protect"},
		{"no account choice", with("account", "maybe"), "account", "Choose Create new account"},
		{"user without domain", with("user", "svc"), "user", "Include the domain"},
		{"empty user part", with("user", `CORP\`), "user", "Enter the account as"},
		{"no password", with("password", ""), "password", "Enter the password."},
		{"not a PEM", append(with(), "ca_pem", "hello"), "ca_pem", "PEM"},
		{"create over plain LDAP", with("account", "create", "security", "insecure"), "security", "only over LDAPS or StartTLS"},
		{"existing over plain LDAP", with("security", "insecure"), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Defaults()
			directoriesPage.Bind(&a, form(tt.form...))
			e := validateDraft(a.Directories.Draft)
			if tt.field == "" {
				if len(e) != 0 {
					t.Fatalf("errors %v", e)
				}
				return
			}
			if !strings.Contains(e[tt.field], tt.want) {
				t.Fatalf("%s: %q, want %q (all: %v)", tt.field, e[tt.field], tt.want, e)
			}
		})
	}
}

func TestDirectoriesNeedsAForest(t *testing.T) {
	a := Defaults()
	if e := directoriesPage.Validate(context.Background(), &a, nil); e[""] != MsgNoForest {
		t.Fatalf("%v", e)
	}
	a.Directories.Forests = []ForestConn{{Forest: "corp.example.test", Account: AccountExisting, ConnectorUser: `CORP\svc`}}
	if e := directoriesPage.Validate(context.Background(), &a, nil); len(e) != 0 {
		t.Fatalf("%v", e)
	}
}

// A forest added with "create new account" needs its enterprise admin
// credentials in memory until Configure; after a restart they are gone.
func TestDirectoriesCreateNeedsCredentialsInMemory(t *testing.T) {
	v := &Vault{}
	chk := &StoreChecker{Vault: v}
	a := Defaults()
	a.Directories.Forests = []ForestConn{{Forest: "corp.example.test", Account: AccountCreate}}
	if e := directoriesPage.Validate(context.Background(), &a, chk); e["forest-corp.example.test"] != MsgEAGone {
		t.Fatalf("%v", e)
	}
	v.Put("CORP.example.test.", ForestCredentials{User: `CORP\Administrator`, Password: "x"})
	if e := directoriesPage.Validate(context.Background(), &a, chk); len(e) != 0 {
		t.Fatalf("%v", e)
	}
	// Removing the forest forgets them.
	if e := actDirectories(context.Background(), &a, ActionRemoveForest+":corp.example.test", Form{}, chk); len(e) != 0 || len(a.Directories.Forests) != 0 {
		t.Fatalf("remove: %v %v", e, a.Directories.Forests)
	}
	if chk.HasAdminCredentials("corp.example.test") {
		t.Fatal("credentials kept after the forest was removed")
	}
}

func TestVaultExpires(t *testing.T) {
	v := &Vault{TTL: 50 * time.Millisecond}
	v.Put("a.test", ForestCredentials{User: "u", Password: "p"})
	if c, ok := v.Get("A.TEST"); !ok || c.Password != "p" {
		t.Fatal("not kept")
	}
	time.Sleep(80 * time.Millisecond)
	if _, ok := v.Get("a.test"); ok {
		t.Fatal("kept past its TTL")
	}
	var nilVault *Vault
	if _, ok := nilVault.Get("a.test"); ok {
		t.Fatal("a nil vault holds something")
	}
}

func TestAddForestRefusesDuplicates(t *testing.T) {
	a := Defaults()
	a.Directories.Forests = []ForestConn{{Forest: "corp.example.test"}}
	directoriesPage.Bind(&a, form("forest", "CORP.example.test", "security", "ldaps", "account", "existing", "user", `CORP\svc`, "password", "pw"))
	e := actDirectories(context.Background(), &a, ActionAddForest, Form{}, nil)
	if e["forest"] != MsgForestAdded {
		t.Fatalf("%v", e)
	}
	if a.Directories.Draft.Forest != "corp.example.test" {
		t.Fatalf("the draft was lost: %+v", a.Directories.Draft)
	}
}

func TestExchangeFeaturesFollowTheSchema(t *testing.T) {
	a := Defaults()
	// No forest yet: offered, with the dependency recorded.
	if ok, _ := FeatureOffered(&a, "group_writeback"); !ok {
		t.Fatal("refused before any forest is connected")
	}
	a.Directories.Forests = []ForestConn{{Forest: "corp.example.test", HasExchange: true}, {Forest: "fabrikam.example.test"}}
	// Exchange hybrid and public folders need Exchange in every forest.
	for _, f := range []string{"exchange_hybrid", "exchange_public_folders"} {
		ok, why := FeatureOffered(&a, f)
		if ok || !strings.Contains(why, "fabrikam.example.test") || strings.Contains(why, "corp.example.test") {
			t.Errorf("%s offered=%v why=%q", f, ok, why)
		}
	}
	// Group writeback writes into one forest with Exchange: corp is enough.
	if ok, why := FeatureOffered(&a, "group_writeback"); !ok {
		t.Errorf("group writeback refused with Exchange in corp: %q", why)
	}
	a.Directories.Forests[0].HasExchange = false
	if ok, why := FeatureOffered(&a, "group_writeback"); ok || !strings.Contains(why, "corp.example.test, fabrikam.example.test") {
		t.Errorf("group writeback without Exchange anywhere: offered=%v why=%q", ok, why)
	}
	if ok, _ := FeatureOffered(&a, "password_writeback"); !ok {
		t.Error("password writeback depends on Exchange")
	}
	a.Features.GroupWriteback = true
	if e := validateFeatures(&a); !strings.Contains(e["group_writeback"], "Exchange") {
		t.Errorf("%v", e)
	}
	a.Directories.Forests[1].HasExchange = true
	if e := validateFeatures(&a); len(e) != 0 {
		t.Errorf("%v", e)
	}
}

func TestSealForestPasswords(t *testing.T) {
	box := testBox(t)
	a := Defaults()
	a.Directories.Forests = []ForestConn{{Forest: "x.test", newPassword: "s3cret"}}
	a.Directories.Draft.password = "typed"
	if err := a.SealSecrets(box); err != nil {
		t.Fatal(err)
	}
	fc := a.Directories.Forests[0]
	if fc.newPassword != "" || a.Directories.Draft.password != "" || !strings.HasPrefix(fc.ConnectorPassword, "sealed:") {
		t.Fatalf("%+v", fc)
	}
	if got, _ := box.OpenFor(secret.ForestConnectorPassword(fc.Forest), fc.ConnectorPassword); got != "s3cret" {
		t.Fatal(got)
	}
	if !reflect.DeepEqual(a.Directories.Draft, ForestDraft{Security: SecurityLDAPS, Account: AccountCreate}) {
		t.Fatalf("%+v", a.Directories.Draft)
	}
}

func testBox(t *testing.T) *secret.Box {
	t.Helper()
	box, err := secret.New(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return box
}
