package export

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"iter"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/e2e/tenant"
	"github.com/hybridsync/hybridsync/engine/cloud"
	"github.com/hybridsync/hybridsync/engine/entra"
	"github.com/hybridsync/hybridsync/engine/metaverse"
	"github.com/hybridsync/hybridsync/engine/store"
)

const (
	adminUPN  = "hybrid.admin@contoso.onmicrosoft.com"
	adminPW   = "Passw0rd!hybrid"
	globalUPN = "global.admin@contoso.onmicrosoft.com"
	globalPW  = "Passw0rd!global"
	domain    = "contoso.example.test"
)

// env is a tenant emulator on loopback, the sync service account an
// administrator made in it, a store, and an exporter signed in as that account.
type env struct {
	tn      *tenant.Tenant
	srv     *httptest.Server
	cfg     entra.Config
	admin   *cloud.Client // hybrid.admin: to arrange and inspect the tenant
	sync    *cloud.Client // the sync service account
	st      *store.Store
	retries atomic.Int64 // 429/503 waits the sync client saw
	graph   *graphLog    // what the sync client sent
	exp     *Exporter
}

func newEnv(t testing.TB, topts tenant.Options, opts Options) *env {
	t.Helper()
	ctx := context.Background()
	tn, err := tenant.New(tenant.DefaultSeed(), topts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tn)
	t.Cleanup(srv.Close)
	e := &env{tn: tn, srv: srv, cfg: entra.Config{Authority: srv.URL + "/organizations", GraphURL: srv.URL + "/v1.0", ClientID: tenant.ConnectClientID, HTTPClient: srv.Client()}}
	sess, err := e.cfg.PasswordSignIn(ctx, adminUPN, adminPW)
	if err != nil {
		t.Fatal(err)
	}
	if e.admin, err = e.cfg.Graph(sess.TokenSource()); err != nil {
		t.Fatal(err)
	}
	acct, err := entra.CreateSyncAccount(ctx, e.admin, sess.Tenant, "exporttest")
	if err != nil {
		t.Fatal(err)
	}
	e.graph = &graphLog{next: srv.Client().Transport}
	e.sync, err = cloud.New(cloud.Config{GraphURL: e.cfg.GraphURL, HTTPClient: &http.Client{Transport: e.graph}, OnRetry: func(status int, wait time.Duration) {
		e.retries.Add(1)
		if e.exp != nil {
			e.exp.OnRetry(status, wait)
		}
	}}, e.cfg.SyncTokens(acct.UPN, acct.Password))
	if err != nil {
		t.Fatal(err)
	}
	e.st, err = store.Open(ctx, store.Options{Dialect: store.SQLite, DSN: store.SQLitePath(t.TempDir())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.st.Close() })
	if _, err := e.st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	e.exp = New(e.sync, e.st, opts)
	return e
}

func (e *env) run(t testing.TB, changes []metaverse.Change) *Result {
	t.Helper()
	res, err := e.exp.Run(context.Background(), changes)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	return res
}

// cloudUser returns the users with an onPremisesImmutableId.
func (e *env) usersWithAnchor(t testing.TB, key string) []cloud.User {
	t.Helper()
	us, err := e.admin.FindUsers(context.Background(), "onPremisesImmutableId eq "+cloud.Quote(key))
	if err != nil {
		t.Fatal(err)
	}
	return us
}

