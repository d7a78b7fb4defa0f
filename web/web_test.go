package web

import (
	"errors"
	"io/fs"
	"testing"
)

func TestFSOpensFilesOnly(t *testing.T) {
	for _, tc := range []struct {
		name string
		dir  bool
	}{
		{"static/app.css", false},
		{"static/vendor/LICENSE.htmx", false},
		{"static", true},
		{"static/vendor", true},
		{".", true},
	} {
		f, err := FS.Open(tc.name)
		if tc.dir {
			if !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Open(%q): %v, want fs.ErrNotExist", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Open(%q): %v", tc.name, err)
			continue
		}
		f.Close()
	}
	if b, err := fs.ReadFile(FS, "static/app.css"); err != nil || len(b) == 0 {
		t.Errorf("ReadFile(static/app.css): %d bytes, %v", len(b), err)
	}
}
