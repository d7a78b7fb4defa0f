package setup

import (
	"context"
	"errors"
	"net/url"
	"reflect"
	"testing"

	"github.com/hybridsync/hybridsync/engine/directory"
)

func TestForestFilterSelected(t *testing.T) {
	ff := ForestFilter{Excluded: []string{`OU=Sales\, EMEA,OU=Staff,DC=corp,DC=test`}, Unreachable: []string{"DC=child,DC=corp,DC=test"}}
	tests := []struct {
		dn   string
		want bool
	}{
		{"DC=corp,DC=test", true},
		{"OU=Staff,DC=corp,DC=test", true},
		{`OU=Sales\, EMEA,OU=Staff,DC=corp,DC=test`, false},
		{`ou=sales\, emea,ou=staff,dc=corp,dc=test`, false},
		{`OU=Zürich,OU=Sales\, EMEA,OU=Staff,DC=corp,DC=test`, false},
		{`OU=EMEA,OU=Staff,DC=corp,DC=test`, true}, // a suffix of the name, not a parent
		{"OU=x,DC=child,DC=corp,DC=test", false},
	}
	for _, tt := range tests {
		if got := ff.Selected(tt.dn); got != tt.want {
			t.Errorf("Selected(%s) = %v, want %v", tt.dn, got, tt.want)
		}
	}
}

func ouForm(forest string, seen, sync []string, extra ...string) Form {
	v := url.Values{"seen:" + forest: seen, "sync:" + forest: sync}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return Form{Values: v}
}

func TestOUFilteringBind(t *testing.T) {
	a := Defaults()
	a.Directories.Forests = []ForestConn{{Forest: "corp.test", RootDN: "DC=corp,DC=test"}, {Forest: "fab.test", RootDN: "DC=fab,DC=test"}}
	root, staff, users := "DC=corp,DC=test", "OU=Staff,DC=corp,DC=test", "CN=Users,DC=corp,DC=test"
	deep := "OU=Deep,OU=Staff,DC=corp,DC=test"

	// First level shown: Staff cleared.
	ouFilteringPage.Bind(&a, ouForm("corp.test", []string{root, staff, users}, []string{root, users}, "sync_new_ous", "on"))
	if got := a.OUFiltering.Forests["corp.test"].Excluded; !reflect.DeepEqual(got, []string{staff}) || !a.OUFiltering.SyncNewOUs {
		t.Fatalf("excluded %v", got)
	}
	// Later, Deep was expanded and cleared while Staff was ticked again; an
	// exclusion not on the page this time is kept.
	a.OUFiltering.Forests["corp.test"] = ForestFilter{Excluded: []string{staff, "OU=Hidden,DC=corp,DC=test"}}
	ouFilteringPage.Bind(&a, ouForm("corp.test", []string{root, staff, deep}, []string{root, staff}))
	if got := a.OUFiltering.Forests["corp.test"].Excluded; !reflect.DeepEqual(got, []string{"OU=Hidden,DC=corp,DC=test", deep}) {
		t.Fatalf("excluded %v", got)
	}
	if a.OUFiltering.SyncNewOUs {
		t.Error("sync new OUs stayed on when cleared")
	}
	// A forest whose tree was not on the page keeps its answers.
	if _, ok := a.OUFiltering.Forests["fab.test"]; ok {
		t.Error("fab.test got answers it was never shown")
	}
	// Nothing selected anywhere is refused.
	a.OUFiltering.Forests["corp.test"] = ForestFilter{Excluded: []string{root}}
	a.OUFiltering.Forests["fab.test"] = ForestFilter{Excluded: []string{"dc=fab,dc=test"}}
	if e := ouFilteringPage.Validate(context.Background(), &a, nil); e[""] != MsgNothingSel {
		t.Fatalf("%v", e)
	}
	a.OUFiltering.Forests["fab.test"] = ForestFilter{}
	if e := ouFilteringPage.Validate(context.Background(), &a, nil); len(e) != 0 {
		t.Fatalf("%v", e)
	}
}

// treeChecker answers Children from a fixed map; a forest it doesn't know fails
// as an unreachable one does.
type treeChecker struct {
	Checker
	nodes map[string][]directory.Node
}

func (c treeChecker) Children(_ context.Context, fc ForestConn, dn string) ([]directory.Node, error) {
	n, ok := c.nodes[dn]
	if !ok {
		return nil, &CheckError{Msg: "hybridsync can't connect to " + fc.Forest + ".", Err: errors.New("refused")}
	}
	return n, nil
}

func TestForestTreesMarksUnreachable(t *testing.T) {
	a := Defaults()
	a.Directories.Forests = []ForestConn{{Forest: "corp.test", RootDN: "DC=corp,DC=test"}, {Forest: "gone.test", RootDN: "DC=gone,DC=test"}}
	a.OUFiltering.Forests = map[string]ForestFilter{"corp.test": {Excluded: []string{"OU=B,DC=corp,DC=test"}}}
	chk := treeChecker{nodes: map[string][]directory.Node{"DC=corp,DC=test": {{DN: "OU=A,DC=corp,DC=test", Name: "A"}, {DN: "OU=B,DC=corp,DC=test", Name: "B"}}}}
	trees := ForestTrees(context.Background(), &a, chk)
	if len(trees) != 2 || trees[0].Error != "" || !trees[0].Root.Selected || !trees[0].Nodes[0].Selected || trees[0].Nodes[1].Selected {
		t.Fatalf("corp tree %+v", trees[0])
	}
	if trees[1].Error == "" || trees[1].Root.Selected {
		t.Fatalf("an unreachable domain must be unselected with its reason: %+v", trees[1])
	}
	found := false
	for _, n := range ouFilteringPage.Notices(&a) {
		found = found || (n.Level == "warn" && n.Text == "DC=gone,DC=test: "+MsgUnreachable)
	}
	if !found {
		t.Errorf("no unreachable warning: %v", ouFilteringPage.Notices(&a))
	}
}

