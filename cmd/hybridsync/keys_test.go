package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/engine/secret"
	"github.com/hybridsync/hybridsync/engine/store"
)

// startServe runs serve until the test ends; it returns the log once the
// console listens.
func startServe(t *testing.T, args []string, vars map[string]string) *syncWriter {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncWriter{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...), env(vars), io.Discard, logs)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop after its context ended")
		}
	})
	listening := regexp.MustCompile(`listening.*url=http://127\.0\.0\.1:\d+ `)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if listening.MatchString(logs.String()) {
			return logs
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("serve stopped: %v\n%s", err, logs.String())
		default:
		}
	}
	t.Fatalf("the server did not start:\n%s", logs.String())
	return nil
}

func perm(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// With --secret-key-file (or HYBRIDSYNC_SECRET_KEY_FILE) the key stays off the
// data disk, and the data directory an operator made 0755 is locked down.
func TestServeKeyFileAndPrivateDataDir(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	keyFile := filepath.Join(t.TempDir(), "hybridsync.key")
	key := bytes.Repeat([]byte{4}, secret.KeySize)
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		vars map[string]string
	}{
		{"flag", []string{"--secret-key-file", keyFile}, nil},
		{"environment", nil, map[string]string{"HYBRIDSYNC_SECRET_KEY_FILE": keyFile}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			vars := map[string]string{"HYBRIDSYNC_DATA_DIR": dir}
			for k, v := range tt.vars {
				vars[k] = v
			}
			logs := startServe(t, tt.args, vars)
			if _, err := os.Stat(filepath.Join(dir, secret.KeyFile)); !os.IsNotExist(err) {
				t.Errorf("a key was made in the data directory: %v", err)
			}
			if got := perm(t, dir); got != 0o700 {
				t.Errorf("data directory mode %04o; want 0700", got)
			}
			if !strings.Contains(logs.String(), "tightened the permissions of the data directory") {
				t.Errorf("no log line about the tightened directory:\n%s", logs.String())
			}
			db := store.SQLitePath(dir)
			for _, suffix := range []string{"", "-wal", "-shm"} {
				if got := perm(t, db+suffix); got != 0o600 {
					t.Errorf("%s mode %04o; want 0600", filepath.Base(db+suffix), got)
				}
			}
			// The session keys were sealed with the key file's key. (They are
			// in clear until handlers.New hands its box to the session manager.)
			st, err := store.Open(context.Background(), store.Options{Dialect: store.SQLite, DSN: db})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			v, err := st.Setting(context.Background(), store.SettingSessionKeys)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(v, "sealed:v2:"+secret.KeyID(key)+":") {
				t.Errorf("session keys sealed with another key: %q", v)
			}
		})
	}
}

func TestSecretKeyFileErrors(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "hybridsync.key")
	os.WriteFile(keyFile, bytes.Repeat([]byte{4}, secret.KeySize), 0o600)
	tests := []struct {
		name    string
		args    []string
		vars    map[string]string
		wantErr string
	}{
		{"missing file", []string{"--secret-key-file", filepath.Join(t.TempDir(), "nope")}, nil, "does not exist"},
		{"file and environment", []string{"--secret-key-file", keyFile}, map[string]string{"HYBRIDSYNC_SECRET_KEY": base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{5}, secret.KeySize))}, "both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{"HYBRIDSYNC_DATA_DIR": t.TempDir()}
			for k, v := range tt.vars {
				vars[k] = v
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, tt.args...), env(vars), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("serve = %v; want an error with %q", err, tt.wantErr)
			}
		})
	}
}
