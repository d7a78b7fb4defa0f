package cycle_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/hybridsync/hybridsync/engine/cycle"
	"github.com/hybridsync/hybridsync/engine/export"
	"github.com/hybridsync/hybridsync/engine/metaverse"
	"github.com/hybridsync/hybridsync/engine/store"
)

// TestReviewPending: a page of the staging review read from the store's
// index and the page's rows is what reviewing every pending export gave —
// the first objects, the counts and the held changes — for each filter.
func TestReviewPending(t *testing.T) {
	ctx := context.Background()
	st := emptyStore(t)
	var changes []metaverse.Change
	for i := range 2600 {
		c := metaverse.Change{Key: fmt.Sprintf("k%05d", i), Kind: metaverse.KindUser, Op: metaverse.OpAdd, Source: fmt.Sprintf("corp: CN=U%05d", i),
			Attrs: []metaverse.AttrChange{{Name: "userPrincipalName", New: []string{fmt.Sprintf("u%05d@corp.test", i)}}}}
		switch {
		case i%10 == 1:
			c.Op = metaverse.OpUpdate
		case i%10 == 2:
			c.Op, c.Attrs = metaverse.OpDelete, []metaverse.AttrChange{{Name: "displayName", Old: []string{fmt.Sprintf("Gone %05d", i)}}}
		case i%10 == 3:
			c.Kind = metaverse.KindContact
		case i%10 == 4: // a distribution group: held
			c.Kind, c.Attrs = metaverse.KindGroup, []metaverse.AttrChange{{Name: "displayName", New: []string{fmt.Sprintf("DL %05d", i)}}, {Name: "securityEnabled", New: []string{"false"}}}
		case i%10 == 5: // a security group: not held
			c.Kind, c.Attrs = metaverse.KindGroup, []metaverse.AttrChange{{Name: "displayName", New: []string{fmt.Sprintf("SG %05d", i)}}, {Name: "securityEnabled", New: []string{"true"}}}
		}
		changes = append(changes, c)
	}
	w := store.MVWrite{Full: true, Pending: func(yield func(store.MVPending, error) bool) {
		for i, c := range changes {
			raw, err := json.Marshal(c)
			if !yield(store.MVPending{Key: c.Key, Op: c.Op, Kind: c.Kind, Source: c.Source, Order: i % 3, AttrCount: len(c.Attrs), Change: raw}, err) {
				return
			}
		}
	}}
	if err := st.SaveMetaverse(ctx, w); err != nil {
		t.Fatal(err)
	}
	for _, f := range []export.Filter{
		{}, {Op: "delete"}, {Kind: "group"}, {Kind: "contact", Op: "add"}, {Op: "add", Kind: "group"},
		{Text: "u0012"}, {Text: "dl 0"}, {Text: "gone", Op: "delete"}, {Text: "nothing matches this"},
	} {
		for _, most := range []int{1, 200, 5000} {
			got, err := cycle.ReviewPending(ctx, st, f, cycle.Cursor{}, most)
			if err != nil {
				t.Fatal(err)
			}
			next := got.Next
			got.Next = cycle.Cursor{}
			// What reviewing every pending export gives.
			all, err := pendingChanges(ctx, st, f.Op, f.Kind)
			if err != nil {
				t.Fatal(err)
			}
			objs := export.Review(all, f)
			want := cycle.PendingReview{Matching: len(objs), Total: len(changes), Held: map[string]int{}}
			for _, o := range objs {
				if o.Held != "" {
					want.Held[o.Held]++
				}
			}
			want.Objects = objs[:min(most, len(objs))]
			if len(want.Objects) == 0 {
				want.Objects = nil
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%+v, %d: matching %d total %d held %v, %d objects; want matching %d total %d held %v, %d objects",
					f, most, got.Matching, got.Total, got.Held, len(got.Objects), want.Matching, want.Total, want.Held, len(want.Objects))
			}
			// The pages after it, each from the last one's Next, are the
			// rest of the review, in order, and the last has no Next.
			var paged []export.ObjectReview
			paged = append(paged, got.Objects...)
			for pages := 1; next != (cycle.Cursor{}); pages++ {
				if pages > 300 {
					t.Fatalf("%+v, %d: more than 300 pages", f, most)
				}
				c, err := cycle.ParseCursor(next.String())
				if err != nil || c != next {
					t.Fatalf("%+v: the cursor %q reads back as %+v (%v)", f, next, c, err)
				}
				p, err := cycle.ReviewPending(ctx, st, f, c, max(most, 50))
				if err != nil {
					t.Fatal(err)
				}
				if p.Matching != want.Matching || p.Total != want.Total || !reflect.DeepEqual(p.Held, want.Held) {
					t.Errorf("%+v, %d: a later page counts %d/%d %v", f, most, p.Matching, p.Total, p.Held)
				}
				paged, next = append(paged, p.Objects...), p.Next
			}
			if len(paged) != len(objs) || len(objs) > 0 && !reflect.DeepEqual(paged, objs) {
				t.Errorf("%+v, %d: the pages hold %d objects, the review %d", f, most, len(paged), len(objs))
			}
		}
	}
}

