package setup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/hybridsync/hybridsync/engine/entra"
	"github.com/hybridsync/hybridsync/engine/secret"
	"github.com/hybridsync/hybridsync/engine/store"
)

func newWizard(t *testing.T) *Wizard {
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
	return &Wizard{Store: st, Box: box, Checker: &StoreChecker{InstallID: "me", Box: box, OwnDB: store.SQLitePath(dir)}}
}

// reload reads the progress back through a new Wizard on the same store.
func reload(t *testing.T, w *Wizard) State {
	t.Helper()
	st, err := (&Wizard{Store: w.Store, Box: w.Box}).Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestWizardFresh(t *testing.T) {
	w := newWizard(t)
	st := reload(t, w)
	if st.Page != PageExpress || !reflect.DeepEqual(st.Answers, Defaults()) || len(st.Done) != 0 {
		t.Fatalf("fresh state %+v", st)
	}
}

func TestWizardSubmit(t *testing.T) {
	ctx := context.Background()
	w := newWizard(t)
	st := reload(t, w)

	steps := []struct {
		name      string
		page      string
		action    string
		form      []string
		wantPage  string
		wantErrs  []string
		wantDone  map[string]bool
		checkSave func(t *testing.T, saved State)
	}{
		{name: "express next", page: PageExpress, action: ActionNext, wantPage: PageComponents,
			wantDone: map[string]bool{PageExpress: true}},
		{name: "components next with errors stays and keeps input", page: PageComponents, action: ActionNext,
			form:     sqlForm("sql_server", "bad host!", "sql_database", "1bad"),
			wantPage: PageComponents, wantErrs: []string{"sql_database", "sql_server"},
			wantDone: map[string]bool{PageExpress: true},
			checkSave: func(t *testing.T, saved State) {
				if c := saved.Answers.Components; !c.UseSQLServer || c.SQLServer != "bad host!" || c.SQLDatabase != "1bad" {
					t.Errorf("what was typed was not saved: %+v", c)
				}
			}},
		{name: "components back saves without judging", page: PageComponents, action: ActionBack,
			form:     []string{"custom_location", "on", "location", "not/absolute"},
			wantPage: PageExpress, wantDone: map[string]bool{PageExpress: true},
			checkSave: func(t *testing.T, saved State) {
				if c := saved.Answers.Components; !c.CustomLocation || c.Location != "not/absolute" || c.UseSQLServer {
					t.Errorf("Back did not save the form: %+v", c)
				}
			}},
		{name: "express back on the first page stays", page: PageExpress, action: ActionBack, wantPage: PageExpress,
			wantDone: map[string]bool{PageExpress: true}},
		{name: "components next fine", page: PageComponents, action: ActionNext,
			form:     groupsForm("A", "B", "C", "D"),
			wantPage: PageSignIn, wantDone: map[string]bool{PageExpress: true, PageComponents: true}},
		{name: "sign-in with an error un-marks nothing else", page: PageSignIn, action: ActionNext,
			form:     []string{"method", MethodNone, "sso", "on"},
			wantPage: PageSignIn, wantErrs: []string{"sso"}, wantDone: map[string]bool{PageExpress: true, PageComponents: true}},
		{name: "sign-in AD FS with single sign-on clears it", page: PageSignIn, action: ActionNext, form: []string{"method", MethodADFS, "sso", "on"},
			wantPage: PageConnectEntra, wantDone: map[string]bool{PageExpress: true, PageComponents: true, PageSignIn: true},
			checkSave: func(t *testing.T, saved State) {
				if s := saved.Answers.SignIn; s.SSO || !s.SSOCleared {
					t.Errorf("single sign-on with AD FS: %+v, want cleared with its note", s)
				}
			}},
		{name: "a page passed becomes not done when it fails later", page: PageComponents, action: ActionNext,
			form:     groupsForm("A", "A", "C", "D"),
			wantPage: PageComponents, wantErrs: []string{"group_operators"},
			wantDone: map[string]bool{PageExpress: true, PageSignIn: true}},
		{name: "connect to Microsoft Entra ID without a sign-in stays", page: PageConnectEntra, action: ActionNext,
			form: []string{"entra_user", "admin@contoso.onmicrosoft.com"}, wantPage: PageConnectEntra, wantErrs: []string{""},
			wantDone: map[string]bool{PageExpress: true, PageSignIn: true},
			checkSave: func(t *testing.T, saved State) {
				if saved.Answers.ConnectEntra.User != "admin@contoso.onmicrosoft.com" {
					t.Errorf("the typed account was not saved: %+v", saved.Answers.ConnectEntra)
				}
			}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			target, errs, err := w.Submit(ctx, &st, s.page, s.action, form(s.form...), "alice")
			if err != nil {
				t.Fatal(err)
			}
			if target != s.wantPage || st.Page != s.wantPage {
				t.Errorf("moved to %q (state %q), want %q", target, st.Page, s.wantPage)
			}
			var fields []string
			for f := range errs {
				fields = append(fields, f)
			}
			sortStrings(fields)
			if !reflect.DeepEqual(fields, s.wantErrs) {
				t.Errorf("errors %v, want fields %v", errs, s.wantErrs)
			}
			saved := reload(t, w)
			if saved.Page != s.wantPage || !reflect.DeepEqual(saved.Done, s.wantDone) {
				t.Errorf("saved page %q done %v; want %q %v", saved.Page, saved.Done, s.wantPage, s.wantDone)
			}
			if s.checkSave != nil {
				s.checkSave(t, saved)
			}
			ws, _ := w.Store.WizardState(ctx)
			if ws.UpdatedBy != "alice" {
				t.Errorf("UpdatedBy %q", ws.UpdatedBy)
			}
		})
	}

	if _, _, err := w.Submit(ctx, &st, PagePingDomain, ActionNext, form(), "alice"); !errors.Is(err, ErrPageHidden) {
		t.Errorf("a hidden page: %v, want ErrPageHidden", err)
	}
	if _, _, err := w.Submit(ctx, &st, "no-such-page", ActionNext, form(), "alice"); !errors.Is(err, ErrPageHidden) {
		t.Errorf("an unknown page: %v, want ErrPageHidden", err)
	}
}

