package connector_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/hybridsync/hybridsync/e2e/forest"
	"github.com/hybridsync/hybridsync/engine/connector"
	"github.com/hybridsync/hybridsync/engine/directory"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
)

// recordKnown reads corp's containers as Configure records them (as the
// connector account, lower case).
func recordKnown(t *testing.T, f *forest.Forest) []string {
	t.Helper()
	pem, err := os.ReadFile(f.CACertPEM)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := directory.Dial(ctx, directory.Target{Forest: f.Name, Host: f.IP, Security: directory.LDAPS, CAPEM: pem},
		forest.LayoutOf(f).SvcSyncUPN, forest.SvcSyncPassword)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dns, err := c.ContainerDNs(ctx, f.BaseDN)
	if err != nil {
		t.Fatal(err)
	}
	for i := range dns {
		dns[i] = strings.ToLower(dns[i])
	}
	return dns
}

// TestNewOUsNotSynchronized: with Sync all new OUs off, a user in an OU made
// after Configure recorded corp's containers is out of scope with the reason
// (by a full import and by a delta), one made at the same time in a known OU
// is in; with the option on, or once Configure recorded the OU again, both
// are in.
func TestNewOUsNotSynchronized(t *testing.T) {
	corp, _ := forests(t)
	ctx := context.Background()
	l := forest.LayoutOf(corp)
	known := recordKnown(t, corp) // "Configure"

	admin, err := corp.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	newOU := "OU=Created Later," + corp.BaseDN
	innerOU := "OU=Inner," + newOU
	newUser := "CN=New OU Hire," + newOU
	innerUser := "CN=Inner OU Hire," + innerOU
	deltaUser := "CN=New OU Delta," + newOU
	keptUser := "CN=Known OU Hire," + l.ServiceOU
	t.Cleanup(func() {
		for _, dn := range []string{newUser, innerUser, deltaUser, keptUser, innerOU, newOU} {
			_ = admin.Del(ldap.NewDelRequest(dn, nil))
		}
	})
	do := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	addOU := func(dn string) {
		a := ldap.NewAddRequest(dn, nil)
		a.Attribute("objectClass", []string{"organizationalUnit"})
		do("add "+dn, admin.Add(a))
	}
	addUser := func(dn, sam string) {
		a := ldap.NewAddRequest(dn, nil)
		a.Attribute("objectClass", []string{"user"})
		a.Attribute("sAMAccountName", []string{sam})
		a.Attribute("userPrincipalName", []string{sam + "@" + corp.Name})
		do("add "+dn, admin.Add(a))
	}
	addOU(newOU)
	addOU(innerOU)
	addUser(newUser, "newou-hire")
	addUser(innerUser, "newou-inner")
	addUser(keptUser, "newou-kept")

	answers := func(syncNew bool, known []string) setup.Answers {
		a := setup.Defaults()
		a.OUFiltering.SyncNewOUs = syncNew
		a.OUFiltering.Forests = map[string]setup.ForestFilter{corp.Name: {Known: known}}
		return a
	}
	reasonNew := fmt.Sprintf(connector.ReasonNewOU, newOU)
	type want struct {
		dn  string
		in  bool
		why string
	}
	check := func(t *testing.T, objs map[string]store.CSObject, wants []want) {
		t.Helper()
		for _, w := range wants {
			o, ok := objs[strings.ToLower(w.dn)]
			if !ok {
				t.Errorf("%s not imported", w.dn)
				continue
			}
			if o.InScope != w.in || !strings.EqualFold(o.Reason, w.why) {
				t.Errorf("%s: in scope %v (%q), want %v (%q)", w.dn, o.InScope, o.Reason, w.in, w.why)
			}
		}
	}

	offSpace := newSpace(t) // kept for the last case: Configure records again
	t.Run("off: out of scope, by a full import and a delta", func(t *testing.T) {
		a := answers(false, known)
		spec := specOf(t, corp, connector.ScopeFor(&a, corp.Name))
		sp := offSpace
		d := runImport(t, sp, spec)
		if d.Mode != "full" {
			t.Fatalf("first import: %s", d.Mode)
		}
		if d.OutOfScope != 2 {
			t.Errorf("%d out of scope, want the 2 users of the new OUs", d.OutOfScope)
			for dn, o := range objects(t, sp, corp) {
				if !o.InScope {
					t.Logf("out of scope: %s %s: %s", o.Class, dn, o.Reason)
				}
			}
		}
		check(t, objects(t, sp, corp), []want{
			{newUser, false, reasonNew},
			{innerUser, false, reasonNew}, // the topmost new OU is named
			{keptUser, true, connector.ReasonInScope},
			{l.UserDN(1), true, connector.ReasonInScope},
		})
		addUser(deltaUser, "newou-delta")
		if d := runImport(t, sp, spec); d.Mode != "delta" {
			t.Fatalf("second import: %s (%s), want delta", d.Mode, d.FullReason)
		}
		check(t, objects(t, sp, corp), []want{{deltaUser, false, reasonNew}, {newUser, false, reasonNew}})
	})
	t.Run("on: in scope", func(t *testing.T) {
		a := answers(true, known) // a stale record is ignored
		sp := newSpace(t)
		d := runImport(t, sp, specOf(t, corp, connector.ScopeFor(&a, corp.Name)))
		if d.OutOfScope != 0 {
			t.Errorf("%d out of scope, want 0", d.OutOfScope)
		}
		check(t, objects(t, sp, corp), []want{
			{newUser, true, connector.ReasonInScope},
			{innerUser, true, connector.ReasonInScope},
			{deltaUser, true, connector.ReasonInScope},
		})
	})
	t.Run("off, recorded again by Configure: in scope", func(t *testing.T) {
		// The same connector space: the new record makes the next import a
		// full one, which brings the new OUs' objects in.
		a := answers(false, recordKnown(t, corp))
		sp := offSpace
		if d := runImport(t, sp, specOf(t, corp, connector.ScopeFor(&a, corp.Name))); d.Mode != "full" || d.FullReason == "" {
			t.Errorf("the import after a new record: %s (%q), want full, with its reason", d.Mode, d.FullReason)
		}
		check(t, objects(t, sp, corp), []want{
			{newUser, true, connector.ReasonInScope},
			{innerUser, true, connector.ReasonInScope},
		})
	})
}
