package directory_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/hybridsync/hybridsync/e2e/forest"
	"github.com/hybridsync/hybridsync/engine/directory"
)

func TestLiveFindComputer(t *testing.T) {
	corp, _ := forests(t)
	c := dialAdmin(t, corp)
	l := forest.LayoutOf(corp)
	ctx := testCtx(t)
	tests := []struct {
		host   string
		wantDN string // "" = not found
	}{
		{"srv01." + corp.Name, "CN=SRV01,CN=Computers," + corp.BaseDN},
		{"SRV01." + strings.ToUpper(corp.Name), "CN=SRV01,CN=Computers," + corp.BaseDN},
		{"srv01", "CN=SRV01,CN=Computers," + corp.BaseDN},
		{"WS001", "CN=WS001," + l.WorkstationsOU},
		{"ws001." + corp.Name, "CN=WS001," + l.WorkstationsOU},
		{"nohost", ""},
		{"nohost." + corp.Name, ""},
		{"srv01.elsewhere.example.test", ""},
	}
	for _, tc := range tests {
		dn, found, err := c.FindComputer(ctx, tc.host)
		if err != nil {
			t.Errorf("FindComputer(%q): %v", tc.host, err)
			continue
		}
		if found != (tc.wantDN != "") || !strings.EqualFold(dn, tc.wantDN) {
			t.Errorf("FindComputer(%q) = %q, %v; want %q", tc.host, dn, found, tc.wantDN)
		}
	}
	for _, bad := range []string{"", "a b", "srv01..corp", "x*"} {
		if _, _, err := c.FindComputer(ctx, bad); !errors.Is(err, directory.ErrInvalidInput) {
			t.Errorf("FindComputer(%q) err = %v, want ErrInvalidInput", bad, err)
		}
	}
}

func TestLiveSPNOwners(t *testing.T) {
	corp, _ := forests(t)
	c := dialAdmin(t, corp)
	ctx := testCtx(t)
	l := forest.LayoutOf(corp)
	fs := fmt.Sprintf("sts-%d.%s", time.Now().UnixNano(), corp.Name)
	spns := directory.FederationSPNs(fs)
	if spns[0] != "HOST/"+fs || spns[1] != "HTTP/"+fs {
		t.Fatalf("FederationSPNs(%q) = %v", fs, spns)
	}

	got, err := c.SPNOwners(ctx, spns...)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("fresh name %s: owners %v, want none", fs, got)
	}

	raw, err := corp.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() }) // after the cleanups below
	owner := l.UserDN(7)
	// Held in lower case: AD matches SPNs case-insensitively, so must SPNOwners.
	held := strings.ToLower(spns[0])
	add := ldap.NewModifyRequest(owner, nil)
	add.Add("servicePrincipalName", []string{held})
	if err := raw.Modify(add); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		del := ldap.NewModifyRequest(owner, nil)
		del.Delete("servicePrincipalName", []string{held})
		if err := raw.Modify(del); err != nil {
			t.Errorf("clean up the SPN: %v", err)
		}
	})
	got, err = c.SPNOwners(ctx, spns...)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[spns[0]]) != 1 || !strings.EqualFold(got[spns[0]][0], owner) {
		t.Errorf("SPNOwners(%v) = %v, want %s holding %s", spns, got, owner, spns[0])
	}
}

func TestLiveKDSRootKeys(t *testing.T) {
	corp, _ := forests(t)
	c := dialAdmin(t, corp)
	ctx := testCtx(t)
	st, err := c.KDSRootKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Samba forest %s: schema has %s: %v; keys: %v", corp.Name, "msKds-ProvRootKey", st.SchemaHasKDS, st.Keys)
	if !st.SchemaHasKDS {
		if len(st.Keys) != 0 {
			t.Errorf("no KDS class in the schema, yet keys %v", st.Keys)
		}
		t.Skip("the forest's schema has no msKds-ProvRootKey class (Samba 4.17): no key can be created here")
	}
	if len(st.Keys) == 0 && st.Usable(time.Now()) {
		t.Errorf("Usable with no keys")
	}
	fi, err := c.Forest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := corp.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() }) // after the cleanups below
	container := "CN=Master Root Keys,CN=Group Key Distribution Service,CN=Services," + fi.ConfigurationNC
	id := "8e1f2c3a-4b5d-4e6f-8a9b-0c1d2e3f4a5b"
	dn := "CN=" + id + "," + container
	created := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	usable := created.Add(-10 * time.Hour)
	ft := func(t time.Time) string { return fmt.Sprint(t.UnixNano()/100 + 116444736000000000) }
	// Samba 4.17 has the class but not the container: make it (and its
	// parent) as Administrator, as the first Add-KdsRootKey would.
	for _, p := range []string{"CN=Group Key Distribution Service,CN=Services," + fi.ConfigurationNC, container} {
		a := ldap.NewAddRequest(p, nil)
		a.Attribute("objectClass", []string{"container"})
		err := raw.Add(a)
		if err == nil {
			t.Logf("created %s", p)
			t.Cleanup(func() { _ = raw.Del(ldap.NewDelRequest(p, nil)) })
		} else if !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
			t.Fatalf("create %s: %v", p, err)
		}
	}
	a := ldap.NewAddRequest(dn, nil)
	a.Attribute("objectClass", []string{"msKds-ProvRootKey"})
	a.Attribute("msKds-CreateTime", []string{ft(created)})
	a.Attribute("msKds-UseStartTime", []string{ft(usable)})
	// The class's mandatory attributes, with the values Add-KdsRootKey writes.
	a.Attribute("msKds-DomainID", []string{"CN=" + strings.ToUpper(corp.Spec.HostName) + ",OU=Domain Controllers," + corp.BaseDN})
	a.Attribute("msKds-Version", []string{"1"})
	a.Attribute("msKds-KDFAlgorithmID", []string{"SP800_108_CTR_HMAC"})
	a.Attribute("msKds-SecretAgreementAlgorithmID", []string{"DH"})
	a.Attribute("msKds-PrivateKeyLength", []string{"512"})
	a.Attribute("msKds-PublicKeyLength", []string{"2048"})
	a.Attribute("msKds-RootKeyData", []string{strings.Repeat("k", 64)})
	if err := raw.Add(a); err != nil {
		t.Skipf("the schema has the KDS class but this forest refuses a hand-made key (%v)", err)
	}
	t.Cleanup(func() { _ = raw.Del(ldap.NewDelRequest(dn, nil)) })
	st, err = c.KDSRootKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var hit *directory.KDSKey
	for i := range st.Keys {
		if strings.EqualFold(st.Keys[i].ID, id) {
			hit = &st.Keys[i]
		}
	}
	if hit == nil {
		t.Fatalf("key %s not found in %v", id, st.Keys)
	}
	if !hit.Created.Equal(created) || !hit.UsableFrom.Equal(usable) {
		t.Errorf("key times = %v / %v, want %v / %v", hit.Created, hit.UsableFrom, created, usable)
	}
	if len(st.Keys) == 1 && (!st.Usable(usable) || st.Usable(usable.Add(-time.Second))) {
		t.Errorf("Usable around %v: at %v, before %v", usable, st.Usable(usable), st.Usable(usable.Add(-time.Second)))
	}
}