func TestWizardLoadFallsBackFromHiddenPage(t *testing.T) {
	ctx := context.Background()
	w := newWizard(t)
	answers, _ := json.Marshal(Defaults()) // PHS: AD FS pages hidden
	if err := w.Store.SaveWizardState(ctx, store.WizardState{Page: PageADFSFarm, Answers: answers, DonePages: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if st := reload(t, w); st.Page != PageExpress {
		t.Errorf("Load kept a hidden page: %s", st.Page)
	}
	if err := w.Store.SaveWizardState(ctx, store.WizardState{Page: PageReady, Answers: []byte(`{bad`), DonePages: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Load(ctx); err == nil {
		t.Error("Load accepted corrupt answers")
	}
}

func TestWizardSealsPasswords(t *testing.T) {
	ctx := context.Background()
	w := newWizard(t)
	w.Checker = nil // sql01.contoso.com is not to be looked up: nothing leaves loopback
	st := reload(t, w)
	const sqlPW, svcPW = "Plain-SQL-Pa55word", "Plain-Service-Pa55word"
	// Next with an error elsewhere: the passwords are kept, but sealed.
	f := form(append(sqlForm("sql_password", sqlPW, "sql_database", "1bad"),
		"use_service_account", "on", "service_account_type", "domain", "service_account_name", `CONTOSO\svc`, "service_account_password", svcPW)...)
	st.Page = PageComponents
	if _, errs, err := w.Submit(ctx, &st, PageComponents, ActionNext, f, "alice"); err != nil || len(errs) != 1 {
		t.Fatalf("Submit = %v, %v", errs, err)
	}
	ws, err := w.Store.WizardState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{sqlPW, svcPW} {
		if bytes.Contains(ws.Answers, []byte(pw)) {
			t.Fatalf("the stored answers hold the plaintext %q: %s", pw, ws.Answers)
		}
	}
	saved := reload(t, w)
	c := saved.Answers.Components
	if !strings.HasPrefix(c.SQLPassword, "sealed:v2:") || !strings.HasPrefix(c.ServiceAccountPassword, "sealed:v2:") {
		t.Fatalf("passwords not sealed: %q %q", c.SQLPassword, c.ServiceAccountPassword)
	}
	if got, err := w.Box.OpenFor(secret.PurposeSQLPassword, c.SQLPassword); err != nil || got != sqlPW {
		t.Fatalf("sealed SQL password opens to %q, %v", got, err)
	}
	if got, err := w.Box.OpenFor(secret.PurposeServiceAccountPassword, c.ServiceAccountPassword); err != nil || got != svcPW {
		t.Fatalf("sealed service password opens to %q, %v", got, err)
	}
	if c.newSQLPassword != "" || st.Answers.Components.newSQLPassword != "" {
		t.Fatal("the plaintext stayed in the state after saving")
	}

	// Later, the fields left empty: the saved passwords stay, and count.
	f = form(append(sqlForm("sql_password", ""), "use_service_account", "on", "service_account_type", "domain",
		"service_account_name", `CONTOSO\svc`)...)
	target, errs, err := w.Submit(ctx, &saved, PageComponents, ActionNext, f, "alice")
	if err != nil || len(errs) != 0 || target != PageSignIn {
		t.Fatalf("Submit with saved passwords = %q, %v, %v", target, errs, err)
	}
	again := reload(t, w).Answers.Components
	if again.SQLPassword != c.SQLPassword || again.ServiceAccountPassword != c.ServiceAccountPassword {
		t.Fatal("leaving the password fields empty replaced the saved passwords")
	}

	// A new password typed replaces the old one.
	f = form(sqlForm("sql_password", "Another-Pa55")...)
	if _, _, err := w.Submit(ctx, &saved, PageComponents, ActionBack, f, "alice"); err != nil {
		t.Fatal(err)
	}
	if got, _ := w.Box.OpenFor(secret.PurposeSQLPassword, reload(t, w).Answers.Components.SQLPassword); got != "Another-Pa55" {
		t.Fatalf("new password not saved: %q", got)
	}
}

func TestWizardCustomLocationChecked(t *testing.T) {
	ctx := context.Background()
	w := newWizard(t)
	st := reload(t, w)
	other := t.TempDir()
	makeDB(t, other, "someone-else")
	st.Page = PageComponents
	_, errs, err := w.Submit(ctx, &st, PageComponents, ActionNext, form("custom_location", "on", "location", other), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if errs["location"] != MsgDatabaseHoldsData {
		t.Fatalf("errors %v", errs)
	}
	if _, _, err := w.Submit(ctx, &st, PageComponents, ActionNext, form("custom_location", "on", "location", t.TempDir()), "alice"); err != nil {
		t.Fatal(err)
	}
	if st.Page != PageSignIn {
		t.Fatalf("a fresh folder was refused: page %s", st.Page)
	}
}

func TestValidateAllAndNotices(t *testing.T) {
	w := &Wizard{}
	a := Defaults()
	// The defaults lack only a sign-in to the tenant and a forest.
	if page, errs := w.ValidateAll(context.Background(), &a); page != PageConnectEntra || errs["entra"] != MsgEntraNeedSignIn {
		t.Fatalf("defaults: %s %v", page, errs)
	}
	a.ConnectEntra.Tenant = &entra.Tenant{ID: "tid", InitialDomain: "contoso.onmicrosoft.com"}
	if page, errs := w.ValidateAll(context.Background(), &a); page != PageDirectories || errs[""] != MsgNoForest {
		t.Fatalf("defaults: %s %v", page, errs)
	}
	a.Directories.Forests = []ForestConn{{Forest: "corp.example.test", Account: AccountExisting, ConnectorUser: `CORP\svc`, DC: "dc:636", Security: SecurityLDAPS}}
	if page, errs := w.ValidateAll(context.Background(), &a); page != "" || errs != nil {
		t.Fatalf("defaults with a forest: %s %v", page, errs)
	}
	a.Components.CustomLocation = true // no location
	a.SignIn = SignIn{Method: MethodADFS, SSO: true}
	if page, errs := w.ValidateAll(context.Background(), &a); page != PageComponents || errs["location"] == "" {
		t.Fatalf("first failing page %s %v", page, errs)
	}
	a.Components.CustomLocation = false
	if page, errs := w.ValidateAll(context.Background(), &a); page != PageSignIn || errs["sso"] != MsgSSOUnavailableADFS {
		t.Fatalf("first failing page %s %v", page, errs)
	}
	a.SignIn.SSO = false
	a.Ready.Staging = true
	a.Features.PasswordHashSync = true
	// Ready to configure groups the notices under the summary of their page.
	notes := NotesByGroup(&a)
	for group, want := range map[string]string{GroupTenant: "don't sign in with an account"} {
		var texts []string
		for _, n := range notes[group].Notices {
			texts = append(texts, n.Text)
		}
		if all := strings.Join(texts, "\n"); !strings.Contains(all, want) {
			t.Errorf("the notices of %s lack %q:\n%s", group, want, all)
		}
	}
}

func TestSummary(t *testing.T) {
	a := Defaults()
	a.Components.UseServiceAccount, a.Components.ServiceAccountType, a.Components.ServiceAccountName = true, AccountDomain, `CONTOSO\svc`
	a.Features.GroupWriteback, a.Features.Requires = true, []string{RequireExchangeSchema}
	a.Directories.Forests = []ForestConn{{Forest: "corp.example.test", Account: AccountExisting, ConnectorUser: `CORP\svc`, DC: "dc1:636", Security: SecurityLDAPS}}
	groups := Summary(a, "/data")
	if len(groups) != 6 {
		t.Fatalf("%d groups", len(groups))
	}
	var rows []string
	for _, g := range groups {
		for _, r := range g.Rows {
			rows = append(rows, r.Label+"="+r.Value)
		}
	}
	all := strings.Join(rows, "\n")
	for _, want := range []string{"Database=Embedded LocalDB (SQLite) at /data/hybridsync.db", `CONTOSO\svc (domain account`,
		"Administrators: ADSyncAdmins", "Password hash synchronization, Group writeback", "Needs=Exchange schema", "Start synchronization when configuration completes=Yes",
		`corp.example.test=through dc1:636 over LDAPS, as CORP\svc (existing account)`} {
		if !strings.Contains(all, want) {
			t.Errorf("summary lacks %q:\n%s", want, all)
		}
	}
}
