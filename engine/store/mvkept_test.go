package store

import (
	"context"
	"testing"
)

// A delta leaves a join marked Kept as the store holds it — neither
// rewritten nor deleted — only while the store's metaverse stamp is still
// the writer's last (Since): after anybody else's write, or in a full sync,
// the row is written.
func TestSaveMetaverseKeptJoins(t *testing.T) {
	ctx := context.Background()
	join := func(anchor, reason string) MVJoin {
		return MVJoin{Connector: "corp", Anchor: anchor, DN: "CN=" + anchor + ",DC=corp", Key: "k-" + anchor, Synced: true,
			Reason: reason, Trace: []byte(`{"reason":"` + reason + `"}`)}
	}
	cases := []struct {
		name string
		// between the first write (stamp "one") and the delta: another
		// writer's delta of an unrelated source, stamped "other"
		other bool
		full  bool
		since string
		want  string // the kept row's reason after the write
	}{
		{name: "since the writer's last write", since: "one", want: "first"},
		{name: "another writer came between", other: true, since: "one", want: "again"},
		{name: "no last write known", since: "", want: "again"},
		{name: "a full sync writes every row", full: true, since: "one", want: "again"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := openTestStore(t)
			first := []MVJoin{join("a1", "first"), join("a2", "first")}
			if err := st.SaveMetaverse(ctx, MVWrite{Full: true, Joins: seq(first), Stamp: "one"}); err != nil {
				t.Fatal(err)
			}
			if c.other {
				err := st.SaveMetaverse(ctx, MVWrite{Joins: seq([]MVJoin{join("a2", "theirs")}), JoinSources: []MVSource{{"corp", "a2"}}})
				if err != nil {
					t.Fatal(err)
				}
			}
			// The kept row comes with other values than it was written with,
			// to see whether they were written.
			kept := join("a1", "again")
			kept.Kept = true
			w := MVWrite{Full: c.full, Joins: seq([]MVJoin{kept, join("a2", "second")}), Stamp: "two", Since: c.since}
			if !c.full {
				w.JoinSources = []MVSource{{"corp", "a1"}, {"corp", "a2"}}
			}
			if err := st.SaveMetaverse(ctx, w); err != nil {
				t.Fatal(err)
			}
			j, err := st.MetaverseJoin(ctx, "corp", "a1")
			if err != nil {
				t.Fatalf("the kept row is gone: %v", err)
			}
			if j.Reason != c.want {
				t.Errorf("kept row's reason %q, want %q", j.Reason, c.want)
			}
			if j, err := st.MetaverseJoin(ctx, "corp", "a2"); err != nil || j.Reason != "second" {
				t.Errorf("the other row: %+v %v", j, err)
			}
			if stamp, err := st.Setting(ctx, settingMVStamp); err != nil || stamp != "two" {
				t.Errorf("stamp %q %v, want two", stamp, err)
			}
		})
	}
}
