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

// The values written come back byte for byte, binary ones too (a device's
// msDS-DeviceID and its owner's SID): otherwise the next plan finds them
// changed and rewrites every device on every cycle. Rows saved before binary
// values were marked (all plain strings) still read.
func TestWritebackWrittenValuesRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	guid := string([]byte{0x1e, 0x0c, 0x2f, 0x5d, 0x6a, 0x8b, 0x3e, 0x4f, 0x9d, 0x21, 0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f})
	sid := string([]byte{1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 0xfe, 0xa1, 0xc3, 0x99, 0xff, 0x80, 0x00, 0x7f})
	for _, tc := range []struct {
		name    string
		written map[string][]string
	}{
		{"text", map[string][]string{"displayName": {"LAPTOP-Zürich"}, "msDS-IsEnabled": {"TRUE"}}},
		{"binary", map[string][]string{"msDS-DeviceID": {guid}, "msDS-RegisteredOwner": {sid}}},
		{"both in one attribute", map[string][]string{"altSecurityIdentities": {"X509:<SHA1-TP-PUBKEY>ab", guid}}},
		{"text that looks like the marker", map[string][]string{"description": {`{"base64":"AAAA"}`}}},
		{"empty values", map[string][]string{"description": {""}, "info": {}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := WritebackObject{Kind: WritebackKindDevice, CloudID: "d-" + tc.name, Forest: "corp.test", DN: "CN=d,DC=corp,DC=test", Written: tc.written}
			if err := s.SaveWritebackObjects(ctx, []WritebackObject{o}); err != nil {
				t.Fatal(err)
			}
			got, err := s.WritebackObjects(ctx, WritebackKindDevice)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range got {
				if g.CloudID == o.CloudID && !reflect.DeepEqual(g.Written, tc.written) {
					t.Errorf("read back %q, want %q", g.Written, tc.written)
				}
			}
		})
	}
	legacy, err := decodeWritten(`{"displayName":["Team"],"member":[]}`)
	if err != nil || !reflect.DeepEqual(legacy, map[string][]string{"displayName": {"Team"}, "member": {}}) {
		t.Errorf("a row of plain strings reads as %q, %v", legacy, err)
	}
}
