package store

import (
	"context"
	"fmt"
	"slices"
	"testing"
)

// TestExportedMembersRead: the exported members of each group read back as
// they were confirmed, sorted, whatever the keys hold — by key and all.
func TestExportedMembersRead(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	var many []string
	for i := range 3_000 {
		many = append(many, fmt.Sprintf("m%05d", 2_999-i))
	}
	groups := map[string][]string{
		"big":   many,
		"odd":   {`quote"d`, `back\slash`, "é-accent", "tab\there", "<&>", "plain"},
		"empty": nil,
		"one":   {"solo"},
	}
	var done []MVConfirmed
	for g, ms := range groups {
		done = append(done, MVConfirmed{Key: g, Kind: "group", Op: "add", CloudID: "cloud-" + g, AddMembers: ms, Source: "corp: CN=" + g})
	}
	done = append(done, MVConfirmed{Key: "user", Kind: "user", Op: "add", CloudID: "cloud-user", Source: "corp: CN=user"})
	if err := s.RecordExported(ctx, done); err != nil {
		t.Fatal(err)
	}
	check := func(name string, got map[string]MVExported, keys []string) {
		t.Helper()
		for _, g := range keys {
			want := slices.Sorted(slices.Values(groups[g]))
			if e, ok := got[g]; !ok || !slices.Equal(e.Members, want) {
				t.Errorf("%s: members of %q = %q, want %q", name, g, e.Members, want)
			}
		}
		if u, ok := got["user"]; ok && u.Members != nil {
			t.Errorf("%s: a user's members %q", name, u.Members)
		}
	}
	all, err := s.MetaverseExported(ctx, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	check("all", all, []string{"big", "odd", "empty", "one"})
	some, err := s.MetaverseExported(ctx, []string{"odd", "one", "user"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(some) != 3 {
		t.Errorf("by key: %d objects, want 3", len(some))
	}
	check("by key", some, []string{"odd", "one"})
}

func TestJSONStrings(t *testing.T) {
	tests := []struct {
		raw     string
		want    []string
		wantErr bool
	}{
		{`[]`, []string{}, false},
		{`["a"]`, []string{"a"}, false},
		{` [ "a" , "b","c" ] `, []string{"a", "b", "c"}, false},
		{`["q\"d","b\\s"]`, []string{`q"d`, `b\s`}, false},
		{`["é","x,y"]`, []string{"é", "x,y"}, false},
		{`["a",1]`, nil, true},
		{`["a"`, nil, true},
		{`["a" "b"]`, nil, true},
		{`{}`, nil, true},
	}
	for _, tt := range tests {
		got, err := jsonStrings(tt.raw)
		if (err != nil) != tt.wantErr || !tt.wantErr && !slices.Equal(got, tt.want) {
			t.Errorf("jsonStrings(%s) = %q, %v; want %q", tt.raw, got, err, tt.want)
		}
	}
}

// TestEachMetaverseExportedIsTheWholeState: the exported state read one
// object at a time is MetaverseExported(nil, true), in key order, each
// group with its members — memberships of groups it does not return
// (before, between and after them) skipped, not given to the next group.
func TestEachMetaverseExportedIsTheWholeState(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	var done []MVConfirmed
	for i := range 40 {
		key := fmt.Sprintf("g%02d", i)
		var ms []string
		for j := range i % 4 * 3 {
			ms = append(ms, fmt.Sprintf("m%02d-%d", i, j))
		}
		done = append(done, MVConfirmed{Key: key, Kind: "group", Op: "add", CloudID: "cloud-" + key, AddMembers: ms, Source: "corp: CN=" + key},
			MVConfirmed{Key: fmt.Sprintf("u%02d", i), Kind: "user", Op: "add", CloudID: fmt.Sprintf("cloud-u%02d", i),
				Attrs: []MVAttrChange{{Name: "displayName", New: []string{fmt.Sprint("User ", i)}}}, Source: "corp: CN=u"})
	}
	done = append(done, MVConfirmed{Key: "odd", Kind: "group", Op: "add", CloudID: "cloud-odd",
		AddMembers: []string{`quote"d`, `back\slash`, "é-accent", "plain"}, Source: "corp: CN=odd"})
	if err := s.RecordExported(ctx, done); err != nil {
		t.Fatal(err)
	}
	// Memberships of groups not returned: no mv_exported row, before, among
	// and after the groups.
	for _, g := range []string{"a-orphan", "g10x", "zz-orphan"} {
		if _, err := s.w.ExecContext(ctx, `INSERT INTO mv_exported_members (group_key, member_key) VALUES (?, 'stray')`, g); err != nil {
			t.Fatal(err)
		}
	}
	want, err := s.MetaverseExported(ctx, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for x, err := range s.EachMetaverseExported(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, x.Key)
		w, ok := want[x.Key]
		if !ok {
			t.Errorf("%s: not in MetaverseExported", x.Key)
			continue
		}
		if fmt.Sprint(x) != fmt.Sprint(w) {
			t.Errorf("%s:\n got %+v\nwant %+v", x.Key, x, w)
		}
	}
	if len(keys) != len(want) || !slices.IsSorted(keys) {
		t.Errorf("read %d objects (sorted: %v), want %d", len(keys), slices.IsSorted(keys), len(want))
	}
}
