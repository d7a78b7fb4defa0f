package setup

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/hybridsync/hybridsync/engine/directory"
)

func TestRoutable(t *testing.T) {
	for _, tt := range []struct {
		suffix   string
		routable bool
	}{
		{"contoso.com", true},
		{"corp.example.com", true},
		{"Contoso.COM.", true},
		{"sub.contoso.co.uk", true},
		{"contoso.xn--p1ai", true},
		{"contoso.local", false},
		{"corp.internal", false},
		{"office.lan", false},
		{"contoso.corp", false},
		{"my.home", false},
		{"host.localdomain", false},
		{"corp.example.test", false},
		{"home.arpa", false},
		{"CONTOSO", false},
		{"contoso", false},
		{"", false},
		{"10.0.0.1", false},
		{"contoso.123", false},
		{"contoso.c", false},
		{"contoso.c_m", false},
		{"-bad-.com", false},
		{"a..com", false},
	} {
		why := Routable(tt.suffix)
		if (why == "") != tt.routable {
			t.Errorf("Routable(%q) = %q, want routable %v", tt.suffix, why, tt.routable)
		}
	}
}

func TestCheckRFC822(t *testing.T) {
	for _, tt := range []struct {
		value string
		ok    bool
	}{
		{"jane@contoso.com", true},
		{"jane.doe+sales@corp.example.com", true},
		{"j@x", true},
		{"shared.user001@example.com", true},
		{"", false},
		{"jane", false},
		{"jane@", false},
		{"@contoso.com", false},
		{"Jane <jane@contoso.com>", false},
		{"<jane@contoso.com>", false},
		{"jane@contoso.com (Jane)", false},
		{" jane@contoso.com", false},
		{"jane@contoso.com, joe@contoso.com", false},
		{"jäne@contoso.com", false},
		{"jane doe@contoso.com", false},
		{"SMTP:jane@contoso.com", false},
		{"E0001", false},
		{"jane@contoso.com\n", false},
	} {
		why := CheckRFC822(tt.value)
		if (why == "") != tt.ok {
			t.Errorf("CheckRFC822(%q) = %q, want ok %v", tt.value, why, tt.ok)
		}
	}
}

// signInTestAttrs is a small schema: mail and employeeID are fine;
// proxyAddresses is multivalued; objectGUID is binary; whenCreated
// system-only; msFVE-RecoveryPassword a confidential string of BitLocker
// recovery objects, not of users; employeeNumber not a user's here;
// postalAddress a printable string; msDS-Secret a user's confidential string.
var signInTestAttrs = []directory.Attribute{
	{Name: "userPrincipalName", Syntax: "2.5.5.12", Type: "String (Unicode)", SingleValued: true},
	{Name: "mail", Syntax: "2.5.5.12", Type: "String (Unicode)", SingleValued: true},
	{Name: "employeeID", Syntax: "2.5.5.12", Type: "String (Unicode)", SingleValued: true},
	{Name: "proxyAddresses", Syntax: "2.5.5.12", Type: "String (Unicode)"},
	{Name: "objectGUID", Syntax: "2.5.5.10", Type: "Binary", SingleValued: true},
	{Name: "whenCreated", Syntax: "2.5.5.12", Type: "String (Unicode)", SingleValued: true, SystemOnly: true},
	{Name: "msFVE-RecoveryPassword", Syntax: "2.5.5.12", Type: "String (Unicode)", SingleValued: true, SearchFlags: 0x298},
	{Name: "employeeNumber", Syntax: "2.5.5.12", Type: "String (Unicode)", SingleValued: true},
	{Name: "postalAddress", Syntax: "2.5.5.5", OMSyntax: 19, Type: "String (printable)", SingleValued: true},
	{Name: "msDS-Secret", Syntax: "2.5.5.12", Type: "String (Unicode)", SingleValued: true, SearchFlags: 0x80},
}

