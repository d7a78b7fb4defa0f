package secret

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	box, err := New(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	for _, plain := range []string{"x", "pässwörd with spaces ", strings.Repeat("long", 1000)} {
		sealed, err := box.Seal(plain)
		if err != nil {
			t.Fatal(err)
		}
		// (A one-letter plaintext may turn up in base64 by chance; longer ones may not.)
		if !strings.HasPrefix(sealed, "sealed:v1:") || len(plain) >= 8 && strings.Contains(sealed, plain) {
			t.Fatalf("sealed %q", sealed)
		}
		again, _ := box.Seal(plain)
		if again == sealed {
			t.Error("sealing twice gives the same text: the nonce is not random")
		}
		if got, err := box.Open(sealed); err != nil || got != plain {
			t.Fatalf("Open = %q, %v", got, err)
		}
	}
	if s, err := box.Seal(""); s != "" || err != nil {
		t.Errorf("Seal(\"\") = %q, %v", s, err)
	}
	if s, err := box.Open(""); s != "" || err != nil {
		t.Errorf("Open(\"\") = %q, %v", s, err)
	}

	sealed, _ := box.Seal("secret")
	other, _ := New(bytes.Repeat([]byte{2}, 32))
	raw := strings.TrimPrefix(sealed, "sealed:v1:")
	data, _ := base64.StdEncoding.DecodeString(raw)
	data[len(data)-1] ^= 1
	tests := []struct {
		name   string
		box    *Box
		sealed string
		want   string
	}{
		{"wrong key", other, sealed, "wrong key"},
		{"plain text", box, "secret", "not sealed"},
		{"bad base64", box, "sealed:v1:!!!", "corrupt"},
		{"too short", box, "sealed:v1:" + base64.StdEncoding.EncodeToString([]byte("abc")), "corrupt"},
		{"tampered", box, "sealed:v1:" + base64.StdEncoding.EncodeToString(data), "unable to decrypt"},
	}
	for _, tt := range tests {
		if got, err := tt.box.Open(tt.sealed); err == nil || got != "" || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Open = %q, %v; want an error with %q", tt.name, got, err, tt.want)
		}
	}
	if _, err := New([]byte("short")); err == nil {
		t.Error("New accepted a 5-byte key")
	}
}

func TestLoadKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	a, err := Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, KeyFile)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Size() != 32 {
		t.Fatalf("key file mode %o size %d", fi.Mode().Perm(), fi.Size())
	}
	key, _ := os.ReadFile(path)
	sealed, _ := a.Seal("x")

	b, err := Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.Open(sealed); err != nil || got != "x" {
		t.Fatalf("a second Load made another key: %q, %v", got, err)
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, key) {
		t.Fatal("the key file was rewritten")
	}

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir, ""); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Fatalf("a 0644 key file: %v", err)
	}
	os.Chmod(path, 0o640)
	if _, err := Load(dir, ""); err == nil {
		t.Fatal("a 0640 key file was accepted")
	}
	os.Chmod(path, 0o600)
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir, ""); err == nil || !strings.Contains(err.Error(), "5 bytes") {
		t.Fatalf("a short key file: %v", err)
	}
}

func TestLoadEnvKey(t *testing.T) {
	key := bytes.Repeat([]byte{9}, 32)
	env := base64.StdEncoding.EncodeToString(key)
	dir := t.TempDir()
	a, err := Load(dir, " "+env+"\n")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, KeyFile)); !os.IsNotExist(err) {
		t.Error("with the key in the environment, a key file was made")
	}
	sealed, _ := a.Seal("x")
	b, _ := New(key)
	if got, err := b.Open(sealed); err != nil || got != "x" {
		t.Fatalf("the env key is not the key used: %q, %v", got, err)
	}
	for _, bad := range []string{"not base64!", base64.StdEncoding.EncodeToString(key[:16])} {
		if _, err := Load(dir, bad); err == nil || !strings.Contains(err.Error(), "HYBRIDSYNC_SECRET_KEY") {
			t.Errorf("env key %q: %v", bad, err)
		}
	}
}
