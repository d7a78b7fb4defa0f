package setup

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// GroupFiltering is the Filter users and devices page: synchronize everything,
// or, for a pilot, only the direct members of one group per forest.
type GroupFiltering struct {
	Mode    string                 `json:"mode"` // GroupModeAll or GroupModeGroup
	Forests map[string]GroupChoice `json:"forests,omitempty"`
}

// GroupChoice is one forest's pilot group.
type GroupChoice struct {
	Query      string     `json:"query,omitempty"`
	Candidates []GroupRef `json:"candidates,omitempty"` // the last search's matches
	Group      GroupRef   `json:"group"`
	// DirectMembers is the group's direct member count when it was chosen.
	DirectMembers int    `json:"directMembers"`
	CountedAt     string `json:"countedAt,omitempty"`
}

// GroupRef names a group.
type GroupRef struct {
	DN   string `json:"dn"`
	Name string `json:"name"`
}

const (
	GroupModeAll   = "all"
	GroupModeGroup = "group"

	ActionFindGroup = "find_group"
	ActionPickGroup = "pick_group"

	// maxGroupMatches bounds a search's result list.
	maxGroupMatches = 25
)

// Messages of the group filtering rules, as the seed words them.
const (
	MsgPilotOnly = "This feature is intended to support only a pilot deployment. Don't use it in a full production deployment."
	MsgNested    = "All objects that you want to synchronize must be direct members of the group. Users, groups, contacts, and computers or devices must all be direct members. Nested group membership isn't resolved: when you add a group as a member, only the group itself is added, not its members."
)

var groupFilteringPage = Page{
	ID:      PageGroupFiltering,
	Title:   "Filter users and devices",
	Section: "Sync",
	Bind: func(a *Answers, f Form) {
		g := &a.GroupFiltering
		g.Mode = f.str("group_mode")
		if g.Forests == nil {
			g.Forests = map[string]GroupChoice{}
		}
		for _, fc := range a.Directories.Forests {
			if q, ok := f.Values["group_query:"+fc.Forest]; ok {
				c := g.Forests[fc.Forest]
				c.Query = strings.TrimSpace(q[0])
				g.Forests[fc.Forest] = c
			}
		}
	},
	Validate: func(_ context.Context, a *Answers, _ Checker) Errors {
		e := Errors{}
		switch a.GroupFiltering.Mode {
		case GroupModeAll:
		case GroupModeGroup:
			for _, fc := range a.Directories.Forests {
				c := a.GroupFiltering.Forests[fc.Forest]
				field := "group:" + fc.Forest
				switch {
				case c.Group.DN == "":
					e.Add(field, "Find the pilot group of "+fc.Forest+" and select it.")
				case !a.OUFiltering.Forests[fc.Forest].Selected(c.Group.DN):
					e.Add(field, "The group is in an OU that Domain and OU filtering leaves out. OU filtering is evaluated before group-based filtering: include the group's OU, or choose another group.")
				}
			}
		default:
			e.Add("group_mode", "Choose whether to synchronize all users and devices or only the members of a group.")
		}
		return e
	},
	Act: actGroupFiltering,
	Notices: func(a *Answers) []Notice {
		if a.GroupFiltering.Mode != GroupModeGroup {
			return nil
		}
		return []Notice{{Level: "warn", Text: MsgPilotOnly, ReadyOnly: true}, {Level: "info", Text: MsgNested, PageOnly: true}}
	},
}

func actGroupFiltering(ctx context.Context, a *Answers, action string, f Form, chk Checker) Errors {
	kind, forest, _ := strings.Cut(action, ":")
	var fc *ForestConn
	for i := range a.Directories.Forests {
		if a.Directories.Forests[i].Forest == forest {
			fc = &a.Directories.Forests[i]
		}
	}
	if fc == nil || (kind != ActionFindGroup && kind != ActionPickGroup) {
		return Errors{"": "This page has no such button. Reload the page and try again."}
	}
	a.GroupFiltering.Mode = GroupModeGroup
	field := "group:" + forest
	c := a.GroupFiltering.Forests[forest]
	e := Errors{}
	var pick GroupRef
	switch kind {
	case ActionFindGroup:
		if c.Query == "" {
			e.Add(field, "Enter the beginning of the group's name.")
			return e
		}
		if chk == nil {
			return e
		}
		gs, err := chk.FindGroups(ctx, *fc, c.Query, maxGroupMatches)
		if err != nil {
			e.Add(field, CheckMessage(err))
			return e
		}
		c.Candidates = nil
		for _, g := range gs {
			c.Candidates = append(c.Candidates, GroupRef{DN: g.DN, Name: g.Name})
		}
		a.GroupFiltering.Forests[forest] = c
		switch len(gs) {
		case 0:
			e.Add(field, fmt.Sprintf("No group in %s has a name that starts with %q.", forest, c.Query))
			return e
		case 1:
			pick = c.Candidates[0]
		default:
			return e // the admin picks one
		}
	case ActionPickGroup:
		dn := f.str("group_pick:" + forest)
		for _, g := range c.Candidates {
			if g.DN == dn {
				pick = g
			}
		}
		if pick.DN == "" {
			e.Add(field, "Select one of the groups found.")
			return e
		}
	}
	if chk == nil {
		return e
	}
	n, err := chk.DirectMemberCount(ctx, *fc, pick.DN)
	if err != nil {
		e.Add(field, CheckMessage(err))
		return e
	}
	c.Group, c.DirectMembers, c.CountedAt, c.Candidates = pick, n, time.Now().UTC().Format(time.RFC3339), nil
	a.GroupFiltering.Forests[forest] = c
	return e
}
