package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hybridsync/hybridsync/e2e/tenant"
)

// The block make run prints, without forests running (so no samba is needed):
// the console's way in, every emulator account from the seed, and what
// Ctrl-C stops.
func TestDescribeBlock(t *testing.T) {
	t.Setenv("HYBRIDSYNC_FORESTS_CACHE", t.TempDir())
	t.Setenv("HYBRIDSYNC_TENANT_SEED", "")
	seed := tenant.DefaultSeed()
	tests := []struct {
		name      string
		args      []string
		want, not []string
	}{
		{
			name: "first run, emulator, forests asked for but not running",
			args: []string{"-console", "http://127.0.0.1:18080", "-setup-token", "tok-123", "-console-pid", "11",
				"-tenant", "https://127.0.0.1:18443", "-tenant-ca", "/srv/hs/tenant-ca/ca.pem", "-tenant-pid", "12", "-dns", "127.0.0.2:53"},
			want: []string{
				"hybridsync is ready: http://127.0.0.1:18080",
				"open http://127.0.0.1:18080/first-run", "setup token   tok-123",
				"tenant emulator on https://127.0.0.1:18443",
				"test CA /srv/hs/tenant-ca/ca.pem, which the console trusts (HYBRIDSYNC_ENTRA_CA)",
				"Your browser warns on its sign-in page", "unless you import that CA",
				"chrome://certificate-manager", "about:preferences#privacy",
				seed.Admins[0].UserPrincipalName, seed.Admins[0].Password, // Hybrid Identity Administrator
				seed.Admins[1].UserPrincipalName, "code " + tenant.DefaultMFACode, // MFA
				seed.Admins[2].UserPrincipalName, seed.Admins[2].Password, // Global Administrator
				"corp.example.test: NOT RUNNING", "fabrikam.example.test: NOT RUNNING",
				"Ctrl-C stops the console (pid 11) and the tenant emulator (pid 12).",
			},
			not: []string{"locked.admin", "Left running"},
		},
		{
			name: "an emulator on plain http",
			args: []string{"-console", "http://127.0.0.1:18080", "-console-pid", "11", "-forests=false",
				"-tenant", "http://127.0.0.1:18443", "-tenant-pid", "12"},
			want: []string{"tenant emulator on http://127.0.0.1:18443"},
			not:  []string{"test CA", "browser warns"},
		},
		{
			name: "an administrator exists, a real tenant, FORESTS=0",
			args: []string{"-console", "http://127.0.0.1:8080", "-data-dir", "/srv/hs", "-console-pid", "11", "-forests=false"},
			want: []string{
				"Sign in at http://127.0.0.1:8080: an administrator account exists in /srv/hs already.",
				"your own tenant (HYBRIDSYNC_ENTRA_AUTHORITY)",
				"no demo forests (FORESTS=0)",
				"Ctrl-C stops the console (pid 11).",
			},
			not: []string{"setup token", "hybrid.admin", "NOT RUNNING"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if err := run(context.Background(), append([]string{"describe"}, tt.args...), &out, &errOut); err != nil {
				t.Fatalf("describe: %v\n%s", err, errOut.String())
			}
			got := out.String()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("block lacks %q:\n%s", w, got)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(got, n) {
					t.Errorf("block has %q:\n%s", n, got)
				}
			}
			for _, l := range strings.Split(got, "\n") {
				if strings.HasSuffix(l, " ") {
					t.Errorf("trailing space: %q", l)
				}
			}
		})
	}
}

func TestReadStarted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "started")
	if got, err := readStarted(path); err != nil || got != nil {
		t.Fatalf("missing file: %v, %v; want nothing", got, err)
	}
	if err := os.WriteFile(path, []byte("corp.example.test 4242 /d/forests/corp\nfabrikam.example.test 4343 /a dir/fabrikam\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readStarted(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []startedForest{{"corp.example.test", 4242, "/d/forests/corp"}, {"fabrikam.example.test", 4343, "/a dir/fabrikam"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("readStarted = %+v, want %+v", got, want)
	}
	if err := os.WriteFile(path, []byte("corp.example.test x /d\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readStarted(path); err == nil {
		t.Error("a line without a pid was accepted")
	}
}

func TestAnd(t *testing.T) {
	for in, want := range map[string]string{"": "", "a": "a", "a|b": "a and b", "a|b|c": "a, b and c"} {
		var items []string
		if in != "" {
			items = strings.Split(in, "|")
		}
		if got := and(items); got != want {
			t.Errorf("and(%q) = %q, want %q", items, got, want)
		}
	}
}
