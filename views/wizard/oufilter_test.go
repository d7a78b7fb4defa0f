package wizard

import (
	"bytes"
	"context"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/hybridsync/hybridsync/engine/directory"
	"github.com/hybridsync/hybridsync/engine/setup"
)

// TestTreeLevelMarksNewOUs: an OU created since the last Configure (Sync all
// new OUs off) carries the mark; the others don't.
func TestTreeLevelMarksNewOUs(t *testing.T) {
	ff := setup.ForestFilter{Known: []string{"dc=corp,dc=test", "ou=staff,dc=corp,dc=test", "ou=old,dc=corp,dc=test"},
		Excluded: []string{"OU=Gone,DC=corp,DC=test"}}
	nodes := ff.Mark([]directory.Node{
		{DN: "OU=Staff,DC=corp,DC=test", Name: "Staff"},
		{DN: "OU=Newcomers,DC=corp,DC=test", Name: "Newcomers"},
		{DN: "OU=Gone,DC=corp,DC=test", Name: "Gone"}, // new but cleared: nothing to say
	})
	var buf bytes.Buffer
	if err := TreeLevel("corp.test", nodes).Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		dn   string
		want bool
	}{
		{"OU=Staff,DC=corp,DC=test", false},
		{"OU=Newcomers,DC=corp,DC=test", true},
		{"OU=Gone,DC=corp,DC=test", false},
	}
	for _, tt := range tests {
		mark := doc.Find(`[data-testid="new-` + tt.dn + `"]`)
		if (mark.Length() == 1) != tt.want {
			t.Errorf("%s: %d marks, want %v", tt.dn, mark.Length(), tt.want)
		}
		if tt.want && mark.Text() != setup.MsgNewOU {
			t.Errorf("%s: mark %q", tt.dn, mark.Text())
		}
		if doc.Find(`[data-testid="node-`+tt.dn+`"]`).Length() != 1 {
			t.Errorf("%s: no checkbox", tt.dn)
		}
	}
}
