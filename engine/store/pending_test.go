package store

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"testing"
)

// The pending counts are kept between reads, and counted again after any
// write of the pending exports, by this store or another process's on the
// same file (`hybridsync sync` beside the console); a write that fails
// changes nothing, the counts neither.
func TestPendingTallyFollowsWrites(t *testing.T) {
	ctx := context.Background()
	path := SQLitePath(t.TempDir())
	console, other := openAt(t, path), openAt(t, path)
	pending := func(keys ...string) func(yield func(MVPending, error) bool) {
		return func(yield func(MVPending, error) bool) {
			for _, k := range keys {
				raw, _ := json.Marshal(MVConfirmed{Key: k, Kind: "user", Op: "add", Attrs: []MVAttrChange{{Name: "displayName", New: []string{k}}}})
				if !yield(MVPending{Key: k, Op: "add", Kind: "user", AttrCount: 1, Change: raw}, nil) {
					return
				}
			}
		}
	}
	adds := func(n int) map[PendingKind]int {
		if n == 0 {
			return map[PendingKind]int{}
		}
		return map[PendingKind]int{{"add", "user"}: n}
	}
	steps := []struct {
		name  string
		write func(t *testing.T)
		want  map[PendingKind]int
	}{
		{"empty", func(*testing.T) {}, adds(0)},
		{"the console's full sync", func(t *testing.T) {
			if err := console.SaveMetaverse(ctx, MVWrite{Full: true, Pending: pending("k1", "k2", "k3")}); err != nil {
				t.Fatal(err)
			}
		}, adds(3)},
		{"another process's delta", func(t *testing.T) {
			if err := other.SaveMetaverse(ctx, MVWrite{PendingKeys: []string{"k4"}, Pending: pending("k4")}); err != nil {
				t.Fatal(err)
			}
		}, adds(4)},
		{"another process's export", func(t *testing.T) {
			if err := other.RecordExported(ctx, []MVConfirmed{{Key: "k1", Kind: "user", Op: "add", CloudID: "c1",
				Attrs: []MVAttrChange{{Name: "displayName", New: []string{"k1"}}}}}); err != nil {
				t.Fatal(err)
			}
		}, adds(3)},
		{"a write that fails", func(t *testing.T) {
			failing := func(yield func(MVPending, error) bool) {
				if yield(MVPending{Key: "k5", Op: "add", Kind: "user", Change: []byte("{}")}, nil) {
					yield(MVPending{}, fmt.Errorf("the engine stopped"))
				}
			}
			if err := other.SaveMetaverse(ctx, MVWrite{PendingKeys: []string{"k5"}, Pending: failing}); err == nil {
				t.Fatal("the failing write succeeded")
			}
		}, adds(3)},
	}
	for _, step := range steps {
		step.write(t)
		for _, st := range []*Store{console, console, other} { // the second from what the first kept
			got, err := st.PendingTally(ctx)
			if err != nil || !maps.Equal(got, step.want) {
				t.Errorf("%s: %v (%v), want %v", step.name, got, err, step.want)
			}
			if n, err := st.countPending(ctx); err != nil || !maps.Equal(n, step.want) {
				t.Errorf("%s: counted %v (%v), want %v", step.name, n, err, step.want)
			}
		}
	}
	// What a caller does with the counts is its own.
	got, _ := console.PendingTally(ctx)
	got[PendingKind{"add", "user"}] = 99
	if again, _ := console.PendingTally(ctx); again[PendingKind{"add", "user"}] != 3 {
		t.Errorf("a caller's change reached the kept counts: %v", again)
	}
}
