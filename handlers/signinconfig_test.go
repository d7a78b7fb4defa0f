package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/hybridsync/hybridsync/e2e/forest"
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
	c.next("connect-entra", nil, "directories")
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

	// Every suffix of corp: its domain and both uPNSuffixes, none with an
	// invented state; the non-routable ones warned about.
	r := c.page("signin-configuration")
	for _, tt := range []struct {
		suffix   string
		routable bool
	}{
		{corp.Name, false}, // .test is reserved (RFC 2606)
		{forest.Corp.RoutableSuffix, true},
		{forest.Corp.NonRoutableSuffix, false},
	} {
		row := r.find(t, `[data-testid="suffix-`+tt.suffix+`"]`)
		if row.Length() != 1 {
			t.Fatalf("%s is not listed", tt.suffix)
		}
		if got := signInText(row.Find(`[data-testid="suffix-state"]`).Text()); got != setup.StateTenantNotConnected {
			t.Errorf("%s: state %q, want %q", tt.suffix, got, setup.StateTenantNotConnected)
		}
		warn := row.Find(`[data-testid="nonroutable-` + tt.suffix + `"]`)
		if tt.routable != (warn.Length() == 0) {
			t.Errorf("%s: routable %v, but the non-routable warning shows %d times", tt.suffix, tt.routable, warn.Length())
		}
		if !tt.routable && !strings.Contains(warn.Text(), "onmicrosoft.com") {
			t.Errorf("%s: the warning %q doesn't say what users get", tt.suffix, warn.Text())
		}
	}
	if n := r.find(t, `[data-testid^="suffix-"][data-forest]`).Length(); n != 3 {
		t.Errorf("%d suffixes listed, want 3", n)
	}
	for _, s := range []string{setup.StateVerified, setup.StateNotVerified, setup.StateNotAdded} {
		r.find(t, `[data-testid="suffix-state"]`).Each(func(_ int, sel *goquery.Selection) {
			if strings.Contains(sel.Text(), s) {
				t.Errorf("an invented state %q", s)
			}
		})
	}

	// userPrincipalName is the recommended default; the alternate IDs are the
	// schema's single-valued strings only.
	sel := r.find(t, `select[name="attribute"]`)
	if got := signInText(sel.Find("option[selected]").Text()); got != "userPrincipalName (recommended)" {
		t.Errorf("selected %q", got)
	}
	for name, offered := range map[string]bool{"mail": true, "employeeID": true, "proxyAddresses": false, "objectGUID": false, "memberOf": false} {
		if got := sel.Find(`option[value="`+name+`"]`).Length() == 1; got != offered {
			t.Errorf("%s offered: %v, want %v", name, got, offered)
		}
	}
	if strings.Contains(r.find(t, "body").Text(), setup.MsgAlternateID) {
		t.Error("the alternate ID warning shows for userPrincipalName")
	}

	// Refresh reads the suffixes again and stays on the page.
	before := e.savedAnswers().SignInConfig.ReadAt
	wantRedirect(t, c.submit(r, page, setup.ActionRefreshSuffixes, nil), page, "Refresh")
	after := e.savedAnswers().SignInConfig
	if len(after.Suffixes) != 3 || after.ReadAt == "" || after.ReadAt < before {
		t.Errorf("after refresh: %+v (read before: %q)", after, before)
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
	e := newEnv(t)
	c := e.signedIn("admin")
	toSignInConfig(t, c, corp, url.Values{"method": {setup.MethodPTA}})

	// No domain can be verified before the tenant is connected: the rule shows
	// as a warning, and Next goes on.
	r := c.page("signin-configuration")
	found := false
	r.find(t, `[data-testid="notice"]`).Each(func(_ int, s *goquery.Selection) {
		found = found || s.HasClass("warn") && strings.Contains(s.Text(), setup.MsgPTANeedsVerified) && strings.Contains(s.Text(), "once the tenant is connected")
	})
	if !found {
		t.Error("no warning about pass-through authentication's verified domain")
	}
	c.next("signin-configuration", nil, "ou-filtering")
}
