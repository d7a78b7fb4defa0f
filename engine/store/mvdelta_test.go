package store

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"testing"
)

// A delta replaces the rows of the keys and sources it lists: in place
// when their key, sign-in name, mail, DN and metaverse key stay (the row
// keeps its rowid: the indexes were left alone), by a delete and an insert
// when one of those changed, and deletes the listed rows it no longer has.
// After each step the tables hold what a full write of the same state
// holds, and the lookups by UPN, mail and DN find what they hold.
func TestDeltaReplacesRowsInPlace(t *testing.T) {
	ctx := context.Background()
	type state struct {
		objects []MVObject
		joins   []MVJoin
	}
	user := func(key, upn, title string) MVObject {
		return MVObject{Key: key, Kind: "user", UPN: upn, Mail: upn, DisplayName: key,
			Attrs: map[string][]string{"userPrincipalName": {upn}, "jobTitle": {title}}, Sources: []MVSource{{"corp", "a-" + key}}}
	}
	join := func(key, anchor, dn, reason string) MVJoin {
		return MVJoin{Connector: "corp", Anchor: anchor, DN: dn, Key: key, Synced: key != "", Reason: reason, Trace: []byte(`{"r":"` + reason + `"}`)}
	}
	steps := []struct {
		name string
		// the delta: what it lists, and what it writes of those
		keys      []string
		sources   []MVSource
		write     state
		inPlace   []string // keys whose mv_objects row keeps its rowid
		wantState state    // the whole state after the step
	}{
		{name: "a title changed",
			keys: []string{"k1"}, sources: []MVSource{{"corp", "a-k1"}},
			write:   state{[]MVObject{user("k1", "Ann@Example.test", "Boss")}, []MVJoin{join("k1", "a-k1", "CN=Ann,DC=corp", "changed")}},
			inPlace: []string{"k1"},
			wantState: state{[]MVObject{user("k1", "Ann@Example.test", "Boss"), user("k2", "bob@example.test", "Clerk"), user("k3", "cy@example.test", "Clerk")},
				[]MVJoin{join("k1", "a-k1", "CN=Ann,DC=corp", "changed"), join("k2", "a-k2", "CN=Bob,DC=corp", "first"), join("k3", "a-k3", "CN=Cy,DC=corp", "first")}}},
		{name: "a new sign-in name and DN, one deleted, one added",
			keys:    []string{"k2", "k3", "k4"},
			sources: []MVSource{{"corp", "a-k2"}, {"corp", "a-k3"}, {"corp", "a-k4"}},
			write: state{[]MVObject{user("k2", "robert@example.test", "Clerk"), user("k4", "di@example.test", "New")},
				[]MVJoin{join("k2", "a-k2", "CN=Robert,OU=Moved,DC=corp", "renamed"), join("k4", "a-k4", "CN=Di,DC=corp", "added")}},
			wantState: state{[]MVObject{user("k1", "Ann@Example.test", "Boss"), user("k2", "robert@example.test", "Clerk"), user("k4", "di@example.test", "New")},
				[]MVJoin{join("k1", "a-k1", "CN=Ann,DC=corp", "changed"), join("k2", "a-k2", "CN=Robert,OU=Moved,DC=corp", "renamed"), join("k4", "a-k4", "CN=Di,DC=corp", "added")}}},
		{name: "a join to another metaverse object, and one no longer synced",
			keys:    []string{"k1", "k4"},
			sources: []MVSource{{"corp", "a-k1"}, {"corp", "a-k4"}},
			write: state{[]MVObject{user("k4", "di@example.test", "New")},
				[]MVJoin{join("k4", "a-k1", "CN=Ann,DC=corp", "joined"), join("", "a-k4", "CN=Di,DC=corp", "out of scope")}},
			wantState: state{[]MVObject{user("k2", "robert@example.test", "Clerk"), user("k4", "di@example.test", "New")},
				[]MVJoin{join("k4", "a-k1", "CN=Ann,DC=corp", "joined"), join("k2", "a-k2", "CN=Robert,OU=Moved,DC=corp", "renamed"), join("", "a-k4", "CN=Di,DC=corp", "out of scope")}}},
	}
	st := openTestStore(t)
	first := state{[]MVObject{user("k1", "Ann@Example.test", "Engineer"), user("k2", "bob@example.test", "Clerk"), user("k3", "cy@example.test", "Clerk")},
		[]MVJoin{join("k1", "a-k1", "CN=Ann,DC=corp", "first"), join("k2", "a-k2", "CN=Bob,DC=corp", "first"), join("k3", "a-k3", "CN=Cy,DC=corp", "first")}}
	if err := st.SaveMetaverse(ctx, MVWrite{Full: true, Objects: seq(first.objects), Joins: seq(first.joins)}); err != nil {
		t.Fatal(err)
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			before := rowids(t, st)
			err := st.SaveMetaverse(ctx, MVWrite{ObjectKeys: step.keys, Objects: seq(step.write.objects),
				JoinSources: step.sources, Joins: seq(step.write.joins), PendingKeys: step.keys})
			if err != nil {
				t.Fatal(err)
			}
			after := rowids(t, st)
			for _, k := range step.inPlace {
				if before[k] != after[k] {
					t.Errorf("%s was deleted and inserted (rowid %d, then %d), want it updated in place", k, before[k], after[k])
				}
			}
			full := openTestStore(t)
			if err := full.SaveMetaverse(ctx, MVWrite{Full: true, Objects: seq(step.wantState.objects), Joins: seq(step.wantState.joins)}); err != nil {
				t.Fatal(err)
			}
			for _, table := range []string{"mv_objects", "mv_joins"} {
				if got, want := dumpTable(t, st, table), dumpTable(t, full, table); !slices.Equal(got, want) {
					t.Errorf("%s after the delta:\n%s\nwant (as a full write):\n%s", table, strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			}
			for _, o := range step.wantState.objects {
				found, err := st.FindMetaverse(ctx, strings.ToLower(o.UPN))
				if err != nil || len(found) != 1 || found[0].Key != o.Key {
					t.Errorf("lookup of %s: %v %v", o.UPN, found, err)
				}
			}
			for _, j := range step.wantState.joins {
				found, err := st.MetaverseJoinsByDN(ctx, strings.ToLower(j.DN))
				if err != nil || len(found) != 1 || found[0].Anchor != j.Anchor || found[0].Key != j.Key {
					t.Errorf("lookup of %s: %v %v", j.DN, found, err)
				}
			}
		})
	}
}

func seq[T any](v []T) func(yield func(T, error) bool) {
	return func(yield func(T, error) bool) {
		for _, x := range v {
			if !yield(x, nil) {
				return
			}
		}
	}
}

// rowids is mv_objects' rowid by key.
func rowids(t *testing.T, st *Store) map[string]int64 {
	t.Helper()
	rows, err := st.r.Query(`SELECT mv_key, rowid FROM mv_objects`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var k string
		var id int64
		if err := rows.Scan(&k, &id); err != nil {
			t.Fatal(err)
		}
		out[k] = id
	}
	return out
}

// dumpTable is a table's rows, every column but the time written, sorted.
func dumpTable(t *testing.T, st *Store, table string) []string {
	t.Helper()
	rows, err := st.r.Query(`SELECT * FROM ` + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var parts []string
		for i, c := range cols {
			if c != "synced_at" {
				parts = append(parts, c+"="+vals[i].String)
			}
		}
		out = append(out, strings.Join(parts, " "))
	}
	slices.Sort(out)
	return out
}
