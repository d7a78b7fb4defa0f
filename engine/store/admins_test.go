package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// adminFixture makes an administrator "root", an operator "op" and, when
// second is not "", a second administrator (disabled when second is
// "disabled").
func adminFixture(t *testing.T, s *Store, second string) (root, op, other int64) {
	t.Helper()
	ctx := context.Background()
	mk := func(name string, roles ...string) int64 {
		id, err := s.CreateAccount(ctx, Account{Username: name, DisplayName: name, PasswordHash: "h", CreatedBy: "test", Roles: roles})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	root, op = mk("root", AdminRole), mk("op", "operators")
	if second != "" {
		other = mk("other", AdminRole)
		if second == "disabled" {
			if _, err := s.DisableAccount(ctx, other); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root, op, other
}

func TestLastAdminKept(t *testing.T) {
	ctx := context.Background()
	changes := []struct {
		name string
		do   func(s *Store, id int64) error
	}{
		{"set roles without admins", func(s *Store, id int64) error { return s.SetRoles(ctx, id, []string{"browse"}, "test") }},
		{"set no roles", func(s *Store, id int64) error { return s.SetRoles(ctx, id, nil, "test") }},
		{"remove from admins", func(s *Store, id int64) error { return s.RemoveFromGroup(ctx, id, AdminRole) }},
		{"disable", func(s *Store, id int64) error { _, err := s.DisableAccount(ctx, id); return err }},
		{"delete", func(s *Store, id int64) error { return s.DeleteAccount(ctx, id) }},
	}
	seconds := []struct {
		second string
		want   error
	}{
		{"", ErrLastAdmin},
		{"disabled", ErrLastAdmin}, // a disabled administrator does not count
		{"enabled", nil},
	}
	for _, c := range changes {
		for _, sc := range seconds {
			t.Run(c.name+", second admin "+sc.second, func(t *testing.T) {
				s := openTestStore(t)
				root, _, _ := adminFixture(t, s, sc.second)
				if err := c.do(s, root); !errors.Is(err, sc.want) {
					t.Fatalf("err = %v, want %v", err, sc.want)
				}
				a, err := s.AccountByID(ctx, root)
				if err != nil && !(errors.Is(err, ErrNotFound) && c.name == "delete") {
					t.Fatal(err)
				}
				stillAdmin := err == nil && slices.Contains(a.Roles, AdminRole) && !a.Disabled
				if stillAdmin != (sc.want != nil) {
					t.Errorf("root still an enabled administrator = %v (roles %v, disabled %v)", stillAdmin, a.Roles, a.Disabled)
				}
			})
		}
	}
	t.Run("changing someone else", func(t *testing.T) {
		s := openTestStore(t)
		_, op, _ := adminFixture(t, s, "")
		for _, c := range changes {
			if err := c.do(s, op); err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
		}
	})
	t.Run("no such account", func(t *testing.T) {
		s := openTestStore(t)
		adminFixture(t, s, "")
		for _, c := range changes[2:] {
			if err := c.do(s, 999); !errors.Is(err, ErrNotFound) {
				t.Errorf("%s: err = %v, want ErrNotFound", c.name, err)
			}
		}
	})
}

// TestAdminsDemotingEachOtherConcurrently: two stores on one file (the console
// and hybridsync accounts), each removing the other administrator at the same
// moment, leave one.
func TestAdminsDemotingEachOtherConcurrently(t *testing.T) {
	ctx := context.Background()
	path := SQLitePath(t.TempDir())
	s1, s2 := openAt(t, path), openAt(t, path)
	a, _, b := adminFixture(t, s1, "enabled")
	for round := range 50 {
		for _, id := range []int64{a, b} {
			if err := s1.SetRoles(ctx, id, []string{AdminRole}, "test"); err != nil {
				t.Fatal(err)
			}
		}
		errs := make([]error, 2)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, x := range []struct {
			s  *Store
			id int64
		}{{s1, b}, {s2, a}} {
			wg.Go(func() {
				<-start
				if round%2 == 0 {
					errs[i] = x.s.SetRoles(ctx, x.id, []string{"browse"}, "test")
				} else {
					_, errs[i] = x.s.DisableAccount(ctx, x.id)
				}
			})
		}
		close(start)
		wg.Wait()
		wantOneAdminLeft(t, s1, round, errs)
		for _, id := range []int64{a, b} {
			if err := s1.EnableAccount(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestSessionsOfAccount(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	newSession := func(t *testing.T, s *Store, hash string, id int64) error {
		t.Helper()
		return s.CreateSession(ctx, Session{IDHash: hash, AccountID: id, CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	}
	cases := []struct {
		name string
		do   func(s *Store, id int64) (int, error)
	}{
		{"password set", func(s *Store, id int64) (int, error) { return s.SetPassword(ctx, id, "new hash") }},
		{"disabled", func(s *Store, id int64) (int, error) { return s.DisableAccount(ctx, id) }},
		{"sessions ended", func(s *Store, id int64) (int, error) { return s.EndSessions(ctx, id) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := openTestStore(t)
			root, op, _ := adminFixture(t, s, "")
			for _, h := range []string{"op1", "op2"} {
				if err := newSession(t, s, h, op); err != nil {
					t.Fatal(err)
				}
			}
			if err := newSession(t, s, "root1", root); err != nil {
				t.Fatal(err)
			}
			n, err := tc.do(s, op)
			if err != nil || n != 2 {
				t.Fatalf("ended %d, %v; want 2, nil", n, err)
			}
			for h, want := range map[string]error{"op1": ErrNotFound, "op2": ErrNotFound, "root1": nil} {
				if _, _, err := s.SessionAccount(ctx, h); !errors.Is(err, want) {
					t.Errorf("session %s: %v, want %v", h, err, want)
				}
			}
		})
	}
	t.Run("a disabled account gets no session", func(t *testing.T) {
		s := openTestStore(t)
		_, op, _ := adminFixture(t, s, "")
		if _, err := s.DisableAccount(ctx, op); err != nil {
			t.Fatal(err)
		}
		if err := newSession(t, s, "op1", op); !errors.Is(err, ErrDisabled) {
			t.Fatalf("CreateSession: %v, want ErrDisabled", err)
		}
		// Nor does a session row written past CreateSession sign it in.
		if _, err := s.exec(ctx, `INSERT INTO sessions (id_hash, account_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			"op2", op, now.UnixMilli(), now.Add(time.Hour).UnixMilli()); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.SessionAccount(ctx, "op2"); !errors.Is(err, ErrNotFound) {
			t.Errorf("SessionAccount of a disabled account: %v, want ErrNotFound", err)
		}
		if err := s.EnableAccount(ctx, op); err != nil {
			t.Fatal(err)
		}
		if err := newSession(t, s, "op3", op); err != nil {
			t.Errorf("CreateSession once enabled again: %v", err)
		}
		a, err := s.AccountByID(ctx, op)
		if err != nil || a.Disabled {
			t.Errorf("enabled account reads disabled=%v, %v", a.Disabled, err)
		}
	})
}

// TestDeleteAccount: deleting an account leaves no row that references it,
// and its name and identity can be used again.
func TestDeleteAccount(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	s := openTestStore(t)
	root, op, other := adminFixture(t, s, "disabled")
	ext, err := s.OIDCSignIn(ctx, OIDCLogin{Issuer: "https://idp.test", Subject: "sub-1", Username: "ext", Roles: []string{"browse"}, By: "test"})
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range []int64{op, op, ext.ID, root} {
		if err := s.CreateSession(ctx, Session{IDHash: "h" + strconv.Itoa(i), AccountID: id, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	references := func(id int64) map[string]int {
		out := map[string]int{}
		for _, table := range []string{"accounts", "sessions", "group_members", "oidc_identities"} {
			col := "account_id"
			if table == "accounts" {
				col = "id"
			}
			var n int
			if err := s.queryRow(ctx, `SELECT COUNT(*) FROM `+table+` WHERE `+col+` = ?`, id).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				out[table] = n
			}
		}
		return out
	}
	cases := []struct {
		name string
		id   int64
	}{
		{"an operator with two sessions", op},
		{"an account of the identity provider", ext.ID},
		// Disabled, it is not one of the administrators that must remain.
		{"a disabled administrator", other},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if len(references(tc.id)) == 0 {
				t.Fatal("the fixture gave the account no rows")
			}
			if err := s.DeleteAccount(ctx, tc.id); err != nil {
				t.Fatal(err)
			}
			if left := references(tc.id); len(left) > 0 {
				t.Errorf("rows left that reference the account: %v", left)
			}
			if _, err := s.AccountByID(ctx, tc.id); !errors.Is(err, ErrNotFound) {
				t.Errorf("AccountByID: %v, want ErrNotFound", err)
			}
			if err := s.DeleteAccount(ctx, tc.id); !errors.Is(err, ErrNotFound) {
				t.Errorf("deleting again: %v, want ErrNotFound", err)
			}
		})
	}
	if _, _, err := s.SessionAccount(ctx, "h3"); err != nil {
		t.Errorf("the remaining administrator's session: %v", err)
	}
	// The name is free again, and the identity makes a new account.
	if _, err := s.CreateAccount(ctx, Account{Username: "op", DisplayName: "op", PasswordHash: "h", CreatedBy: "test"}); err != nil {
		t.Errorf("re-creating op: %v", err)
	}
	again, err := s.OIDCSignIn(ctx, OIDCLogin{Issuer: "https://idp.test", Subject: "sub-1", Username: "ext", Roles: []string{"browse"}, By: "test"})
	if err != nil || again.ID == ext.ID || again.Username != "ext" {
		t.Errorf("signing in with the deleted identity: %+v, %v; want a new account named ext", again, err)
	}
	if err := s.DeleteAccount(ctx, root); !errors.Is(err, ErrLastAdmin) {
		t.Errorf("deleting the last administrator: %v, want ErrLastAdmin", err)
	}
}

// TestAdminsDeletingEachOtherConcurrently: two stores on one file, each
// deleting (or disabling) the other of the two enabled administrators at the
// same moment, leave one.
func TestAdminsDeletingEachOtherConcurrently(t *testing.T) {
	ctx := context.Background()
	path := SQLitePath(t.TempDir())
	s1, s2 := openAt(t, path), openAt(t, path)
	survivor, _, _ := adminFixture(t, s1, "")
	for round := range 50 {
		var pair [2]int64
		for i := range pair {
			id, err := s1.CreateAccount(ctx, Account{Username: fmt.Sprintf("admin-%d-%d", round, i), PasswordHash: "h", CreatedBy: "test", Roles: []string{AdminRole}})
			if err != nil {
				t.Fatal(err)
			}
			pair[i] = id
		}
		// Only the pair are administrators now.
		if err := s1.SetRoles(ctx, survivor, []string{"browse"}, "test"); err != nil {
			t.Fatal(err)
		}
		errs := make([]error, 2)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, x := range []struct {
			s  *Store
			id int64
		}{{s1, pair[1]}, {s2, pair[0]}} {
			wg.Go(func() {
				<-start
				if i == 1 && round%2 == 1 {
					_, errs[i] = x.s.DisableAccount(ctx, x.id)
					return
				}
				errs[i] = x.s.DeleteAccount(ctx, x.id)
			})
		}
		close(start)
		wg.Wait()
		survivor = wantOneAdminLeft(t, s1, round, errs)
	}
}

// TestSessionCounts: live sessions only, per account, as CountSessions counts
// them one at a time.
func TestSessionCounts(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	s := openTestStore(t)
	root, op, _ := adminFixture(t, s, "")
	for i, se := range []struct {
		id      int64
		expires time.Time
	}{{op, now.Add(time.Hour)}, {op, now.Add(time.Hour)}, {root, now.Add(time.Hour)}, {root, now.Add(-time.Minute)}} {
		if err := s.CreateSession(ctx, Session{IDHash: "s" + strconv.Itoa(i), AccountID: se.id, CreatedAt: now.Add(-time.Hour), ExpiresAt: se.expires}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.SessionCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]int{op: 2, root: 1}
	if len(got) != len(want) || got[op] != 2 || got[root] != 1 {
		t.Fatalf("SessionCounts = %v, want %v", got, want)
	}
	for id, n := range want {
		if c, err := s.CountSessions(ctx, id); err != nil || c != n {
			t.Errorf("CountSessions(%d) = %d, %v; want %d", id, c, err, n)
		}
	}
}

// wantOneAdminLeft fails unless exactly one administrator is enabled after a
// round of two removing each other, and exactly one of them was refused with
// ErrLastAdmin; it returns that administrator.
func wantOneAdminLeft(t *testing.T, s *Store, round int, errs []error) int64 {
	t.Helper()
	ctx := context.Background()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := (&Tx{s: s, tx: tx}).enabledAdmins(ctx)
	tx.Rollback()
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 {
		t.Fatalf("round %d: %d enabled administrators, want 1 (errors %v, %v)", round, len(ids), errs[0], errs[1])
	}
	if (errs[0] == nil) == (errs[1] == nil) || !errors.Is(errors.Join(errs...), ErrLastAdmin) {
		t.Fatalf("round %d: errors %v, %v; want one nil and one ErrLastAdmin", round, errs[0], errs[1])
	}
	return ids[0]
}
