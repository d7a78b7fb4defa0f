package handlers

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/hybridsync/hybridsync/e2e/forest"
	"github.com/hybridsync/hybridsync/e2e/tenant"
	"github.com/hybridsync/hybridsync/engine/directory"
	"github.com/hybridsync/hybridsync/engine/setup"
)

// The Microsoft Entra sign-in configuration page over HTTP, against the live
// corp forest (see main_test.go).

// toSignInConfig takes a fresh wizard with corp added (svc-sync) to Microsoft
// Entra sign-in configuration, with the sign-in method given (nil: the default).
func toSignInConfig(t *testing.T, c *client, corp *forest.Forest, signIn url.Values) {
	t.Helper()
	c.next("express", nil, "components")
	c.next("components", nil, "user-signin")
	c.next("user-signin", signIn, "connect-entra")
	c.passEntra()
	c.mustAddForest(svcSync(t, corp))
	c.next("directories", nil, "signin-configuration")
}

func signInText(s string) string { return strings.Join(strings.Fields(s), " ") }

func TestSignInConfigAgainstTheForest(t *testing.T) {
	t.Parallel()
	corp := corpForest(t)
	e := newEnv(t)
	c := e.signedIn("admin")
	toSignInConfig(t, c, corp, nil)
	const page = "/setup/signin-configuration"

	// Every suffix of corp: its domain and both uPNSuffixes, each with its
	// state in the tenant (the package's emulator has corp.example.test
	// verified); the non-routable ones warned about.
	r := c.page("signin-configuration")
	for _, tt := range []struct {
		suffix   string
		routable bool
		state    string
	}{
		{corp.Name, false, setup.StateVerified}, // .test is reserved (RFC 2606)
		{forest.Corp.RoutableSuffix, true, setup.StateNotAdded},
		{forest.Corp.NonRoutableSuffix, false, setup.StateNotAdded},
	} {
		row := r.find(t, `[data-testid="suffix-`+tt.suffix+`"]`)
		if row.Length() != 1 {
			t.Fatalf("%s is not listed", tt.suffix)
		}
		if got := signInText(row.Find(`[data-testid="suffix-state"]`).Text()); got != tt.state {
			t.Errorf("%s: state %q, want %q", tt.suffix, got, tt.state)
		}
		instead := row.Find(`[data-testid="instead-` + tt.suffix + `"]`)
		if (tt.state == setup.StateVerified) != (instead.Length() == 0) || (instead.Length() > 0 && !strings.Contains(instead.Text(), "user@contoso.onmicrosoft.com")) {
			t.Errorf("%s: what its users get instead: %q", tt.suffix, instead.Text())
		}
		warn := row.Find(`[data-testid="nonroutable-` + tt.suffix + `"]`)
		if tt.routable != (warn.Length() == 0) {
			t.Errorf("%s: routable %v, but the non-routable warning shows %d times", tt.suffix, tt.routable, warn.Length())
		}
		if !tt.routable && !strings.Contains(warn.Text(), "not a public top-level domain") {
			t.Errorf("%s: the warning %q doesn't say why", tt.suffix, warn.Text())
		}
	}
	// What users of a non-routable suffix get is said once, below the list.
	if got := signInText(r.find(t, `[data-testid="upn-suffixes"] [data-testid="notice"]`).Text()); !strings.Contains(got, setup.MsgNonRoutable) ||
		strings.Count(r.find(t, "body").Text(), "onmicrosoft.com domain") != 1 {
		t.Errorf("the non-routable suffixes' notice: %q", got)
	}
	if n := r.find(t, `[data-testid^="suffix-"][data-forest]`).Length(); n != 3 {
		t.Errorf("%d suffixes listed, want 3", n)
	}

	// userPrincipalName is the recommended default; the alternate IDs are
	// the single-valued strings of user objects only: not msFVE-RecoveryPassword
	// (a BitLocker recovery object's, and confidential), which the schema has.
	sel := r.find(t, `select[name="attribute"]`)
	if got := signInText(sel.Find("option[selected]").Text()); got != "userPrincipalName (recommended)" {
		t.Errorf("selected %q", got)
	}
	for name, offered := range map[string]bool{"mail": true, "employeeID": true,
		"proxyAddresses": false, "objectGUID": false, "memberOf": false, "msFVE-RecoveryPassword": false, "dNSHostName": false} {
		if got := sel.Find(`option[value="`+name+`"]`).Length() == 1; got != offered {
			t.Errorf("%s offered: %v, want %v", name, got, offered)
		}
	}
	schema, err := e.h.wiz.Checker.(*setup.StoreChecker).SchemaAttributes(context.Background(), e.savedAnswers().Directories.Forests[0])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(schema, func(a directory.Attribute) bool { return a.Name == "msFVE-RecoveryPassword" && a.SingleValued }) {
		t.Error("the forest's schema has no single-valued msFVE-RecoveryPassword: the test shows nothing")
	}

	// Show sample values works for userPrincipalName.
	wantRedirect(t, c.submit(r, page, setup.ActionShowSamples, nil), page, "Show sample values of userPrincipalName")
	r = c.page("signin-configuration")
	if got := signInText(r.find(t, `[data-testid="samples"] h3`).Text()); got != "Sample values of userPrincipalName" {
		t.Errorf("samples heading %q", got)
	}
	upns := r.find(t, `[data-testid="samples"] [data-testid="sample"]`)
	if upns.Length() == 0 {
		t.Fatal("no sample values of userPrincipalName")
	}
	upns.Each(func(_ int, s *goquery.Selection) {
		if v := s.Find(`[data-testid="sample-value"]`).Text(); !strings.Contains(v, "@") {
			t.Errorf("sample %q is not a userPrincipalName", v)
		}
	})
	if strings.Contains(r.find(t, "body").Text(), setup.MsgAlternateID) {
		t.Error("the alternate ID warning shows for userPrincipalName")
	}

	// Refresh reads the suffixes and the tenant's domains again and stays on the page.
	before := e.savedAnswers()
	wantRedirect(t, c.submit(r, page, setup.ActionRefreshSuffixes, nil), page, "Refresh")
	afterAll := e.savedAnswers()
	after := afterAll.SignInConfig
	if len(after.Suffixes) != 3 || after.ReadAt == "" || after.ReadAt < before.SignInConfig.ReadAt {
		t.Errorf("after refresh: %+v (read before: %q)", after, before.SignInConfig.ReadAt)
	}
	if afterAll.ConnectEntra.Tenant == nil || afterAll.ConnectEntra.Tenant.ReadAt < before.ConnectEntra.Tenant.ReadAt {
		t.Errorf("the tenant's domains were not read again: %+v", afterAll.ConnectEntra.Tenant)
	}

	// mail: sample values from the forest, each checked against RFC 822, and
	// the seed's warning.
	wantRedirect(t, c.submit(r, page, setup.ActionShowSamples, url.Values{"attribute": {"mail"}}), page, "Show sample values of mail")
	r = c.page("signin-configuration")
	samples := r.find(t, `[data-testid="samples"] [data-testid="sample"]`)
	if samples.Length() == 0 {
		t.Fatal("no sample values of mail")
	}
	samples.Each(func(_ int, s *goquery.Selection) {
		v := s.Find(`[data-testid="sample-value"]`).Text()
		if !strings.Contains(v, "@") || s.Find(`[data-testid="sample-ok"]`).Length() != 1 {
			t.Errorf("sample %q is not shown as a valid address", v)
		}
	})
	if got := r.find(t, `select[name="attribute"] option[selected]`).AttrOr("value", ""); got != "mail" {
		t.Errorf("selected %q after choosing mail", got)
	}
	if !strings.Contains(r.find(t, "body").Text(), setup.MsgAlternateID) {
		t.Error("no alternate ID warning")
	}

	// A multivalued attribute is refused, and the choice is kept.
	resp := c.submit(r, page, "next", url.Values{"attribute": {"proxyAddresses"}})
	wantStatus(t, resp, http.StatusUnprocessableEntity, "Next with proxyAddresses")
	if got := resp.testid(t, "error-attribute"); !strings.Contains(got, "can't be multivalued") {
		t.Errorf("error %q", got)
	}
	if got := resp.find(t, `select[name="attribute"] option[selected]`).AttrOr("value", ""); got != "proxyAddresses" {
		t.Errorf("the refused choice was not kept: %q", got)
	}
	if resp.find(t, `[data-testid="samples"]`).Length() != 0 {
		t.Error("samples shown for a refused attribute")
	}

	// mail passes; so does the default, with no input.
	c.next("signin-configuration", url.Values{"attribute": {"mail"}}, "ou-filtering")
	if got := e.savedAnswers().SignInConfig.Attribute; got != "mail" {
		t.Errorf("saved %q", got)
	}
	c.next("signin-configuration", nil, "ou-filtering")
	saved := e.savedAnswers().SignInConfig
	if saved.Attribute != setup.AttributeUPN || len(saved.Suffixes) != 3 {
		t.Errorf("saved %+v", saved)
	}
	for _, s := range saved.Suffixes {
		if s.Forest != corp.Name || s.Routable != (s.Suffix == forest.Corp.RoutableSuffix) {
			t.Errorf("saved suffix %+v", s)
		}
	}
}

