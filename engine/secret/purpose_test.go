package secret

import (
	"bytes"
	"strings"
	"testing"
)

func keyOf(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func mustBox(t *testing.T, keys ...[]byte) *Box {
	t.Helper()
	b, err := NewKeys(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealForOpenFor(t *testing.T) {
	box := mustBox(t, keyOf(1))
	const plain = "correct horse battery staple"
	a, err := box.SealFor(PurposeSQLPassword, plain)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a, "sealed:v2:"+KeyID(keyOf(1))+":") || strings.Contains(a, plain) {
		t.Fatalf("SealFor = %q", a)
	}
	if got, err := box.OpenFor(PurposeSQLPassword, a); err != nil || got != plain {
		t.Fatalf("OpenFor = %q, %v", got, err)
	}
	if box.Stale(a) {
		t.Error("a value just sealed with the newest key is stale")
	}
	legacy, _ := box.Seal(plain)
	if !box.Stale(legacy) {
		t.Error("a v1 value is not stale")
	}
	if got, err := box.OpenFor(PurposeSQLPassword, legacy); err != nil || got != plain {
		t.Fatalf("OpenFor(v1) = %q, %v", got, err)
	}
	for _, empty := range []func() (string, error){
		func() (string, error) { return box.SealFor(PurposeSQLPassword, "") },
		func() (string, error) { return box.OpenFor(PurposeSQLPassword, "") },
	} {
		if s, err := empty(); s != "" || err != nil {
			t.Errorf("empty = %q, %v", s, err)
		}
	}

	tests := []struct {
		name, purpose, sealed, want string
	}{
		// The finding: a value moved into another field must not open there.
		{"swapped field", PurposeServiceAccountPassword, a, "another purpose"},
		{"swapped forest", ForestConnectorPassword("b.example"), mustSeal(t, box, ForestConnectorPassword("a.example"), plain), "another purpose"},
		{"downgraded to v1", PurposeSQLPassword, "sealed:v1:" + a[len("sealed:v2:")+9:], "unable to decrypt"},
		{"unknown key", PurposeSQLPassword, "sealed:v2:00000000:" + a[len("sealed:v2:")+9:], "not among the keys"},
		{"no key id", PurposeSQLPassword, "sealed:v2:abc", "corrupt"},
		{"bad base64", PurposeSQLPassword, "sealed:v2:" + KeyID(keyOf(1)) + ":!!!", "corrupt"},
		{"plain", PurposeSQLPassword, plain, "not sealed"},
		{"no purpose", "", a, "bad purpose"},
	}
	for _, tt := range tests {
		if got, err := box.OpenFor(tt.purpose, tt.sealed); err == nil || got != "" || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: OpenFor = %q, %v; want an error with %q", tt.name, got, err, tt.want)
		}
	}
	if _, err := box.Open(a); err == nil || !strings.Contains(err.Error(), "OpenFor") {
		t.Errorf("Open of a v2 value: %v", err)
	}
	if _, err := box.SealFor("", plain); err == nil {
		t.Error("SealFor accepted an empty purpose")
	}
}

func mustSeal(t *testing.T, b *Box, purpose, plain string) string {
	t.Helper()
	s, err := b.SealFor(purpose, plain)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRotation(t *testing.T) {
	oldBox := mustBox(t, keyOf(1))
	oldV2 := mustSeal(t, oldBox, PurposeSessionKeys, "session")
	oldV1, _ := oldBox.Seal("legacy")

	rotated := mustBox(t, keyOf(2), keyOf(1))
	if got := rotated.KeyIDs(); len(got) != 2 || got[0] != KeyID(keyOf(2)) || got[1] != KeyID(keyOf(1)) {
		t.Fatalf("KeyIDs = %v", got)
	}
	if got, err := rotated.OpenFor(PurposeSessionKeys, oldV2); err != nil || got != "session" {
		t.Fatalf("an old v2 value after rotation: %q, %v", got, err)
	}
	if got, err := rotated.Open(oldV1); err != nil || got != "legacy" {
		t.Fatalf("an old v1 value after rotation: %q, %v", got, err)
	}
	if !rotated.Stale(oldV2) {
		t.Error("a value sealed with the old key is not stale after rotation")
	}
	fresh := mustSeal(t, rotated, PurposeSessionKeys, "session")
	if !strings.HasPrefix(fresh, "sealed:v2:"+KeyID(keyOf(2))+":") || rotated.Stale(fresh) {
		t.Fatalf("a new value is not sealed with the new key: %q", fresh)
	}
	if _, err := oldBox.OpenFor(PurposeSessionKeys, fresh); err == nil {
		t.Error("the old key alone opens a value sealed with the new one")
	}
	newV1, _ := rotated.Seal("x")
	if _, err := mustBox(t, keyOf(2)).Open(newV1); err != nil {
		t.Errorf("Seal does not use the newest key: %v", err)
	}
	// Dropping the old key: its values no longer open, and say why.
	if _, err := mustBox(t, keyOf(2)).OpenFor(PurposeSessionKeys, oldV2); err == nil || !strings.Contains(err.Error(), KeyID(keyOf(1))) {
		t.Errorf("an old value without its key: %v", err)
	}

	for _, bad := range [][][]byte{nil, {keyOf(1), keyOf(1)}, {[]byte("short")}} {
		if _, err := NewKeys(bad...); err == nil {
			t.Errorf("NewKeys(%d keys) accepted", len(bad))
		}
	}
}

func TestForestConnectorPassword(t *testing.T) {
	if a, b := ForestConnectorPassword("Corp.Example.TEST."), ForestConnectorPassword("corp.example.test"); a != b {
		t.Errorf("%q != %q", a, b)
	}
	if ForestConnectorPassword("a.test") == ForestConnectorPassword("b.test") {
		t.Error("two forests share a purpose")
	}
}
