package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/hybridsync/hybridsync/engine/cycle"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/metaverse"
)

// The lookup reads the tenant live, as the sync service account, against
// the fabrikam forest and a tenant emulator of its own: a synced user shows
// the tenant's values beside the computed ones, a value changed in the
// cloud is marked, a user deleted in the cloud is not found there, a
// cloud-only user is found as one, and with the tenant gone the page still
// shows the on-premises path with a note.
func TestLookupReadsTheTenant(t *testing.T) {
	t.Parallel()
	fabrikamForest(t)
	em := newTenant(t, fabrikamSeed())
	cfg := em.config()
	e := newEnvWith(t, envOptions{entra: &cfg})
	c := e.signedIn("admin")
	hd := e.signedIn("helpdesk")

	// Before any configuration: nothing to read the tenant as, and the page says so.
	r := hd.get("/sync/lookup?q=" + url.QueryEscape("hybrid.admin@contoso.onmicrosoft.com"))
	wantStatus(t, r, http.StatusOK, "lookup before Configure")
	if note := r.testid(t, "tenant-note"); !strings.Contains(note, "The tenant could not be read: no configuration has been applied yet") {
		t.Errorf("before Configure, the note is %q", note)
	}

	walkToReady(c, nil, nil, nil)
	c.configure(e)
	if j := e.waitJob(e.startJob(cycle.Kind, cycle.Params{Trigger: cycle.TriggerManual}), 3*time.Minute); j.Status != jobs.Succeeded && j.Status != jobs.Warnings {
		t.Fatalf("cycle %s: %s\n%s", j.Status, j.Error, jobMessages(t, e, j.ID))
	}
	ctx := context.Background()
	g := em.admin(t)
	find := func(upnPrefix string) (id, upn, immutable string) {
		t.Helper()
		users, err := g.FindUsers(ctx, "startswith(userPrincipalName,'"+upnPrefix+"@')")
		if err != nil || len(users) != 1 {
			t.Fatalf("%s in the tenant: %+v %v", upnPrefix, users, err)
		}
		return users[0].ID, users[0].UserPrincipalName, users[0].OnPremisesImmutableID
	}
	id, upn, immutable := find("tuser005")

	// One Graph client (and token) serves every lookup of a configuration.
	g1, who, err := e.h.tenantClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if g2, _, err := e.h.tenantClient(ctx); err != nil || g2 != g1 || !strings.HasPrefix(who, "Sync_") {
		t.Errorf("a second lookup's client: %p (%v), the first's %p, as %q", g2, err, g1, who)
	}

	// (a) A synced user: the tenant's values, as computed.
	r = hd.get("/sync/lookup?q=" + url.QueryEscape(upn))
	wantStatus(t, r, http.StatusOK, "lookup of a synced user")
	if r.find(t, `[data-testid="tenant-note"]`).Length() != 0 {
		t.Fatalf("the tenant was not read: %s", r.testid(t, "tenant-note"))
	}
	if read := r.testid(t, "tenant-read"); !strings.Contains(read, "Sync_") {
		t.Errorf("the page does not say which account read the tenant: %q", read)
	}
	attrs := tenantAttrs(t, r.find(t, `[data-testid="hit-0"]`))
	for prop, want := range map[string]string{"userPrincipalName": upn, "onPremisesImmutableId": immutable, "accountEnabled": "true"} {
		if a, ok := attrs[prop]; !ok || a.tenant != want || a.differs {
			t.Errorf("%s in the tenant: %+v, want %q as computed", prop, a, want)
		}
	}
	if a := attrs["displayName"]; a.tenant == "" || a.tenant != a.computed {
		t.Errorf("displayName: %+v", a)
	}
	if step := r.testid(t, "tenant-step"); !strings.Contains(step, "as computed") {
		t.Errorf("the tenant step of a user as computed: %q", step)
	}

	// Changed in the cloud: the difference is marked.
	if err := g.UpdateUser(ctx, id, map[string]any{"displayName": "Renamed in the cloud"}); err != nil {
		t.Fatal(err)
	}
	r = hd.get("/sync/lookup?q=" + url.QueryEscape(upn))
	attrs = tenantAttrs(t, r.find(t, `[data-testid="hit-0"]`))
	if a := attrs["displayName"]; a.tenant != "Renamed in the cloud" || !a.differs || a.computed == a.tenant {
		t.Errorf("a displayName changed in the cloud: %+v", a)
	}
	if a := attrs["userPrincipalName"]; a.differs {
		t.Errorf("the unchanged UPN is marked as differing: %+v", a)
	}
	if step := r.testid(t, "tenant-step"); !strings.Contains(step, "1 property differs") {
		t.Errorf("the tenant step of a renamed user: %q", step)
	}

	// (b) Deleted in the cloud: not found in the tenant.
	if err := g.DeleteUser(ctx, id); err != nil {
		t.Fatal(err)
	}
	r = hd.get("/sync/lookup?q=" + url.QueryEscape(upn))
	wantStatus(t, r, http.StatusOK, "lookup of a user deleted in the cloud")
	if r.find(t, `[data-testid="hit-0"] [data-testid="tenant-missing"]`).Length() != 1 || r.find(t, `[data-testid="hit-0"] [data-testid="tenant-attrs"]`).Length() != 0 {
		t.Errorf("a user deleted in the cloud is not said to be missing: %q", r.testid(t, "tenant-step"))
	}

	// (c) A cloud-only user of the seed: found in the tenant alone.
	r = hd.get("/sync/lookup?q=" + url.QueryEscape("Hybrid.Admin@contoso.onmicrosoft.com"))
	wantStatus(t, r, http.StatusOK, "lookup of a cloud-only user")
	if r.find(t, `[data-testid^="hit-"]`).Length() != 0 || r.find(t, `[data-testid="lookup-none"]`).Length() != 0 {
		t.Error("a cloud-only user is shown as an on-premises hit, or as nothing")
	}
	if v := r.testid(t, "cloud-only-verdict"); !strings.Contains(v, "In Microsoft Entra ID only: not synchronized by hybridsync") {
		t.Errorf("the cloud-only verdict: %q", v)
	}
	if h := r.find(t, `[data-testid="cloud-only-0"] h3`).Text(); !strings.Contains(h, "hybrid.admin@contoso.onmicrosoft.com") {
		t.Errorf("the cloud-only hit: %q", h)
	}
	// A name neither on-premises nor in the tenant.
	r = hd.get("/sync/lookup?q=" + url.QueryEscape("nobody-o'brien@contoso.onmicrosoft.com"))
	if none := r.testid(t, "lookup-none"); !strings.Contains(none, "no user in Microsoft Entra ID") || r.find(t, `[data-testid="tenant-note"]`).Length() != 0 {
		t.Errorf("an unknown address (with a quote): %q, note %q", none, r.testid(t, "tenant-note"))
	}

	// (d) The tenant gone: the on-premises path, and a note.
	_, upn6, _ := find("tuser006")
	em.srv.Close()
	for _, q := range []string{upn6, "hybrid.admin@contoso.onmicrosoft.com"} {
		start := time.Now()
		r = hd.get("/sync/lookup?q=" + url.QueryEscape(q))
		wantStatus(t, r, http.StatusOK, "lookup with the tenant gone")
		if note := r.testid(t, "tenant-note"); !strings.HasPrefix(note, "The tenant could not be read: ") {
			t.Errorf("%s with the tenant gone: note %q", q, note)
		}
		if took := time.Since(start); took > tenantTimeout+5*time.Second {
			t.Errorf("%s with the tenant gone took %s", q, took)
		}
	}
	r = hd.get("/sync/lookup?q=" + url.QueryEscape(upn6))
	if path := r.find(t, `[data-testid="hit-0"] [data-testid="path"]`).Text(); !strings.Contains(path, "in Microsoft Entra ID") || r.find(t, `[data-testid="tenant-step"]`).Length() != 0 {
		t.Errorf("with the tenant gone, the path is %q", path)
	}
}

