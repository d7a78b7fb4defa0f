package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/engine/auth"
	"github.com/hybridsync/hybridsync/engine/store"
)

// accountsFixture is a data directory whose store has an administrator
// "root" (one session), an operator "alice" (two sessions) and an account
// "carol" signing in with an identity provider, and that store, open as the
// console would hold it while the command runs.
type accountsFixture struct {
	dir string
	st  *store.Store
	ids map[string]int64
}

const oldPassword = "the old password, long enough"

func newAccountsFixture(t *testing.T) accountsFixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, store.Options{Dialect: store.SQLite, DSN: store.SQLitePath(dir)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	hash, err := auth.HashPassword(oldPassword)
	if err != nil {
		t.Fatal(err)
	}
	f := accountsFixture{dir: dir, st: st, ids: map[string]int64{}}
	for _, a := range []struct {
		name, hash string
		roles      []string
		sessions   int
	}{
		{"root", hash, []string{string(auth.Admins)}, 1},
		{"alice", hash, []string{string(auth.Operators)}, 2},
	} {
		id, err := st.CreateAccount(ctx, store.Account{Username: a.name, DisplayName: "User " + a.name, PasswordHash: a.hash, CreatedBy: "test", Roles: a.roles})
		if err != nil {
			t.Fatal(err)
		}
		f.ids[a.name] = id
		for i := range a.sessions {
			now := time.Now()
			if err := st.CreateSession(ctx, store.Session{IDHash: a.name + string(rune('0'+i)), AccountID: id, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	carol, err := st.OIDCSignIn(ctx, store.OIDCLogin{Issuer: "https://idp.test", Subject: "c", Username: "carol", DisplayName: "Carol", Roles: []string{string(auth.Browse)}, By: "test"})
	if err != nil {
		t.Fatal(err)
	}
	f.ids["carol"] = carol.ID
	return f
}

func (f accountsFixture) account(t *testing.T, name string) store.Account {
	t.Helper()
	a, err := f.st.AccountByID(context.Background(), f.ids[name])
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (f accountsFixture) sessions(t *testing.T, name string) int {
	t.Helper()
	n, err := f.st.CountSessions(context.Background(), f.ids[name])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func passwordIs(t *testing.T, a store.Account, pw string) bool {
	t.Helper()
	ok, err := auth.CheckPassword(a.PasswordHash, pw)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestAccountsCommand(t *testing.T) {
	const newPassword = "a brand new password"
	cases := []struct {
		name    string
		args    []string // --data-dir is added
		stdin   string
		wantOut string // regexp
		wantErr string // substring
		// wantAudit is the audit trail's record of it: "action outcome
		// target"; "" when nothing may be recorded.
		wantAudit string
		check     func(t *testing.T, f accountsFixture)
	}{
		{
			name: "list",
			args: []string{"list"},
			wantOut: `(?m)^USERNAME +STATUS +SIGNS IN WITH +GROUPS +DISPLAY NAME\n` +
				`alice +enabled +password +operators +User alice\n` +
				`carol +enabled +identity provider +browse +Carol\n` +
				`root +enabled +password +admins +User root\n$`,
		},
		{
			name: "reset a password", args: []string{"reset-password", "alice"}, stdin: newPassword + "\n",
			wantAudit: "account.reset-password succeeded alice",
			wantOut:   `^Password of alice reset; 2 sessions ended\.\n$`,
			check: func(t *testing.T, f accountsFixture) {
				a := f.account(t, "alice")
				if !passwordIs(t, a, newPassword) || passwordIs(t, a, oldPassword) {
					t.Error("the new password does not verify, or the old one still does")
				}
				if n := f.sessions(t, "alice"); n != 0 {
					t.Errorf("alice keeps %d sessions", n)
				}
				if n := f.sessions(t, "root"); n != 1 {
					t.Errorf("root has %d sessions, want 1: not alice's", n)
				}
			},
		},
		{
			name: "reset, the password without a final newline", args: []string{"reset-password", "alice"}, stdin: newPassword,
			wantAudit: "account.reset-password succeeded alice",
			wantOut:   `reset`,
			check: func(t *testing.T, f accountsFixture) {
				if !passwordIs(t, f.account(t, "alice"), newPassword) {
					t.Error("the new password does not verify")
				}
			},
		},
		{
			name: "reset refuses a short password", args: []string{"reset-password", "alice"}, stdin: "short\n",
			wantErr: "Use at least 12 characters.",
			check: func(t *testing.T, f accountsFixture) {
				if !passwordIs(t, f.account(t, "alice"), oldPassword) || f.sessions(t, "alice") != 2 {
					t.Error("a refused reset changed the password or ended sessions")
				}
			},
		},
		{name: "reset with nothing on standard input", args: []string{"reset-password", "alice"}, wantErr: "standard input"},
		{name: "reset takes no password argument", args: []string{"reset-password", "alice", newPassword}, wantErr: "takes 1 argument"},
		{
			name: "add to a group by key", args: []string{"add-to-group", "alice", "admins"},
			wantAudit: "account.groups succeeded alice",
			wantOut:   `^alice is in Administrators \(admins\)\.\n$`,
			check: func(t *testing.T, f accountsFixture) {
				if r := f.account(t, "alice").Roles; !slices.Equal(r, []string{"admins", "operators"}) {
					t.Errorf("alice's groups %v", r)
				}
			},
		},
		{
			name: "add to a group by its name, flags after the arguments", args: []string{"add-to-group", "ALICE", "adsyncbrowse", "--log-level", "warn"},
			wantAudit: "account.groups succeeded alice",
			wantOut:   `^alice is in Browse \(browse\)\.\n$`,
			check: func(t *testing.T, f accountsFixture) {
				if r := f.account(t, "alice").Roles; !slices.Equal(r, []string{"browse", "operators"}) {
					t.Errorf("alice's groups %v", r)
				}
			},
		},
		{name: "add to an unknown group", args: []string{"add-to-group", "alice", "root"}, wantErr: `no sync group "root"`},
		{
			name: "disable", args: []string{"disable", "alice"},
			wantAudit: "account.disable succeeded alice",
			wantOut:   `^alice disabled; 2 sessions ended\.\n$`,
			check: func(t *testing.T, f accountsFixture) {
				if !f.account(t, "alice").Disabled || f.sessions(t, "alice") != 0 {
					t.Error("alice is not disabled, or keeps sessions")
				}
			},
		},
		{
			name: "disable refused for the last administrator", args: []string{"disable", "root"},
			wantAudit: "account.disable refused root",
			wantErr:   "root is the only enabled administrator",
			check: func(t *testing.T, f accountsFixture) {
				if f.account(t, "root").Disabled || f.sessions(t, "root") != 1 {
					t.Error("the refused disable changed root")
				}
			},
		},
		{name: "unknown account", args: []string{"disable", "mallory"}, wantErr: `no account named "mallory"`},
		{name: "unknown command", args: []string{"delete", "alice"}, wantErr: `unknown accounts command "delete"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newAccountsFixture(t)
			var out, errOut bytes.Buffer
			args := append([]string{tc.args[0], "--data-dir", f.dir}, tc.args[1:]...)
			err := accountsCmd(context.Background(), args, env(nil), strings.NewReader(tc.stdin), &out, &errOut)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("error: %v\n%s", err, errOut.String())
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
			}
			if tc.wantOut != "" && !regexp.MustCompile(tc.wantOut).MatchString(out.String()) {
				t.Errorf("output:\n%s\nwant it to match %s", out.String(), tc.wantOut)
			}
			if tc.check != nil {
				tc.check(t, f)
			}
			evs, err := f.st.AuditEvents(context.Background(), store.AuditFilter{})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range evs {
				got = append(got, e.Action+" "+e.Outcome+" "+e.Target)
				if !strings.HasPrefix(e.Actor, "cli:") || e.Client != "local" || strings.Contains(e.Detail, "password") {
					t.Errorf("audit record %+v: want actor cli:<user>, client local, no password", e)
				}
			}
			if want := strings.Fields(tc.wantAudit); len(want) == 0 && len(got) > 0 || len(want) > 0 && (len(got) != 1 || got[0] != tc.wantAudit) {
				t.Errorf("audit trail %q, want [%s]", got, tc.wantAudit)
			}
		})
	}
}

// TestAccountsCommandRecovers: with no enabled administrator left (as the
// race of issue 13 left a console), the command line makes one again, and a
// disabled administrator comes back with enable.
func TestAccountsCommandRecovers(t *testing.T) {
	ctx := context.Background()
	f := newAccountsFixture(t)
	if err := f.st.AddToGroup(ctx, f.ids["alice"], string(auth.Admins), "test"); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		args    []string
		wantErr error
	}{
		{[]string{"disable", "root"}, nil},
		{[]string{"disable", "alice"}, errors.New("only enabled administrator")},
		{[]string{"enable", "root"}, nil},
		{[]string{"disable", "alice"}, nil},
		{[]string{"disable", "root"}, errors.New("only enabled administrator")},
		{[]string{"add-to-group", "carol", "Administrators"}, nil},
		{[]string{"disable", "root"}, nil},
	}
	for _, s := range steps {
		var out, errOut bytes.Buffer
		err := accountsCmd(ctx, append(s.args, "--data-dir", f.dir), env(nil), strings.NewReader(""), &out, &errOut)
		if (err == nil) != (s.wantErr == nil) || err != nil && !strings.Contains(err.Error(), s.wantErr.Error()) {
			t.Fatalf("%v: error %v, want %v", s.args, err, s.wantErr)
		}
	}
	want := map[string]bool{"root": true, "alice": true, "carol": false}
	for name, disabled := range want {
		if got := f.account(t, name).Disabled; got != disabled {
			t.Errorf("%s disabled = %v, want %v", name, got, disabled)
		}
	}
}

func TestAccountsCommandNeedsADatabase(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nothing here")
	err := accountsCmd(context.Background(), []string{"list", "--data-dir", dir}, env(nil), strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "no database in") {
		t.Fatalf("error %v, want no database", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the command made the data directory (%v)", err)
	}
}
