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
