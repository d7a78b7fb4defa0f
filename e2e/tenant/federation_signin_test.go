package tenant_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/hybridsync/hybridsync/e2e/tenant"
)

// testIdP is a federation service of the tests: a key and its self-signed
// certificate, signing WS-Fed SAML 1.1 tokens and SAML 2.0 responses as
// AD FS and PingFederate shape them.
type testIdP struct {
	issuer  string
	key     *rsa.PrivateKey
	certDER []byte
}

func newTestIdP(t *testing.T, issuer string) *testIdP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Token Signing - " + issuer},
		NotBefore: time.Now().Add(-24 * time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &testIdP{issuer: issuer, key: key, certDER: der}
}

func (p *testIdP) cert() string { return base64.StdEncoding.EncodeToString(p.certDER) }

// tokenOpts are what a test token says; zero values take the right ones.
type tokenOpts struct {
	issuer, audience        string
	notBefore, notOnOrAfter time.Time
	immutableID, upn        string
	signer                  *testIdP // default: the IdP itself
	tamper                  bool     // change the UPN after signing
	unsigned                bool
	// SAML 2.0
	destination, recipient, inResponseTo string
	status                               string
	signResponse                         bool // sign the response, not the assertion
}

func (p *testIdP) fill(o *tokenOpts, now time.Time) {
	if o.issuer == "" {
		o.issuer = p.issuer
	}
	if o.audience == "" {
		o.audience = "urn:federation:MicrosoftOnline"
	}
	if o.notBefore.IsZero() {
		o.notBefore = now.Add(-time.Minute)
	}
	if o.notOnOrAfter.IsZero() {
		o.notOnOrAfter = now.Add(time.Hour)
	}
	if o.signer == nil {
		o.signer = p
	}
	if o.status == "" {
		o.status = "urn:oasis:names:tc:SAML:2.0:status:Success"
	}
}

func samlTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// sign signs el (enveloped, exc-c14n, RSA-SHA256) and puts the signature
// after the first child (the Issuer of SAML 2.0) when afterIssuer.
func sign(t *testing.T, signer *testIdP, el *etree.Element, idAttr string, afterIssuer bool) *etree.Element {
	t.Helper()
	sc, err := dsig.NewSigningContext(signer.key, [][]byte{signer.certDER})
	if err != nil {
		t.Fatal(err)
	}
	sc.IdAttribute = idAttr
	sc.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	signed, err := sc.SignEnveloped(el)
	if err != nil {
		t.Fatal(err)
	}
	if afterIssuer {
		sig := signed.RemoveChildAt(len(signed.Child) - 1) // goxmldsig appends it without setting its parent
		signed.InsertChildAt(1, sig)
	}
	return signed
}

func tamper(el *etree.Element, path string) {
	if v := el.FindElement(path); v != nil {
		v.SetText("mallory@" + strings.SplitN(v.Text(), "@", 2)[1])
	}
}

