package metaverse

import (
	"context"
	"slices"
	"testing"

	"github.com/hybridsync/hybridsync/engine/connector"
	"github.com/hybridsync/hybridsync/engine/store"
)

// The cursor gives each asked key its exported state and keeps what no key
// asked for — before, between and after the keys — for the end, without
// attributes when the metaverse has no object of it.
func TestExportedCursor(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	var done []store.MVConfirmed
	for _, k := range []string{"a", "c", "d", "f", "h"} {
		done = append(done, store.MVConfirmed{Key: k, Kind: "user", Op: "add", CloudID: "cloud-" + k, Source: "corp: " + k,
			Attrs: []store.MVAttrChange{{Name: "displayName", New: []string{"User " + k}}}})
	}
	if err := st.RecordExported(ctx, done); err != nil {
		t.Fatal(err)
	}
	mv := map[string]bool{"b": true, "c": true, "f": true, "h": true}
	c := newExportedCursor(st.EachMetaverseExported(ctx), func(k string) bool { return mv[k] })
	for _, tt := range []struct {
		key   string
		found bool
	}{{"b", false}, {"c", true}, {"e", false}, {"f", true}, {"g", false}} {
		x, err := c.at(tt.key)
		if err != nil {
			t.Fatal(err)
		}
		if (x != nil) != tt.found || x != nil && (x.Key != tt.key || x.Attrs["displayName"][0] != "User "+tt.key) {
			t.Errorf("at(%q) = %+v, want found %v", tt.key, x, tt.found)
		}
	}
	rest, err := c.rest()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, x := range rest {
		keys = append(keys, x.Key)
		if x.CloudID != "cloud-"+x.Key {
			t.Errorf("%s: cloud id %q", x.Key, x.CloudID)
		}
		// h has an object: kept whole; a and d do not: a delete's part only.
		if whole := x.Attrs != nil; whole != mv[x.Key] {
			t.Errorf("%s: attributes kept %v", x.Key, whole)
		}
	}
	if want := []string{"a", "d", "h"}; !slices.Equal(keys, want) {
		t.Errorf("untouched %v, want %v", keys, want)
	}
}

// A full sync by a new engine (the console restarted) whose directory no
// longer has objects the tenant has: their keys are not the metaverse's
// old keys either, so only the exported state read to its end names them —
// each a delete, whether its key sorts before, between or after the
// objects still there.
func TestFullSyncDeletesWhatOnlyTheTenantHas(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	objs := synthetic(60)
	first := NewEngine(baseConfig())
	res, err := first.Sync(ctx, st, true, objs)
	if err != nil {
		t.Fatal(err)
	}
	confirmAll(t, st, res.Changes)
	// Every third object stays: the rest are gone.
	var kept []connector.Object
	for i, o := range objs {
		if i%3 == 1 {
			kept = append(kept, o)
		}
	}
	e := NewEngine(baseConfig())
	res, err = e.Sync(ctx, st, true, kept)
	if err != nil {
		t.Fatal(err)
	}
	gone := first.Len() - e.Len()
	if gone < 30 || res.Deletes != gone || res.Adds != 0 {
		t.Fatalf("after %d of %d objects went: %d deletes, %d adds, %d updates", len(objs)-len(kept), len(objs), res.Deletes, res.Adds, res.Updates)
	}
	keys := map[string]bool{}
	for _, c := range res.Changes {
		if c.Op != OpDelete || c.CloudID != "cloud-"+c.Key {
			t.Errorf("%s %s (cloud id %q), want a delete of cloud-%s", c.Op, c.Key, c.CloudID, c.Key)
		}
		keys[c.Key] = true
	}
	if len(keys) != gone {
		t.Errorf("%d keys deleted, want %d", len(keys), gone)
	}
}
