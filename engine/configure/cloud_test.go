package configure

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hybridsync/hybridsync/e2e/tenant"
	"github.com/hybridsync/hybridsync/engine/entra"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/secret"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
)

// cloudEnv is an env whose configure job reaches the tenant emulator.
type cloudEnv struct {
	*env
	chk *setup.StoreChecker
	cfg entra.Config
}

func newCloudEnv(t *testing.T) *cloudEnv {
	t.Helper()
	e := newEnv(t)
	tn, err := tenant.New(tenant.DefaultSeed(), tenant.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tn)
	t.Cleanup(srv.Close)
	cfg := entra.Config{Authority: srv.URL + "/organizations", GraphURL: srv.URL + "/v1.0", ClientID: tenant.ConnectClientID}
	chk := &setup.StoreChecker{InstallID: installID, OwnDB: store.SQLitePath(e.dataDir), Box: e.box, Entra: cfg, EntraVault: &setup.EntraVault{}}
	e.runner.Register(Type(Deps{Store: e.st, Box: e.box, DataDir: e.dataDir, InstallID: installID, Checker: chk, Entra: chk}))
	return &cloudEnv{env: e, chk: chk, cfg: cfg}
}

// signIn signs the seed's administrator in, as Connect to Microsoft Entra ID
// does, and returns answers that record it; the wizard's state has them too.
func (e *cloudEnv) signIn(t *testing.T) setup.Answers {
	t.Helper()
	s, err := e.chk.EntraPasswordSignIn(context.Background(), "hybrid.admin@contoso.onmicrosoft.com", "Passw0rd!hybrid")
	if err != nil {
		t.Fatal(err)
	}
	a := plainAnswers()
	tn := s.Tenant
	a.ConnectEntra = setup.ConnectEntra{SignedInAs: s.User, Tenant: &tn}
	e.saveWizard(t, a)
	return a
}

func (e *cloudEnv) saveWizard(t *testing.T, a setup.Answers) {
	t.Helper()
	b, _ := json.Marshal(a)
	if err := e.st.SaveWizardState(context.Background(), store.WizardState{Page: setup.PageReady, Answers: b, DonePages: []byte("{}"), UpdatedBy: "test"}); err != nil {
		t.Fatal(err)
	}
}