// signInTestClasses: user is an organizationalPerson, which is a person,
// which is top; user has the auxiliary class mailRecipient (mail) and
// msFVE-RecoveryInformation is a class of its own.
var signInTestClasses = []SchemaClass{
	{Name: "top", SubClassOf: "top", Attributes: []string{"objectClass", "objectGUID", "whenCreated"}},
	{Name: "person", SubClassOf: "top", Attributes: []string{"cn"}},
	{Name: "organizationalPerson", SubClassOf: "person", Attributes: []string{"postalAddress"}},
	{Name: "user", SubClassOf: "organizationalPerson", Auxiliary: []string{"mailRecipient"},
		Attributes: []string{"userPrincipalName", "employeeID", "proxyAddresses", "msDS-Secret"}},
	{Name: "mailRecipient", SubClassOf: "top", Attributes: []string{"mail"}},
	{Name: "msFVE-RecoveryInformation", SubClassOf: "top", Attributes: []string{"msFVE-RecoveryPassword"}},
	{Name: "contact", SubClassOf: "organizationalPerson", Attributes: []string{"employeeNumber"}},
}

var signInTestSchema = SignInSchema{Attributes: signInTestAttrs, User: UserClassAttributes(signInTestClasses)}

func TestUserClassAttributes(t *testing.T) {
	user := UserClassAttributes(signInTestClasses)
	for name, want := range map[string]bool{
		"userprincipalname": true, "mail": true, "cn": true, "postaladdress": true, "objectguid": true,
		"msfve-recoverypassword": false, "employeenumber": false,
	} {
		if user[name] != want {
			t.Errorf("%s: a user's = %v, want %v", name, user[name], want)
		}
	}
}

func TestAlternateIDs(t *testing.T) {
	other := SignInSchema{Attributes: []directory.Attribute{
		{Name: "Mail", Syntax: "2.5.5.12", SingleValued: true},
		{Name: "extensionAttribute1", Syntax: "2.5.5.12", SingleValued: true},
		{Name: "employeeID", Syntax: "2.5.5.12"}, // multivalued here: not offered at all
	}, User: map[string]bool{"mail": true, "extensionattribute1": true, "employeeid": true}}
	got := strings.Join(AlternateIDs(signInTestSchema, other), ",")
	if got != "extensionAttribute1,mail" {
		t.Errorf("AlternateIDs = %s", got)
	}
	if got := strings.Join(AlternateIDs(signInTestSchema), ","); got != "employeeID,mail" {
		t.Errorf("AlternateIDs of one forest = %s", got)
	}
}

func TestCheckAlternateID(t *testing.T) {
	for _, tt := range []struct {
		attr, want string // want: a part of the message; "" for accepted
	}{
		{"userPrincipalName", ""},
		{"mail", ""},
		{"MAIL", ""},
		{"employeeID", ""},
		{"proxyAddresses", "can't be multivalued"},
		{"objectGUID", "not a string attribute"},
		{"whenCreated", "system-only"},
		{"msFVE-RecoveryPassword", "not an attribute of user objects"},
		{"employeeNumber", "not an attribute of user objects"},
		{"postalAddress", "can't hold the at sign"},
		{"msDS-Secret", "confidential"},
		{"nosuchAttribute", "not an attribute of your forests' schema"},
		{"mail)(cn=*", "not an attribute name"},
		{"1mail", "not an attribute name"},
		{"", "Choose"},
	} {
		got := CheckAlternateID(tt.attr, signInTestSchema)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("CheckAlternateID(%q) = %q, want %q", tt.attr, got, tt.want)
		}
	}
}

// signInChecker answers the page's reads from fixed data; a forest it doesn't
// know fails as an unreachable one does.
type signInChecker struct {
	Checker
	schema  SignInSchema
	samples map[string][]string
	domains map[string][]string
	upn     map[string][]string
}

var errSignInUnreachable = &CheckError{Msg: "hybridsync can't connect.", Err: errors.New("refused")}

