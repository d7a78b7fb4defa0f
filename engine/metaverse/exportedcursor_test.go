package metaverse

import (
	"context"
	"slices"
	"testing"

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