func (e *cloudEnv) savedEntra(t *testing.T) setup.ConnectEntra {
	t.Helper()
	ws, err := e.st.WizardState(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var a setup.Answers
	if err := json.Unmarshal(ws.Answers, &a); err != nil {
		t.Fatal(err)
	}
	return a.ConnectEntra
}

func stepNames(j store.Job) []string {
	var out []string
	for _, s := range j.Steps {
		out = append(out, s.Name)
	}
	return out
}

func TestConfigureCreatesTheSyncServiceAccount(t *testing.T) {
	e := newCloudEnv(t)
	ctx := context.Background()
	a := e.signIn(t)
	j := e.configure(t, a, "alice")
	// A Hybrid Identity Administrator may neither change nor read the
	// tenant's features: Configure goes on, and ends with those warnings.
	if j.Status != jobs.Warnings {
		t.Fatalf("job %s, want succeeded with warnings: %s\n%s", j.Status, j.Error, messages(t, e.st, j.ID))
	}
	wantProblems(t, e.st, j, "features-refused", "features-unread")
	want := []string{"Prepare the sync database", "Create the sync service account in Microsoft Entra ID", "Switch on directory synchronization in Microsoft Entra ID", "Record the tenant", "Create the sync groups", "Save the active configuration"}
	if got := stepNames(j); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("steps %q", got)
	}
	ce := e.savedEntra(t)
	if !strings.HasPrefix(ce.SyncAccount, "Sync_") || ce.SyncPassword == "" || ce.SyncAccountID == "" {
		t.Fatalf("the wizard did not record the account: %+v", ce)
	}
	pw, err := e.box.OpenFor(secret.PurposeSyncPassword, ce.SyncPassword)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.cfg.CheckSyncAccount(ctx, ce.SyncAccount, pw); err != nil {
		t.Errorf("the recorded account does not sign in: %v", err)
	}
	cfg, err := e.st.ActiveConfiguration(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(cfg.Answers), pw) || !strings.Contains(string(cfg.Answers), ce.SyncAccount) {
		t.Errorf("the configuration holds the plain password, or not the account")
	}
	// A Hybrid Identity Administrator switches directory synchronization on;
	// the features need a Global Administrator, which is a warning.
	if msgs := messages(t, e.st, j.ID); strings.Contains(msgs, pw) || !strings.Contains(msgs, "Directory synchronization is now on") ||
		!strings.Contains(msgs, "warn: The tenant's directory synchronization features") || !strings.Contains(msgs, "dropped from memory") {
		t.Errorf("log:\n%s", msgs)
	}
	if _, live := e.chk.EntraSession(); live {
		t.Error("the administrator's sign-in is still in memory after Configure")
	}

	// Configure again, without a sign-in: the recorded account is verified,
	// no other is created.
	a.ConnectEntra = ce
	j = e.configure(t, a, "alice")
	if j.Status != jobs.Warnings || j.Steps[1].Name != "Verify the sync service account "+ce.SyncAccount {
		t.Fatalf("rerun: %s %q: %s\n%s", j.Status, stepNames(j), j.Error, messages(t, e.st, j.ID))
	}
	// Without the administrator's sign-in, the features are neither set nor
	// read, and it says so.
	wantProblems(t, e.st, j, "features-not-signed-in")
	s, err := e.cfg.PasswordSignIn(ctx, "hybrid.admin@contoso.onmicrosoft.com", "Passw0rd!hybrid")
	if err != nil {
		t.Fatal(err)
	}
	g, _ := e.cfg.Graph(s.TokenSource())
	if users, err := g.FindUsers(ctx, "startswith(userPrincipalName,'Sync_')"); err != nil || len(users) != 1 {
		t.Errorf("sync accounts: %+v %v", users, err)
	}
}

func TestConfigureWithoutTheSignIn(t *testing.T) {
	e := newCloudEnv(t)
	a := e.signIn(t)
	e.chk.ForgetEntra() // the server restarted since
	j := e.configure(t, a, "alice")
	if j.Status != jobs.Failed || !strings.Contains(j.Error, MsgEntraGone) {
		t.Fatalf("job %s: %q", j.Status, j.Error)
	}
}

func TestConfigureStagingLeavesTheTenant(t *testing.T) {
	e := newCloudEnv(t)
	ctx := context.Background()
	a := e.signIn(t)
	a.Ready.Staging = true
	j := e.configure(t, a, "alice")
	// The settings are left alone; a Hybrid Identity Administrator can't
	// read them either, which is said.
	if j.Status != jobs.Warnings {
		t.Fatalf("job %s: %s\n%s", j.Status, j.Error, messages(t, e.st, j.ID))
	}
	wantProblems(t, e.st, j, "features-unread")
	if msgs := messages(t, e.st, j.ID); !strings.Contains(msgs, "Staging mode is on: the tenant's directory synchronization settings are left as they are") {
		t.Errorf("log:\n%s", msgs)
	}
	s, _ := e.cfg.PasswordSignIn(ctx, "hybrid.admin@contoso.onmicrosoft.com", "Passw0rd!hybrid")
	g, _ := e.cfg.Graph(s.TokenSource())
	if org, err := g.Organization(ctx); err != nil || (org.OnPremisesSyncEnabled != nil && *org.OnPremisesSyncEnabled) {
		t.Errorf("a staging server switched directory synchronization on: %+v %v", org, err)
	}
}

