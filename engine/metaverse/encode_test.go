package metaverse

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/hybridsync/hybridsync/engine/connector"
	"github.com/hybridsync/hybridsync/engine/store"
)

// TestStoredJSON: the traces, pending exports and metaverse objects the
// store holds are, byte for byte, what json.Marshal makes of them (they
// are encoded by hand, a row at a time), with text that needs escaping.
func TestStoredJSON(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), store.FileName)
	st, err := store.Open(ctx, store.Options{Dialect: store.SQLite, DSN: path})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	objs := []connector.Object{
		user(corp, 1, "Zoë <R&D>", "mail=zoe@example.test", "department=R&D \"lab\"\n\\", "displayname=Zoë\u2028\x01"),
		user(fab, 2, "plain", "userprincipalname=plain@other.test", "title=</script>"),
		obj(corp, connector.ClassGroup, 3, "CN=G&1,OU=Groups,DC=corp,DC=example,DC=test", "grouptype=-2147483646",
			"samaccountname=G&1", "description=\xff bad"),
	}
	objs[2].Members = []string{objs[0].DN, "CN=Gone,DC=corp,DC=example,DC=test"}
	objs = append(objs, obj(corp, "printer", 4, "CN=P,DC=corp,DC=example,DC=test"))
	e := NewEngine(baseConfig())
	res, err := e.Sync(ctx, st, true, objs)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows := func(q string) map[string]string {
		t.Helper()
		r, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		out := map[string]string{}
		for r.Next() {
			var k, v string
			if err := r.Scan(&k, &v); err != nil {
				t.Fatal(err)
			}
			out[k] = v
		}
		return out
	}
	marshal := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	traces := rows(`SELECT anchor, trace FROM mv_joins`)
	for _, o := range objs {
		tr, _ := e.Why(SourceID{o.Connector, o.Anchor})
		tr.Cloud = nil
		if got, want := traces[o.Anchor], marshal(tr); got != want {
			t.Errorf("trace of %s:\n got %s\nwant %s", o.DN, got, want)
		}
	}
	pending := rows(`SELECT mv_key, change FROM mv_pending`)
	if len(pending) != len(res.Changes) {
		t.Fatalf("%d pending rows, %d changes", len(pending), len(res.Changes))
	}
	for _, c := range res.Changes {
		if got, want := pending[c.Key], marshal(c); got != want {
			t.Errorf("pending export of %s:\n got %s\nwant %s", c.Key, got, want)
		}
	}
	stored := rows(`SELECT mv_key, attrs || members || sources FROM mv_objects`)
	for _, k := range e.Keys() {
		o, _ := e.Object(k)
		members := o.Members
		if members == nil {
			members = []string{}
		}
		if got, want := stored[k], marshal(o.Attrs)+marshal(members)+marshal(o.Sources); got != want {
			t.Errorf("metaverse object %s:\n got %s\nwant %s", k, got, want)
		}
	}
}
