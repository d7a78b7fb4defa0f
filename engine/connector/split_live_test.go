package connector_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/hybridsync/hybridsync/e2e/forest"
	"github.com/hybridsync/hybridsync/engine/connector"
	"github.com/hybridsync/hybridsync/engine/directory"
	"github.com/hybridsync/hybridsync/engine/store"
)

// A full import reads in parts (by uSNCreated, over two connections): it must
// store exactly the objects one paged search of the domain returns, each with
// the DN, uSNChanged, class and attribute names that search read.
func TestFullImportReadsWhatOneSearchReads(t *testing.T) {
	corp, _ := forests(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pem, err := os.ReadFile(corp.CACertPEM)
	if err != nil {
		t.Fatal(err)
	}
	l := forest.LayoutOf(corp)
	c, err := directory.Dial(ctx, directory.Target{Forest: corp.Name, Host: corp.IP, Security: directory.LDAPS, CAPEM: pem},
		l.SvcSyncUPN, forest.SvcSyncPassword)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	type read struct {
		dn    string
		usn   string
		attrs map[string]bool
	}
	want := map[string]read{}
	err = c.ReadPages(ctx, corp.BaseDN, connector.ObjectFilter, connector.BaseAttributes, func(entries []*ldap.Entry) error {
		for _, e := range entries {
			g, err := connector.FormatGUID(e.GetRawAttributeValue("objectGUID"))
			if err != nil {
				return err
			}
			r := read{dn: e.DN, usn: e.GetAttributeValue("uSNChanged"), attrs: map[string]bool{}}
			for _, a := range e.Attributes {
				switch n := strings.ToLower(a.Name); n {
				case "objectguid", "usnchanged", "member": // the anchor, USN and members are kept apart
				default:
					r.attrs[n] = true
				}
			}
			want[g] = r
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	sp := newSpace(t)
	d := runImport(t, sp, specOf(t, corp, connector.Scope{}))
	if d.Read != len(want) {
		t.Errorf("the import read %d entries, one search %d", d.Read, len(want))
	}
	rows, err := sp.CSObjectsOf(ctx, corp.Name)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]store.CSObject{}
	for _, r := range rows {
		got[r.Anchor] = r
	}
	for g, w := range want {
		r, ok := got[g]
		switch {
		case !ok:
			t.Errorf("%s (%s) was not imported", w.dn, g)
		case r.DN != w.dn || r.Deleted:
			t.Errorf("%s: stored as %s (deleted %t)", w.dn, r.DN, r.Deleted)
		default:
			if s := strings.TrimSpace(w.usn); s != "" && s != strconv.FormatInt(r.USN, 10) {
				t.Errorf("%s: uSNChanged %d, the search read %s", w.dn, r.USN, s)
			}
			for a := range w.attrs {
				if _, ok := r.Attrs[a]; !ok {
					t.Errorf("%s: %s not stored", w.dn, a)
				}
			}
			if len(r.Attrs) != len(w.attrs) {
				t.Errorf("%s: %d attributes stored, the search read %d", w.dn, len(r.Attrs), len(w.attrs))
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d objects stored, one search read %d", len(got), len(want))
	}
}
