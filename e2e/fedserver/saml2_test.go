package fedserver

import (
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/beevik/etree"
	saml2 "github.com/russellhaering/gosaml2"
	dsig "github.com/russellhaering/goxmldsig"
)

// newSP is Microsoft Entra ID as a SAML 2.0 service provider of the
// server, as the tenant emulator sets it up: gosaml2 trusting the
// token-signing certificate.
func newSP(t *testing.T, ts *testServer, ssoURL, idpIssuer string) *saml2.SAMLServiceProvider {
	t.Helper()
	return &saml2.SAMLServiceProvider{
		IdentityProviderSSOURL:      ssoURL,
		IdentityProviderIssuer:      idpIssuer,
		AssertionConsumerServiceURL: testRP,
		ServiceProviderIssuer:       MicrosoftOnline,
		AudienceURI:                 MicrosoftOnline,
		NameIdFormat:                "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
		IDPCertificateStore:         &dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{ts.SigningCertificate()}},
	}
}

// authnRequestURL is the path and query of an HTTP-Redirect AuthnRequest
// from sp, and the request's ID.
func authnRequestURL(t *testing.T, sp *saml2.SAMLServiceProvider, relayState string) (string, string) {
	t.Helper()
	doc, err := sp.BuildAuthRequestDocumentNoSig()
	if err != nil {
		t.Fatal(err)
	}
	id := doc.Root().SelectAttrValue("ID", "")
	full, err := sp.BuildAuthURLFromDocument(relayState, doc)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(full)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path + "?" + u.RawQuery, id
}

