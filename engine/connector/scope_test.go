package connector_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hybridsync/hybridsync/engine/connector"
	"github.com/hybridsync/hybridsync/engine/setup"
)

// TestScopeDecideKnownContainers: with Sync all new OUs off, an object below a
// container Configure did not record is out of scope, named by the topmost new
// container; with the option on, Known changes nothing.
func TestScopeDecideKnownContainers(t *testing.T) {
	const (
		forest = "corp.test"
		domain = "DC=corp,DC=test"
		staff  = "OU=Staff,DC=corp,DC=test"
		sales  = `OU=Sales\, EMEA,OU=Staff,DC=corp,DC=test`
		zurich = `OU=Zürich,OU=Sales\, EMEA,OU=Staff,DC=corp,DC=test`
		users  = "CN=Users,DC=corp,DC=test"
		child  = "DC=child,DC=corp,DC=test"
	)
	// As Configure records them: lower case, the domain root included.
	known := []string{strings.ToLower(domain), strings.ToLower(staff), strings.ToLower(sales), strings.ToLower(zurich),
		strings.ToLower(users), strings.ToLower(child), "ou=kept,dc=child,dc=corp,dc=test"}
	newOU := func(ou string) string { return fmt.Sprintf(connector.ReasonNewOU, ou) }
	tests := []struct {
		name     string
		dn       string
		domain   string
		excluded []string
		in       bool
		why      string
	}{
		{"in a known OU", "CN=Ann," + staff, domain, nil, true, connector.ReasonInScope},
		{"in a known OU, mixed case", "cn=Bob,ou=STAFF,dc=Corp,dc=Test", "DC=corp,DC=test", nil, true, connector.ReasonInScope},
		{"deep in known OUs, escaped comma", "CN=Cem," + zurich, domain, nil, true, connector.ReasonInScope},
		{"the same OU written with a hex escape", `CN=Dee,OU=Z\c3\bcrich,OU=Sales\2C EMEA,OU=Staff,DC=corp,DC=test`, domain, nil, true, connector.ReasonInScope},
		{"directly in the domain root", "CN=Eve," + domain, domain, nil, true, connector.ReasonInScope},
		{"in a known container", "CN=Fay," + users, domain, nil, true, connector.ReasonInScope},
		{"in a new OU", "CN=Gus,OU=Newcomers," + domain, domain, nil, false, newOU("OU=Newcomers," + domain)},
		{"in a new OU below a known one", "CN=Hal,OU=Interns," + staff, domain, nil, false, newOU("OU=Interns," + staff)},
		{"in a new OU inside a new OU: the topmost is named", "CN=Ida,OU=B,OU=A," + staff, domain, nil, false, newOU("OU=A," + staff)},
		{"a known OU below a new one is still out", "CN=Jo,OU=Staff,OU=Moved," + domain, domain, nil, false, newOU("OU=Moved," + domain)},
		{"the new OU object itself sits in a known OU", "OU=Newcomers," + domain, domain, nil, true, connector.ReasonInScope},
		{"child domain: known", "CN=Kim,OU=Kept," + child, child, nil, true, connector.ReasonInScope},
		{"child domain: new", "CN=Lou,OU=Fresh," + child, child, nil, false, newOU("OU=Fresh," + child)},
		{"an excluded OU keeps its reason", "CN=Max,OU=Interns," + staff, domain, []string{staff}, false, fmt.Sprintf(connector.ReasonExcludedOU, staff)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, syncNew := range []bool{false, true} {
				a := setup.Defaults()
				a.OUFiltering.SyncNewOUs = syncNew
				a.OUFiltering.Forests = map[string]setup.ForestFilter{forest: {Excluded: tt.excluded, Known: known}}
				s := connector.ScopeFor(&a, forest)
				in, why := s.Decide(tt.dn, tt.domain)
				wantIn, wantWhy := tt.in, tt.why
				if syncNew && strings.Contains(tt.why, "created after") {
					wantIn, wantWhy = true, connector.ReasonInScope // the option on: nothing is new
				}
				if in != wantIn || why != wantWhy {
					t.Errorf("sync new OUs %v: Decide(%s) = %v %q, want %v %q", syncNew, tt.dn, in, why, wantIn, wantWhy)
				}
			}
		})
	}
}

// TestScopeDecideKnownWithoutScopeFor: a Scope built by hand decides on its
// Known too, and an empty Known leaves everything as before.
func TestScopeDecideKnownWithoutScopeFor(t *testing.T) {
	dn := "CN=Gus,OU=Newcomers,DC=corp,DC=test"
	tests := []struct {
		name  string
		known []string
		in    bool
	}{
		{"recorded without the OU", []string{"dc=corp,dc=test", "ou=staff,dc=corp,dc=test"}, false},
		{"recorded with the OU", []string{"dc=corp,dc=test", "OU=Newcomers,DC=corp,DC=test"}, true},
		{"nothing recorded", nil, true},
	}
	for _, tt := range tests {
		s := connector.Scope{Filter: setup.ForestFilter{Known: tt.known}}
		if in, why := s.Decide(dn, "DC=corp,DC=test"); in != tt.in {
			t.Errorf("%s: in scope %v (%q), want %v", tt.name, in, why, tt.in)
		}
	}
}

// BenchmarkScopeDecideKnown: the cost Known adds to every imported object.
func BenchmarkScopeDecideKnown(b *testing.B) {
	known := []string{"dc=corp,dc=test"}
	for i := range 2000 {
		known = append(known, fmt.Sprintf("ou=team %d,ou=staff,dc=corp,dc=test", i))
	}
	known = append(known, "ou=staff,dc=corp,dc=test")
	dns := make([]string, 2000)
	for i := range dns {
		dns[i] = fmt.Sprintf("CN=User %d,OU=Team %d,OU=Staff,DC=corp,DC=test", i, i)
	}
	s := connector.Scope{Filter: setup.ForestFilter{Known: known}}
	s.Decide(dns[0], "DC=corp,DC=test") // indexes Known
	for i := 0; b.Loop(); i++ {
		if in, _ := s.Decide(dns[i%len(dns)], "DC=corp,DC=test"); !in {
			b.Fatal("out of scope")
		}
	}
}
