package setup

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/hybridsync/hybridsync/engine/directory"
)

// schemaChecker answers SchemaAttributes from a fixed map by forest; a forest
// it doesn't know fails as an unreachable one does.
type schemaChecker struct {
	Checker
	attrs map[string][]directory.Attribute
}

func (c schemaChecker) SchemaAttributes(_ context.Context, fc ForestConn) ([]directory.Attribute, error) {
	a, ok := c.attrs[fc.Forest]
	if !ok {
		return nil, &CheckError{Msg: "hybridsync can't connect to " + fc.Forest + ".", Err: errors.New("refused")}
	}
	return a, nil
}

func TestExtensionType(t *testing.T) {
	tests := []struct {
		attr directory.Attribute
		want string // "" : not offered
	}{
		{directory.Attribute{Name: "carLicense", Syntax: "2.5.5.12"}, ExtString},
		{directory.Attribute{Name: "employeeNumberX", Syntax: "2.5.5.4"}, ExtString},
		{directory.Attribute{Name: "roomNumber", Syntax: "2.5.5.5", OMSyntax: 22}, ExtString},
		{directory.Attribute{Name: "badPwdCount", Syntax: "2.5.5.9"}, ExtInteger},
		{directory.Attribute{Name: "msDS-SomeFlag", Syntax: "2.5.5.8"}, ExtBoolean},
		{directory.Attribute{Name: "jpegPhoto", Syntax: "2.5.5.10", OMSyntax: 4}, ExtBinary},
		{directory.Attribute{Name: "repsFrom", Syntax: "2.5.5.10", OMSyntax: 127}, ""},
		{directory.Attribute{Name: "manager", Syntax: "2.5.5.1"}, ""},       // DN
		{directory.Attribute{Name: "lastLogon", Syntax: "2.5.5.16"}, ""},    // large integer
		{directory.Attribute{Name: "whenCreatedX", Syntax: "2.5.5.11"}, ""}, // time
		{directory.Attribute{Name: "carLicense2", Syntax: "2.5.5.12", SystemOnly: true}, ""},
		{directory.Attribute{Name: "secretThing", Syntax: "2.5.5.12", SearchFlags: 0x80}, ""}, // confidential
		{directory.Attribute{Name: "mail", Syntax: "2.5.5.12"}, ""},                           // already synced
		{directory.Attribute{Name: "userPrincipalName", Syntax: "2.5.5.12"}, ""},
		{directory.Attribute{Name: "CN", Syntax: "2.5.5.12"}, ""}, // names are case-insensitive in AD
		{directory.Attribute{Name: "unicodePwd", Syntax: "2.5.5.10", OMSyntax: 4}, ""},
		{directory.Attribute{Name: "extensionAttribute7", Syntax: "2.5.5.12"}, ""},
	}
	for _, tt := range tests {
		got, ok := ExtensionType(tt.attr)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("%s: %q %v, want %q", tt.attr.Name, got, ok, tt.want)
		}
	}
}

func extAnswers() (Answers, schemaChecker) {
	a := Defaults()
	a.Features.DirectoryExtensions = true
	a.Directories.Forests = []ForestConn{{Forest: "corp.test"}, {Forest: "fab.test"}}
	chk := schemaChecker{attrs: map[string][]directory.Attribute{
		"corp.test": {
			{Name: "carLicense", Syntax: "2.5.5.12"},
			{Name: "CarColour", Syntax: "2.5.5.12", SingleValued: true},
			{Name: "badPwdCount", Syntax: "2.5.5.9", SingleValued: true},
			{Name: "mail", Syntax: "2.5.5.12", SingleValued: true},
		},
		"fab.test": {
			{Name: "carLicense", Syntax: "2.5.5.12"},
			{Name: "jpegPhoto", Syntax: "2.5.5.10", OMSyntax: 4},
		},
	}}
	return a, chk
}

