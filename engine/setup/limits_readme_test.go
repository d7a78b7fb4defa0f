package setup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The README lists every option hybridsync can't carry out, by the name the
// wizard gives it, in its section "What hybridsync does not do".
func TestREADMEListsEveryLimitation(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "## What hybridsync does not do")
	if !ok {
		t.Fatal(`README.md has no section "What hybridsync does not do"`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	for _, l := range limitations {
		if !strings.Contains(section, "**"+l.Feature+"**") {
			t.Errorf("README.md does not list %q (%s)", l.Feature, l.ID)
		}
	}
}
