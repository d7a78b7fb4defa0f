package handlers

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/hybridsync/hybridsync/e2e/forest"
	"github.com/hybridsync/hybridsync/engine/setup"
)

// The Identifying users page over HTTP, against the live test forests (see
// main_test.go).

// toIdentifying takes a fresh wizard with corp added (svc-sync) to Identifying users.
func toIdentifying(t *testing.T, c *client, corp *forest.Forest) {
	t.Helper()
	toOUFiltering(t, c, corp)
	c.next("ou-filtering", nil, "identifying-users")
}

func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// setConsistencyGuid writes (or, with nil, clears) ms-DS-ConsistencyGuid on dn
// as the forest's Administrator.
func setConsistencyGuid(t *testing.T, f *forest.Forest, dn string, v []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := f.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	m := ldap.NewModifyRequest(dn, nil)
	if v == nil {
		m.Replace("mS-DS-ConsistencyGuid", nil)
	} else {
		m.Replace("mS-DS-ConsistencyGuid", []string{string(v)})
	}
	if err := conn.Modify(m); err != nil {
		t.Fatalf("modify %s: %v", dn, err)
	}
}

// Not parallel: it writes ms-DS-ConsistencyGuid on a corp user, which every
// other test's managed sourceAnchor would see; sequential tests end (and
// undo it) before the parallel ones run.
func TestIdentifyingManagedAnchorAgainstTheForest(t *testing.T) {
	corp := corpForest(t)
	e := newEnv(t)
	c := e.signedIn("admin")
	toIdentifying(t, c, corp)

	// The fresh forest: nobody has ms-DS-ConsistencyGuid, so it is the anchor.
	r := c.page("identifying-users")
	if got := squash(r.find(t, `[data-testid="anchor-resolved"]`).Text()); !strings.Contains(got, "sourceAnchor: "+setup.AttrConsistencyGuid) {
		t.Fatalf("on the fresh forest the page says %q", got)
	}
	if !r.find(t, `[data-testid="field-source_anchor-managed"]`).Is("[checked]") || !r.find(t, `[data-testid="field-matching-once"]`).Is("[checked]") {
		t.Error("the defaults are not selected")
	}
	// corp has no Exchange schema: the Exchange options are not offered, with the reason.
	for _, o := range []string{setup.MatchSIDs, setup.MatchSAMMailNickname} {
		if !r.find(t, `[data-testid="field-matching-`+o+`"]`).Is("[disabled]") ||
			!strings.Contains(r.find(t, `[data-testid="unavailable-`+o+`"]`).Text(), "needs the Exchange schema") {
			t.Errorf("%s is offered without the Exchange schema", o)
		}
	}
	// The attribute lists come from the schema; the anchor list has no email attributes.
	if r.find(t, `#identifying-attributes option[value="mail"]`).Length() != 1 ||
		r.find(t, `#identifying-anchor-attributes option[value="objectGUID"]`).Length() != 1 ||
		r.find(t, `#identifying-anchor-attributes option[value="mail"]`).Length() != 0 {
		t.Error("the attribute lists are wrong")
	}

	// One user with ms-DS-ConsistencyGuid populated: objectGUID, and why.
	dn := forest.LayoutOf(corp).UserDN(7)
	setConsistencyGuid(t, corp, dn, []byte("0123456789abcdef"))
	undone := false
	t.Cleanup(func() {
		if !undone {
			setConsistencyGuid(t, corp, dn, nil)
		}
	})
	r = c.page("identifying-users")
	got := squash(r.find(t, `[data-testid="anchor-resolved"]`).Text())
	if !strings.Contains(got, "sourceAnchor: "+setup.AttrObjectGUID) || !strings.Contains(got, "already populated") || !strings.Contains(got, "forest "+corp.Name) {
		t.Fatalf("with ms-DS-ConsistencyGuid in use the page says %q", got)
	}
	c.next("identifying-users", nil, "group-filtering")
	if id := e.savedAnswers().Identifying; id.AnchorMode() != setup.AnchorManaged || id.Resolved != setup.AttrObjectGUID || !strings.Contains(id.Why, corp.Name) {
		t.Fatalf("saved %+v", id)
	}

	setConsistencyGuid(t, corp, dn, nil)
	undone = true
	r = c.page("identifying-users")
	if got := squash(r.find(t, `[data-testid="anchor-resolved"]`).Text()); !strings.Contains(got, setup.AttrConsistencyGuid) {
		t.Fatalf("after the value is removed the page says %q", got)
	}
}