func TestExtensionsViewAndFilter(t *testing.T) {
	ctx := context.Background()
	a, chk := extAnswers()
	v := extensionsPage.View(ctx, &a, chk).(ExtensionsView)
	var names []string
	for _, c := range v.Available {
		names = append(names, c.Name)
	}
	if want := []string{"CarColour", "badPwdCount", "carLicense", "jpegPhoto"}; !slices.Equal(names, want) || v.Total != 4 {
		t.Fatalf("available %v (total %d), want %v", names, v.Total, want)
	}
	if c := v.Available[2]; !slices.Equal(c.Forests, []string{"corp.test", "fab.test"}) || !c.MultiValued || c.Type != ExtString {
		t.Errorf("carLicense: %+v", c)
	}
	// The filter is case sensitive: "car" finds carLicense, not CarColour.
	extensionsPage.Bind(&a, form("ext_filter", "car"))
	if e := extensionsPage.Act(ctx, &a, ActionExtFilter, Form{}, chk); len(e) != 0 {
		t.Fatal(e)
	}
	v = extensionsPage.View(ctx, &a, chk).(ExtensionsView)
	if len(v.Available) != 1 || v.Available[0].Name != "carLicense" {
		t.Fatalf("filter car: %+v", v.Available)
	}
	extensionsPage.Bind(&a, form("ext_filter", "Car"))
	v = extensionsPage.View(ctx, &a, chk).(ExtensionsView)
	if len(v.Available) != 1 || v.Available[0].Name != "CarColour" {
		t.Fatalf("filter Car: %+v", v.Available)
	}
	extensionsPage.Act(ctx, &a, ActionExtClearFilter, Form{}, chk)
	if a.Extensions.Filter != "" {
		t.Error("Clear kept the filter")
	}
	// An unreachable forest is named; the others still list.
	a.Directories.Forests = append(a.Directories.Forests, ForestConn{Forest: "gone.test"})
	v = extensionsPage.View(ctx, &a, chk).(ExtensionsView)
	if v.Problems["gone.test"] == "" || v.Total != 4 {
		t.Errorf("unreachable forest: %+v", v)
	}
}

func TestExtensionsSelection(t *testing.T) {
	ctx := context.Background()
	a, chk := extAnswers()
	// Defaults pass.
	if e := extensionsPage.Validate(ctx, &a, chk); len(e) != 0 {
		t.Fatalf("defaults: %v", e)
	}
	// Select two, then filter so that one is hidden: clearing the shown one
	// keeps the hidden one.
	extensionsPage.Bind(&a, Form{Values: url.Values{"ext_seen": {"carLicense", "jpegPhoto", "badPwdCount"}, "ext_attr": {"carLicense", "jpegPhoto"}}})
	if e := extensionsPage.Validate(ctx, &a, chk); len(e) != 0 {
		t.Fatal(e)
	}
	got := a.Extensions.Selected
	if len(got) != 2 || got[0].Name != "carLicense" || got[0].Type != ExtString || !slices.Equal(got[0].Forests, []string{"corp.test", "fab.test"}) ||
		got[1].Name != "jpegPhoto" || got[1].Type != ExtBinary || !slices.Equal(got[1].Forests, []string{"fab.test"}) {
		t.Fatalf("selected %+v", got)
	}
	extensionsPage.Bind(&a, Form{Values: url.Values{"ext_filter": {"jpeg"}, "ext_seen": {"jpegPhoto"}}})
	if got := a.Extensions.Selected; len(got) != 1 || got[0].Name != "carLicense" || got[0].Type != ExtString {
		t.Fatalf("after clearing jpegPhoto: %+v", got)
	}
	if rows := summarizeExtensions(a); len(rows) != 1 || !strings.Contains(rows[0].Value, "carLicense") {
		t.Errorf("summary %v", rows)
	}
	// Something that isn't an eligible attribute is refused.
	extensionsPage.Bind(&a, Form{Values: url.Values{"ext_attr": {"mail", "noSuchAttr"}}})
	if e := extensionsPage.Validate(ctx, &a, chk); !strings.Contains(e["ext_attr"], "mail, noSuchAttr") {
		t.Errorf("ineligible: %v", e)
	}
}

func TestExtensionsLimit(t *testing.T) {
	for _, n := range []int{MaxExtensions, MaxExtensions + 1} {
		a := Defaults()
		a.Features.DirectoryExtensions = true
		v := url.Values{}
		for i := range n {
			v.Add("ext_attr", fmt.Sprintf("attr%03d", i))
		}
		extensionsPage.Bind(&a, Form{Values: v})
		e := extensionsPage.Validate(context.Background(), &a, nil)
		if n > MaxExtensions && !strings.Contains(e["ext_attr"], MsgExtTooMany) {
			t.Errorf("%d selected: %v", n, e)
		}
		if n <= MaxExtensions && len(e) != 0 {
			t.Errorf("%d selected: %v", n, e)
		}
	}
	if rows := summarizeExtensions(Answers{Features: Features{DirectoryExtensions: true}}); len(rows) != 1 || rows[0].Value != "None selected" {
		t.Errorf("summary %v", rows)
	}
	if rows := summarizeExtensions(Answers{}); rows != nil {
		t.Errorf("summary without the feature %v", rows)
	}
	if !strings.Contains(MsgExtValueLimit, "250 characters") {
		t.Error("the value limit is not stated")
	}
}
