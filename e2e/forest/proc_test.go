package forest

import (
	"os"
	"path/filepath"
	"testing"
)

// TestHasOpenThroughASymlink: a file open in this process is found by its
// path through a symbolic link to its folder too, as a forest under a
// linked .cache is (Stop would otherwise leave it running).
func TestHasOpenThroughASymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(real, "samba.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := os.Symlink(real, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(real, "samba.log"), filepath.Join(dir, "link", "samba.log")} {
		if !hasOpen(os.Getpid(), p) {
			t.Errorf("hasOpen(%s) = false", p)
		}
	}
	if hasOpen(os.Getpid(), filepath.Join(dir, "link", "other.log")) {
		t.Error("a file not open is found")
	}
}