func TestIdentifyingRefusesEmailAnchor(t *testing.T) {
	t.Parallel()
	corp := corpForest(t)
	e := newEnv(t)
	c := e.signedIn("admin")
	toIdentifying(t, c, corp)

	for _, attr := range []string{"mail", "userPrincipalName"} {
		resp := c.submit(c.page("identifying-users"), "/setup/identifying-users", "next",
			url.Values{"source_anchor": {setup.AnchorAttribute}, "source_anchor_attribute": {attr}})
		wantStatus(t, resp, 422, "Next with "+attr+" as the sourceAnchor")
		if got := resp.find(t, `[data-testid="error-source_anchor_attribute"]`).Text(); !strings.Contains(got, setup.MsgAnchorAt) {
			t.Errorf("%s: the error says %q", attr, got)
		}
		// What was typed is kept.
		if v, _ := resp.value(t, "source_anchor_attribute"); v != attr {
			t.Errorf("%s: the field holds %q", attr, v)
		}
	}
	body := squash(c.page("identifying-users").find(t, "body").Text())
	for _, want := range []string{setup.MsgAnchorCase, setup.MsgAnchorGood, setup.MsgMetaverseLimit} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}

	// Mail matching: the page says that users without mail aren't
	// synchronized, once: at the option.
	resp := c.submit(c.page("identifying-users"), "/setup/identifying-users", "next",
		url.Values{"matching": {setup.MatchMail}, "source_anchor": {setup.AnchorManaged}})
	wantRedirect(t, resp, "/setup/group-filtering", "Next with mail matching")
	page := strings.ToLower(squash(c.page("identifying-users").find(t, "body").Text()))
	if n := strings.Count(page, "user objects whose mail attribute is unpopulated aren't synchronized"); n != 1 {
		t.Errorf("the warning about users without mail is on the page %d times, want once", n)
	}
	if id := e.savedAnswers().Identifying; id.Matching != setup.MatchMail || id.Resolved != setup.AttrConsistencyGuid {
		t.Errorf("saved %+v", id)
	}
}

func TestIdentifyingAnchorReadOnlyAfterConfigure(t *testing.T) {
	t.Parallel()
	corp := corpForest(t)
	e := newEnv(t)
	c := e.signedIn("admin")
	toIdentifying(t, c, corp)
	c.next("identifying-users", url.Values{"source_anchor": {setup.AnchorAttribute}, "source_anchor_attribute": {"objectguid"}}, "group-filtering")
	if id := e.savedAnswers().Identifying; id.SourceAnchorAttribute != "objectGUID" || id.Resolved != "objectGUID" {
		t.Fatalf("saved %+v", id)
	}
	c.next("group-filtering", nil, "optional-features")
	c.next("optional-features", nil, "ready")
	if !strings.Contains(squash(c.page("ready").find(t, "body").Text()), "objectGUID (Chosen: objectGUID)") {
		t.Error("Ready to configure doesn't show the sourceAnchor")
	}
	c.configure(e)

	// On rerun the sourceAnchor is shown read-only, as applied.
	r := c.page("identifying-users")
	if r.find(t, `[data-testid="anchor-locked"]`).Length() != 1 {
		t.Fatal("the sourceAnchor is not marked read-only after Configure")
	}
	for _, f := range []string{"field-source_anchor-managed", "field-source_anchor-attribute", "field-source_anchor_attribute"} {
		if !r.find(t, `[data-testid="`+f+`"]`).Is("[disabled]") {
			t.Errorf("%s can still be changed", f)
		}
	}
	if !r.find(t, `[data-testid="field-source_anchor-attribute"]`).Is("[checked]") {
		t.Error("the applied choice is not shown")
	}
	// A changed post is refused, and the applied choice kept.
	resp := c.submit(r, "/setup/identifying-users", "next", url.Values{"source_anchor": {setup.AnchorManaged}})
	wantStatus(t, resp, 422, "Next with another sourceAnchor")
	if got := resp.find(t, `[data-testid="error-source_anchor"]`).Text(); got != setup.MsgAnchorFixed {
		t.Errorf("the error says %q", got)
	}
	if id := e.savedAnswers().Identifying; id.AnchorMode() != setup.AnchorAttribute || id.Resolved != "objectGUID" {
		t.Fatalf("saved after a refused change %+v", id)
	}
	// The page as shown (nothing posted about the anchor) passes, and the
	// matching option can still change.
	c.next("identifying-users", url.Values{"matching": {setup.MatchMail}}, "group-filtering")
	if id := e.savedAnswers().Identifying; id.Matching != setup.MatchMail || id.Resolved != "objectGUID" {
		t.Fatalf("saved %+v", id)
	}
}
