package store

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

// TestSaveMetaverseCheckpointsAfter: a sync's transaction commits without
// copying its pages into the database file; the checkpointer copies them
// after, the writer's automatic checkpoint is on again for every other
// write, and what the sync wrote reads the same before and after.
func TestSaveMetaverseCheckpointsAfter(t *testing.T) {
	ctx := context.Background()
	path := SQLitePath(t.TempDir())
	st := openAt(t, path)
	hold := make(chan struct{})
	st.ckpt.hold = hold
	// Enough rows to take the log well past the automatic checkpoint's
	// 1,000 pages.
	var objs []MVObject
	for i := range 20_000 {
		k := fmt.Sprintf("k%05d", i)
		objs = append(objs, MVObject{Key: k, Kind: "user", UPN: k + "@example.test", DisplayName: k,
			Attrs: map[string][]string{"description": {fmt.Sprintf("%0800d", i)}}, Sources: []MVSource{{"corp", "a-" + k}}})
	}
	before := fileSize(t, path)
	if err := st.SaveMetaverse(ctx, MVWrite{Full: true, Objects: seq(objs)}); err != nil {
		t.Fatal(err)
	}
	if grown := fileSize(t, path) - before; grown > 1<<20 {
		t.Errorf("the database file grew %d bytes in the commit: its pages were copied there", grown)
	}
	var auto int
	if err := st.w.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto); err != nil || auto != autoCheckpoint {
		t.Errorf("the writer's automatic checkpoint after the sync: %d, %v; want %d", auto, err, autoCheckpoint)
	}
	read := func() int {
		var n int
		if err := st.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM mv_objects WHERE length(attrs) > 800").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := read(); n != len(objs) {
		t.Errorf("%d rows before the checkpoint, want %d", n, len(objs))
	}
	close(hold) // the checkpointer may go on
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := st.Checkpointed(wctx); err != nil || st.ckpt.asked.Load() == 0 {
		t.Fatalf("no checkpoint after the sync: %v", err)
	}
	if got := st.ckpt.frames.Load(); got < autoCheckpoint {
		t.Errorf("the checkpoint after the sync copied %d frames", got)
	}
	if grown := fileSize(t, path) - before; grown < 16<<20 {
		t.Errorf("the database file grew %d bytes after the checkpoint", grown)
	}
	if n := read(); n != len(objs) {
		t.Errorf("%d rows after the checkpoint, want %d", n, len(objs))
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
