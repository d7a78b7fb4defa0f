package cycle_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/hybridsync/hybridsync/e2e/forest"
	"github.com/hybridsync/hybridsync/e2e/tenant"
	"github.com/hybridsync/hybridsync/engine/cloud"
	"github.com/hybridsync/hybridsync/engine/cycle"
	"github.com/hybridsync/hybridsync/engine/entra"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/secret"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
)

const (
	adminUPN      = "hybrid.admin@contoso.onmicrosoft.com"
	adminPassword = "Passw0rd!hybrid"
)

// rig is one test's installation: a store of its own, a tenant emulator of
// its own, the cycle registered with a job runner, and the answers of a
// configuration that connects the given forests, each scoped to the test's
// own OUs, as the forest's administrator (who may also write
// ms-DS-ConsistencyGuid back).
type rig struct {
	t      *testing.T
	st     *store.Store
	box    *secret.Box
	srv    *httptest.Server
	runner *jobs.Runner
	a      setup.Answers
}

// newRig connects forests, each scoped to the OUs scope names for it (OUs
// the test creates under the domain root with makeOU).
func newRig(t *testing.T, scope map[*forest.Forest][]string, identifying setup.Identifying) *rig {
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
	box, err := secret.Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}

	seed := tenant.DefaultSeed()
	for _, name := range []string{"corp.example.test", "fabrikam.example.test"} {
		found := false
		for i := range seed.Domains {
			if seed.Domains[i].Name == name {
				seed.Domains[i].Verified, found = true, true
			}
		}
		if !found {
			seed.Domains = append(seed.Domains, tenant.SeedDomain{Name: name, Verified: true})
		}
	}
	// A budget no test reaches: these tests are about what is exported.
	tn, err := tenant.New(seed, tenant.Options{WriteBudget: 1_000_000, WriteWindow: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tn)
	t.Cleanup(srv.Close)
	ecfg := entra.Config{Authority: srv.URL + "/organizations", GraphURL: srv.URL + "/v1.0", ClientID: tenant.ConnectClientID}

	r := &rig{t: t, st: st, box: box, srv: srv}
	r.a = setup.Defaults()
	r.a.Identifying = identifying
	if r.a.Identifying.Resolved == "" {
		r.a.Identifying.Resolved = setup.AttrConsistencyGuid
	}
	r.a.OUFiltering.Forests = map[string]setup.ForestFilter{}
	for f, ous := range scope {
		pem, err := os.ReadFile(f.CACertPEM)
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := box.Seal(f.AdminPassword)
		if err != nil {
			t.Fatal(err)
		}
		r.a.Directories.Forests = append(r.a.Directories.Forests, setup.ForestConn{
			Forest: f.Name, Host: f.IP, Security: setup.SecurityLDAPS, CAPEM: string(pem), Account: setup.AccountExisting,
			ConnectorUser: f.AdminUPN, ConnectorPassword: sealed, NetBIOS: f.NetBIOS, RootDN: f.BaseDN,
			Domains: []setup.ForestDomain{{DNS: f.Name, NetBIOS: f.NetBIOS, DN: f.BaseDN}},
		})
		r.a.OUFiltering.Forests[f.Name] = setup.ForestFilter{Excluded: excludedBut(t, f, ous)}
	}

	// The sync service account, made as Configure makes it.
	s, err := ecfg.PasswordSignIn(ctx, adminUPN, adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	g, err := ecfg.Graph(s.TokenSource())
	if err != nil {
		t.Fatal(err)
	}
	ten, err := entra.ReadTenant(ctx, g)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := entra.CreateSyncAccount(ctx, g, ten, "cycle-test")
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := box.Seal(acct.Password)
	if err != nil {
		t.Fatal(err)
	}
	r.a.ConnectEntra.Tenant = &ten
	r.a.ConnectEntra.SyncAccount, r.a.ConnectEntra.SyncAccountID, r.a.ConnectEntra.SyncPassword = acct.UPN, acct.ID, sealed
	r.apply()

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r.runner = jobs.NewRunner(st, jobs.NewHub(), log, 1)
	r.runner.Register(cycle.New(cycle.Deps{Store: st, Box: box, Entra: ecfg, Log: log, WriteBudget: 1_000_000, WriteWindow: time.Second, SizeMemory: true}).Type())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r.runner.Shutdown(ctx)
	})
	return r
}

// apply saves the answers as the active configuration, as Configure does.
func (r *rig) apply() {
	r.t.Helper()
	raw, err := json.Marshal(r.a)
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.st.SaveActiveConfiguration(context.Background(), store.Configuration{InstallID: "cycle-test", Answers: raw, AppliedAt: time.Now(), AppliedBy: "test"}); err != nil {
		r.t.Fatal(err)
	}
}

// scopeTo changes a forest's OU filtering to the given OUs, and applies it.
func (r *rig) scopeTo(f *forest.Forest, ous ...string) {
	r.t.Helper()
	r.a.OUFiltering.Forests[f.Name] = setup.ForestFilter{Excluded: excludedBut(r.t, f, ous)}
	r.apply()
}

