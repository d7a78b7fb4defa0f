package secret

import (
	"bytes"
	"encoding/base64"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func b64(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

func TestLoadFromKeyFile(t *testing.T) {
	keyDir := t.TempDir() // outside the data directory
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		wantIDs []string
		wantErr string
		wantLog string
	}{
		{"raw key", string(keyOf(3)), 0o600, []string{KeyID(keyOf(3))}, "", ""},
		{"rotated: newest first", "# rotated\n" + b64(keyOf(4)) + "\n\n" + b64(keyOf(3)) + "\n", 0o600, []string{KeyID(keyOf(4)), KeyID(keyOf(3))}, "", ""},
		{"readable by others", b64(keyOf(3)) + "\n", 0o644, []string{KeyID(keyOf(3))}, "", "chmod 600"},
		{"short key", b64([]byte("short")) + "\n", 0o600, nil, "line 1", ""},
		{"empty", "# nothing\n", 0o600, nil, "no key", ""},
		{"same key twice", b64(keyOf(3)) + "\n" + b64(keyOf(3)) + "\n", 0o600, nil, "twice", ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(keyDir, "key"+string(rune('a'+i)))
			if err := os.WriteFile(path, []byte(tt.content), tt.mode); err != nil {
				t.Fatal(err)
			}
			os.Chmod(path, tt.mode)
			var logs bytes.Buffer
			dataDir := filepath.Join(t.TempDir(), "data")
			b, err := LoadFrom(Source{DataDir: dataDir, File: path, Log: slog.New(slog.NewTextHandler(&logs, nil))})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v; want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(b.KeyIDs(), ","); got != strings.Join(tt.wantIDs, ",") {
				t.Errorf("key ids %s; want %s", got, strings.Join(tt.wantIDs, ","))
			}
			if tt.wantLog != "" && !strings.Contains(logs.String(), tt.wantLog) || tt.wantLog == "" && logs.Len() > 0 {
				t.Errorf("logs %q; want %q", logs.String(), tt.wantLog)
			}
			if _, err := os.Stat(filepath.Join(dataDir, KeyFile)); !os.IsNotExist(err) {
				t.Error("with a key file given, a key was made in the data directory")
			}
		})
	}

	if _, err := LoadFrom(Source{DataDir: t.TempDir(), File: filepath.Join(keyDir, "missing")}); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("a missing key file: %v", err)
	}
	if _, err := LoadFrom(Source{File: filepath.Join(keyDir, "keya"), Env: b64(keyOf(3))}); err == nil || !strings.Contains(err.Error(), "both") {
		t.Errorf("file and env: %v", err)
	}
}

// Moving the key off the data disk: the old data-directory key must be among the
// keys given (else its values would not open), and a leftover copy is reported.
func TestLoadFromLeftoverDataDirKey(t *testing.T) {
	dataDir := t.TempDir()
	old, err := Load(dataDir, "")
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := old.Seal("x")
	raw, _ := os.ReadFile(filepath.Join(dataDir, KeyFile))
	keyFile := filepath.Join(t.TempDir(), "hybridsync.key")

	os.WriteFile(keyFile, []byte(b64(keyOf(5))+"\n"), 0o600)
	if _, err := LoadFrom(Source{DataDir: dataDir, File: keyFile}); err == nil || !strings.Contains(err.Error(), "lacks") {
		t.Fatalf("a key file without the data directory's key: %v", err)
	}
	if _, err := LoadFrom(Source{DataDir: dataDir, Env: b64(keyOf(5))}); err == nil || !strings.Contains(err.Error(), "lacks") {
		t.Fatalf("an env key without the data directory's key: %v", err)
	}

	os.WriteFile(keyFile, []byte(b64(keyOf(5))+"\n"+b64(raw)+"\n"), 0o600)
	var logs bytes.Buffer
	b, err := LoadFrom(Source{DataDir: dataDir, File: keyFile, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.Open(sealed); err != nil || got != "x" {
		t.Fatalf("an old value after moving the key: %q, %v", got, err)
	}
	if !strings.Contains(logs.String(), "still in the data directory") {
		t.Errorf("no warning about the leftover key: %q", logs.String())
	}
}

func TestLoadEnvRotated(t *testing.T) {
	b, err := Load(t.TempDir(), b64(keyOf(7))+", "+b64(keyOf(6)))
	if err != nil {
		t.Fatal(err)
	}
	if got := b.KeyIDs(); len(got) != 2 || got[0] != KeyID(keyOf(7)) {
		t.Fatalf("key ids %v", got)
	}
}

// The data directory's key file may hold rotated keys as text too.
func TestLoadDataDirRotated(t *testing.T) {
	dir := t.TempDir()
	old, _ := Load(dir, "")
	sealed := mustSeal(t, old, PurposeOIDCClientSecret, "s")
	path := filepath.Join(dir, KeyFile)
	raw, _ := os.ReadFile(path)
	if err := os.WriteFile(path, []byte(b64(keyOf(8))+"\n"+b64(raw)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.OpenFor(PurposeOIDCClientSecret, sealed); err != nil || got != "s" || !b.Stale(sealed) {
		t.Fatalf("old value: %q, %v, stale %v", got, err, b.Stale(sealed))
	}
	if b.KeyIDs()[0] != KeyID(keyOf(8)) {
		t.Fatalf("the newest key is not first: %v", b.KeyIDs())
	}
}