// emptyStore is a migrated SQLite store of its own, closed when the test ends.
func emptyStore(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Dialect: store.SQLite, DSN: store.SQLitePath(t.TempDir())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// A page link's cursor reads back, and anything else is refused.
func TestParseCursor(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want cycle.Cursor
		ok   bool
	}{
		{"", cycle.Cursor{}, true},
		{"2.k00012", cycle.Cursor{Order: 2, Key: "k00012"}, true},
		{"0.key.with.dots", cycle.Cursor{Order: 0, Key: "key.with.dots"}, true},
		{"k00012", cycle.Cursor{}, false},
		{"1.", cycle.Cursor{}, false},
		{"-1.k", cycle.Cursor{}, false},
		{"a.k", cycle.Cursor{}, false},
	} {
		got, err := cycle.ParseCursor(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseCursor(%q) = %+v, %v; want %+v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
		if tt.ok && got.String() != tt.in {
			t.Errorf("%+v.String() = %q, want %q", got, got.String(), tt.in)
		}
	}
}

// EachPendingChange hands the pending exports one at a time, as
// pendingChanges reads them all, stops when asked, and ends with the
// store's error when it can't read.
func TestEachPendingChange(t *testing.T) {
	ctx := context.Background()
	st := emptyStore(t)
	w := store.MVWrite{Full: true, Pending: func(yield func(store.MVPending, error) bool) {
		for i := range 2500 { // more than a page of EachPending
			c := metaverse.Change{Key: fmt.Sprintf("k%05d", i), Kind: metaverse.KindUser, Op: metaverse.OpAdd}
			raw, err := json.Marshal(c)
			if !yield(store.MVPending{Key: c.Key, Op: c.Op, Kind: c.Kind, Change: raw}, err) {
				return
			}
		}
	}}
	if err := st.SaveMetaverse(ctx, w); err != nil {
		t.Fatal(err)
	}
	all, err := pendingChanges(ctx, st, "", "")
	if err != nil || len(all) != 2500 {
		t.Fatalf("pendingChanges: %d (%v)", len(all), err)
	}
	var got []metaverse.Change
	for c, err := range cycle.EachPendingChange(ctx, st, "", "") {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, c)
	}
	if !reflect.DeepEqual(got, all) {
		t.Errorf("one at a time: %d changes, all at once %d", len(got), len(all))
	}
	n := 0
	for range cycle.EachPendingChange(ctx, st, "", "") {
		if n++; n == 3 {
			break
		}
	}
	st.Close()
	var errs int
	for _, err := range cycle.EachPendingChange(ctx, st, "", "") {
		if err != nil {
			errs++
		}
	}
	if errs != 1 {
		t.Errorf("a closed store: %d errors, want 1", errs)
	}
}

// pendingChanges are the pending exports of an operation and a kind ("" for
// any), all of them, in export order.
func pendingChanges(ctx context.Context, st *store.Store, op, kind string) ([]metaverse.Change, error) {
	var out []metaverse.Change
	err := cycle.EachPending(ctx, st, op, kind, func(c metaverse.Change) bool {
		out = append(out, c)
		return true
	})
	return out, err
}
