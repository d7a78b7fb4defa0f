package setup

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hybridsync/hybridsync/engine/directory"
)

// identChecker is a fake of the forests and the store for Identifying users.
type identChecker struct {
	Checker
	inUse   map[string]string // forest → domain where ms-DS-ConsistencyGuid is populated
	schema  []directory.Attribute
	samples map[string][]string // attribute → sampled values
	applied *Identifying
	down    bool
}

func (c identChecker) ConsistencyGuidDomain(_ context.Context, fc ForestConn) (string, error) {
	if c.down {
		return "", &CheckError{Msg: "hybridsync can't connect to " + fc.Forest + ".", Err: errors.New("refused")}
	}
	return c.inUse[fc.Forest], nil
}

func (c identChecker) SchemaAttributes(context.Context, ForestConn) ([]directory.Attribute, error) {
	return c.schema, nil
}

func (c identChecker) SampleValues(_ context.Context, _ ForestConn, attr string, _ int) ([]string, error) {
	return c.samples[attr], nil
}

func (c identChecker) AppliedIdentifying(context.Context) (Identifying, bool, error) {
	if c.applied == nil {
		return Identifying{}, false, nil
	}
	return *c.applied, true, nil
}

var testSchema = []directory.Attribute{
	{Name: "objectGUID", Syntax: "2.5.5.10", OMSyntax: 4, Type: "Binary", SingleValued: true, SystemOnly: true},
	{Name: "mS-DS-ConsistencyGuid", Syntax: "2.5.5.10", OMSyntax: 4, Type: "Binary", SingleValued: true},
	{Name: "employeeID", Syntax: "2.5.5.12", OMSyntax: 64, Type: "String (Unicode)", SingleValued: true},
	{Name: "extensionAttribute1", Syntax: "2.5.5.12", OMSyntax: 64, Type: "String (Unicode)", SingleValued: true},
	{Name: "mail", Syntax: "2.5.5.12", OMSyntax: 64, Type: "String (Unicode)", SingleValued: true},
	{Name: "userPrincipalName", Syntax: "2.5.5.12", OMSyntax: 64, Type: "String (Unicode)", SingleValued: true},
	{Name: "description", Syntax: "2.5.5.12", OMSyntax: 64, Type: "String (Unicode)"},
	{Name: "manager", Syntax: "2.5.5.1", OMSyntax: 127, Type: "DN", SingleValued: true},
}