func TestDNKey(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"OU=Staff,DC=corp,DC=test", "ou=staff,dc=CORP,dc=test", true},
		{`OU=Zürich,OU=Sales\, EMEA,DC=corp,DC=test`, `ou=z\c3\bcrich,ou=sales\2c emea,dc=corp,dc=test`, true},
		{`OU=Sales\, EMEA,DC=corp,DC=test`, `OU=Sales,OU=EMEA,DC=corp,DC=test`, false}, // an escaped comma is no separator
		{`OU=\"Quoted\",DC=corp,DC=test`, `OU=\22Quoted\22,DC=corp,DC=test`, true},
		{"OU=Zürich Ünïcode,DC=corp,DC=test", "ou=zürich ünïcode,dc=corp,dc=test", true}, // case folded beyond ASCII
		{`OU=Z\C3\BCRICH,DC=corp,DC=test`, "ou=zürich,dc=corp,dc=test", true},
		{"OU=Staff,DC=corp,DC=test", "OU=Staff2,DC=corp,DC=test", false},
	}
	for _, tt := range tests {
		if got := DNKey(tt.a) == DNKey(tt.b); got != tt.same {
			t.Errorf("DNKey(%s) == DNKey(%s): %v, want %v (%q, %q)", tt.a, tt.b, got, tt.same, DNKey(tt.a), DNKey(tt.b))
		}
	}
}

func TestKnownSetNewAbove(t *testing.T) {
	k := ForestFilter{Known: []string{"dc=corp,dc=test", "ou=staff,dc=corp,dc=test", `ou=sales\, emea,ou=staff,dc=corp,dc=test`}}.KnownSet()
	tests := []struct {
		dn, domain, want string
	}{
		{"CN=A,OU=Staff,DC=corp,DC=test", "DC=corp,DC=test", ""},
		{`CN=B,OU=Sales\2C EMEA,OU=Staff,DC=corp,DC=test`, "DC=corp,DC=test", ""},
		{"CN=C,DC=corp,DC=test", "DC=corp,DC=test", ""}, // directly in the root
		{"CN=D,OU=New,OU=Staff,DC=corp,DC=test", "DC=corp,DC=test", "OU=New,OU=Staff,DC=corp,DC=test"},
		{"CN=E,OU=Inner,OU=New,DC=corp,DC=test", "dc=corp,dc=test", "OU=New,DC=corp,DC=test"},
		{"CN=F,OU=New,DC=other,DC=test", "DC=corp,DC=test", ""}, // not in this domain: nothing to say
		{"DC=corp,DC=test", "DC=corp,DC=test", ""},
	}
	for _, tt := range tests {
		if got := k.NewAbove(tt.dn, tt.domain); got != tt.want {
			t.Errorf("NewAbove(%s) = %q, want %q", tt.dn, got, tt.want)
		}
	}
	if got := (ForestFilter{}).KnownSet().NewAbove("CN=D,OU=New,DC=corp,DC=test", "DC=corp,DC=test"); got != "" {
		t.Errorf("nothing recorded, yet %q is new", got)
	}
}

func TestForestTreesMarksNewOUs(t *testing.T) {
	nodes := map[string][]directory.Node{"DC=corp,DC=test": {
		{DN: "OU=Known,DC=corp,DC=test", Name: "Known"},
		{DN: "OU=Fresh,DC=corp,DC=test", Name: "Fresh"},
		{DN: "OU=Cleared,DC=corp,DC=test", Name: "Cleared"},
	}}
	tests := []struct {
		name  string
		known []string
		want  []bool // New, per node
	}{
		{"recorded", []string{"dc=corp,dc=test", "ou=known,dc=corp,dc=test"}, []bool{false, true, false}},
		{"nothing recorded", nil, []bool{false, false, false}},
	}
	for _, tt := range tests {
		a := Defaults()
		a.Directories.Forests = []ForestConn{{Forest: "corp.test", RootDN: "DC=corp,DC=test"}}
		a.OUFiltering.Forests = map[string]ForestFilter{"corp.test": {Known: tt.known, Excluded: []string{"OU=Cleared,DC=corp,DC=test"}}}
		trees := ForestTrees(context.Background(), &a, treeChecker{nodes: nodes})
		var got []bool
		for _, n := range trees[0].Nodes {
			got = append(got, n.New)
		}
		if !reflect.DeepEqual(got, tt.want) || !trees[0].Nodes[1].Selected {
			t.Errorf("%s: new %v, want %v (%+v)", tt.name, got, tt.want, trees[0].Nodes)
		}
		// Bind keeps the record: only Configure writes it.
		ouFilteringPage.Bind(&a, ouForm("corp.test", []string{"DC=corp,DC=test", "OU=Known,DC=corp,DC=test"}, []string{"DC=corp,DC=test", "OU=Known,DC=corp,DC=test"}))
		if got := a.OUFiltering.Forests["corp.test"].Known; !reflect.DeepEqual(got, tt.known) {
			t.Errorf("%s: Bind changed Known to %q", tt.name, got)
		}
	}
}