func (c signInChecker) SignInUPNSuffixes(_ context.Context, fc ForestConn) ([]string, []string, error) {
	d, ok := c.domains[fc.Forest]
	if !ok {
		return nil, nil, errSignInUnreachable
	}
	return d, c.upn[fc.Forest], nil
}

func (c signInChecker) SchemaAttributes(_ context.Context, fc ForestConn) ([]directory.Attribute, error) {
	if _, ok := c.domains[fc.Forest]; !ok {
		return nil, errSignInUnreachable
	}
	return c.schema.Attributes, nil
}

func (c signInChecker) UserAttributes(_ context.Context, fc ForestConn) (map[string]bool, error) {
	if _, ok := c.domains[fc.Forest]; !ok {
		return nil, errSignInUnreachable
	}
	return c.schema.User, nil
}

func (c signInChecker) SampleValues(_ context.Context, fc ForestConn, attr string, n int) ([]string, error) {
	s := c.samples[attr]
	if len(s) > n {
		s = s[:n]
	}
	return s, nil
}

func signInCorpAnswers() Answers {
	a := Defaults()
	a.Directories.Forests = []ForestConn{{
		Forest: "corp.test", RootDN: "DC=corp,DC=test", CheckedAt: "2025-01-01T00:00:00Z",
		Domains:     []ForestDomain{{DNS: "corp.test"}},
		UPNSuffixes: []string{"contoso.local", "corp.example.com"},
	}}
	return a
}