func TestIdentifyingRules(t *testing.T) {
	corp := ForestConn{Forest: "corp.test", RootDN: "DC=corp,DC=test", Domains: []ForestDomain{{DNS: "corp.test", DN: "DC=corp,DC=test"}}}
	fab := ForestConn{Forest: "fab.test", RootDN: "DC=fab,DC=test", HasExchange: true}
	live := identChecker{schema: testSchema, samples: map[string][]string{"extensionAttribute1": {"a@b.test"}, "employeeID": {"E1", "E2"}}}
	tests := []struct {
		name    string
		forests []ForestConn
		chk     Checker
		form    []string
		field   string // "" when the page must pass
		want    string
		anchor  string // the resolved sourceAnchor, when the page passes
	}{
		{"defaults without forests or checker", nil, nil, nil, "", "", ""},
		{"defaults resolve to ms-DS-ConsistencyGuid", []ForestConn{corp}, live, nil, "", "", AttrConsistencyGuid},
		{"defaults with the form as shown", []ForestConn{corp}, live, []string{"matching", MatchOnce, "source_anchor", AnchorManaged, "source_anchor_attribute", ""}, "", "", AttrConsistencyGuid},
		{"populated ms-DS-ConsistencyGuid keeps objectGUID", []ForestConn{corp, fab},
			identChecker{schema: testSchema, inUse: map[string]string{"fab.test": "fab.test"}}, nil, "", "", AttrObjectGUID},
		{"an unreachable forest can't decide", []ForestConn{corp}, identChecker{down: true}, nil, "source_anchor", "can't connect to corp.test", ""},
		{"mail matching", []ForestConn{corp}, live, []string{"matching", MatchMail}, "", "", AttrConsistencyGuid},
		{"unknown matching", nil, nil, []string{"matching", "bogus"}, "matching", "Choose how users", ""},
		{"SIDs without Exchange", []ForestConn{corp}, live, []string{"matching", MatchSIDs}, "matching", "needs the Exchange schema", ""},
		{"MailNickName without Exchange", []ForestConn{corp}, live, []string{"matching", MatchSAMMailNickname}, "matching", "needs the Exchange schema", ""},
		{"MailNickName with Exchange", []ForestConn{fab}, live, []string{"matching", MatchSAMMailNickname}, "", "", AttrConsistencyGuid},
		{"specific matching attribute missing", []ForestConn{corp}, live, []string{"matching", MatchAttribute}, "matching_attribute", "Choose the attribute", ""},
		{"specific matching attribute not in the schema", []ForestConn{corp}, live, []string{"matching", MatchAttribute, "matching_attribute", "nosuch"}, "matching_attribute", "has no attribute nosuch", ""},
		{"multi-valued matching attribute", []ForestConn{corp}, live, []string{"matching", MatchAttribute, "matching_attribute", "description"}, "matching_attribute", "only single-valued", ""},
		{"DN matching attribute", []ForestConn{corp}, live, []string{"matching", MatchAttribute, "matching_attribute", "manager"}, "matching_attribute", "only single-valued", ""},
		{"specific matching attribute", []ForestConn{corp}, live, []string{"matching", MatchAttribute, "matching_attribute", "EMPLOYEEID"}, "", "", AttrConsistencyGuid},
		{"anchor attribute missing", []ForestConn{corp}, live, []string{"source_anchor", AnchorAttribute}, "source_anchor_attribute", "objectGUID is a good candidate", ""},
		{"mail as anchor", nil, nil, []string{"source_anchor", AnchorAttribute, "source_anchor_attribute", "mail"}, "source_anchor_attribute", MsgAnchorAt, ""},
		{"UPN as anchor", []ForestConn{corp}, live, []string{"source_anchor", AnchorAttribute, "source_anchor_attribute", "userprincipalname"}, "source_anchor_attribute", MsgAnchorAt, ""},
		{"values with an at sign", []ForestConn{corp}, live, []string{"source_anchor", AnchorAttribute, "source_anchor_attribute", "extensionAttribute1"}, "source_anchor_attribute", "include an at sign", ""},
		{"multi-valued anchor", []ForestConn{corp}, live, []string{"source_anchor", AnchorAttribute, "source_anchor_attribute", "description"}, "source_anchor_attribute", "only single-valued", ""},
		{"objectGUID as anchor", []ForestConn{corp}, live, []string{"source_anchor", AnchorAttribute, "source_anchor_attribute", "objectguid"}, "", "", AttrObjectGUID},
		{"employeeID as anchor", []ForestConn{corp}, live, []string{"source_anchor", AnchorAttribute, "source_anchor_attribute", "employeeID"}, "", "", "employeeID"},
		{"unknown anchor mode", nil, nil, []string{"source_anchor", "bogus"}, "source_anchor", "Choose how users should be identified with", ""},
		{"applied anchor: a change is refused", []ForestConn{corp}, identChecker{schema: testSchema, applied: &Identifying{SourceAnchor: AnchorManaged, Resolved: AttrConsistencyGuid, Why: "w"}},
			[]string{"source_anchor", AnchorAttribute, "source_anchor_attribute", "objectGUID"}, "source_anchor", MsgAnchorFixed, ""},
		{"applied anchor: nothing posted keeps it", []ForestConn{corp}, identChecker{inUse: map[string]string{"corp.test": "corp.test"}, applied: &Identifying{SourceAnchor: AnchorManaged, Resolved: AttrConsistencyGuid, Why: "w"}},
			[]string{"matching", MatchOnce}, "", "", AttrConsistencyGuid},
		{"applied anchor: the same choice passes", []ForestConn{corp}, identChecker{applied: &Identifying{SourceAnchor: AnchorAttribute, SourceAnchorAttribute: "employeeID", Resolved: "employeeID", Why: "chosen"}},
			[]string{"source_anchor", AnchorAttribute, "source_anchor_attribute", "employeeid"}, "", "", "employeeID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Defaults()
			a.Directories.Forests = tt.forests
			if tt.form != nil {
				identifyingPage.Bind(&a, form(tt.form...))
			}
			e := identifyingPage.Validate(context.Background(), &a, tt.chk)
			if tt.field == "" {
				if len(e) != 0 {
					t.Fatalf("%v", e)
				}
				if a.Identifying.Resolved != tt.anchor {
					t.Fatalf("resolved %q, want %q (%+v)", a.Identifying.Resolved, tt.anchor, a.Identifying)
				}
				if tt.anchor != "" && a.Identifying.Why == "" {
					t.Fatal("no reason given for the sourceAnchor")
				}
				return
			}
			if !strings.Contains(e[tt.field], tt.want) {
				t.Fatalf("%s = %q, want %q (%v)", tt.field, e[tt.field], tt.want, e)
			}
		})
	}
}

