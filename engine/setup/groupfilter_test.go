package setup

import (
	"context"
	"strings"
	"testing"
)

func TestGroupFilteringRules(t *testing.T) {
	base := func() Answers {
		a := Defaults()
		a.Directories.Forests = []ForestConn{{Forest: "corp.test", RootDN: "DC=corp,DC=test"}}
		return a
	}
	pilot := GroupRef{DN: "CN=Pilot,OU=Groups,DC=corp,DC=test", Name: "Pilot"}
	tests := []struct {
		name  string
		edit  func(a *Answers)
		field string
		want  string
	}{
		{"all by default", func(a *Answers) {}, "", ""},
		{"no mode", func(a *Answers) { a.GroupFiltering.Mode = "" }, "group_mode", "Choose whether"},
		{"group mode without a group", func(a *Answers) { a.GroupFiltering.Mode = GroupModeGroup }, "group:corp.test", "Find the pilot group"},
		{"group chosen", func(a *Answers) {
			a.GroupFiltering = GroupFiltering{Mode: GroupModeGroup, Forests: map[string]GroupChoice{"corp.test": {Group: pilot, DirectMembers: 3}}}
		}, "", ""},
		{"group in an OU that OU filtering leaves out", func(a *Answers) {
			a.GroupFiltering = GroupFiltering{Mode: GroupModeGroup, Forests: map[string]GroupChoice{"corp.test": {Group: pilot}}}
			a.OUFiltering.Forests = map[string]ForestFilter{"corp.test": {Excluded: []string{"OU=Groups,DC=corp,DC=test"}}}
		}, "group:corp.test", "OU filtering is evaluated before group-based filtering"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := base()
			tt.edit(&a)
			e := groupFilteringPage.Validate(context.Background(), &a, nil)
			if tt.field == "" {
				if len(e) != 0 {
					t.Fatalf("%v", e)
				}
				return
			}
			if !strings.Contains(e[tt.field], tt.want) {
				t.Fatalf("%s = %q, want %q (%v)", tt.field, e[tt.field], tt.want, e)
			}
		})
	}
}

func TestGroupFilteringActs(t *testing.T) {
	a := Defaults()
	a.Directories.Forests = []ForestConn{{Forest: "corp.test", RootDN: "DC=corp,DC=test"}}
	groupFilteringPage.Bind(&a, form("group_mode", "group", "group_query:corp.test", ""))
	if e := actGroupFiltering(context.Background(), &a, ActionFindGroup+":corp.test", Form{}, nil); !strings.Contains(e["group:corp.test"], "Enter the beginning") {
		t.Fatalf("%v", e)
	}
	if e := actGroupFiltering(context.Background(), &a, ActionFindGroup+":nowhere.test", Form{}, nil); e[""] == "" {
		t.Fatalf("a forest that isn't added: %v", e)
	}
	a.GroupFiltering.Forests["corp.test"] = GroupChoice{Candidates: []GroupRef{{DN: "CN=A,DC=corp,DC=test", Name: "A"}}}
	if e := actGroupFiltering(context.Background(), &a, ActionPickGroup+":corp.test", form("group_pick:corp.test", "CN=Other,DC=corp,DC=test"), nil); !strings.Contains(e["group:corp.test"], "Select one of the groups") {
		t.Fatalf("a group that wasn't found: %v", e)
	}
	if got := groupFilteringPage.Notices(&a); len(got) != 2 || got[0].Text != MsgPilotOnly || got[1].Text != MsgNested {
		t.Fatalf("notices %v", got)
	}
}
