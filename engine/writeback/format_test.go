package writeback

import (
	"bytes"
	"encoding/hex"
	"slices"
	"testing"

	"github.com/hybridsync/hybridsync/engine/cloud"
	"github.com/hybridsync/hybridsync/engine/store"
)

// TestDeviceIDBytes: msDS-DeviceID takes .NET's Guid.ToByteArray order (the
// first three fields little-endian), as objectGUID does.
func TestDeviceIDBytes(t *testing.T) {
	got, err := DeviceIDBytes("00112233-4455-6677-8899-aabbccddeeff")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := hex.DecodeString("33221100554477668899aabbccddeeff")
	if !bytes.Equal(got, want) {
		t.Errorf("DeviceIDBytes = %x, want %x", got, want)
	}
	if _, err := DeviceIDBytes("not-a-guid"); err == nil {
		t.Error("a deviceId that is no GUID was accepted")
	}
}

func utf16le(s string) []byte {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r), byte(r>>8))
	}
	return b
}

// TestAltSecurityIdentities: Graph's keys are UTF-16LE text; plain text
// keys are taken too; other keys are left out.
func TestAltSecurityIdentities(t *testing.T) {
	const v = "X509:<SHA1-TP-PUBKEY>0123456789ABCDEF0123456789ABCDEF01234567hash="
	tests := []struct {
		name string
		keys [][]byte
		want []string
	}{
		{"utf-16le", [][]byte{utf16le(v)}, []string{v}},
		{"utf-16le with a trailing NUL", [][]byte{append(utf16le(v), 0, 0)}, []string{v}},
		{"plain text", [][]byte{[]byte(v)}, []string{v}},
		{"not X509", [][]byte{utf16le("Kerberos:abc"), {0xff, 0xfe, 0x00}}, nil},
		{"two", [][]byte{utf16le(v), []byte(v + "2")}, []string{v, v + "2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ids []cloud.AlternativeSecurityID
			for _, k := range tc.keys {
				ids = append(ids, cloud.AlternativeSecurityID{Type: 2, Key: k})
			}
			if got := AltSecurityIdentities(ids); !slices.Equal(got, tc.want) {
				t.Errorf("AltSecurityIdentities = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDescriptionIsCutAt448(t *testing.T) {
	long := string(bytes.Repeat([]byte("é"), 500))
	if got := []rune(description("  " + long + "  ")); len(got) != 448 {
		t.Errorf("description has %d characters, want 448", len(got))
	}
	if got := description("  short "); got != "short" {
		t.Errorf("description = %q", got)
	}
}

// TestDiff: what a written object needs to match the tenant, one member
// value per operation.
func TestDiff(t *testing.T) {
	const dn = "CN=Group_1,OU=WB,DC=corp,DC=test"
	want := desired{dn: dn, attrs: map[string][]string{"objectClass": {"group"}, "displayName": {"New"}, "adminDescription": {"Group_1"}},
		members: []string{"CN=A,DC=corp,DC=test", "CN=B,DC=corp,DC=test"}}
	tests := []struct {
		name string
		row  store.WritebackObject
		want []string
	}{
		{"never written: one add", store.WritebackObject{CloudID: "1"}, []string{"add " + dn}},
		{"in step", store.WritebackObject{CloudID: "1", DN: dn, Written: map[string][]string{"displayName": {"New"}, "adminDescription": {"Group_1"}},
			WrittenMembers: []string{"cn=a,dc=corp,dc=test", "CN=B,DC=corp,DC=test"}}, nil},
		{"renamed, a description gone, one member in, one out", store.WritebackObject{CloudID: "1", DN: dn,
			Written:        map[string][]string{"displayName": {"Old"}, "adminDescription": {"Group_1"}, "description": {"gone"}},
			WrittenMembers: []string{"CN=A,DC=corp,DC=test", "CN=C,DC=corp,DC=test"}},
			[]string{"update map[description:[] displayName:[New]]", "member-add CN=B,DC=corp,DC=test", "member-remove CN=C,DC=corp,DC=test"}},
		{"moved: renamed", store.WritebackObject{CloudID: "1", DN: "CN=Old_1,OU=WB,DC=corp,DC=test",
			Written: map[string][]string{"displayName": {"New"}, "adminDescription": {"Group_1"}}, WrittenMembers: want.members},
			[]string{"rename " + dn}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, op := range diff(store.WritebackKindGroup, &tc.row, want) {
				switch {
				case op.Op == OpUpdate:
					got = append(got, op.Op+" "+fmtAttrs(op.Attrs))
				case op.Value != "":
					got = append(got, op.Op+" "+op.Value)
				default:
					got = append(got, op.Op+" "+op.DN)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("diff = %q\nwant %q", got, tc.want)
			}
		})
	}
}

func fmtAttrs(m map[string][]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	s := "map["
	for i, k := range keys {
		if i > 0 {
			s += " "
		}
		s += k + ":["
		for j, v := range m[k] {
			if j > 0 {
				s += " "
			}
			s += v
		}
		s += "]"
	}
	return s + "]"
}