func TestSAMLSignIn(t *testing.T) {
	cases := []struct {
		name, path, sso, issuer string
		post                    bool // HTTP-POST binding instead of HTTP-Redirect
	}{
		{"AD FS redirect", "/adfs/ls/", "https://sts.corp.example.test/adfs/ls/", "http://sts.corp.example.test/adfs/services/trust", false},
		{"AD FS post", "/adfs/ls/", "https://sts.corp.example.test/adfs/ls/", "http://sts.corp.example.test/adfs/services/trust", true},
		{"AD FS without trailing slash", "/adfs/ls", "https://sts.corp.example.test/adfs/ls", "http://sts.corp.example.test/adfs/services/trust", false},
		{"PingFederate redirect", "/idp/SSO.saml2", "https://pf.corp.example.test:9031/idp/SSO.saml2", "https://pf.corp.example.test:9031/idp", false},
		{"PingFederate post", "/idp/SSO.saml2", "https://pf.corp.example.test:9031/idp/SSO.saml2", "https://pf.corp.example.test:9031/idp", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, Config{})
			sp := newSP(t, ts, tc.sso, tc.issuer)
			var p page
			var reqID string
			if tc.post {
				doc, err := sp.BuildAuthRequestDocumentNoSig()
				if err != nil {
					t.Fatal(err)
				}
				reqID = doc.Root().SelectAttrValue("ID", "")
				xmlStr, _ := doc.WriteToString()
				p = ts.do(t, http.MethodPost, tc.path, url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString([]byte(xmlStr))}, "RelayState": {"relay-42"}})
			} else {
				var u string
				u, reqID = authnRequestURL(t, sp, "relay-42")
				p = ts.do(t, http.MethodGet, strings.Replace(u, "/adfs/ls/", tc.path, 1), nil)
			}
			if p.status != http.StatusOK {
				t.Fatalf("AuthnRequest: %d %s", p.status, p.body)
			}
			product := "AD FS"
			if strings.HasPrefix(tc.path, "/idp") {
				product = "PingFederate"
			}
			if title := p.doc.Find("title").Text(); !strings.Contains(title, product) || !strings.Contains(p.body, "test stand-in") {
				t.Errorf("title %q does not name %s as a stand-in", title, product)
			}

			wrong := ts.signIn(t, p, testUPN, "wrong-password")
			want := ADFSBadCredentials
			if product == "PingFederate" {
				want = PingBadCredentials
			}
			if got := wrong.doc.Find(`[data-testid="fed-error"]`).Text(); got != want {
				t.Fatalf("wrong password: error %q, want %q", got, want)
			}

			ok := ts.signIn(t, wrong, testUPN, testPassword)
			action, fields := formOf(t, ok)
			if action != testRP || fields.Get("RelayState") != "relay-42" || ok.doc.Find(`[data-testid="fed-continue"]`).Length() != 1 {
				t.Fatalf("post form to %q with %v", action, fields)
			}
			if !strings.Contains(ok.body, "document.forms[0].submit()") {
				t.Errorf("the post form does not submit itself")
			}
			resp := fields.Get("SAMLResponse")

			info, err := sp.RetrieveAssertionInfo(resp)
			if err != nil {
				t.Fatalf("gosaml2 refused the response: %v", err)
			}
			if info.WarningInfo.NotInAudience || info.WarningInfo.InvalidTime {
				t.Errorf("warnings %+v", info.WarningInfo)
			}
			if want := base64.StdEncoding.EncodeToString(testGUID); info.NameID != want {
				t.Errorf("NameID %q, want %q", info.NameID, want)
			}
			if info.NameIDFormat != "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" {
				t.Errorf("NameID format %q", info.NameIDFormat)
			}
			if got := info.Values.Get("IDPEmail"); got != testUPN {
				t.Errorf("IDPEmail %q", got)
			}

			raw, _ := base64.StdEncoding.DecodeString(resp)
			root := parseXML(t, string(raw))
			for _, c := range []struct{ path, attr, want string }{
				{".", "Destination", testRP},
				{".", "InResponseTo", reqID},
				{"./Issuer", "", tc.issuer},
				{"./Status/StatusCode", "Value", "urn:oasis:names:tc:SAML:2.0:status:Success"},
				{"./Assertion/Issuer", "", tc.issuer},
				{"./Assertion/Subject/SubjectConfirmation", "Method", "urn:oasis:names:tc:SAML:2.0:cm:bearer"},
				{"./Assertion/Subject/SubjectConfirmation/SubjectConfirmationData", "Recipient", testRP},
				{"./Assertion/Subject/SubjectConfirmation/SubjectConfirmationData", "InResponseTo", reqID},
				{"./Assertion/Conditions/AudienceRestriction/Audience", "", MicrosoftOnline},
				{"./Assertion/AuthnStatement/AuthnContext/AuthnContextClassRef", "", "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"},
				{"./Assertion/Signature/SignedInfo/SignatureMethod", "Algorithm", dsig.RSASHA256SignatureMethod},
				{"./Assertion/Signature/SignedInfo/CanonicalizationMethod", "Algorithm", string(dsig.CanonicalXML10ExclusiveAlgorithmId)},
			} {
				el := root.FindElement(c.path)
				if el == nil {
					t.Errorf("no %s", c.path)
					continue
				}
				got := el.Text()
				if c.attr != "" {
					got = el.SelectAttrValue(c.attr, "")
				}
				if got != c.want {
					t.Errorf("%s %s = %q, want %q", c.path, c.attr, got, c.want)
				}
			}

			tampered := strings.Replace(string(raw), ">"+testUPN+"<", ">tuser004@corp.example.test<", 1)
			if tampered == string(raw) {
				t.Fatal("the UPN is not in the response")
			}
			if _, err := sp.RetrieveAssertionInfo(base64.StdEncoding.EncodeToString([]byte(tampered))); err == nil {
				t.Error("gosaml2 accepted a tampered response")
			}
			// The assertion alone verifies too (what a stricter SP checks).
			if _, err := verify(t, ts.SigningCertificate(), detach(root.FindElement("./Assertion")), "ID"); err != nil {
				t.Errorf("assertion signature: %v", err)
			}
		})
	}
}

func TestSAMLUnknownServiceProvider(t *testing.T) {
	ts := newTestServer(t, Config{})
	sp := newSP(t, ts, "https://sts.corp.example.test/adfs/ls/", "http://sts.corp.example.test/adfs/services/trust")
	sp.ServiceProviderIssuer = "urn:example:not-microsoft"
	u, _ := authnRequestURL(t, sp, "")
	p := ts.do(t, http.MethodGet, u, nil)
	if p.status != http.StatusBadRequest || p.doc.Find(`[data-testid="fed-password"]`).Length() != 0 {
		t.Fatalf("unknown SP: %d %s", p.status, p.body)
	}
}

// detach copies el into a document of its own, with the namespaces it
// inherited declared on it.
func detach(el *etree.Element) *etree.Element {
	doc := etree.NewDocument()
	c := el.Copy()
	for p := el.Parent(); p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			if (a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns")) && c.SelectAttr(a.FullKey()) == nil {
				c.CreateAttr(a.FullKey(), a.Value)
			}
		}
	}
	doc.SetRoot(c)
	return doc.Root()
}