func TestIdentifyingResolvedWhyNamesTheForest(t *testing.T) {
	a := Defaults()
	a.Directories.Forests = []ForestConn{{Forest: "corp.test"}, {Forest: "fab.test"}}
	chk := identChecker{schema: testSchema, inUse: map[string]string{"fab.test": "child.fab.test"}}
	v := identifyingPage.View(context.Background(), &a, chk).(IdentifyingView)
	if a.Identifying.Resolved != AttrObjectGUID || !strings.Contains(a.Identifying.Why, "child.fab.test (forest fab.test)") {
		t.Fatalf("%+v", a.Identifying)
	}
	if v.Locked || v.AnchorError != "" {
		t.Fatalf("%+v", v)
	}
	var names, anchors []string
	for _, x := range v.Attributes {
		names = append(names, x.Name)
	}
	for _, x := range v.AnchorAttributes {
		anchors = append(anchors, x.Name)
	}
	if got := strings.Join(names, ","); got != "employeeID,extensionAttribute1,mail,mS-DS-ConsistencyGuid,objectGUID,userPrincipalName" {
		t.Errorf("attributes %s", got)
	}
	if got := strings.Join(anchors, ","); got != "employeeID,extensionAttribute1,mS-DS-ConsistencyGuid,objectGUID" {
		t.Errorf("sourceAnchor attributes %s", got)
	}
}

func TestIdentifyingLockedView(t *testing.T) {
	a := Defaults()
	a.Directories.Forests = []ForestConn{{Forest: "corp.test"}}
	a.Identifying = Identifying{SourceAnchor: AnchorAttribute, SourceAnchorAttribute: "employeeID"}
	applied := Identifying{SourceAnchor: AnchorManaged, Resolved: AttrObjectGUID, Why: "applied"}
	v := identifyingPage.View(context.Background(), &a, identChecker{schema: testSchema, applied: &applied}).(IdentifyingView)
	if !v.Locked || a.Identifying.AnchorMode() != AnchorManaged || a.Identifying.Resolved != AttrObjectGUID {
		t.Fatalf("%+v %+v", v, a.Identifying)
	}
}

func TestIdentifyingNoticesAndSummary(t *testing.T) {
	a := Defaults()
	if n := identifyingPage.Notices(&a); len(n) != 0 {
		t.Errorf("default notices %v", n)
	}
	rows := summarizeIdentifying(a)
	if len(rows) != 2 || rows[0].Value != MatchLabel(MatchOnce) || !strings.Contains(rows[1].Value, "Let Azure manage") {
		t.Errorf("default summary %v", rows)
	}
	a.Identifying = Identifying{Matching: MatchMail, Resolved: AttrConsistencyGuid, Why: "because"}
	if n := identifyingPage.Notices(&a); len(n) != 1 || !strings.Contains(n[0].Text, "mail attribute is unpopulated aren't synchronized") {
		t.Errorf("mail notices %v", n)
	}
	a.Identifying.Matching, a.Identifying.MatchingAttribute = MatchAttribute, "employeeID"
	if n := identifyingPage.Notices(&a); len(n) != 1 || !strings.Contains(n[0].Text, "employeeID attribute is unpopulated") {
		t.Errorf("attribute notices %v", n)
	}
	rows = summarizeIdentifying(a)
	if rows[0].Value != "Choose a specific attribute: employeeID" || !strings.HasPrefix(rows[1].Value, AttrConsistencyGuid) || !strings.Contains(rows[1].Value, "because") {
		t.Errorf("summary %v", rows)
	}
	if MatchUnavailable(&a, MatchSIDs) == "" || MatchUnavailable(&a, MatchMail) != "" {
		t.Error("Exchange options offered without the Exchange schema, or mail refused")
	}
}