// wsFedResult is a wresult: an RSTR holding a signed SAML 1.1 assertion with
// the claims AD FS issues for Entra (UPN, ImmutableID, NameIdentifier).
func (p *testIdP) wsFedResult(t *testing.T, o tokenOpts, now time.Time) string {
	t.Helper()
	p.fill(&o, now)
	a := etree.NewElement("saml:Assertion")
	a.CreateAttr("xmlns:saml", "urn:oasis:names:tc:SAML:1.0:assertion")
	a.CreateAttr("MajorVersion", "1")
	a.CreateAttr("MinorVersion", "1")
	a.CreateAttr("AssertionID", "_"+randomID())
	a.CreateAttr("Issuer", o.issuer)
	a.CreateAttr("IssueInstant", samlTime(now))
	c := a.CreateElement("saml:Conditions")
	c.CreateAttr("NotBefore", samlTime(o.notBefore))
	c.CreateAttr("NotOnOrAfter", samlTime(o.notOnOrAfter))
	c.CreateElement("saml:AudienceRestrictionCondition").CreateElement("saml:Audience").SetText(o.audience)
	subject := func(parent *etree.Element) {
		s := parent.CreateElement("saml:Subject")
		n := s.CreateElement("saml:NameIdentifier")
		n.CreateAttr("Format", "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified")
		n.SetText(o.immutableID)
		s.CreateElement("saml:SubjectConfirmation").CreateElement("saml:ConfirmationMethod").SetText("urn:oasis:names:tc:SAML:1.0:cm:bearer")
	}
	as := a.CreateElement("saml:AttributeStatement")
	subject(as)
	for _, at := range [][3]string{{"UPN", "http://schemas.xmlsoap.org/claims", o.upn}, {"ImmutableID", "http://schemas.microsoft.com/LiveID/Federation/2008/05", o.immutableID}} {
		e := as.CreateElement("saml:Attribute")
		e.CreateAttr("AttributeName", at[0])
		e.CreateAttr("AttributeNamespace", at[1])
		e.CreateElement("saml:AttributeValue").SetText(at[2])
	}
	au := a.CreateElement("saml:AuthenticationStatement")
	au.CreateAttr("AuthenticationMethod", "urn:oasis:names:tc:SAML:1.0:am:password")
	au.CreateAttr("AuthenticationInstant", samlTime(now))
	subject(au)
	if !o.unsigned {
		a = sign(t, o.signer, a, "AssertionID", false)
	}
	if o.tamper {
		tamper(a, "./saml:AttributeStatement/saml:Attribute[@AttributeName='UPN']/saml:AttributeValue")
	}
	doc := etree.NewDocument()
	rstr := doc.CreateElement("t:RequestSecurityTokenResponse")
	rstr.CreateAttr("xmlns:t", "http://schemas.xmlsoap.org/ws/2005/02/trust")
	lt := rstr.CreateElement("t:Lifetime")
	lt.CreateElement("wsu:Created").SetText(samlTime(now))
	lt.CreateAttr("xmlns:wsu", "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd")
	at := rstr.CreateElement("wsp:AppliesTo")
	at.CreateAttr("xmlns:wsp", "http://schemas.xmlsoap.org/ws/2004/09/policy")
	ep := at.CreateElement("wsa:EndpointReference")
	ep.CreateAttr("xmlns:wsa", "http://www.w3.org/2005/08/addressing")
	ep.CreateElement("wsa:Address").SetText("urn:federation:MicrosoftOnline")
	rstr.CreateElement("t:RequestedSecurityToken").AddChild(a)
	rstr.CreateElement("t:TokenType").SetText("urn:oasis:names:tc:SAML:1.0:assertion")
	s, err := doc.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// samlResponse is a base64 SAMLResponse with the elements Entra requires
// (how-to-connect-fed-saml-idp.md).
func (p *testIdP) samlResponse(t *testing.T, o tokenOpts, now time.Time) string {
	t.Helper()
	p.fill(&o, now)
	const ns2 = "urn:oasis:names:tc:SAML:2.0:assertion"
	a := etree.NewElement("saml:Assertion")
	a.CreateAttr("xmlns:saml", ns2)
	a.CreateAttr("ID", "_"+randomID())
	a.CreateAttr("Version", "2.0")
	a.CreateAttr("IssueInstant", samlTime(now))
	a.CreateElement("saml:Issuer").SetText(o.issuer)
	s := a.CreateElement("saml:Subject")
	n := s.CreateElement("saml:NameID")
	n.CreateAttr("Format", "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent")
	n.SetText(o.immutableID)
	sc := s.CreateElement("saml:SubjectConfirmation")
	sc.CreateAttr("Method", "urn:oasis:names:tc:SAML:2.0:cm:bearer")
	scd := sc.CreateElement("saml:SubjectConfirmationData")
	scd.CreateAttr("InResponseTo", o.inResponseTo)
	scd.CreateAttr("NotOnOrAfter", samlTime(o.notOnOrAfter))
	scd.CreateAttr("Recipient", o.recipient)
	c := a.CreateElement("saml:Conditions")
	c.CreateAttr("NotBefore", samlTime(o.notBefore))
	c.CreateAttr("NotOnOrAfter", samlTime(o.notOnOrAfter))
	c.CreateElement("saml:AudienceRestriction").CreateElement("saml:Audience").SetText(o.audience)
	at := a.CreateElement("saml:AttributeStatement").CreateElement("saml:Attribute")
	at.CreateAttr("Name", "IDPEmail")
	at.CreateElement("saml:AttributeValue").SetText(o.upn)
	an := a.CreateElement("saml:AuthnStatement")
	an.CreateAttr("AuthnInstant", samlTime(now))
	an.CreateElement("saml:AuthnContext").CreateElement("saml:AuthnContextClassRef").SetText("urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport")
	if !o.unsigned && !o.signResponse {
		a = sign(t, o.signer, a, "ID", true)
	}
	if o.tamper {
		tamper(a, "./saml:AttributeStatement/saml:Attribute/saml:AttributeValue")
	}
	r := etree.NewElement("samlp:Response")
	r.CreateAttr("xmlns:samlp", "urn:oasis:names:tc:SAML:2.0:protocol")
	r.CreateAttr("ID", "_"+randomID())
	r.CreateAttr("Version", "2.0")
	r.CreateAttr("IssueInstant", samlTime(now))
	r.CreateAttr("Destination", o.destination)
	r.CreateAttr("InResponseTo", o.inResponseTo)
	iss := r.CreateElement("Issuer")
	iss.CreateAttr("xmlns", ns2)
	iss.SetText(o.issuer)
	r.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").CreateAttr("Value", o.status)
	r.AddChild(a)
	if o.signResponse {
		r = sign(t, o.signer, r, "ID", true)
	}
	doc := etree.NewDocument()
	doc.SetRoot(r)
	b, err := doc.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// fedEnv is a tenant with a WS-Fed domain and a SAML domain, each with a
// synced user, and the federation services' keys.
type fedEnv struct {
	*idpEnv
	wsfed, saml, rogue *testIdP
}

const (
	wsfedDomain  = "wsfed.example.test"
	samlDomain   = "saml.example.test"
	wsfedIssuer  = "http://sts.wsfed.example.test/adfs/services/trust"
	samlIssuer   = "https://idp.saml.example.test/saml2"
	wsfedPassive = "http://127.0.0.1:9/adfs/ls/"
	samlPassive  = "http://127.0.0.1:9/idp/SSO.saml2"
	aliceUPN     = "alice@" + wsfedDomain
	aliceImmID   = "AAECAwQFBgcICQoLDA0ODw=="
	bobUPN       = "bob@" + samlDomain
	bobImmID     = "EBESExQVFhcYGRobHB0eHw=="
	carolImmID   = "ICEiIyQlJicoKSorLC0uLw==" // a user of a managed domain
	daveImmID    = "MDEyMzQ1Njc4OTo7PD0+Pw==" // disabled
)

func startFedEnv(t *testing.T) *fedEnv {
	t.Helper()
	e := &fedEnv{wsfed: newTestIdP(t, wsfedIssuer), saml: newTestIdP(t, samlIssuer), rogue: newTestIdP(t, wsfedIssuer)}
	// The WS-Fed domain's current certificate is one nobody signs with: its
	// IdP signs with the next one, which must be accepted too.
	retired := newTestIdP(t, wsfedIssuer)
	seed := tenant.DefaultSeed()
	seed.Domains = append(seed.Domains,
		tenant.SeedDomain{Name: wsfedDomain, Verified: true, Federation: &tenant.Federation{IssuerURI: wsfedIssuer, PassiveSignInURI: wsfedPassive,
			MetadataExchangeURI: "http://127.0.0.1:9/adfs/services/trust/mex", ActiveSignInURI: "http://127.0.0.1:9/adfs/services/trust/2005/usernamemixed",
			SigningCertificate: retired.cert(), NextSigningCertificate: e.wsfed.cert(), PreferredAuthenticationProtocol: tenant.ProtocolWSFed}},
		tenant.SeedDomain{Name: samlDomain, Verified: true, Federation: &tenant.Federation{IssuerURI: samlIssuer, PassiveSignInURI: samlPassive,
			SigningCertificate: e.saml.cert(), PreferredAuthenticationProtocol: tenant.ProtocolSAML}})
	clk := &clock{now: time.Now()}
	tn, err := tenant.New(seed, tenant.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tn)
	t.Cleanup(srv.Close)
	e.idpEnv = &idpEnv{tn: tn, srv: srv, clk: clk}
	for _, u := range []struct {
		upn, imm string
		enabled  bool
	}{{aliceUPN, aliceImmID, true}, {bobUPN, bobImmID, true}, {"carol@contoso.example.test", carolImmID, true}, {"dave@" + wsfedDomain, daveImmID, false}} {
		body := fmt.Sprintf(`{"accountEnabled":%t,"displayName":%q,"mailNickname":"x","userPrincipalName":%q,"onPremisesImmutableId":%q,"passwordProfile":{"password":"Xy!long-enough-1"}}`,
			u.enabled, u.upn, u.upn, u.imm)
		if st, b := e.graphJSON(t, http.MethodPost, "/users", body); st != 201 {
			t.Fatalf("create %s = %d %v", u.upn, st, b)
		}
	}
	return e
}

// startFederated opens the sign-in page and posts only the user name.
func (e *fedEnv) startFederated(t *testing.T, b *browser, upn string) page {
	t.Helper()
	p := b.get(e.authority() + "/oauth2/v2.0/authorize?" + authQuery(tenant.ConsoleClientID, consoleRedirect).Encode())
	return b.submit(p, map[string]string{"tenant-username": upn, "tenant-password": ""})
}

func (e *fedEnv) postLoginSRF(b *browser, form url.Values) page {
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+tenant.LoginSRFPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// wsFedStart checks the redirect to the WS-Fed passive endpoint and returns wctx.
func (e *fedEnv) wsFedStart(t *testing.T, b *browser, upn string) string {
	t.Helper()
	p := e.startFederated(t, b, upn)
	if p.status != http.StatusFound || p.loc == nil {
		t.Fatalf("user name of a WS-Fed domain = %d %q, want a redirect", p.status, p.errorText())
	}
	q := p.loc.Query()
	base := *p.loc
	base.RawQuery = ""
	if base.String() != wsfedPassive || q.Get("wa") != "wsignin1.0" || q.Get("wtrealm") != "urn:federation:MicrosoftOnline" ||
		q.Get("wctx") == "" || q.Get("username") != upn || q.Has("wreply") {
		t.Fatalf("WS-Fed redirect = %s", p.loc)
	}
	return q.Get("wctx")
}

// samlStart checks the HTTP-POST AuthnRequest page and returns the request's
// ID and the RelayState.
func (e *fedEnv) samlStart(t *testing.T, b *browser, upn string) (id, relay string, req *etree.Element) {
	t.Helper()
	p := e.startFederated(t, b, upn)
	form := p.doc.Find("form")
	action, _ := form.Attr("action")
	if p.status != 200 || action != samlPassive || p.testid("tenant-continue").Length() != 1 {
		t.Fatalf("user name of a SAML domain = %d action %q: %q", p.status, action, p.errorText())
	}
	sr, _ := form.Find(`input[name="SAMLRequest"]`).Attr("value")
	relay, _ = form.Find(`input[name="RelayState"]`).Attr("value")
	raw, err := base64.StdEncoding.DecodeString(sr)
	if err != nil || relay == "" {
		t.Fatalf("SAMLRequest %q RelayState %q: %v", sr, relay, err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil {
		t.Fatal(err)
	}
	req = doc.Root()
	id = req.SelectAttrValue("ID", "")
	iss := req.FindElement("./Issuer")
	pol := req.FindElement("./samlp:NameIDPolicy")
	if req.Tag != "AuthnRequest" || req.NamespaceURI() != "urn:oasis:names:tc:SAML:2.0:protocol" || id == "" ||
		req.SelectAttrValue("Version", "") != "2.0" || req.SelectAttrValue("IssueInstant", "") == "" ||
		iss == nil || iss.Text() != "urn:federation:MicrosoftOnline" || iss.NamespaceURI() != "urn:oasis:names:tc:SAML:2.0:assertion" ||
		pol == nil || pol.SelectAttrValue("Format", "") != "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" {
		t.Fatalf("AuthnRequest = %s", raw)
	}
	return id, relay, req
}

// redeem checks a redirect with a code and redeems it.
func (e *fedEnv) redeem(t *testing.T, p page) map[string]any {
	t.Helper()
	if p.status != http.StatusFound || p.loc == nil || !strings.HasPrefix(p.loc.String(), consoleRedirect+"?") || p.loc.Query().Get("code") == "" || p.loc.Query().Get("state") != "xyz" {
		t.Fatalf("after login.srf = %d %v %q", p.status, p.loc, p.errorText())
	}
	st, body := e.token(t, url.Values{"grant_type": {"authorization_code"}, "client_id": {tenant.ConsoleClientID}, "client_secret": {tenant.ConsoleClientSecret},
		"code": {p.loc.Query().Get("code")}, "redirect_uri": {consoleRedirect}})
	if st != 200 {
		t.Fatalf("redeem = %d %v", st, body)
	}
	return body
}

func checkFederatedTokens(t *testing.T, e *fedEnv, body map[string]any, upn, issuer string) {
	t.Helper()
	id := checkV2IDToken(t, e.authority(), tenant.ConsoleClientID, body["id_token"].(string))
	if id["preferred_username"] != upn || id["name"] != upn || id["oid"] == nil || id["tid"] != e.tn.TenantID() || id["idp"] != issuer {
		t.Errorf("ID token = %v", id)
	}
	checkV1AccessToken(t, e.authority(), body["access_token"].(string), map[string]any{"amr": []string{"fed"}, "upn": upn})
}

func TestFederationSignInWSFed(t *testing.T) {
	e := startFedEnv(t)
	b := e.browser(t)
	wctx := e.wsFedStart(t, b, aliceUPN)
	p := e.postLoginSRF(b, url.Values{"wa": {"wsignin1.0"}, "wctx": {wctx},
		"wresult": {e.wsfed.wsFedResult(t, tokenOpts{immutableID: aliceImmID, upn: aliceUPN}, e.clk.Now())}})
	checkFederatedTokens(t, e, e.redeem(t, p), aliceUPN, wsfedIssuer)

	// The token ends the flow: it cannot be posted again.
	p = e.postLoginSRF(b, url.Values{"wa": {"wsignin1.0"}, "wctx": {wctx},
		"wresult": {e.wsfed.wsFedResult(t, tokenOpts{immutableID: aliceImmID, upn: aliceUPN}, e.clk.Now())}})
	if !strings.HasPrefix(p.errorText(), "AADSTS50089: ") {
		t.Errorf("replayed wctx = %d %q", p.status, p.errorText())
	}
}

func TestFederationSignInSAML(t *testing.T) {
	for _, signResponse := range []bool{false, true} {
		t.Run(fmt.Sprintf("response signed %v", signResponse), func(t *testing.T) {
			e := startFedEnv(t)
			b := e.browser(t)
			id, relay, _ := e.samlStart(t, b, bobUPN)
			srf := e.srv.URL + tenant.LoginSRFPath
			p := e.postLoginSRF(b, url.Values{"RelayState": {relay}, "SAMLResponse": {e.saml.samlResponse(t, tokenOpts{immutableID: bobImmID, upn: bobUPN,
				destination: srf, recipient: srf, inResponseTo: id, signResponse: signResponse}, e.clk.Now())}})
			checkFederatedTokens(t, e, e.redeem(t, p), bobUPN, samlIssuer)
		})
	}
}

func TestFederationSignInRefused(t *testing.T) {
	e := startFedEnv(t)
	now := func() time.Time { return e.clk.Now() }
	tests := []struct {
		name string
		opts tokenOpts
		want string // the error page's text, from its start
	}{
		{"wrong signing key", tokenOpts{signer: e.rogue}, "AADSTS50008: Unable to verify token signature. The signing key identifier does not match any valid registered keys."},
		{"wrong issuer", tokenOpts{issuer: "http://evil.example.test/adfs/services/trust"}, "AADSTS50107: The requested federation realm object 'http://evil.example.test/adfs/services/trust' does not exist."},
		{"wrong audience", tokenOpts{audience: "urn:microsoft:cloud"}, "AADSTS50008: SAML token is invalid. The audience of the token is not 'urn:federation:MicrosoftOnline'."},
		{"expired", tokenOpts{notBefore: now().Add(-time.Hour), notOnOrAfter: now().Add(-6 * time.Minute)}, "AADSTS500133: Assertion is not within its valid time range."},
		{"not yet valid", tokenOpts{notBefore: now().Add(6 * time.Minute)}, "AADSTS500133: Assertion is not within its valid time range."},
		{"unknown ImmutableID", tokenOpts{immutableID: "bm9ib2R5bm9ib2R5bm9ib2R5"}, "AADSTS51004: The user account {EUII Hidden} does not exist in the " + e.tn.TenantID() + " directory."},
		{"user of a managed domain", tokenOpts{immutableID: carolImmID, upn: aliceUPN}, "AADSTS51004: "},
		{"UPN outside the realm", tokenOpts{upn: "alice@contoso.example.test"}, "AADSTS50107: The requested federation realm object '" + wsfedIssuer + "' does not exist."},
		{"tampered assertion", tokenOpts{tamper: true}, "AADSTS50006: Signature verification failed because of an invalid signature."},
		{"unsigned", tokenOpts{unsigned: true}, "AADSTS50008: SAML token is invalid. The token is not signed."},
		{"disabled user", tokenOpts{immutableID: daveImmID, upn: "dave@" + wsfedDomain}, "AADSTS50057: The user account is disabled."},
	}
	for _, tt := range tests {
		t.Run("WS-Fed "+tt.name, func(t *testing.T) {
			b := e.browser(t)
			wctx := e.wsFedStart(t, b, aliceUPN)
			o := tt.opts
			if o.immutableID == "" {
				o.immutableID = aliceImmID
			}
			if o.upn == "" {
				o.upn = aliceUPN
			}
			p := e.postLoginSRF(b, url.Values{"wa": {"wsignin1.0"}, "wctx": {wctx}, "wresult": {e.wsfed.wsFedResult(t, o, now())}})
			if p.status != 200 || p.loc != nil || !strings.HasPrefix(p.errorText(), tt.want) {
				t.Fatalf("= %d %v %q, want %q", p.status, p.loc, p.errorText(), tt.want)
			}
		})
	}
	srf := e.srv.URL + tenant.LoginSRFPath
	samlTests := append(tests[:0:0], tests...)
	for i := range samlTests {
		samlTests[i].want = strings.ReplaceAll(samlTests[i].want, wsfedIssuer, samlIssuer)
		samlTests[i].opts.upn = strings.ReplaceAll(samlTests[i].opts.upn, aliceUPN, bobUPN)
	}
	samlTests = append(samlTests,
		struct {
			name string
			opts tokenOpts
			want string
		}{"wrong destination", tokenOpts{destination: "https://login.microsoftonline.com/login.srf"}, "AADSTS50008: SAML token is invalid. The Destination 'https://login.microsoftonline.com/login.srf' of the response is not '" + srf + "'."},
		struct {
			name string
			opts tokenOpts
			want string
		}{"wrong recipient", tokenOpts{recipient: "https://elsewhere.example.test/"}, "AADSTS50008: SAML token is invalid. The Recipient 'https://elsewhere.example.test/' of the assertion is not '" + srf + "'."},
		struct {
			name string
			opts tokenOpts
			want string
		}{"wrong InResponseTo", tokenOpts{inResponseTo: "_other"}, "AADSTS50008: SAML token is invalid. The InResponseTo of the response is not the ID of the request."},
		struct {
			name string
			opts tokenOpts
			want string
		}{"failed status", tokenOpts{status: "urn:oasis:names:tc:SAML:2.0:status:Responder"}, "AADSTS50008: SAML token is invalid. The status of the response is 'urn:oasis:names:tc:SAML:2.0:status:Responder'."},
		struct {
			name string
			opts tokenOpts
			want string
		}{"response signed by the wrong key", tokenOpts{signer: e.rogue, signResponse: true}, "AADSTS50008: Unable to verify token signature."},
	)
	for _, tt := range samlTests {
		t.Run("SAML "+tt.name, func(t *testing.T) {
			b := e.browser(t)
			id, relay, _ := e.samlStart(t, b, bobUPN)
			o := tt.opts
			if o.immutableID == "" || o.immutableID == aliceImmID {
				o.immutableID = bobImmID
			}
			if o.upn == "" {
				o.upn = bobUPN
			}
			if o.destination == "" {
				o.destination = srf
			}
			if o.recipient == "" {
				o.recipient = srf
			}
			if o.inResponseTo == "" {
				o.inResponseTo = id
			}
			if o.issuer == wsfedIssuer {
				o.issuer = samlIssuer
			}
			if tt.name == "UPN outside the realm" {
				o.upn = "bob@contoso.example.test"
			}
			if tt.name == "disabled user" {
				// dave's UPN is in the WS-Fed domain: not this realm.
				tt.want = "AADSTS50107: The requested federation realm object '" + samlIssuer + "' does not exist."
			}
			p := e.postLoginSRF(b, url.Values{"RelayState": {relay}, "SAMLResponse": {e.saml.samlResponse(t, o, now())}})
			if p.status != 200 || p.loc != nil || !strings.HasPrefix(p.errorText(), tt.want) {
				t.Fatalf("= %d %v %q, want %q", p.status, p.loc, p.errorText(), tt.want)
			}
		})
	}
	t.Run("within the clock skew", func(t *testing.T) {
		b := e.browser(t)
		wctx := e.wsFedStart(t, b, aliceUPN)
		p := e.postLoginSRF(b, url.Values{"wa": {"wsignin1.0"}, "wctx": {wctx}, "wresult": {e.wsfed.wsFedResult(t,
			tokenOpts{immutableID: aliceImmID, upn: aliceUPN, notBefore: now().Add(4 * time.Minute), notOnOrAfter: now().Add(-4 * time.Minute)}, now())}})
		e.redeem(t, p)
	})
	t.Run("unknown wctx", func(t *testing.T) {
		p := e.postLoginSRF(e.browser(t), url.Values{"wa": {"wsignin1.0"}, "wctx": {"nope"}, "wresult": {e.wsfed.wsFedResult(t, tokenOpts{immutableID: aliceImmID, upn: aliceUPN}, now())}})
		if !strings.HasPrefix(p.errorText(), "AADSTS50089: ") {
			t.Errorf("= %d %q", p.status, p.errorText())
		}
	})
}

func TestFederatedPasswordGrantRefused(t *testing.T) {
	e := startFedEnv(t)
	st, body := e.token(t, url.Values{"grant_type": {"password"}, "client_id": {tenant.PasswordGrantClientID}, "username": {aliceUPN},
		"password": {"Xy!long-enough-1"}, "scope": {"https://graph.microsoft.com/.default"}})
	if codes, _ := body["error_codes"].([]any); st != 400 || body["error"] != "invalid_grant" || len(codes) != 1 || codes[0] != float64(50126) {
		t.Errorf("ROPC of a federated user = %d %v", st, body)
	}
	// A managed account still signs in with its password.
	st, body = e.token(t, url.Values{"grant_type": {"password"}, "client_id": {tenant.PasswordGrantClientID}, "username": {adminUPN},
		"password": {adminPass}, "scope": {"https://graph.microsoft.com/.default"}})
	if st != 200 {
		t.Errorf("ROPC of a managed user = %d %v", st, body)
	}
}

func TestFederatedUserRealm(t *testing.T) {
	e := startFedEnv(t)
	get := func(user string) map[string]any {
		resp, err := e.srv.Client().Get(e.srv.URL + "/common/userrealm/" + url.PathEscape(user) + "?api-version=1.0")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := jsonDecode(resp, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	ws := get(aliceUPN)
	if ws["account_type"] != "Federated" || ws["federation_protocol"] != "WSTrust" || ws["AuthURL"] != wsfedPassive ||
		ws["federation_metadata_url"] != "http://127.0.0.1:9/adfs/services/trust/mex" || ws["federation_active_auth_url"] != "http://127.0.0.1:9/adfs/services/trust/2005/usernamemixed" {
		t.Errorf("WS-Fed user realm = %v", ws)
	}
	sm := get(bobUPN)
	if sm["account_type"] != "Federated" || sm["federation_protocol"] != "SAML20" || sm["AuthURL"] != samlPassive || sm["federation_metadata_url"] != nil {
		t.Errorf("SAML user realm = %v", sm)
	}
}

func TestSignedAuthnRequest(t *testing.T) {
	e := startFedEnv(t)
	tok, err := e.tn.MintToken(tenant.TokenSpec{BaseURL: e.srv.URL, User: "global.admin@contoso.onmicrosoft.com"})
	if err != nil {
		t.Fatal(err)
	}
	graph := func(method, path, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, e.srv.URL+"/v1.0/"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = jsonDecode(resp, &m)
		return resp.StatusCode, m
	}
	_, list := graph("GET", "domains/"+samlDomain+"/federationConfiguration", "")
	fid := list["value"].([]any)[0].(map[string]any)["id"].(string)
	if st, body := graph("PATCH", "domains/"+samlDomain+"/federationConfiguration/"+fid, `{"isSignedAuthenticationRequestRequired":true}`); st != 200 {
		t.Fatalf("PATCH = %d %v", st, body)
	}
	_, _, req := e.samlStart(t, e.browser(t), bobUPN)
	if req.SelectAttrValue("Destination", "") != samlPassive || req.ChildElements()[1].Tag != "Signature" {
		t.Fatalf("signed AuthnRequest without Destination or Signature after Issuer")
	}
	// The signature verifies with the tenant's published signing certificate.
	resp, err := e.srv.Client().Get(e.authority() + "/discovery/v2.0/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var jwks struct {
		Keys []struct {
			X5c []string `json:"x5c"`
		} `json:"keys"`
	}
	if err := jsonDecode(resp, &jwks); err != nil || len(jwks.Keys) == 0 || len(jwks.Keys[0].X5c) == 0 {
		t.Fatalf("keys: %v", err)
	}
	der, _ := base64.StdEncoding.DecodeString(jwks.Keys[0].X5c[0])
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	if _, err := vc.Validate(req); err != nil {
		t.Errorf("AuthnRequest signature: %v", err)
	}
}

func jsonDecode(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }
