package directory_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/e2e/forest"
	"github.com/hybridsync/hybridsync/engine/setup"
)

// TestLiveContainerDNs: every OU and container of corp, read as the connector
// account, across pages (Bench 2000 alone is two pages), with the DNs the OU
// tree shows, and nothing else.
func TestLiveContainerDNs(t *testing.T) {
	corp, _ := forests(t)
	l := forest.LayoutOf(corp)
	c := dial(t, corp, l.SvcSyncUPN, forest.SvcSyncPassword)
	ctx := testCtx(t)
	start := time.Now()
	dns, err := c.ContainerDNs(ctx, corp.BaseDN)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d containers in %s", len(dns), time.Since(start))
	got := map[string]int{}
	for _, dn := range dns {
		got[setup.DNKey(dn)]++
	}
	bench := setup.DNKey(benchOUDN(corp))
	below := 0
	for dn, n := range got {
		if n != 1 {
			t.Errorf("%s listed %d times", dn, n)
		}
		if strings.HasSuffix(dn, ","+bench) {
			below++
		}
	}
	if below != BenchOUChildren {
		t.Errorf("%d OUs below %s, want %d", below, benchOUDN(corp), BenchOUChildren)
	}
	tests := []struct {
		dn   string
		want bool
	}{
		{corp.BaseDN, true}, // the base itself
		{l.StaffOU, true},
		{l.SalesOU, true}, // an escaped comma
		{l.ZurichOU, true},
		{l.QuotedOU, true},
		{l.Level3OU, true},
		{"CN=Users," + corp.BaseDN, true},
		{"CN=Builtin," + corp.BaseDN, true},
		{"CN=ForeignSecurityPrincipals," + corp.BaseDN, true},
		{"CN=LostAndFound," + corp.BaseDN, true},
		{l.SvcSyncDN, false}, // a user
		{l.BigGroupDN, false},
	}
	for _, tt := range tests {
		if (got[setup.DNKey(tt.dn)] == 1) != tt.want {
			t.Errorf("%s listed: %v, want %v", tt.dn, !tt.want, tt.want)
		}
	}
	// Every node of the tree page is in the list.
	for _, parent := range []string{corp.BaseDN, l.StaffOU, l.SalesOU, l.RandDOU} {
		nodes, err := c.Children(ctx, parent)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes {
			if got[setup.DNKey(n.DN)] != 1 {
				t.Errorf("the tree shows %s, the list lacks it", n.DN)
			}
		}
	}
	if _, err := c.ContainerDNs(ctx, "OU=Missing,"+corp.BaseDN); err == nil {
		t.Error("the containers of a missing OU were listed")
	} else if de := asError(t, err); !strings.Contains(de.Msg, "not found") {
		t.Errorf("missing base: %q", de.Msg)
	}
}
