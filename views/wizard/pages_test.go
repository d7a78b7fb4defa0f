package wizard

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/hybridsync/hybridsync/engine/directory"
	"github.com/hybridsync/hybridsync/engine/entra"
	"github.com/hybridsync/hybridsync/engine/setup"
)

// The wizard's pages rendered as the handler renders them, from answers that
// call for every notice a page has.

// render renders one wizard page and parses it.
func render(t *testing.T, p Props) *goquery.Document {
	t.Helper()
	var buf bytes.Buffer
	if err := Page(p).Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// props are a page's props as renderWizard makes them (without the steps).
func props(t *testing.T, id string, a setup.Answers, errs setup.Errors, data any) Props {
	t.Helper()
	page, ok := setup.PageByID(id)
	if !ok {
		t.Fatalf("no page %s", id)
	}
	p := Props{Page: page, A: a, Errs: errs, Data: data, DataDir: "/data", HasPrev: true}
	if page.Notices != nil && id != setup.PageReady {
		p.Notices = page.Notices(&a)
	}
	if id == setup.PageReady {
		p.Summary = setup.Summary(a, "/data")
		p.Notes = setup.NotesByGroup(&a)
	}
	return p
}

// text is the page's visible text, spaces folded.
func text(doc *goquery.Document) string {
	return strings.Join(strings.Fields(doc.Find("body").Text()), " ")
}

func fold(s string) string { return strings.Join(strings.Fields(s), " ") }

// noisyAnswers call for every notice of every page.
func noisyAnswers() setup.Answers {
	a := setup.Defaults()
	a.Components.UseSQLServer, a.Components.SQLPermission, a.Components.SQLTrustCert = true, setup.PermissionDBO, true
	a.Components.UseServiceAccount = true
	a.SignIn = setup.SignIn{Method: setup.MethodADFS, SSOCleared: true}
	a.ConnectEntra.Tenant = &entra.Tenant{ID: "t", DisplayName: "Contoso", InitialDomain: "contoso.onmicrosoft.com"}
	a.ConnectEntra.SignedInAs = "admin@contoso.com"
	a.Directories.Forests = []setup.ForestConn{{Forest: "corp.test", Security: setup.SecurityInsecure, DC: "dc1.corp.test:389",
		RootDN: "DC=corp,DC=test", Domains: []setup.ForestDomain{{DNS: "corp.test", NetBIOS: "CORP", DN: "DC=corp,DC=test"}}}}
	a.SignInConfig.Attribute = "mail"
	a.OUFiltering.SyncNewOUs = false
	a.OUFiltering.Forests = map[string]setup.ForestFilter{"corp.test": {Unreachable: []string{"DC=corp,DC=test"}}}
	a.Identifying.Matching = setup.MatchMail
	a.GroupFiltering.Mode = setup.GroupModeGroup
	for _, f := range setup.FeatureList {
		on := true
		*featureField(&a.Features, f.Field) = on
	}
	a.Features.LegacySyncActive = true
	a.Ready.Staging = true
	return a
}

// featureField points at a feature's answer by its form field.
func featureField(f *setup.Features, field string) *bool {
	return map[string]*bool{
		"exchange_hybrid": &f.ExchangeHybrid, "exchange_public_folders": &f.ExchangePublicFolders,
		"app_attribute_filtering": &f.AppAttributeFiltering, "password_hash_sync": &f.PasswordHashSync,
		"password_writeback": &f.PasswordWriteback, "group_writeback": &f.GroupWriteback,
		"device_writeback": &f.DeviceWriteback, "directory_extensions": &f.DirectoryExtensions,
	}[field]
}

// TestEachNoticeOnce: every notice a page's answers call for is on the page
// once (and, when the page already says it at the choice, not as a notice
// again); on Ready to configure, every notice of every page is there once,
// under its page's summary.
func TestEachNoticeOnce(t *testing.T) {
	a := noisyAnswers()
	// The forest's tree as the OU filtering page's View reads it unreachable.
	data := map[string]any{
		setup.PageOUFiltering: []setup.ForestTree{{Forest: "corp.test", Root: setup.TreeNode{Node: directory.Node{DN: "DC=corp,DC=test", Name: "corp.test"}}, Error: "hybridsync can't connect to corp.test."}},
	}
	// With Azure AD Sync or DirSync active, each writeback feature chosen is
	// an error: the seed's warning still stands once.
	errs := map[string]setup.Errors{setup.PageFeatures: {}}
	for _, f := range setup.FeatureList {
		if f.Writeback {
			errs[setup.PageFeatures][f.Field] = setup.MsgLegacyChosen
		}
	}
	seen := 0
	for _, page := range setup.Pages {
		if page.Notices == nil || page.ID == setup.PageReady {
			continue
		}
		t.Run(page.ID, func(t *testing.T) {
			p := props(t, page.ID, a, errs[page.ID], data[page.ID])
			doc := render(t, p)
			all := text(doc)
			shown := doc.Find(`[data-testid="notice"]`)
			for _, n := range p.Notices {
				seen++
				got := strings.Count(all, fold(n.Text))
				if n.ReadyOnly {
					shown.Each(func(_ int, s *goquery.Selection) {
						if fold(s.Text()) == fold(n.Text) {
							t.Errorf("%q is said at its choice, and again as a notice", n.Text)
						}
					})
					// Said at the choice: in an option's description (which
					// may start it in lower case), or after the name of what
					// it is about ("DN: ...").
					said := fold(n.Text)
					if _, rest, ok := strings.Cut(said, ": "); ok && !strings.Contains(all, said) {
						said = rest
					}
					if got := strings.Count(strings.ToLower(all), strings.ToLower(said)); got != 1 {
						t.Errorf("%q is said on the page %d times, want once", said, got)
					}
					continue
				}
				if got != 1 {
					t.Errorf("%q is on the page %d times, want once", n.Text, got)
				}
			}
			if page.ID == setup.PageFeatures {
				if got := strings.Count(all, setup.MsgLegacyWriteback); got != 1 {
					t.Errorf("the legacy sync warning is on the page %d times, want once", got)
				}
			}
		})
	}
	if seen < 15 {
		t.Fatalf("only %d notices called for: the answers no longer exercise the pages", seen)
	}

	// Ready to configure: each notice once, under the summary of its page.
	a.SignIn = setup.SignIn{Method: setup.MethodPTA, SSO: true}
	doc := render(t, props(t, setup.PageReady, a, nil, nil))
	all := text(doc)
	for group, notes := range setup.NotesByGroup(&a) {
		sel := doc.Find(`[data-testid="notes-` + group + `"]`)
		if sel.Length() != 1 {
			t.Errorf("no notes under %s", group)
			continue
		}
		if prev := sel.Prev(); !prev.Is("dl.summary") || prev.Prev().Text() != group {
			t.Errorf("the notes of %s are not under its summary", group)
		}
		for _, n := range notes.Notices {
			if got := strings.Count(all, fold(n.Text)); got != 1 {
				t.Errorf("Ready: %q is there %d times, want once", n.Text, got)
			}
			if !strings.Contains(fold(sel.Text()), fold(n.Text)) {
				t.Errorf("Ready: %q is not under %s", n.Text, group)
			}
		}
	}
}

// TestLimitationsAtTheirOptions: each option hybridsync can't do in full says,
// right under it, what hybridsync does and what it can't do and why.
func TestLimitationsAtTheirOptions(t *testing.T) {
	a := setup.Defaults()
	a.Directories.Forests = []setup.ForestConn{{Forest: "corp.test"}}
	type at struct {
		page, field, limit string
	}
	var tests []at
	for _, m := range setup.Methods {
		tests = append(tests, at{setup.PageSignIn, "field-method-" + m.ID, setup.MethodLimit(m.ID)})
	}
	tests = append(tests, at{setup.PageSignIn, "field-sso", setup.LimitSSO})
	for _, f := range setup.FeatureList {
		tests = append(tests, at{setup.PageFeatures, "field-" + f.Field, setup.FeatureLimit(f.Field)})
	}
	docs := map[string]*goquery.Document{}
	for _, tt := range tests {
		doc := docs[tt.page]
		if doc == nil {
			doc = render(t, props(t, tt.page, a, nil, nil))
			docs[tt.page] = doc
		}
		// The option's box, then (after its notices) its limitation.
		next := doc.Find(`[data-testid="` + tt.field + `"]`).Closest("label").NextUntil("label")
		lim := next.Filter(`[data-testid^="limit-"]`)
		if tt.limit == "" {
			if lim.Length() != 0 {
				t.Errorf("%s: a limitation under an option that does what it says", tt.field)
			}
			continue
		}
		if lim.Length() != 1 || lim.AttrOr("data-testid", "") != "limit-"+tt.limit {
			t.Errorf("%s: %d limitations under it, want limit-%s", tt.field, lim.Length(), tt.limit)
			continue
		}
		l, _ := setup.LimitationOf(tt.limit)
		for _, want := range []string{l.Does, l.Cannot, l.Action} {
			if !strings.Contains(fold(lim.Text()), fold(want)) {
				t.Errorf("%s: the limitation doesn't say %q", tt.field, want)
			}
		}
	}
	// Single sign-on says it too, and the seed's descriptions are as they were.
	a.SignIn.SSO = true
	doc := render(t, props(t, setup.PageSSO, a, nil, nil))
	if doc.Find(`[data-testid="limit-sso"]`).Length() != 1 {
		t.Error("Single sign-on does not say what hybridsync can't do for it")
	}
	all := text(docs[setup.PageSignIn])
	for _, m := range setup.Methods {
		if !strings.Contains(all, m.Description) {
			t.Errorf("the description of %s changed", m.Label)
		}
	}
}

// TestReadyConfigure: Configure is offered for every sign-in method; with
// federation, Ready says the seed's note on name resolution first.
func TestReadyConfigure(t *testing.T) {
	for _, method := range []string{setup.MethodPHS, setup.MethodPTA, setup.MethodNone, setup.MethodADFS, setup.MethodPing} {
		a := setup.Defaults()
		a.SignIn.Method = method
		p := props(t, setup.PageReady, a, nil, nil)
		p.Notices = setup.ReadyNotices(&a)
		doc := render(t, p)
		if n := doc.Find(`[data-testid="configure"]`).Length(); n != 1 {
			t.Errorf("%s: %d Configure buttons", method, n)
		}
		federates := method == setup.MethodADFS || method == setup.MethodPing
		if got := strings.Contains(text(doc), setup.MsgFedNameRes); got != federates {
			t.Errorf("%s: the note on name resolution shown: %v", method, got)
		}
	}
}

// TestKeptText: after an error, a page never says nothing was lost above a
// password field it cleared. (The AD FS farm page shows its certificate's
// password only while a protected file waits: TestKeptTextADFSFarm.)
func TestKeptText(t *testing.T) {
	a := noisyAnswers()
	a.SignIn = setup.SignIn{Method: setup.MethodPTA, SSO: true}
	withPassword := 0
	for _, page := range setup.Pages {
		if page.ID == setup.PageExpress {
			continue
		}
		doc := render(t, props(t, page.ID, a, setup.Errors{"some_field": "bad"}, nil))
		msg := fold(doc.Find(`[data-testid="page-error"]`).Text())
		if msg == "" {
			t.Errorf("%s: no page error", page.ID)
			continue
		}
		if doc.Find(`input[type="password"]`).Length() == 0 {
			if !strings.Contains(msg, MsgKeptAll) {
				t.Errorf("%s: %q", page.ID, msg)
			}
			continue
		}
		withPassword++
		if strings.Contains(msg, MsgKeptAll) || !strings.Contains(msg, "password") {
			t.Errorf("%s has a password field, and its error says %q", page.ID, msg)
		}
	}
	if withPassword != 6 {
		t.Errorf("%d pages with a password field, want 6 (components, directories, connect-entra, single-sign-on, adfs-proxies, adfs-service-account)", withPassword)
	}
}

// entraConnect finds where a page names Microsoft Entra Connect.
var entraConnect = regexp.MustCompile(`Microsoft Entra Connect\S*(\s+\S+){0,3}`)

// TestOurNameTheirWords: where a page names Microsoft Entra Connect, it names
// Microsoft's product as such, never as the one that acts in this console.
func TestOurNameTheirWords(t *testing.T) {
	allowed := []string{
		"Microsoft Entra Connect does", // what it is modelled on
		"Microsoft Entra Connect doesn't",
		"Microsoft Entra Connect's express settings",
		"Microsoft Entra Connect 1.0.8641.0",
		"Microsoft Entra Connect uses a private",
		"Microsoft Entra Connect's private API",
		"Microsoft Entra Connect writes back",
		"Microsoft Entra Connect wrote:", // a device written by Microsoft's product
		"Microsoft Entra Connect or Cloud Sync",
	}
	a := noisyAnswers()
	a.SignIn = setup.SignIn{Method: setup.MethodPTA, SSO: true}
	for _, page := range setup.Pages {
		all := text(render(t, props(t, page.ID, a, nil, nil)))
		for _, m := range entraConnect.FindAllString(all, -1) {
			ok := false
			for _, p := range allowed {
				ok = ok || strings.HasPrefix(m, p)
			}
			if !ok {
				t.Errorf("%s: %q", page.ID, m)
			}
		}
	}
}

// TestExpressDescribesToday: the Express settings page promises nothing that
// is not there.
func TestExpressDescribesToday(t *testing.T) {
	all := text(render(t, props(t, setup.PageExpress, setup.Defaults(), nil, nil)))
	for _, stale := range []string{"still to come", "in this version"} {
		if strings.Contains(all, stale) {
			t.Errorf("Express settings says %q", stale)
		}
	}
	if !strings.Contains(all, "hybridsync doesn't offer them") {
		t.Errorf("Express settings doesn't say it is not offered: %s", all)
	}
}

// TestKeptTextADFSFarm: the farm page's error says a password is not kept
// only while it asks for the certificate's password.
func TestKeptTextADFSFarm(t *testing.T) {
	a := setup.Defaults()
	a.SignIn.Method = setup.MethodADFS
	for _, waiting := range []bool{false, true} {
		p := props(t, setup.PageADFSFarm, a, setup.Errors{"adfs_cert": "bad"}, setup.ADFSFarmView{AwaitingPassword: waiting, HeldFile: "sts.pfx"})
		doc := render(t, p)
		msg := fold(doc.Find(`[data-testid="page-error"]`).Text())
		fields := doc.Find(`input[type="password"]`).Length()
		if waiting != (fields == 1) {
			t.Errorf("waiting %v: %d password fields", waiting, fields)
		}
		if want := map[bool]string{false: MsgKeptAll, true: MsgKeptNoPasswd}[waiting]; !strings.Contains(msg, want) {
			t.Errorf("waiting %v: %q", waiting, msg)
		}
	}
}