func TestSignInConfigPassThroughRule(t *testing.T) {
	t.Parallel()
	corp := corpForest(t)
	// A tenant where none of corp's suffixes is verified: the seed's rule
	// stops the wizard here.
	seed := tenant.DefaultSeed()
	seed.Domains = append(seed.Domains, tenant.SeedDomain{Name: forest.Corp.RoutableSuffix, Verifiable: true})
	em := newTenant(t, seed)
	cfg := em.config()
	e := newEnvWith(t, envOptions{entra: &cfg})
	c := e.signedIn("admin")
	toSignInConfig(t, c, corp, url.Values{"method": {setup.MethodPTA}})
	r := c.page("signin-configuration")
	if got := signInText(r.find(t, `[data-testid="suffix-`+forest.Corp.RoutableSuffix+`"] [data-testid="suffix-state"]`).Text()); got != setup.StateNotVerified {
		t.Errorf("%s: %q", forest.Corp.RoutableSuffix, got)
	}
	r = c.submit(r, "/setup/signin-configuration", "next", nil)
	wantStatus(t, r, http.StatusUnprocessableEntity, "Next with pass-through and no verified suffix")
	if got := r.testid(t, "page-error"); got != setup.MsgPTANeedsVerified {
		t.Errorf("page error %q", got)
	}

	// The domain is verified in the tenant; Refresh reads it, and Next goes on.
	em.verifyDomain(t, forest.Corp.RoutableSuffix)
	wantRedirect(t, c.submit(c.page("signin-configuration"), "/setup/signin-configuration", setup.ActionRefreshSuffixes, nil), "/setup/signin-configuration", "Refresh")
	r = c.page("signin-configuration")
	if got := signInText(r.find(t, `[data-testid="suffix-`+forest.Corp.RoutableSuffix+`"] [data-testid="suffix-state"]`).Text()); got != setup.StateVerified {
		t.Errorf("%s after verifying it: %q", forest.Corp.RoutableSuffix, got)
	}
	c.next("signin-configuration", nil, "ou-filtering")
}