func TestSignInConfigPage(t *testing.T) {
	ctx := context.Background()
	chk := signInChecker{
		schema:  signInTestSchema,
		samples: map[string][]string{"mail": {"jane@contoso.com", "Jane <jane@contoso.com>"}, "userPrincipalName": {"jane@corp.test"}},
		domains: map[string][]string{"corp.test": {"corp.test"}},
		upn:     map[string][]string{"corp.test": {"corp.example.com", "contoso.local", "new.example.org"}},
	}
	bind := func(a *Answers, v url.Values) { signInConfigPage.Bind(a, Form{Values: v}) }

	t.Run("defaults pass with no input", func(t *testing.T) {
		for _, c := range []Checker{nil, chk} {
			a := signInCorpAnswers()
			bind(&a, url.Values{})
			if errs := signInConfigPage.Validate(ctx, &a, c); len(errs) != 0 {
				t.Fatalf("defaults refused: %v", errs)
			}
			if a.SignInConfig.Attribute != AttributeUPN || a.SignInConfig.AlternateID() {
				t.Errorf("attribute %q", a.SignInConfig.Attribute)
			}
		}
		if a := Defaults(); a.SignInConfig.SignInAttribute() != AttributeUPN {
			t.Error("untouched answers don't mean userPrincipalName")
		}
	})

	t.Run("suffixes from the forests", func(t *testing.T) {
		a := signInCorpAnswers()
		bind(&a, url.Values{})
		var got []string
		for _, u := range a.SignInConfig.Suffixes {
			got = append(got, u.Suffix+"/"+u.Kind+"/"+map[bool]string{true: "routable", false: "not"}[u.Routable])
		}
		want := "corp.test/domain/not,contoso.local/uPNSuffix/not,corp.example.com/uPNSuffix/routable"
		if strings.Join(got, ",") != want {
			t.Errorf("suffixes %v, want %s", got, want)
		}
		if a.SignInConfig.ReadAt != "2025-01-01T00:00:00Z" {
			t.Errorf("read at %q", a.SignInConfig.ReadAt)
		}
		v := LoadSignInConfig(ctx, &a, chk)
		for _, r := range v.Suffixes {
			if r.State != StateTenantNotConnected {
				t.Errorf("%s: state %q", r.Suffix, r.State)
			}
		}
		warned := false
		for _, n := range signInConfigPage.Notices(&a) {
			warned = warned || n.Level == "warn" && strings.Contains(n.Text, "contoso.local") && strings.Contains(n.Text, "onmicrosoft.com")
		}
		if !warned {
			t.Errorf("no non-routable warning: %v", signInConfigPage.Notices(&a))
		}
		// A removed forest's suffixes go.
		a.Directories.Forests = nil
		if rows := summarizeSignInConfig(a); len(rows) != 1 {
			t.Errorf("summary of no forest %v", rows)
		}
	})

	t.Run("refresh", func(t *testing.T) {
		a := signInCorpAnswers()
		bind(&a, url.Values{})
		if errs := signInConfigPage.Act(ctx, &a, ActionRefreshSuffixes, Form{}, chk); len(errs) != 0 {
			t.Fatal(errs)
		}
		if n := len(a.SignInConfig.Suffixes); n != 4 || a.SignInConfig.Suffixes[3].Suffix != "new.example.org" {
			t.Fatalf("after refresh %+v", a.SignInConfig.Suffixes)
		}
		if a.SignInConfig.ReadAt <= "2025-01-01T00:00:00Z" {
			t.Errorf("read at %q after refresh", a.SignInConfig.ReadAt)
		}
		// A later Bind keeps what the refresh read.
		bind(&a, url.Values{})
		if len(a.SignInConfig.Suffixes) != 4 {
			t.Errorf("Bind lost the refresh: %+v", a.SignInConfig.Suffixes)
		}
		// An unreachable forest keeps its suffixes and says so.
		a.Directories.Forests = append(a.Directories.Forests, ForestConn{Forest: "gone.test", Domains: []ForestDomain{{DNS: "gone.test"}}})
		errs := signInConfigPage.Act(ctx, &a, ActionRefreshSuffixes, Form{}, chk)
		if !strings.Contains(errs["refresh"], "gone.test") || len(a.SignInConfig.Suffixes) != 5 {
			t.Errorf("errs %v, suffixes %+v", errs, a.SignInConfig.Suffixes)
		}
	})

	t.Run("alternate ID", func(t *testing.T) {
		for _, tt := range []struct {
			attr, err string
		}{
			{"mail", ""},
			{"employeeID", ""},
			{"proxyAddresses", "can't be multivalued"},
			{"objectGUID", "not a string attribute"},
			{"nope", "not an attribute"},
		} {
			a := signInCorpAnswers()
			bind(&a, url.Values{"attribute": {tt.attr}})
			errs := signInConfigPage.Validate(ctx, &a, chk)
			if got := errs["attribute"]; (tt.err == "") != (got == "") || !strings.Contains(got, tt.err) {
				t.Errorf("%s: errors %v, want %q", tt.attr, errs, tt.err)
			}
			if a.SignInConfig.Attribute != tt.attr {
				t.Errorf("%s: the choice was not kept (%q)", tt.attr, a.SignInConfig.Attribute)
			}
		}
		a := signInCorpAnswers()
		bind(&a, url.Values{"attribute": {"mail"}})
		if errs := signInConfigPage.Validate(ctx, &a, nil); errs["attribute"] != MsgNoSchema {
			t.Errorf("without a checker: %v", errs)
		}
		v := LoadSignInConfig(ctx, &a, chk)
		if strings.Join(v.AlternateIDs, ",") != "employeeID,mail" {
			t.Errorf("offered %v", v.AlternateIDs)
		}
		if len(v.Samples) != 0 || v.SamplesOf != "" {
			t.Errorf("samples shown before they were asked for: %+v", v.Samples)
		}
		if errs := signInConfigPage.Act(ctx, &a, ActionShowSamples, Form{}, chk); len(errs) != 0 {
			t.Fatalf("show samples of mail: %v", errs)
		}
		v = LoadSignInConfig(ctx, &a, chk)
		if v.SamplesOf != "mail" || len(v.Samples) != 2 || v.Samples[0].Problem != "" || v.Samples[1].Problem == "" {
			t.Errorf("samples of %q: %+v", v.SamplesOf, v.Samples)
		}
		warned := false
		for _, n := range signInConfigPage.Notices(&a) {
			warned = warned || n.Text == MsgAlternateID
		}
		if !warned {
			t.Error("no alternate ID warning")
		}
		rows := summarizeSignInConfig(a)
		if rows[0].Value != "mail (alternate ID)" || !strings.Contains(rows[1].Value, "contoso.local: tenant not connected, not routable") {
			t.Errorf("summary %+v", rows)
		}
		// A refused attribute shows no samples.
		bind(&a, url.Values{"attribute": {"proxyAddresses"}})
		if v := LoadSignInConfig(ctx, &a, chk); len(v.Samples) != 0 {
			t.Errorf("samples of a refused attribute: %+v", v.Samples)
		}
		if errs := signInConfigPage.Act(ctx, &a, ActionShowSamples, Form{}, chk); !strings.Contains(errs["attribute"], "multivalued") {
			t.Errorf("show samples of proxyAddresses: %v", errs)
		}
		if v := LoadSignInConfig(ctx, &a, chk); len(v.Samples) != 0 {
			t.Errorf("samples of a refused attribute after Show sample values: %+v", v.Samples)
		}
	})

	t.Run("sample values of userPrincipalName", func(t *testing.T) {
		a := signInCorpAnswers()
		bind(&a, url.Values{"attribute": {AttributeUPN}})
		if errs := signInConfigPage.Act(ctx, &a, ActionShowSamples, Form{}, chk); len(errs) != 0 {
			t.Fatalf("show samples of userPrincipalName: %v", errs)
		}
		v := LoadSignInConfig(ctx, &a, chk)
		if v.SamplesOf != AttributeUPN || len(v.Samples) != 1 || v.Samples[0].Value != "jane@corp.test" || v.Samples[0].Problem != "" {
			t.Errorf("samples of %q: %+v", v.SamplesOf, v.Samples)
		}
		// They stay while userPrincipalName stays chosen, and go with another.
		bind(&a, url.Values{"attribute": {AttributeUPN}})
		if v := LoadSignInConfig(ctx, &a, chk); v.SamplesOf != AttributeUPN {
			t.Errorf("samples gone after a Bind of the same attribute")
		}
		bind(&a, url.Values{"attribute": {"mail"}})
		if v := LoadSignInConfig(ctx, &a, chk); v.SamplesOf != "" || len(v.Samples) != 0 {
			t.Errorf("samples of userPrincipalName shown with mail chosen: %+v", v.Samples)
		}
	})

	t.Run("pass-through needs a verified domain", func(t *testing.T) {
		a := signInCorpAnswers()
		a.SignIn.Method = MethodPTA
		bind(&a, url.Values{})
		if errs := signInConfigPage.Validate(ctx, &a, chk); len(errs) != 0 {
			t.Errorf("the rule blocks before the tenant is connected: %v", errs)
		}
		found := false
		for _, n := range signInConfigPage.Notices(&a) {
			found = found || n.Level == "warn" && strings.Contains(n.Text, MsgPTANeedsVerified) && strings.Contains(n.Text, MsgPTAEnforcedLater)
		}
		if !found {
			t.Errorf("no pass-through warning: %v", signInConfigPage.Notices(&a))
		}
		a.SignIn.Method = MethodPHS
		for _, n := range signInConfigPage.Notices(&a) {
			if strings.Contains(n.Text, MsgPTANeedsVerified) {
				t.Error("the pass-through rule shows for password hash sync")
			}
		}
	})

	t.Run("unknown button", func(t *testing.T) {
		a := signInCorpAnswers()
		if errs := signInConfigPage.Act(ctx, &a, "bogus", Form{}, chk); errs[""] == "" {
			t.Error("an unknown button was accepted")
		}
	})
}
