package tenant

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// guessLine is a guess as the code marks it: a comment line "// Guess: …".
var guessLine = regexp.MustCompile(`//\s*Guess: (.+)$`)

// TestREADMEListsEveryGuess: every shape or message the emulator had to
// guess is marked in the code ("Guess: …") and listed, word for word with
// its file, in the README's section on them — and the README lists nothing
// the code no longer guesses.
func TestREADMEListsEveryGuess(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var inCode []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if m := guessLine.FindStringSubmatch(line); m != nil {
				inCode = append(inCode, "- "+strings.TrimSpace(m[1])+" (`"+f+"`)")
			}
		}
	}
	if len(inCode) == 0 {
		t.Fatal("no guess is marked in the code")
	}
	readme, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer readme.Close()
	var inREADME []string
	in := false
	sc := bufio.NewScanner(readme)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			in = line == "## What the tenant emulator guesses"
		case in && strings.HasPrefix(line, "- "):
			inREADME = append(inREADME, line)
		}
	}
	slices.Sort(inCode)
	slices.Sort(inREADME)
	for _, g := range inCode {
		if !slices.Contains(inREADME, g) {
			t.Errorf("README does not list: %s", g)
		}
	}
	for _, g := range inREADME {
		if !slices.Contains(inCode, g) {
			t.Errorf("README lists what the code does not guess: %s", g)
		}
	}
}
