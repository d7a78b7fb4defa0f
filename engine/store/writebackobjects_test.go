package store

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// TestWritebackObjects: an object is inserted, replaced whole, kept apart by
// kind, and forgotten.
func TestWritebackObjects(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	at := time.UnixMilli(1_700_000_000_000).UTC()
	g := WritebackObject{Kind: WritebackKindGroup, CloudID: "g1", Forest: "corp.test", Tenant: json.RawMessage(`{"displayName":"Team"}`),
		Members: map[string]string{"u1": "#microsoft.graph.user"}, CreateStartedAt: at}
	d := WritebackObject{Kind: WritebackKindDevice, CloudID: "g1", Forest: "corp.test"}
	if err := s.SaveWritebackObjects(ctx, []WritebackObject{g, d}); err != nil {
		t.Fatal(err)
	}
	got, err := s.WritebackObjects(ctx, WritebackKindGroup)
	if err != nil || len(got) != 1 {
		t.Fatalf("groups = %+v, %v", got, err)
	}
	if got[0].CloudID != "g1" || got[0].DN != "" || !got[0].CreateStartedAt.Equal(at) || !reflect.DeepEqual(got[0].Members, g.Members) ||
		string(got[0].Tenant) != `{"displayName":"Team"}` || got[0].Written == nil || got[0].WrittenMembers == nil {
		t.Errorf("inserted = %+v", got[0])
	}

	// Written: the intent goes, the DN and values come.
	g.DN, g.CreateStartedAt, g.WrittenAt = "CN=Group_g1,OU=WB,DC=corp,DC=test", time.Time{}, at
	g.Written, g.WrittenMembers, g.Removed = map[string][]string{"displayName": {"Team"}}, []string{"CN=U1,DC=corp,DC=test"}, true
	if err := s.SaveWritebackObjects(ctx, []WritebackObject{g}); err != nil {
		t.Fatal(err)
	}
	got, err = s.WritebackObjects(ctx, WritebackKindGroup)
	if err != nil || len(got) != 1 {
		t.Fatalf("groups = %+v, %v", got, err)
	}
	if o := got[0]; o.DN != g.DN || !o.CreateStartedAt.IsZero() || !o.WrittenAt.Equal(at) || !o.Removed ||
		!reflect.DeepEqual(o.Written, g.Written) || !reflect.DeepEqual(o.WrittenMembers, g.WrittenMembers) {
		t.Errorf("replaced = %+v", o)
	}

	if err := s.DeleteWritebackObject(ctx, WritebackKindGroup, "g1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.WritebackObjects(ctx, WritebackKindGroup); len(got) != 0 {
		t.Errorf("after the delete: %+v", got)
	}
	if got, _ := s.WritebackObjects(ctx, WritebackKindDevice); len(got) != 1 {
		t.Errorf("the device of the same id went too: %+v", got)
	}
	if _, err := s.WritebackObjects(ctx, "user"); err == nil {
		t.Error("an unknown kind was read")
	}
}

// The helpdesk lookup finds written-back objects by cloud id, DN or display
// name, either kind, ignoring case; wildcards are literal.
func TestFindWritebackObjects(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	if err := s.SaveWritebackObjects(ctx, []WritebackObject{
		{Kind: WritebackKindGroup, CloudID: "g-1", Forest: "corp.test", Tenant: json.RawMessage(`{"displayName":"Sales Team"}`), DN: "CN=Group_g-1,OU=M365,DC=corp,DC=test"},
		{Kind: WritebackKindDevice, CloudID: "d-1", Forest: "corp.test", Tenant: json.RawMessage(`{"displayName":"LAPTOP-42","deviceId":"abc"}`)},
	}); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]string{"g-1": "g-1", "sales": "g-1", "ou=m365": "g-1", "laptop-42": "d-1", "ABC": "d-1", "%": "", "nothing": ""} {
		got, err := s.FindWritebackObjects(ctx, q, 20)
		if err != nil {
			t.Fatal(err)
		}
		ids := ""
		for _, o := range got {
			ids += o.CloudID
		}
		if ids != want {
			t.Errorf("%q found %q, want %q", q, ids, want)
		}
	}
}
