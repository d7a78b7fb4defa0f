package metaverse

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/hybridsync/hybridsync/engine/connector"
	"github.com/hybridsync/hybridsync/engine/store"
)

// TestFullWritesWhatPendingComputes: a full sync writes each object's
// pending exports with its row (fullRows), in key order; what it stores
// and returns must be what Pending computes from the same exported state —
// the same changes, read back and returned in export order, the same
// counts — as when they were written in export order. The second full
// sync runs on the engine that ran the first (the keys of the deleted
// objects are among the keys it touched) and on a restarted one (they are
// only in the exported state).
func TestFullWritesWhatPendingComputes(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprintf("restarted %v", restart), func(t *testing.T) {
			ctx := context.Background()
			st := openStore(t)
			objs := synthetic(3_000)
			e := NewEngine(baseConfig())
			if _, err := e.Sync(ctx, st, true, objs); err != nil {
				t.Fatal(err)
			}
			confirmPending(t, st)
			exported, err := e.readExported(ctx, st, nil, true)
			if err != nil {
				t.Fatal(err)
			}
			// The directory after a churn (adds, deletes, changed users and
			// groups), and a user that became a contact (a delete and an
			// add of the same key).
			next := map[SourceID]connector.Object{}
			for _, o := range objs {
				next[SourceID{o.Connector, o.Anchor}] = o
			}
			for _, o := range churn(len(objs), 2_850, func(i int) connector.Object { return objs[i] }) {
				if o.Deleted {
					delete(next, SourceID{o.Connector, o.Anchor})
				} else {
					next[SourceID{o.Connector, o.Anchor}] = o
				}
			}
			c := objs[1_000]
			c.Class = connector.ClassContact
			next[SourceID{c.Connector, c.Anchor}] = c
			var all []connector.Object
			for _, o := range objs {
				if o, ok := next[SourceID{o.Connector, o.Anchor}]; ok {
					all = append(all, o)
					delete(next, SourceID{o.Connector, o.Anchor})
				}
			}
			for _, o := range next { // the added users
				all = append(all, o)
			}
			if restart {
				e = NewEngine(baseConfig())
			}
			res, err := e.Sync(ctx, st, true, all)
			if err != nil {
				t.Fatal(err)
			}
			want := e.Pending(e.Keys(), exported, true)
			kinds, seen := 0, map[string]bool{} // keys with a delete and an add
			for _, c := range want {
				if seen[c.Key] {
					kinds++
				}
				seen[c.Key] = true
			}
			var counts Result
			for i := range want {
				counts.count(&want[i])
			}
			if counts.Adds == 0 || counts.Deletes == 0 || counts.Updates == 0 || counts.Memberships == 0 || kinds != 1 {
				t.Fatalf("the second full sync changed too little: %+v, %d changes of kind", counts, kinds)
			}
			if res.Adds != counts.Adds || res.Updates != counts.Updates || res.Deletes != counts.Deletes || res.Memberships != counts.Memberships {
				t.Errorf("counted %d adds, %d updates, %d deletes, %d memberships; want %+v",
					res.Adds, res.Updates, res.Deletes, res.Memberships, counts)
			}
			checkPendingWritten(t, st, res.Changes, want)
		})
	}
}

// TestFullRowsReused: when no change is kept for the result (more than
// MaxResultChanges), fullRows makes each object's attribute values and an
// add's change in the memory of the one before; the rows it yields are
// those it yields when it keeps the changes.
func TestFullRowsReused(t *testing.T) {
	e := NewEngine(baseConfig())
	tc := e.Full(synthetic(3_000))
	rows := func(keep bool) []string {
		var res Result
		nothing := func(func(store.MVExported, error) bool) {} // nothing exported
		f := newFullRows(e, tc.Keys, newExportedCursor(nothing, func(string) bool { return true }), 0, &res)
		f.keep = keep
		var out []string
		for o, err := range f.objects {
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, string(b)) // the Pending rows' Change in Base64
		}
		if !f.objectsDone || res.Adds != len(tc.Keys) || keep != (f.kept != nil) {
			t.Fatalf("keep %v: done %v, %d adds of %d keys, %d kept", keep, f.objectsDone, res.Adds, len(tc.Keys), len(f.kept))
		}
		return out
	}
	kept, reused := rows(true), rows(false)
	if len(kept) != len(tc.Keys) || len(reused) != len(kept) {
		t.Fatalf("%d and %d rows of %d keys", len(kept), len(reused), len(tc.Keys))
	}
	for i := range kept {
		if kept[i] != reused[i] {
			t.Fatalf("row %d:\n kept %s\nreused %s", i, kept[i], reused[i])
		}
	}
}

// checkPendingWritten: a sync's Result.Changes, and the pending exports the
// store holds (in export order, each row whole), are want.
func checkPendingWritten(t *testing.T, st *store.Store, changes, want []Change) {
	t.Helper()
	got, _ := json.Marshal(changes)
	wantJSON, _ := json.Marshal(want)
	if string(got) != string(wantJSON) {
		t.Errorf("Result.Changes differ from Pending's:\n got %s\nwant %s", summary(changes), summary(want))
	}
	rows, err := st.PendingExports(context.Background(), store.PendingFilter{Limit: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(want) {
		t.Fatalf("%d pending exports stored, want %d", len(rows), len(want))
	}
	for i, r := range rows {
		b, _ := json.Marshal(want[i])
		w := pendingRow(&want[i], b)
		r.ComputedAt = w.ComputedAt
		if fmt.Sprint(r) != fmt.Sprint(w) {
			t.Fatalf("pending export %d:\n got %+v\nwant %+v", i, r, w)
		}
	}
}
