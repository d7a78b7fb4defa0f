package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/e2e/tenant"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestRunCommands(t *testing.T) {
	dir := t.TempDir()
	all, err := store.Migrations(store.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	latest := fmt.Sprintf("schema is at version %d", len(all))
	tests := []struct {
		name    string
		args    []string
		wantOut string
		wantErr string
	}{
		{"no command", nil, "", "no command given"},
		{"unknown command", []string{"frobnicate"}, "", `unknown command "frobnicate"`},
		{"version", []string{"version"}, "hybridsync " + setup.ProductVersion, ""},
		{"help", []string{"help"}, "usage: hybridsync", ""},
		{"migrate a new store", []string{"migrate", "--data-dir", dir}, latest, ""},
		{"migrate again", []string{"migrate", "--data-dir", dir}, latest, ""},
		{"export before any configure", []string{"config", "export", "--data-dir", dir}, "", "no configuration has been applied yet"},
		{"unknown config command", []string{"config", "import"}, "", "unknown config command"},
		{"database that is not SQL Server", []string{"migrate", "--data-dir", dir, "--database", "postgres://x"}, "", "sqlserver://"},
		{"bad log level", []string{"migrate", "--data-dir", dir, "--log-level", "loud"}, "", "bad --log-level"},
		{"bad memory limit", []string{"migrate", "--data-dir", dir, "--memory-limit", "lots"}, "", "bad --memory-limit"},
		{"tls halves", []string{"serve", "--data-dir", dir, "--tls-cert", "c.pem"}, "", "--tls-cert and --tls-key go together"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), tt.args, env(nil), &out, &errb)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("error %v\n%s", err, errb.String())
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("output %q, want %q", out.String(), tt.wantOut)
			}
		})
	}
}

func TestConfigExport(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Dialect: store.SQLite, DSN: store.SQLitePath(dir)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	a := setup.Defaults()
	a.SignIn = setup.SignIn{Method: setup.MethodPTA, SSO: true}
	answers, _ := json.Marshal(a)
	if _, err := st.SaveActiveConfiguration(ctx, store.Configuration{InstallID: "i", Answers: answers, AppliedBy: "alice", JobID: 7}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	var out bytes.Buffer
	if err := run(ctx, []string{"config", "export"}, env(map[string]string{"HYBRIDSYNC_DATA_DIR": dir}), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	x, err := setup.ParseExport(out.Bytes())
	if err != nil {
		t.Fatalf("the export does not import: %v\n%s", err, out.String())
	}
	if x.Settings.SignIn != a.SignIn || x.Source.AppliedBy != "alice" || x.Source.ConfigurationID != 1 {
		t.Errorf("export %+v", x)
	}
}

// syncWriter collects a server's log while it runs.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestServe starts the console on a free port, checks /healthz, the first-run
// token in the log and the key file, then stops it the way a signal does.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncWriter{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0"}, env(map[string]string{"HYBRIDSYNC_DATA_DIR": dir}), io.Discard, logs)
	}()
	urlRe := regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+) `)
	var base string
	for deadline := time.Now().Add(20 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := urlRe.FindStringSubmatch(logs.String()); m != nil && strings.Contains(logs.String(), "listening") {
			base = m[1]
		}
	}
	if base == "" {
		cancel()
		t.Fatalf("the server did not start:\n%s", logs.String())
	}
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok\n" {
		t.Errorf("healthz: %d %q", resp.StatusCode, body)
	}
	if !regexp.MustCompile(`setup_token=[A-Za-z0-9_-]{32}`).MatchString(logs.String()) {
		t.Errorf("no setup token in the log:\n%s", logs.String())
	}
	fi, err := os.Stat(filepath.Join(dir, "secret.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("secret key file: %v %v", fi, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop after its context ended")
	}
	if !strings.Contains(logs.String(), "msg=stopped") {
		t.Errorf("no clean stop in the log:\n%s", logs.String())
	}
}

// make run points the console at the tenant emulator's hybridsync-connect
// application: the id in scripts/run.sh must be the emulator's.
func TestRunScriptUsesTheEmulatorsClientID(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "scripts", "run.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "HYBRIDSYNC_ENTRA_CLIENT_ID="+tenant.ConnectClientID) {
		t.Errorf("scripts/run.sh does not use tenant.ConnectClientID (%s)", tenant.ConnectClientID)
	}
}
