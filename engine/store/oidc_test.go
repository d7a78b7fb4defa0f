package store

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
)

func TestOIDCProviderSaveAndRead(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	if _, err := s.OIDCProvider(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("fresh store: %v, want ErrNotFound", err)
	}
	p := OIDCProvider{
		Enabled: true, Issuer: "https://login.example.test/tid/v2.0", ClientID: "client", ClientSecret: "sealed:v1:xyz",
		DisplayName: "Contoso", GroupsClaim: "groups",
		RoleGroups: map[string][]string{"admins": {"g-admins"}, "browse": {"g-help", "helpdesk"}},
		UpdatedBy:  "alice",
	}
	if err := s.SaveOIDCProvider(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, err := s.OIDCProvider(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.UpdatedAt.IsZero() {
		t.Error("UpdatedAt not set")
	}
	got.UpdatedAt = p.UpdatedAt
	if !reflect.DeepEqual(got, p) {
		t.Errorf("read back %+v, want %+v", got, p)
	}
	// Saving again replaces the row whole.
	p.Enabled, p.RoleGroups, p.DisplayName = false, map[string][]string{}, "Other"
	if err := s.SaveOIDCProvider(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, _ = s.OIDCProvider(ctx)
	if got.Enabled || got.DisplayName != "Other" || len(got.RoleGroups) != 0 {
		t.Errorf("after the second save: %+v", got)
	}
}

func TestOIDCSignIn(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	// A local account already has the name the provider will send.
	if _, err := s.CreateAccount(ctx, Account{Username: "helpdesk.user@contoso.test", DisplayName: "Local", PasswordHash: "x", CreatedBy: "t", Roles: []string{"admins"}}); err != nil {
		t.Fatal(err)
	}
	login := OIDCLogin{Issuer: "https://idp.test/tid/v2.0", Subject: "sub-1", Username: "helpdesk.user@contoso.test", DisplayName: "Helpdesk User", By: "OIDC sign-in"}

	// No role: refused, and nothing is created.
	before, _ := s.CountAccounts(ctx)
	if _, err := s.OIDCSignIn(ctx, login); !errors.Is(err, ErrNoRoles) {
		t.Fatalf("no roles: %v, want ErrNoRoles", err)
	}
	if n, _ := s.CountAccounts(ctx); n != before {
		t.Fatalf("a refused sign-in created an account: %d accounts, had %d", n, before)
	}

	// First sign-in: a new account without a password, under a unique name,
	// never the local account of the same name.
	login.Roles = []string{"browse"}
	a, err := s.OIDCSignIn(ctx, login)
	if err != nil {
		t.Fatal(err)
	}
	if a.Username != "helpdesk.user@contoso.test (2)" || a.DisplayName != "Helpdesk User" || a.PasswordHash != "" || !slices.Equal(a.Roles, []string{"browse"}) {
		t.Fatalf("new account: %+v", a)
	}
	ids, err := s.OIDCAccounts(ctx)
	if err != nil || ids[a.ID] != login.Issuer || len(ids) != 1 {
		t.Fatalf("OIDCAccounts = %v, %v", ids, err)
	}

	// Next sign-in: the same account, roles replaced by the claim's.
	login.Roles, login.DisplayName = []string{"admins", "operators"}, "Helpdesk User (renamed)"
	b, err := s.OIDCSignIn(ctx, login)
	if err != nil {
		t.Fatal(err)
	}
	if b.ID != a.ID || b.DisplayName != "Helpdesk User (renamed)" || !slices.Equal(b.Roles, []string{"admins", "operators"}) {
		t.Fatalf("second sign-in: %+v", b)
	}

	// The same subject at another issuer is another identity.
	other := login
	other.Issuer = "https://other.test"
	c, err := s.OIDCSignIn(ctx, other)
	if err != nil || c.ID == a.ID || c.Username != "helpdesk.user@contoso.test (3)" {
		t.Fatalf("other issuer: %+v, %v", c, err)
	}

	// Removed from every mapped group: the account loses its roles.
	login.Roles = nil
	d, err := s.OIDCSignIn(ctx, login)
	if !errors.Is(err, ErrNoRoles) || d.ID != a.ID || len(d.Roles) != 0 {
		t.Fatalf("no more groups: %+v, %v", d, err)
	}
	if n, _ := s.CountRole(ctx, "browse"); n != 0 {
		t.Errorf("browse still has %d members", n)
	}

	// No username from the provider: the subject names the account.
	anon := OIDCLogin{Issuer: "https://idp.test/tid/v2.0", Subject: "sub-2", Roles: []string{"browse"}, By: "t"}
	e, err := s.OIDCSignIn(ctx, anon)
	if err != nil || e.Username != "sub-2" || e.DisplayName != "sub-2" {
		t.Fatalf("no username: %+v, %v", e, err)
	}
}

// The provider can take an account out of the administrators, except the
// only enabled one: hybridsync keeps it, rather than be left without.
func TestOIDCSignInKeepsTheLastAdmin(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	login := OIDCLogin{Issuer: "https://idp.test", Subject: "boss", Username: "boss@contoso.test", Roles: []string{AdminRole}, By: "OIDC sign-in"}
	boss, err := s.OIDCSignIn(ctx, login)
	if err != nil {
		t.Fatal(err)
	}
	for _, roles := range [][]string{{"browse"}, nil} {
		login.Roles = roles
		a, err := s.OIDCSignIn(ctx, login)
		if err != nil {
			t.Fatalf("demoted to %v: %v", roles, err)
		}
		if !slices.Contains(a.Roles, AdminRole) {
			t.Errorf("demoted to %v: the only administrator lost the role (%v)", roles, a.Roles)
		}
	}
	// With another administrator, the provider's word holds.
	if _, err := s.CreateAccount(ctx, Account{Username: "second", DisplayName: "Second", PasswordHash: "x", CreatedBy: "t", Roles: []string{AdminRole}}); err != nil {
		t.Fatal(err)
	}
	login.Roles = []string{"browse"}
	a, err := s.OIDCSignIn(ctx, login)
	if err != nil || !slices.Equal(a.Roles, []string{"browse"}) || a.ID != boss.ID {
		t.Errorf("demoted with another administrator: %v %v", a.Roles, err)
	}
}
