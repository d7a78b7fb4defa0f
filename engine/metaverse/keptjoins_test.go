package metaverse

import (
	"context"
	"errors"
	"testing"

	"github.com/hybridsync/hybridsync/engine/connector"
	"github.com/hybridsync/hybridsync/engine/store"
)

// keptJoins is a store that notes which joins each write marked Kept, and
// fails its writes while fail is set.
type keptJoins struct {
	*store.Store
	kept map[string]bool // anchor → Kept, of the last write
	fail bool
}

func (k *keptJoins) SaveMetaverse(ctx context.Context, w store.MVWrite) error {
	k.kept = map[string]bool{}
	joins := w.Joins
	w.Joins = func(yield func(store.MVJoin, error) bool) {
		for j, err := range joins {
			if err == nil {
				k.kept[j.Anchor] = j.Kept
			}
			if !yield(j, err) {
				return
			}
		}
	}
	if k.fail {
		for range w.Joins {
		}
		return errors.New("the disk is full")
	}
	return k.Store.SaveMetaverse(ctx, w)
}

// A delta marks Kept the joins whose row it last wrote the same, so that
// the store leaves them; a row that changed, a write another engine made
// meanwhile, and a write that failed all make it write the row again.
func TestDeltaKeepsTheJoinsItWrote(t *testing.T) {
	ctx := context.Background()
	st := &keptJoins{Store: openStore(t)}
	u1 := user(corp, 1, "u1", "userprincipalname=u1@example.test")
	u2 := user(corp, 2, "u2", "userprincipalname=u2@example.test")
	e := NewEngine(baseConfig())
	run := func(full bool, objs ...connector.Object) {
		t.Helper()
		if _, err := e.Sync(ctx, st, full, objs); err != nil {
			t.Fatal(err)
		}
	}
	synced := func(o connector.Object) bool {
		t.Helper()
		j, err := st.MetaverseJoin(ctx, corp, o.Anchor)
		if err != nil {
			t.Fatal(err)
		}
		return j.Synced
	}
	run(true, u1, u2)
	if st.kept[u1.Anchor] || st.kept[u2.Anchor] {
		t.Fatalf("a full sync kept %v", st.kept)
	}

	// A title leaves u1's trace as it was; u2 leaves the scope.
	u1.Attrs["title"] = []string{"Boss"}
	out := u2
	out.InScope = false
	run(false, u1, out)
	if !st.kept[u1.Anchor] || st.kept[u2.Anchor] {
		t.Fatalf("kept %v, want u1's alone", st.kept)
	}
	if !synced(u1) || synced(u2) {
		t.Fatal("the rows are not what the delta computed")
	}

	// Another engine (`hybridsync sync` beside the console) writes u1 as
	// out of scope; this one's next delta of u1 marks its row Kept, and the
	// store writes it all the same.
	other := NewEngine(baseConfig())
	u1out := u1
	u1out.InScope = false
	if _, err := other.Sync(ctx, st.Store, true, []connector.Object{u1out, out}); err != nil {
		t.Fatal(err)
	}
	u1.Attrs["title"] = []string{"Chief"}
	run(false, u1)
	if !st.kept[u1.Anchor] || !synced(u1) {
		t.Fatalf("after another engine's write: kept %v, u1 synced %v", st.kept, synced(u1))
	}

	// A write that fails leaves nothing kept that it computed: u1 out of
	// scope fails; a delta of u2 succeeds; u1 out of scope again is written.
	st.fail = true
	if _, err := e.Sync(ctx, st, false, []connector.Object{u1out}); err == nil {
		t.Fatal("the failing write succeeded")
	}
	st.fail = false
	run(false, u2)
	run(false, u1out)
	if st.kept[u1.Anchor] || synced(u1) {
		t.Fatalf("after a failed write: kept %v, u1 synced %v", st.kept, synced(u1))
	}
}
