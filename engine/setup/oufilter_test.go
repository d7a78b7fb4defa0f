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