// cloudUser makes a user as an administrator would in the cloud; proxies,
// when given, are set as Exchange Online would (Graph can't).
func (e *env) cloudUser(t testing.TB, upn, mail, anchor string, proxies ...string) *cloud.User {
	t.Helper()
	local, _, _ := strings.Cut(upn, "@")
	u, err := e.admin.CreateUser(context.Background(), cloud.User{AccountEnabled: cloud.Bool(true), DisplayName: local, MailNickname: local,
		UserPrincipalName: upn, Mail: mail, OnPremisesImmutableID: anchor,
		PasswordProfile: &cloud.PasswordProfile{Password: "Passw0rd!cloud"}})
	if err != nil {
		t.Fatal(err)
	}
	if proxies != nil {
		if err := e.tn.SetProxyAddresses(u.ID, proxies); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

func userAdd(key, upn string, extra ...metaverse.AttrChange) metaverse.Change {
	local, _, _ := strings.Cut(upn, "@")
	attrs := append([]metaverse.AttrChange{
		{Name: "userPrincipalName", New: []string{upn}},
		{Name: "displayName", New: []string{local}},
		{Name: "mailNickname", New: []string{local}},
	}, extra...)
	return metaverse.Change{Key: key, Kind: metaverse.KindUser, Op: metaverse.OpAdd, Attrs: attrs, Source: "corp.example.test: CN=" + local + ",OU=Users,DC=corp"}
}

func attr(name string, vals ...string) metaverse.AttrChange {
	return metaverse.AttrChange{Name: name, New: vals}
}

func TestExportAddsUpdatesDeletesMemberships(t *testing.T) {
	e := newEnv(t, tenant.Options{}, Options{})
	ctx := context.Background()
	var confirmed []metaverse.Change
	e.exp.opts.OnConfirmed = func(_ context.Context, done []metaverse.Change) error {
		confirmed = append(confirmed, done...)
		return nil
	}
	group := metaverse.Change{Key: "g1", Kind: metaverse.KindGroup, Op: metaverse.OpAdd, Attrs: []metaverse.AttrChange{
		attr("displayName", "Sales"), attr("mailNickname", "sales"), attr("mail", "sales@"+domain)}, AddMembers: []string{"u1", "u2"}}
	res := e.run(t, []metaverse.Change{
		group, // before its members on purpose: creates go first whatever the order
		userAdd("u1", "ann@"+domain, attr("mail", "ann@"+domain), attr("jobTitle", "Clerk")),
		userAdd("u2", "ben@"+domain),
	})
	if res.Status != StatusSuccess || res.Adds != 3 || res.Memberships != 2 || len(confirmed) != 3 {
		t.Fatalf("first export: %+v (confirmed %d)", res, len(confirmed))
	}
	for _, c := range confirmed {
		if c.CloudID == "" {
			t.Errorf("confirmed %s without its cloud id", c.Key)
		}
	}
	objs, err := e.st.ExportObjects(ctx, []string{"u1", "u2", "g1"})
	if err != nil || len(objs) != 3 {
		t.Fatalf("export state %+v, %v", objs, err)
	}
	ann := e.usersWithAnchor(t, "u1")
	if len(ann) != 1 || ann[0].JobTitle != "Clerk" || ann[0].UserPrincipalName != "ann@"+domain || ann[0].ID != objs["u1"].CloudID {
		t.Fatalf("u1 in the tenant: %+v", ann)
	}
	members, err := e.admin.GroupMembers(ctx, objs["g1"].CloudID)
	if err != nil || len(members) != 2 {
		t.Fatalf("group members %+v, %v", members, err)
	}

	// Updates, a membership removal and a delete.
	confirmed = nil
	res = e.run(t, []metaverse.Change{
		{Key: "u2", Kind: metaverse.KindUser, Op: metaverse.OpDelete, Attrs: []metaverse.AttrChange{{Name: "userPrincipalName", Old: []string{"ben@" + domain}}}},
		{Key: "u1", Kind: metaverse.KindUser, Op: metaverse.OpUpdate, Attrs: []metaverse.AttrChange{{Name: "jobTitle", Old: []string{"Clerk"}, New: []string{"Manager"}}}},
		{Key: "g1", Kind: metaverse.KindGroup, Op: metaverse.OpUpdate, RemoveMembers: []string{"u2"}},
	})
	if res.Status != StatusSuccess || res.Updates != 1 || res.Deletes != 1 || res.Memberships != 1 || len(confirmed) != 3 {
		t.Fatalf("second export: %+v", res)
	}
	if u := e.usersWithAnchor(t, "u1"); len(u) != 1 || u[0].JobTitle != "Manager" {
		t.Errorf("u1 after the update: %+v", u)
	}
	if u := e.usersWithAnchor(t, "u2"); len(u) != 0 {
		t.Errorf("u2 not deleted: %+v", u)
	}
	if members, _ := e.admin.GroupMembers(ctx, objs["g1"].CloudID); len(members) != 1 || members[0].ID != objs["u1"].CloudID {
		t.Errorf("group members after the removal: %+v", members)
	}
	if objs, _ := e.st.ExportObjects(ctx, []string{"u2"}); len(objs) != 0 {
		t.Errorf("u2's export state kept after its delete: %+v", objs)
	}
	runs, err := e.st.ExportRuns(ctx, 10)
	if err != nil || len(runs) != 2 || runs[0].Deletes != 1 || runs[1].Adds != 3 || runs[0].FinishedAt.IsZero() {
		t.Fatalf("runs %+v, %v", runs, err)
	}
	if !res.Match.Assumed {
		t.Error("the sync service account read the matching settings; the emulator should refuse it")
	}
}

var placeholderRe = regexp.MustCompile(`^([^+@]+)\+\d{4}@contoso\.onmicrosoft\.com$`)

func TestQuarantine(t *testing.T) {
	tests := []struct {
		name      string
		arrange   func(*env) *cloud.User
		change    metaverse.Change
		attribute string
		value     string
		check     func(t *testing.T, u cloud.User)
	}{
		{
			name: "duplicate userPrincipalName",
			arrange: func(e *env) *cloud.User {
				return e.cloudUser(t, "carol@"+domain, "", "someone-else")
			},
			change:    userAdd("k-carol", "carol@"+domain),
			attribute: "userPrincipalName", value: "carol@" + domain,
			check: func(t *testing.T, u cloud.User) {
				if m := placeholderRe.FindStringSubmatch(u.UserPrincipalName); m == nil || m[1] != "carol" {
					t.Errorf("UPN %q is not carol+NNNN@contoso.onmicrosoft.com", u.UserPrincipalName)
				}
			},
		},
		{
			name: "duplicate proxy address",
			arrange: func(e *env) *cloud.User {
				return e.cloudUser(t, "dora@"+domain, "", "someone-else", "SMTP:dora@"+domain, "smtp:shared@"+domain)
			},
			// The user's address reaches the cloud through mail, which
			// another object holds as an alias.
			change: userAdd("k-dan", "dan@"+domain, attr("mail", "shared@"+domain),
				attr("proxyAddresses", "SMTP:shared@"+domain, "smtp:dan@"+domain)),
			attribute: "proxyAddresses", value: "smtp:shared@" + domain,
			check: func(t *testing.T, u cloud.User) {
				if u.UserPrincipalName != "dan@"+domain || u.Mail != "" || len(u.ProxyAddresses) != 0 {
					t.Errorf("quarantined user %+v: want its own UPN, no mail and no proxy address", u)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tenant.Options{}, Options{})
			holder := tt.arrange(e)
			res := e.run(t, []metaverse.Change{tt.change})
			if res.Status != StatusCompletedWithErrors || res.Adds != 1 || len(res.Failed) != 0 || len(res.SyncErrors) != 1 || len(res.Confirmed) != 1 {
				t.Fatalf("result %+v", res)
			}
			us := e.usersWithAnchor(t, tt.change.Key)
			if len(us) != 1 {
				t.Fatalf("users with the anchor: %+v", us)
			}
			tt.check(t, us[0])
			errs, err := e.st.SyncErrors(context.Background(), true, 10)
			if err != nil || len(errs) != 1 {
				t.Fatalf("sync errors %+v, %v", errs, err)
			}
			se := errs[0]
			if se.Key != tt.change.Key || se.Attribute != tt.attribute || se.Value != tt.value || se.HolderID != holder.ID || se.Holder != holder.UserPrincipalName || se.Source == "" {
				t.Errorf("sync error %+v, want %s=%s held by %s", se, tt.attribute, tt.value, holder.UserPrincipalName)
			}
			// The same change again (the metaverse retries the value): still
			// one open error, seen again, no second user.
			e.run(t, []metaverse.Change{tt.change})
			if errs, _ := e.st.SyncErrors(context.Background(), false, 10); len(errs) != 1 || !errs[0].LastSeen.After(errs[0].FirstSeen.Add(-time.Second)) {
				t.Errorf("after a re-run: %+v", errs)
			}
			if us := e.usersWithAnchor(t, tt.change.Key); len(us) != 1 {
				t.Errorf("re-run made %d users", len(us))
			}
		})
	}
}

func TestMatching(t *testing.T) {
	tests := []struct {
		name      string
		block     MatchSettings
		viaAdmin  bool // the exporter reads the settings signed in as global.admin
		cloudUPN  string
		cloudMail string
		anchor    string // the cloud user's onPremisesImmutableId
		change    metaverse.Change
		taken     bool // the cloud user becomes ours (same id)
		syncError string
	}{
		{name: "soft match by userPrincipalName", cloudUPN: "erin@" + domain, change: userAdd("k1", "erin@"+domain), taken: true},
		{name: "soft match by primary SMTP address", cloudUPN: "frank.cloud@" + domain, cloudMail: "frank@" + domain,
			change: userAdd("k2", "frank@"+domain, attr("proxyAddresses", "SMTP:frank@"+domain)), taken: true},
		{name: "hard match", cloudUPN: "gina.old@" + domain, anchor: "k3", change: userAdd("k3", "gina@"+domain), taken: true},
		{name: "soft match blocked", block: MatchSettings{BlockSoftMatch: true}, viaAdmin: true, cloudUPN: "hal@" + domain,
			change: userAdd("k4", "hal@"+domain), syncError: "userPrincipalName"},
		{name: "hard match blocked", block: MatchSettings{BlockHardMatch: true}, viaAdmin: true, cloudUPN: "ida.old@" + domain, anchor: "k5",
			change: userAdd("k5", "ida@"+domain), syncError: "onPremisesImmutableId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tenant.Options{}, Options{})
			ctx := context.Background()
			var global *cloud.Client
			if tt.block != (MatchSettings{}) {
				global = setFeatures(t, e, tt.block)
			}
			if tt.viaAdmin {
				// The sync service account may not read the features, nor
				// may any role but Global Administrator: read them as
				// Configure does when its administrator is one.
				e.exp = New(global, e.st, Options{})
			}
			existing := e.cloudUser(t, tt.cloudUPN, tt.cloudMail, tt.anchor)
			res := e.run(t, []metaverse.Change{tt.change})
			if tt.viaAdmin && (res.Match.Assumed || res.Match.BlockSoftMatch != tt.block.BlockSoftMatch || res.Match.BlockHardMatch != tt.block.BlockHardMatch) {
				t.Fatalf("match settings %+v, want %+v", res.Match, tt.block)
			}
			got, err := e.admin.GetUser(ctx, existing.ID)
			if err != nil {
				t.Fatal(err)
			}
			if tt.taken {
				if res.Matched != 1 || res.Adds != 0 || got.OnPremisesImmutableID != tt.change.Key || got.UserPrincipalName != first(newValues(tt.change)["userPrincipalName"]) {
					t.Fatalf("not taken over: result %+v, cloud user %+v", res, got)
				}
				objs, _ := e.st.ExportObjects(ctx, []string{tt.change.Key})
				if objs[tt.change.Key].CloudID != existing.ID {
					t.Errorf("export state %+v, want cloud id %s", objs, existing.ID)
				}
				return
			}
			if res.Matched != 0 || got.OnPremisesImmutableID != tt.anchor {
				t.Errorf("taken over although blocked: result %+v, cloud user %+v", res, got)
			}
			if len(res.SyncErrors) != 1 || res.SyncErrors[0].Attribute != tt.syncError || res.SyncErrors[0].HolderID != existing.ID {
				t.Errorf("sync errors %+v, want one on %s held by %s", res.SyncErrors, tt.syncError, existing.ID)
			}
		})
	}
}

// setFeatures sets the tenant's matching features as a Global Administrator.
// setFeatures sets the matching features as a Global Administrator, and
// returns that administrator's Graph client.
func setFeatures(t *testing.T, e *env, m MatchSettings) *cloud.Client {
	t.Helper()
	ctx := context.Background()
	sess, err := e.cfg.PasswordSignIn(ctx, globalUPN, globalPW)
	if err != nil {
		t.Fatal(err)
	}
	g, err := e.cfg.Graph(sess.TokenSource())
	if err != nil {
		t.Fatal(err)
	}
	s, err := g.OnPremisesSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.UpdateOnPremisesSync(ctx, s.ID, map[string]any{"features": map[string]any{
		"blockSoftMatchEnabled": m.BlockSoftMatch, "blockCloudObjectTakeoverThroughHardMatchEnabled": m.BlockHardMatch}}); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestDeletionGuardStopsAndAllowsOnce(t *testing.T) {
	e := newEnv(t, tenant.Options{}, Options{})
	ctx := context.Background()
	var adds []metaverse.Change
	for _, k := range []string{"d1", "d2", "d3", "d4"} {
		adds = append(adds, userAdd(k, k+"@"+domain))
	}
	e.run(t, adds)
	if err := e.st.SetDeletionGuard(ctx, store.DeletionGuard{Enabled: true, Threshold: 2}, "admin"); err != nil {
		t.Fatal(err)
	}
	var deletes []metaverse.Change
	for _, k := range []string{"d1", "d2", "d3"} {
		deletes = append(deletes, metaverse.Change{Key: k, Kind: metaverse.KindUser, Op: metaverse.OpDelete,
			Attrs: []metaverse.AttrChange{{Name: "userPrincipalName", Old: []string{k + "@" + domain}}}})
	}
	res := e.run(t, deletes)
	if res.Status != StatusStoppedDeletionExceeded || len(res.PendingDeletes) != 3 || res.PendingDeletes[0].Object != "d1@"+domain || res.Writes != 0 {
		t.Fatalf("over the threshold: %+v", res)
	}
	for _, k := range []string{"d1", "d2", "d3"} {
		if len(e.usersWithAnchor(t, k)) != 1 {
			t.Fatalf("%s was deleted although the export was stopped", k)
		}
	}
	runs, _ := e.st.ExportRuns(ctx, 1)
	if runs[0].Status != StatusStoppedDeletionExceeded || len(runs[0].PendingDeletes) != 3 {
		t.Fatalf("run record %+v", runs[0])
	}

	// An allowance smaller than the deletes does not let them through.
	if err := e.st.AllowDeletesOnce(ctx, 2, "admin"); err != nil {
		t.Fatal(err)
	}
	if res := e.run(t, deletes); res.Status != StatusStoppedDeletionExceeded {
		t.Fatalf("allowance of 2 let 3 deletes through: %+v", res)
	}
	// Allowed once: they go, and the allowance is spent.
	if err := e.st.AllowDeletesOnce(ctx, 3, "admin"); err != nil {
		t.Fatal(err)
	}
	if res := e.run(t, deletes); res.Status != StatusSuccess || res.Deletes != 3 || !res.Guard.UseAllowance {
		t.Fatalf("allowed once: %+v", res)
	}
	if g, _ := e.st.DeletionGuard(ctx); g.AllowDeletes != 0 || g.Threshold != 2 {
		t.Errorf("guard after the allowed run: %+v", g)
	}
	for _, k := range []string{"d1", "d2", "d3"} {
		if len(e.usersWithAnchor(t, k)) != 0 {
			t.Errorf("%s not deleted", k)
		}
	}
}

func TestCheckDeletions(t *testing.T) {
	def := store.DeletionGuard{Enabled: true, Threshold: 500}
	tests := []struct {
		name              string
		g                 store.DeletionGuard
		deletes, exported int
		stop, allowance   bool
		limit             int
	}{
		{"none", def, 0, 1000, false, false, 500},
		{"at the threshold", def, 500, 10000, false, false, 500},
		{"one over", def, 501, 10000, true, false, 500},
		{"off", store.DeletionGuard{Threshold: 500}, 5000, 10000, false, false, -1},
		{"percentage lower than the count", store.DeletionGuard{Enabled: true, Threshold: 500, Percent: 10}, 101, 1000, true, false, 100},
		{"percentage within", store.DeletionGuard{Enabled: true, Threshold: 500, Percent: 10}, 100, 1000, false, false, 100},
		{"percentage higher than the count", store.DeletionGuard{Enabled: true, Threshold: 500, Percent: 10}, 501, 100000, true, false, 500},
		{"percentage of nothing exported", store.DeletionGuard{Enabled: true, Threshold: 500, Percent: 10}, 3, 0, false, false, 500},
		{"threshold zero", store.DeletionGuard{Enabled: true}, 1, 10, true, false, 0},
		{"allowed once", store.DeletionGuard{Enabled: true, Threshold: 500, AllowDeletes: 800}, 800, 1000, false, true, 500},
		{"allowance too small", store.DeletionGuard{Enabled: true, Threshold: 500, AllowDeletes: 600}, 800, 1000, true, false, 500},
		{"allowance not needed", store.DeletionGuard{Enabled: true, Threshold: 500, AllowDeletes: 600}, 10, 1000, false, false, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := CheckDeletions(tt.g, tt.deletes, tt.exported)
			if d.Stop != tt.stop || d.UseAllowance != tt.allowance || d.Limit != tt.limit || d.Reason == "" {
				t.Errorf("CheckDeletions = %+v, want stop %v allowance %v limit %d", d, tt.stop, tt.allowance, tt.limit)
			}
		})
	}
}

func TestStagingExportsNothing(t *testing.T) {
	e := newEnv(t, tenant.Options{}, Options{Staging: true})
	changes := []metaverse.Change{
		userAdd("s1", "sam@"+domain, attr("mail", "sam@"+domain)),
		{Key: "s2", Kind: metaverse.KindUser, Op: metaverse.OpUpdate, CloudID: "x", Source: "corp: CN=Sue",
			Attrs: []metaverse.AttrChange{{Name: "displayName", Old: []string{"Sue"}, New: []string{"Sue Smith"}}, {Name: "department", Old: []string{"=SUM(A1)"}}}},
		{Key: "s3", Kind: metaverse.KindGroup, Op: metaverse.OpUpdate, CloudID: "y", AddMembers: []string{"s1"}, RemoveMembers: []string{"s9"},
			Attrs: []metaverse.AttrChange{{Name: "displayName", Old: []string{"Team"}, New: []string{"Team"}}}},
		{Key: "s4", Kind: metaverse.KindUser, Op: metaverse.OpDelete},
	}
	res := e.run(t, changes)
	if res.Status != StatusStaged || res.Writes != 0 || res.Adds != 1 || res.Updates != 2 || res.Deletes != 1 || res.Memberships != 2 {
		t.Fatalf("staged run %+v", res)
	}
	// The same, read one at a time; a read that fails ends the run failed.
	each := func(fail error) iter.Seq2[metaverse.Change, error] {
		return func(yield func(metaverse.Change, error) bool) {
			for _, c := range changes {
				if !yield(c, nil) {
					return
				}
			}
			if fail != nil {
				yield(metaverse.Change{}, fail)
			}
		}
	}
	one, err := e.exp.RunEach(context.Background(), each(nil))
	if err != nil || one.Status != res.Status || one.Adds != res.Adds || one.Updates != res.Updates || one.Deletes != res.Deletes ||
		one.Memberships != res.Memberships || one.Message != res.Message {
		t.Errorf("staged one at a time: %+v (%v), want as %+v", one, err, res)
	}
	failed, err := e.exp.RunEach(context.Background(), each(errors.New("the store went away")))
	if err == nil || failed.Status != StatusFailed || !strings.Contains(failed.Message, "the store went away") {
		t.Errorf("a failed read: %+v (%v)", failed, err)
	}
	if us := e.usersWithAnchor(t, "s1"); len(us) != 0 {
		t.Fatalf("staging exported %+v", us)
	}

	// A contact is held (Graph can't write it): the last column says why.
	contact := metaverse.Change{Key: "s5", Kind: metaverse.KindContact, Op: metaverse.OpAdd, Source: "corp: CN=Pat",
		Attrs: []metaverse.AttrChange{{Name: "displayName", New: []string{"Pat"}}}}
	var buf bytes.Buffer
	all := append(slices.Clone(changes), contact)
	if err := WriteCSV(&buf, func(yield func(metaverse.Change, error) bool) {
		for _, c := range all {
			if !yield(c, nil) {
				return
			}
		}
	}, Filter{}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		CSVHeader,
		{"sam@" + domain, "s1", "user", "add", "userPrincipalName", "", "sam@" + domain, "corp.example.test: CN=sam,OU=Users,DC=corp", ""},
		{"sam@" + domain, "s1", "user", "add", "displayName", "", "sam", "corp.example.test: CN=sam,OU=Users,DC=corp", ""},
		{"sam@" + domain, "s1", "user", "add", "mailNickname", "", "sam", "corp.example.test: CN=sam,OU=Users,DC=corp", ""},
		{"sam@" + domain, "s1", "user", "add", "mail", "", "sam@" + domain, "corp.example.test: CN=sam,OU=Users,DC=corp", ""},
		{"Sue Smith", "s2", "user", "update", "displayName", "Sue", "Sue Smith", "corp: CN=Sue", ""},
		{"Sue Smith", "s2", "user", "update", "department", "'=SUM(A1)", "", "corp: CN=Sue", ""},
		{"Team", "s3", "group", "update", "displayName", "Team", "Team", "", ""},
		{"Team", "s3", "group", "update", "member", "", "s1", "", ""},
		{"Team", "s3", "group", "update", "member", "s9", "", "", ""},
		{"s4", "s4", "user", "delete", "", "", "", "", ""},
		{"Pat", "s5", "contact", "add", "displayName", "", "Pat", "corp: CN=Pat", MsgContactHeld},
	}
	if len(rows) != len(want) {
		t.Fatalf("CSV has %d rows, want %d:\n%q", len(rows), len(want), rows)
	}
	for i := range want {
		if strings.Join(rows[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d = %q, want %q", i, rows[i], want[i])
		}
	}

	filters := []struct {
		f    Filter
		keys string
	}{
		{Filter{}, "s1 s2 s3 s4"},
		{Filter{Op: "update"}, "s2 s3"},
		{Filter{Kind: "group"}, "s3"},
		{Filter{Text: "SMITH"}, "s2"},
		{Filter{Text: "s9"}, "s3"},
		{Filter{Op: "delete", Kind: "group"}, ""},
	}
	for _, ft := range filters {
		var keys []string
		for _, r := range Review(changes, ft.f) {
			keys = append(keys, r.Key)
		}
		if got := strings.Join(keys, " "); got != ft.keys {
			t.Errorf("Review(%+v) = %q, want %q", ft.f, got, ft.keys)
		}
	}
}

func TestRestartAfterCrash(t *testing.T) {
	changes := func() []metaverse.Change {
		var cs []metaverse.Change
		for _, k := range []string{"r1", "r2", "r3", "r4", "r5"} {
			cs = append(cs, userAdd(k, k+"@"+domain))
		}
		return append(cs,
			metaverse.Change{Key: "rg", Kind: metaverse.KindGroup, Op: metaverse.OpAdd, Attrs: []metaverse.AttrChange{attr("displayName", "Restart")},
				AddMembers: []string{"r1", "r2"}},
			metaverse.Change{Key: "rg2", Kind: metaverse.KindGroup, Op: metaverse.OpAdd, Attrs: []metaverse.AttrChange{attr("displayName", "Restart two")}})
	}
	tests := []struct {
		name  string
		crash func(e *env, cancel context.CancelFunc)
	}{
		{"killed between Graph's answer and the record", func(e *env, _ context.CancelFunc) {
			e.exp.afterGraph = func() error { return errors.New("killed") }
		}},
		{"cancelled after the first creates", func(e *env, cancel context.CancelFunc) {
			e.exp.afterGraph = func() error { cancel(); return nil }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One request per $batch, one at a time, so the crash falls
			// between two creates.
			e := newEnv(t, tenant.Options{}, Options{Concurrency: 1})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			tt.crash(e, cancel)
			res, err := e.exp.Run(ctx, changes())
			if err == nil || res.Status != StatusFailed {
				t.Fatalf("crashed run: %+v, %v", res, err)
			}
			e.exp.afterGraph = nil
			res = e.run(t, changes())
			if res.Status != StatusSuccess || len(res.Confirmed) != 7 || res.Memberships != 2 {
				t.Fatalf("re-run %+v", res)
			}
			for _, k := range []string{"r1", "r2", "r3", "r4", "r5"} {
				if us := e.usersWithAnchor(t, k); len(us) != 1 {
					t.Errorf("%s: %d users in the tenant", k, len(us))
				}
			}
			for _, name := range []string{"Restart", "Restart two"} {
				gs, err := e.admin.FindGroups(context.Background(), "displayName eq "+cloud.Quote(name))
				if err != nil || len(gs) != 1 {
					t.Errorf("group %s: %d in the tenant, %v", name, len(gs), err)
				}
			}
			objs, _ := e.st.ExportObjects(context.Background(), []string{"r1", "r2", "r3", "r4", "r5", "rg", "rg2"})
			for k, o := range objs {
				if o.CloudID == "" || !o.CreateStartedAt.IsZero() {
					t.Errorf("%s export state %+v", k, o)
				}
			}
			// A third run of the same changes sends nothing new.
			before := res.Writes
			res = e.run(t, changes())
			if res.Adds != 0 || res.Writes > before {
				t.Errorf("third run %+v", res)
			}
		})
	}
}

func TestThrottlingHonoured(t *testing.T) {
	tests := []struct {
		name      string
		budget    int // the exporter's own pacing
		wantRetry bool
	}{
		// The exporter believes Graph's default budget; the tenant's is
		// tiny, so it answers 429 and the client waits Retry-After.
		{"tenant's 429s", 0, true},
		// Paced to the tenant's budget, no 429 at all.
		{"paced", 12, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The budget counts the setup's 2 writes (the sync account and
			// its role) too.
			e := newEnv(t, tenant.Options{WriteBudget: 12, WriteWindow: time.Second}, Options{WriteBudget: tt.budget, WriteWindow: time.Second, Concurrency: 2})
			time.Sleep(time.Second) // a fresh window for the export
			var cs []metaverse.Change
			for i := range 30 {
				k := "t" + string(rune('a'+i/10)) + string(rune('a'+i%10))
				cs = append(cs, userAdd(k, k+"@"+domain))
			}
			start := time.Now()
			res := e.run(t, cs)
			if res.Status != StatusSuccess || res.Adds != 30 {
				t.Fatalf("result %+v", res)
			}
			if got := e.retries.Load() > 0; got != tt.wantRetry {
				t.Errorf("429 retries seen: %v, want %v", got, tt.wantRetry)
			}
			// 30 writes at 12 a second need at least two more windows.
			if d := time.Since(start); d < 2*time.Second {
				t.Errorf("30 writes at 12/s took only %v", d)
			}
		})
	}
}

// TestReadOnlyPropertiesNotSent: the metaverse computes proxyAddresses and
// the on-premises properties, which Graph v1.0 refuses to write (the
// emulator answers 400 read-only for each); the export leaves them out, and
// the user's SMTP address reaches the cloud through mail.
func TestReadOnlyPropertiesNotSent(t *testing.T) {
	e := newEnv(t, tenant.Options{}, Options{})
	onPrem := []metaverse.AttrChange{
		attr("proxyAddresses", "SMTP:ro@"+domain, "smtp:alias@"+domain),
		attr("onPremisesSamAccountName", "ro"), attr("onPremisesUserPrincipalName", "ro@corp.example.test"),
		attr("onPremisesDistinguishedName", "CN=ro,DC=corp"), attr("onPremisesDomainName", "corp.example.test"),
		attr("onPremisesSecurityIdentifier", "S-1-5-21-1-2-3-1104"),
	}
	group := metaverse.Change{Key: "g-ro", Kind: metaverse.KindGroup, Op: metaverse.OpAdd, Attrs: []metaverse.AttrChange{
		attr("displayName", "RO"), attr("mailNickname", "ro"), attr("mail", "ro-team@"+domain), attr("proxyAddresses", "SMTP:ro-team@"+domain),
		attr("onPremisesSamAccountName", "RO"), attr("onPremisesSecurityIdentifier", "S-1-5-21-1-2-3-1105")}}
	res := e.run(t, []metaverse.Change{userAdd("k-ro", "ro@"+domain, append([]metaverse.AttrChange{attr("mail", "ro@"+domain)}, onPrem...)...), group})
	if res.Status != StatusSuccess || res.Adds != 2 || len(res.Failed) != 0 {
		t.Fatalf("result %+v", res)
	}
	us := e.usersWithAnchor(t, "k-ro")
	if len(us) != 1 || us[0].Mail != "ro@"+domain || len(us[0].ProxyAddresses) != 1 || us[0].ProxyAddresses[0] != "SMTP:ro@"+domain {
		t.Fatalf("user in the tenant %+v: want mail ro@ and the proxy address Graph derives from it", us)
	}
	// An update of read-only properties alone sends nothing and is done.
	writes := res.Writes
	res = e.run(t, []metaverse.Change{{Key: "k-ro", Kind: metaverse.KindUser, Op: metaverse.OpUpdate, Attrs: []metaverse.AttrChange{
		{Name: "proxyAddresses", Old: []string{"SMTP:ro@" + domain}, New: []string{"SMTP:ro@" + domain, "smtp:more@" + domain}},
		{Name: "onPremisesDistinguishedName", Old: []string{"CN=ro,DC=corp"}, New: []string{"CN=ro,OU=Moved,DC=corp"}}}}})
	if res.Status != StatusSuccess || res.Writes != 0 || len(res.Confirmed) != 1 || len(res.Failed) != 0 {
		t.Fatalf("update of read-only properties: %+v (writes before %d)", res, writes)
	}
	// A new mail changes the cloud's primary SMTP address.
	res = e.run(t, []metaverse.Change{{Key: "k-ro", Kind: metaverse.KindUser, Op: metaverse.OpUpdate, Attrs: []metaverse.AttrChange{
		{Name: "mail", Old: []string{"ro@" + domain}, New: []string{"ro.new@" + domain}}}}})
	if res.Status != StatusSuccess || res.Updates != 1 {
		t.Fatalf("mail update: %+v", res)
	}
	if us := e.usersWithAnchor(t, "k-ro"); len(us) != 1 || us[0].Mail != "ro.new@"+domain || !slices.Contains(us[0].ProxyAddresses, "SMTP:ro.new@"+domain) {
		t.Fatalf("after the mail update: %+v", us)
	}
}

// TestExtensionValuesReachTheTenant: directory extensions registered as
// Configure does are written on users and groups with their types; an
// extension the tenant does not know fails the change with Graph's answer.
func TestExtensionValuesReachTheTenant(t *testing.T) {
	e := newEnv(t, tenant.Options{}, Options{})
	ctx := context.Background()
	appID, _, err := entra.RegisterExtensions(ctx, e.admin, []entra.ExtensionDef{
		{Name: "division", DataType: "String"}, {Name: "carLicense", DataType: "String", MultiValued: true},
		{Name: "hsFlag", DataType: "Boolean"}, {Name: "hsLevel", DataType: "Integer"},
	})
	if err != nil {
		t.Fatal(err)
	}
	x := func(a string) string { return metaverse.ExtensionProperty(appID, a) }
	user := userAdd("k-ext", "ext@"+domain, attr(x("division"), "Sales"), attr(x("carLicense"), "A-1", "B-2"),
		attr(x("hsFlag"), "true"), attr(x("hsLevel"), "7"))
	group := metaverse.Change{Key: "g-ext", Kind: metaverse.KindGroup, Op: metaverse.OpAdd, Attrs: []metaverse.AttrChange{
		attr("displayName", "Ext"), attr("mailNickname", "ext"), attr(x("division"), "Ops")}}
	res := e.run(t, []metaverse.Change{user, group})
	if res.Status != StatusSuccess || res.Adds != 2 {
		t.Fatalf("result %+v", res)
	}
	objs, err := e.st.ExportObjects(ctx, []string{"k-ext", "g-ext"})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{x("division"), x("carLicense"), x("hsFlag"), x("hsLevel")}
	got, err := e.admin.ExtensionValues(ctx, "users", objs["k-ext"].CloudID, names)
	if err != nil {
		t.Fatal(err)
	}
	lic, _ := got[x("carLicense")].([]any)
	if got[x("division")] != "Sales" || got[x("hsFlag")] != true || got[x("hsLevel")] != float64(7) || len(lic) != 2 || lic[0] != "A-1" {
		t.Fatalf("user's extensions in the tenant: %v", got)
	}
	if g, err := e.admin.ExtensionValues(ctx, "groups", objs["g-ext"].CloudID, names[:1]); err != nil || g[x("division")] != "Ops" {
		t.Fatalf("group's extension: %v, %v", g, err)
	}

	// An update clears one and changes another; the exported state follows.
	res = e.run(t, []metaverse.Change{{Key: "k-ext", Kind: metaverse.KindUser, Op: metaverse.OpUpdate, Attrs: []metaverse.AttrChange{
		{Name: x("division"), Old: []string{"Sales"}}, {Name: x("hsLevel"), Old: []string{"7"}, New: []string{"8"}}}}})
	if res.Status != StatusSuccess || res.Updates != 1 {
		t.Fatalf("update %+v", res)
	}
	got, _ = e.admin.ExtensionValues(ctx, "users", objs["k-ext"].CloudID, names)
	if _, has := got[x("division")]; has || got[x("hsLevel")] != float64(8) {
		t.Fatalf("after the update: %v", got)
	}

	// An extension the tenant never registered.
	unknown := metaverse.ExtensionProperty("0123456789abcdef0123456789abcdef", "division")
	res = e.run(t, []metaverse.Change{userAdd("k-ext2", "ext2@"+domain, attr(unknown, "Sales"))})
	if len(res.Failed) != 1 || !strings.Contains(res.Failed[0].Err, "The following extension properties are not available") {
		t.Fatalf("unknown extension: %+v", res)
	}
}

// TestContactsHeld: Graph can't write organizational contacts; their
// changes are held — not sent, not failures, still pending — and say why.
func TestContactsHeld(t *testing.T) {
	contact := func(op string) metaverse.Change {
		return metaverse.Change{Key: "c-" + op, Kind: metaverse.KindContact, Op: op, Source: "corp: CN=Partner",
			Attrs: []metaverse.AttrChange{attr("displayName", "Partner"), attr("mail", "p@partner.example.test")}}
	}
	changes := []metaverse.Change{contact(metaverse.OpAdd), contact(metaverse.OpUpdate), contact(metaverse.OpDelete), userAdd("k-held", "held@"+domain)}
	for _, staging := range []bool{false, true} {
		e := newEnv(t, tenant.Options{}, Options{Staging: staging})
		res := e.run(t, changes)
		want := StatusSuccess
		if staging {
			want = StatusStaged
		}
		if res.Status != want || len(res.Failed) != 0 || res.Errors() != 0 || len(res.Held) != 3 || res.Adds != 1 || res.Deletes != 0 {
			t.Fatalf("staging %v: %+v", staging, res)
		}
		for _, h := range res.Held {
			if h.Kind != metaverse.KindContact || h.Reason != MsgContactHeld {
				t.Errorf("held %+v", h)
			}
		}
		for _, c := range res.Confirmed {
			if c.Kind == metaverse.KindContact {
				t.Errorf("a held contact change was confirmed: %+v", c)
			}
		}
		if !strings.Contains(res.Message, "3 change(s) held: Microsoft Graph cannot write organizational contacts (3)") {
			t.Errorf("message %q", res.Message)
		}
		runs, err := e.st.ExportRuns(context.Background(), 1)
		if err != nil || len(runs) != 1 || runs[0].Errors != 0 || !strings.Contains(runs[0].Message, "held") {
			t.Errorf("recorded run %+v, %v", runs, err)
		}
	}
	// A group with a contact among its members: the group and its other
	// members are exported; the contact's membership is held with it.
	e := newEnv(t, tenant.Options{}, Options{})
	group := metaverse.Change{Key: "g-mixed", Kind: metaverse.KindGroup, Op: metaverse.OpAdd, Attrs: []metaverse.AttrChange{
		attr("displayName", "Mixed"), attr("mailNickname", "mixed")}, AddMembers: []string{"c-add", "k-held"}}
	res := e.run(t, append(changes[:len(changes):len(changes)], group))
	if res.Status != StatusSuccess || len(res.Failed) != 0 || res.Memberships != 1 {
		t.Fatalf("group with a contact member: %+v", res)
	}
	for _, c := range res.Confirmed {
		if c.Key == "g-mixed" && (len(c.AddMembers) != 1 || c.AddMembers[0] != "k-held") {
			t.Errorf("confirmed group %+v: the contact's membership should stay pending", c)
		}
	}
	rv := Review(changes, Filter{})
	if len(rv) != 4 || rv[0].Held != MsgContactHeld || rv[3].Held != "" {
		t.Errorf("review %+v", rv)
	}
}

// TestDistributionGroupsHeld: Graph can't create distribution groups; their
// creation is held and says why, while a mail-enabled security group is
// created as a security group.
func TestDistributionGroupsHeld(t *testing.T) {
	e := newEnv(t, tenant.Options{}, Options{})
	dl := metaverse.Change{Key: "g-dl", Kind: metaverse.KindGroup, Op: metaverse.OpAdd, Source: "corp: CN=All Staff DL",
		Attrs: []metaverse.AttrChange{attr("displayName", "All Staff DL"), attr("mailNickname", "allstaff"),
			attr("securityEnabled", "false"), attr("mailEnabled", "true")},
		AddMembers: []string{"k-dl-member"}}
	mailSec := metaverse.Change{Key: "g-mailsec", Kind: metaverse.KindGroup, Op: metaverse.OpAdd, Source: "corp: CN=Mail Security",
		Attrs: []metaverse.AttrChange{attr("displayName", "Mail Security"), attr("mailNickname", "mailsec"),
			attr("securityEnabled", "true"), attr("mailEnabled", "true")}}
	res := e.run(t, []metaverse.Change{userAdd("k-dl-member", "dlmember@"+domain), dl, mailSec})
	if res.Status != StatusSuccess || len(res.Failed) != 0 || res.Adds != 2 || len(res.Held) != 1 {
		t.Fatalf("%+v", res)
	}
	if h := res.Held[0]; h.Key != "g-dl" || h.Reason != MsgDistributionGroupHeld {
		t.Errorf("held %+v", h)
	}
	if !strings.Contains(res.Message, "1 change(s) held: Microsoft Graph cannot write distribution groups (1)") {
		t.Errorf("message %q", res.Message)
	}
	for _, c := range res.Confirmed {
		if c.Key == "g-dl" {
			t.Errorf("the distribution group was confirmed: %+v", c)
		}
	}
	gs, err := e.admin.FindGroups(context.Background(), "displayName eq 'Mail Security' or displayName eq 'All Staff DL'")
	if err != nil || len(gs) != 1 || gs[0].DisplayName != "Mail Security" || !gs[0].SecurityEnabled {
		t.Errorf("groups in the tenant: %+v %v, want only Mail Security, a security group", gs, err)
	}
}

// deviceKey is an alternativeSecurityId key of a fresh self-signed
// certificate, as the metaverse computes it from userCertificate.
func deviceKey(t *testing.T, cn string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return metaverse.AlternativeSecurityKey(cert)
}

func TestDevices(t *testing.T) {
	e := newEnv(t, tenant.Options{}, Options{})
	ctx := context.Background()
	const devID = "6f1b6c2e-7a3d-4c55-9e1a-0b2c3d4e5f60"
	k := deviceKey(t, devID)
	dev := metaverse.Change{Key: "d1", Kind: metaverse.KindDevice, Op: metaverse.OpAdd, Source: "corp: CN=PC1", Attrs: []metaverse.AttrChange{
		attr("displayName", "PC1"), attr("deviceId", devID), attr("alternativeSecurityIds", k), attr("accountEnabled", "true"),
		attr("operatingSystem", "Windows"), attr("operatingSystemVersion", "10.0.22631"), attr("trustType", "ServerAd"),
		attr("onPremisesSecurityIdentifier", "S-1-5-21-1-2-3-1107")}}
	// A device the computer registered itself: the same deviceId is taken over.
	const ownID = "7f1b6c2e-7a3d-4c55-9e1a-0b2c3d4e5f61"
	global, err := e.cfg.PasswordSignIn(ctx, globalUPN, globalPW)
	if err != nil {
		t.Fatal(err)
	}
	gg, err := e.cfg.Graph(global.TokenSource())
	if err != nil {
		t.Fatal(err)
	}
	registered, err := gg.CreateDevice(ctx, cloud.Device{AccountEnabled: true, DeviceID: ownID, DisplayName: "PC2", OperatingSystem: "Windows", OperatingSystemVersion: "10.0.19045",
		AlternativeSecurityIDs: []cloud.AlternativeSecurityID{{Type: 2, Key: []byte("registered")}}})
	if err != nil {
		t.Fatal(err)
	}
	own := metaverse.Change{Key: "d2", Kind: metaverse.KindDevice, Op: metaverse.OpAdd, Attrs: []metaverse.AttrChange{
		attr("displayName", "PC2-renamed"), attr("deviceId", ownID), attr("alternativeSecurityIds", deviceKey(t, ownID)),
		attr("operatingSystem", "Windows"), attr("operatingSystemVersion", "10.0.19045")}}
	res := e.run(t, []metaverse.Change{dev, own})
	if res.Status != StatusSuccess || res.Adds != 1 || res.Matched != 1 || len(res.Failed) != 0 || len(res.Confirmed) != 2 {
		t.Fatalf("result %+v", res)
	}
	objs, _ := e.st.ExportObjects(ctx, []string{"d1", "d2"})
	d, err := gg.GetDevice(ctx, objs["d1"].CloudID)
	if err != nil {
		t.Fatal(err)
	}
	wantKey, _ := base64.StdEncoding.DecodeString(k)
	if d.DeviceID != devID || d.DisplayName != "PC1" || !d.AccountEnabled || d.OperatingSystemVersion != "10.0.22631" ||
		len(d.AlternativeSecurityIDs) != 1 || d.AlternativeSecurityIDs[0].Type != 2 || !bytes.Equal(d.AlternativeSecurityIDs[0].Key, wantKey) {
		t.Fatalf("device in the tenant %+v", d)
	}
	if objs["d2"].CloudID != registered.ID {
		t.Fatalf("the registered device was not taken over: %+v", objs["d2"])
	}
	if d2, _ := gg.GetDevice(ctx, registered.ID); d2.DisplayName != "PC2-renamed" {
		t.Errorf("taken-over device %+v", d2)
	}

	// Disabled in the forest, then gone.
	res = e.run(t, []metaverse.Change{{Key: "d1", Kind: metaverse.KindDevice, Op: metaverse.OpUpdate, Attrs: []metaverse.AttrChange{
		{Name: "accountEnabled", Old: []string{"true"}, New: []string{"false"}}, {Name: "alternativeSecurityIds", Old: []string{k}, New: []string{k, "eA=="}}}}})
	if res.Status != StatusSuccess || res.Updates != 1 {
		t.Fatalf("update %+v", res)
	}
	if d, _ := gg.GetDevice(ctx, objs["d1"].CloudID); d.AccountEnabled {
		t.Errorf("device still enabled: %+v", d)
	}
	res = e.run(t, []metaverse.Change{{Key: "d1", Kind: metaverse.KindDevice, Op: metaverse.OpDelete}})
	if res.Status != StatusSuccess || res.Deletes != 1 {
		t.Fatalf("delete %+v", res)
	}
	if _, err := gg.GetDevice(ctx, objs["d1"].CloudID); !cloud.IsNotFound(err) {
		t.Errorf("device not deleted: %v", err)
	}
}