func TestLiveFindAccount(t *testing.T) {
	corp, _ := forests(t)
	c := dialAdmin(t, corp)
	ctx := testCtx(t)
	l := forest.LayoutOf(corp)
	tests := []struct {
		name   string
		wantDN string
	}{
		{corp.NetBIOS + `\` + forest.SvcSyncSAM, l.SvcSyncDN},
		{strings.ToLower(corp.NetBIOS) + `\` + forest.SvcSyncSAM, l.SvcSyncDN},
		{corp.Name + `\` + forest.SvcSyncSAM, l.SvcSyncDN},
		{l.SvcSyncUPN, l.SvcSyncDN},
		{forest.SvcSyncSAM, l.SvcSyncDN},
		{corp.NetBIOS + `\nobody-here`, ""},
		{`adfs-gmsa$`, ""},
		// A computer is neither a user nor a gMSA.
		{`SRV01$`, ""},
	}
	for _, tc := range tests {
		dn, class, found, err := c.FindAccount(ctx, tc.name)
		if err != nil {
			t.Errorf("FindAccount(%q): %v", tc.name, err)
			continue
		}
		if found != (tc.wantDN != "") || !strings.EqualFold(dn, tc.wantDN) {
			t.Errorf("FindAccount(%q) = %q, %v; want %q", tc.name, dn, found, tc.wantDN)
		}
		if found && class != directory.ClassUser {
			t.Errorf("FindAccount(%q) class = %q, want %q", tc.name, class, directory.ClassUser)
		}
	}
	if _, _, _, err := c.FindAccount(ctx, `NOSUCH\svc-sync`); !errors.Is(err, directory.ErrWrongDomain) {
		t.Errorf("unknown NetBIOS domain: err = %v, want ErrWrongDomain", err)
	}
	if _, _, _, err := c.FindAccount(ctx, `CORP\a*b`); !errors.Is(err, directory.ErrInvalidInput) {
		t.Errorf("wildcard name: err = %v, want ErrInvalidInput", err)
	}
}

func TestLiveCheckPassword(t *testing.T) {
	corp, _ := forests(t)
	ctx := testCtx(t)
	l := forest.LayoutOf(corp)
	tg := target(t, corp, directory.LDAPS)
	if err := directory.CheckPassword(ctx, tg, corp.NetBIOS+`\`+forest.SvcSyncSAM, forest.SvcSyncPassword); err != nil {
		t.Errorf("right password: %v", err)
	}
	if err := directory.CheckPassword(ctx, tg, l.SvcSyncUPN, forest.SvcSyncPassword); err != nil {
		t.Errorf("right password (UPN): %v", err)
	}
	err := directory.CheckPassword(ctx, tg, l.SvcSyncUPN, forest.SvcSyncPassword+"x")
	de := asError(t, err)
	if !errors.Is(err, directory.ErrBadCredentials) || de.Msg != "The user name or password is incorrect." {
		t.Errorf("wrong password: %q (%v)", de.Msg, de.Err)
	}
	if strings.Contains(de.Msg, forest.SvcSyncPassword) || strings.Contains(de.Detail(), forest.SvcSyncPassword) {
		t.Errorf("the error carries the password: %q / %q", de.Msg, de.Detail())
	}
	if err := directory.CheckPassword(ctx, tg, l.SvcSyncUPN, ""); !errors.Is(err, directory.ErrInvalidInput) {
		t.Errorf("empty password: %v, want ErrInvalidInput", err)
	}
}