// cycle runs one cycle and returns the finished job and its log.
func (r *rig) cycle(p cycle.Params) (store.Job, string) {
	r.t.Helper()
	ctx := context.Background()
	if p.Trigger == "" {
		p.Trigger = cycle.TriggerManual
	}
	id, err := r.runner.Start(ctx, jobs.Request{Kind: cycle.Kind, Params: p, By: "test"})
	if err != nil {
		r.t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		j, err := r.st.Job(ctx, id)
		if err != nil {
			r.t.Fatal(err)
		}
		if jobs.Finished(j.Status) {
			evs, err := r.st.Events(ctx, id, 0, 10_000)
			if err != nil {
				r.t.Fatal(err)
			}
			var msgs []string
			for _, ev := range evs {
				msgs = append(msgs, ev.Level+": "+ev.Message)
			}
			return j, strings.Join(msgs, "\n")
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("cycle %d still %s after 3 minutes", id, j.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// succeeds runs a cycle that must go to its end without an error: succeeded,
// or succeeded with warnings (a condition said once, such as held contacts).
func (r *rig) succeeds(p cycle.Params) string {
	r.t.Helper()
	j, msgs := r.cycle(p)
	if j.Status != jobs.Succeeded && j.Status != jobs.Warnings {
		r.t.Fatalf("cycle %s: %s\n%s", j.Status, j.Error, msgs)
	}
	return msgs
}

// graph is a Graph client signed in as the tenant's Hybrid Identity Administrator.
func (r *rig) graph() *cloud.Client {
	r.t.Helper()
	g, err := cloud.New(cloud.Config{GraphURL: r.srv.URL + "/v1.0"}, &cloud.PasswordGrant{Authority: r.srv.URL + "/organizations",
		ClientID: tenant.ConnectClientID, Username: adminUPN, Password: adminPassword})
	if err != nil {
		r.t.Fatal(err)
	}
	return g
}

// users are the tenant's users whose displayName starts with prefix.
func (r *rig) users(prefix string) []cloud.User {
	r.t.Helper()
	us, err := r.graph().FindUsers(context.Background(), "startswith(displayName,'"+prefix+"')")
	if err != nil {
		r.t.Fatal(err)
	}
	return us
}

// excludedBut is the OU filter that keeps only the given OUs of f: every
// other child of the domain root is cleared.
func excludedBut(t testing.TB, f *forest.Forest, keep []string) []string {
	t.Helper()
	conn, err := f.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	res, err := conn.Search(ldap.NewSearchRequest(f.BaseDN, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(|(objectClass=organizationalUnit)(objectClass=container)(objectClass=builtinDomain)(objectClass=lostAndFound))", []string{"1.1"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	kept := map[string]bool{}
	for _, dn := range keep {
		kept[strings.ToLower(dn)] = true
	}
	var out []string
	for _, e := range res.Entries {
		if !kept[strings.ToLower(e.DN)] {
			out = append(out, e.DN)
		}
	}
	return out
}

// makeOU creates OU=name under f's domain root and returns its DN (the
// forests are fresh copies at every run: nothing is removed).
func makeOU(t testing.TB, f *forest.Forest, name string) string {
	t.Helper()
	dn := "OU=" + ldap.EscapeDN(name) + "," + f.BaseDN
	conn, err := f.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	add := ldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{"top", "organizationalUnit"})
	if err := conn.Add(add); err != nil {
		t.Fatalf("add %s: %v", dn, err)
	}
	return dn
}

// user is a user the tests create: enabled without a password unless
// disabled, named display in parent, with the given extra attributes.
type user struct {
	sam, display, upn string
	disabled          bool
	attrs             map[string][]string
}

func (u user) dn(parent string) string { return "CN=" + ldap.EscapeDN(u.display) + "," + parent }

// addUsers creates users in parent, four connections at a time.
func addUsers(t testing.TB, f *forest.Forest, parent string, users []user) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(users))
	next := make(chan user)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := f.Dial(context.Background())
			if err != nil {
				errs <- err
				for range next {
				}
				return
			}
			defer conn.Close()
			for u := range next {
				add := ldap.NewAddRequest(u.dn(parent), nil)
				add.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
				add.Attribute("sAMAccountName", []string{u.sam})
				add.Attribute("displayName", []string{u.display})
				add.Attribute("userPrincipalName", []string{u.upn})
				uac := "544" // enabled, no password required
				if u.disabled {
					uac = "546"
				}
				add.Attribute("userAccountControl", []string{uac})
				for k, v := range u.attrs {
					add.Attribute(k, v)
				}
				if err := conn.Add(add); err != nil {
					errs <- fmt.Errorf("add %s: %w", u.dn(parent), err)
				}
			}
		}()
	}
	for _, u := range users {
		next <- u
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// objectSID reads an object's objectSid as stored (binary).
func objectSID(t testing.TB, f *forest.Forest, dn string) string {
	t.Helper()
	conn, err := f.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	res, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"objectSid"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("read the objectSid of %s: %v", dn, err)
	}
	return string(res.Entries[0].GetRawAttributeValue("objectSid"))
}
