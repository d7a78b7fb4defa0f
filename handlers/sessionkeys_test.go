package handlers

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/engine/auth"
	"github.com/hybridsync/hybridsync/engine/secret"
	"github.com/hybridsync/hybridsync/engine/store"
)

func keysBox(t *testing.T, keys ...byte) *secret.Box {
	t.Helper()
	var kk [][]byte
	for _, k := range keys {
		kk = append(kk, bytes.Repeat([]byte{k}, secret.KeySize))
	}
	b, err := secret.NewKeys(kk...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func keysStore(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Dialect: store.SQLite, DSN: store.SQLitePath(t.TempDir())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// The session keys are stored sealed by the secret key: the finding was the
// cookie keys in clear in settings.session_keys.
func TestSessionKeysSealed(t *testing.T) {
	ctx := context.Background()
	clearKeys := auth.Token(64) + "." + auth.Token(32)
	tests := []struct {
		name string
		// before stores the setting as an earlier run left it ("": none).
		before func(t *testing.T) string
		box    *secret.Box
		// same: the keys in clear must be clearKeys.
		same    bool
		wantErr string
	}{
		{name: "made sealed", before: func(*testing.T) string { return "" }, box: keysBox(t, 1)},
		{name: "clear from an earlier version", before: func(*testing.T) string { return clearKeys }, box: keysBox(t, 1), same: true},
		{name: "sealed in the legacy v1 form", before: func(t *testing.T) string { return seal1(t, keysBox(t, 1), clearKeys) }, box: keysBox(t, 1), same: true},
		{name: "sealed with a key since rotated", before: func(t *testing.T) string { return sealFor(t, keysBox(t, 1), secret.PurposeSessionKeys, clearKeys) }, box: keysBox(t, 2, 1), same: true},
		{name: "another secret key", before: func(t *testing.T) string { return sealFor(t, keysBox(t, 1), secret.PurposeSessionKeys, clearKeys) }, box: keysBox(t, 2), wantErr: "unable to open the session keys"},
		{name: "another field's sealed value", before: func(t *testing.T) string { return sealFor(t, keysBox(t, 1), secret.PurposeOIDCClientSecret, clearKeys) }, box: keysBox(t, 1), wantErr: "another purpose"},
		{name: "sealed, no box", before: func(t *testing.T) string { return sealFor(t, keysBox(t, 1), secret.PurposeSessionKeys, clearKeys) }, wantErr: "no secret key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := keysStore(t)
			if v := tt.before(t); v != "" {
				if err := st.SetSetting(ctx, store.SettingSessionKeys, v); err != nil {
					t.Fatal(err)
				}
			}
			hk, bk, err := sessionKeys(ctx, st, tt.box)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v; want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			stored, err := st.Setting(ctx, store.SettingSessionKeys)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(stored, "sealed:v2:") || tt.box.Stale(stored) {
				t.Fatalf("stored %q: not sealed with the newest key", stored)
			}
			opened, err := tt.box.OpenFor(secret.PurposeSessionKeys, stored)
			if err != nil {
				t.Fatal(err)
			}
			hashB64, blockB64, _ := strings.Cut(opened, ".")
			if strings.Contains(stored, hashB64) || strings.Contains(stored, blockB64) {
				t.Fatal("the stored value holds a key in clear")
			}
			if tt.same && opened != clearKeys {
				t.Fatal("the keys changed: every session cookie would be void")
			}
			// Read again: the same keys, and the stored value is left alone.
			hk2, bk2, err := sessionKeys(ctx, st, tt.box)
			if err != nil || !bytes.Equal(hk, hk2) || !bytes.Equal(bk, bk2) {
				t.Fatalf("a second read gave other keys: %v", err)
			}
			if again, _ := st.Setting(ctx, store.SettingSessionKeys); again != stored {
				t.Error("a second read rewrote the setting")
			}
			if _, err := newSealedSessionManager(ctx, st, tt.box, true, time.Minute, time.Hour); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func seal1(t *testing.T, b *secret.Box, plain string) string {
	t.Helper()
	s, err := b.Seal(plain)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sealFor(t *testing.T, b *secret.Box, purpose, plain string) string {
	t.Helper()
	s, err := b.SealFor(purpose, plain)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