type tenantAttr struct {
	computed, tenant string
	differs          bool
}

// tenantAttrs reads a hit's tenant table by property.
func tenantAttrs(t *testing.T, hit *goquery.Selection) map[string]tenantAttr {
	t.Helper()
	out := map[string]tenantAttr{}
	hit.Find(`[data-testid="tenant-attr"]`).Each(func(_ int, s *goquery.Selection) {
		tds := s.Find("td")
		out[s.AttrOr("data-property", "")] = tenantAttr{computed: strings.TrimSpace(tds.Eq(1).Text()), tenant: strings.TrimSpace(tds.Eq(2).Text()), differs: s.AttrOr("data-differs", "") == "true"}
	})
	if len(out) == 0 {
		t.Fatal("the hit has no tenant attributes")
	}
	return out
}

func TestTenantRows(t *testing.T) {
	computed := map[string][]string{"userPrincipalName": {"Ann@Fabrikam.example.test"}, "displayName": {"Ann"}, "mail": {"ann@fabrikam.example.test"},
		"onPremisesImmutableId": {"AAEC"}, "accountEnabled": {"true"}}
	tests := []struct {
		name  string
		kind  string
		props string
		// want is property=tenant value, "*" marking a difference, in order.
		want []string
	}{
		{"as computed, UPN and mail in other case", metaverse.KindUser,
			`{"id":"1","userPrincipalName":"ann@fabrikam.example.test","displayName":"Ann","mail":"ANN@fabrikam.example.test","onPremisesImmutableId":"AAEC","accountEnabled":true}`,
			[]string{"userPrincipalName=ann@fabrikam.example.test", "displayName=Ann", "mail=ANN@fabrikam.example.test", "onPremisesImmutableId=AAEC", "accountEnabled=true"}},
		{"quarantined UPN, disabled, synced from elsewhere", metaverse.KindUser,
			`{"id":"1","userPrincipalName":"ann+1234@contoso.onmicrosoft.com","displayName":"Ann","mail":null,"onPremisesImmutableId":"AAEC","accountEnabled":false,"onPremisesSyncEnabled":true,"onPremisesLastSyncDateTime":"2026-11-28T09:00:00Z"}`,
			[]string{"userPrincipalName=ann+1234@contoso.onmicrosoft.com*", "displayName=Ann", "mail=*", "onPremisesImmutableId=AAEC", "accountEnabled=false*", "onPremisesSyncEnabled=true", "onPremisesLastSyncDateTime=2026-11-28T09:00:00Z"}},
		{"immutable id in other case differs", metaverse.KindUser,
			`{"userPrincipalName":"Ann@Fabrikam.example.test","displayName":"Ann","mail":"ann@fabrikam.example.test","onPremisesImmutableId":"aaec","accountEnabled":true,"onPremisesLastSyncDateTime":null}`,
			[]string{"userPrincipalName=Ann@Fabrikam.example.test", "displayName=Ann", "mail=ann@fabrikam.example.test", "onPremisesImmutableId=aaec*", "accountEnabled=true"}},
		{"a group's properties hybridsync does not compute", metaverse.KindGroup,
			`{"displayName":"Ann","mail":null,"mailNickname":"ann","securityEnabled":true,"mailEnabled":false,"onPremisesSyncEnabled":null}`,
			[]string{"displayName=Ann", "mail=*", "mailNickname=ann", "securityEnabled=true", "mailEnabled=false", "onPremisesSyncEnabled="}},
	}
	for _, tt := range tests {
		var props map[string]json.RawMessage
		if err := json.Unmarshal([]byte(tt.props), &props); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range tenantRows(tt.kind, computed, props) {
			s := r.Property + "=" + r.Tenant
			if r.Differs {
				s += "*"
			}
			got = append(got, s)
		}
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}