func TestConfigureRegistersTheDirectoryExtensions(t *testing.T) {
	e := newCloudEnv(t)
	ctx := context.Background()
	a := e.signIn(t)
	a.Features.DirectoryExtensions = true
	a.Extensions.Selected = []setup.ExtensionAttr{
		{Name: "carLicense", Type: setup.ExtString, MultiValued: true},
		{Name: "division", Type: setup.ExtString},
		{Name: "hsFlag", Type: setup.ExtBoolean},
	}
	j := e.configure(t, a, "alice")
	if j.Status != jobs.Warnings {
		t.Fatalf("job %s: %s\n%s", j.Status, j.Error, messages(t, e.st, j.ID))
	}
	// A Hybrid Identity Administrator may neither set nor read them.
	wantProblems(t, e.st, j, "features-refused", "features-unread")
	if got := strings.Join(stepNames(j), "|"); !strings.Contains(got, "Switch on directory synchronization in Microsoft Entra ID|Register the directory extensions in Microsoft Entra ID|Record the tenant") {
		t.Errorf("steps %q", got)
	}
	ce := e.savedEntra(t)
	if ce.Tenant == nil || ce.Tenant.SchemaExtensionAppID == "" {
		t.Fatalf("the wizard did not record the extensions' application: %+v", ce.Tenant)
	}
	appID := ce.Tenant.SchemaExtensionAppID
	cfg, err := e.st.ActiveConfiguration(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var active setup.Answers
	if err := json.Unmarshal(cfg.Answers, &active); err != nil || active.ConnectEntra.Tenant == nil || active.ConnectEntra.Tenant.SchemaExtensionAppID != appID {
		t.Fatalf("the active configuration lacks the application id %s: %v", appID, err)
	}

	// In the tenant: one app, its service principal, the three extensions.
	s, err := e.cfg.PasswordSignIn(ctx, "hybrid.admin@contoso.onmicrosoft.com", "Passw0rd!hybrid")
	if err != nil {
		t.Fatal(err)
	}
	g, _ := e.cfg.Graph(s.TokenSource())
	check := func(t *testing.T) {
		t.Helper()
		apps, err := g.FindApplications(ctx, "displayName eq 'Tenant Schema Extension App'")
		if err != nil || len(apps) != 1 || apps[0].AppID != appID {
			t.Fatalf("applications %+v, %v", apps, err)
		}
		if sp, err := g.FindServicePrincipal(ctx, appID); err != nil || sp == nil {
			t.Fatalf("service principal %+v, %v", sp, err)
		}
		xs, err := g.ExtensionProperties(ctx, apps[0].ID)
		if err != nil || len(xs) != 3 {
			t.Fatalf("extensions %+v, %v", xs, err)
		}
		id := strings.ReplaceAll(appID, "-", "")
		for _, x := range xs {
			if !strings.HasPrefix(x.Name, "extension_"+id+"_") || strings.Join(x.TargetObjects, ",") != "User,Group" ||
				x.Name == "extension_"+id+"_carLicense" != x.IsMultiValued || x.Name == "extension_"+id+"_hsFlag" != (x.DataType == "Boolean") {
				t.Errorf("extension %+v", x)
			}
		}
	}
	check(t)

	// Configure again, signed out: the sync service account finds them all,
	// nothing is created twice.
	a.ConnectEntra = ce
	j = e.configure(t, a, "alice")
	if j.Status != jobs.Warnings {
		t.Fatalf("rerun %s: %s\n%s", j.Status, j.Error, messages(t, e.st, j.ID))
	}
	wantProblems(t, e.st, j, "features-not-signed-in")
	if msgs := messages(t, e.st, j.ID); !strings.Contains(msgs, "Found the Tenant Schema Extension App") || strings.Contains(msgs, "Registered extension_") {
		t.Errorf("rerun log:\n%s", msgs)
	}
	check(t)

	// An attribute chosen with another type than it was registered with:
	// the step fails and says why.
	a.Extensions.Selected[0].MultiValued = false
	j = e.configure(t, a, "alice")
	if j.Status != jobs.Failed || !strings.Contains(j.Error, "is registered as multi-valued String, but carLicense is chosen as String") {
		t.Fatalf("type change: %s %q", j.Status, j.Error)
	}
}
