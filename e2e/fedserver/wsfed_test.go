package fedserver

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestWSFedSignIn(t *testing.T) {
	cases := []struct {
		name, path, issuer, product string
		cfg                         Config
	}{
		{"AD FS", "/adfs/ls/", "http://sts.corp.example.test/adfs/services/trust", "AD FS", Config{ADFSName: "sts.corp.example.test"}},
		{"AD FS, multi-domain issuer", "/adfs/ls/", "http://corp.example.com/adfs/services/trust/", "AD FS",
			Config{ADFSName: "sts.corp.example.test", Issuer: "http://corp.example.com/adfs/services/trust/"}},
		{"PingFederate", "/idp/prp.wsf", "https://pf.corp.example.test:9031/idp", "PingFederate", Config{PingHost: "pf.corp.example.test:9031"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t, tc.cfg)
			q := url.Values{"wa": {"wsignin1.0"}, "wtrealm": {MicrosoftOnline}, "wctx": {"LoginOptions=3&estsredirect=2&opaque"}, "username": {testUPN}}
			p := ts.do(t, http.MethodGet, tc.path+"?"+q.Encode(), nil)
			if p.status != http.StatusOK {
				t.Fatalf("%d %s", p.status, p.body)
			}
			if got, _ := p.doc.Find(`[data-testid="fed-username"]`).Attr("value"); got != testUPN {
				t.Errorf("user name pre-filled with %q", got)
			}
			if !strings.Contains(p.doc.Find("title").Text(), tc.product) {
				t.Errorf("title %q", p.doc.Find("title").Text())
			}
			wrong := ts.signIn(t, p, testUPN, "wrong-password")
			want := ADFSBadCredentials
			if tc.product == "PingFederate" {
				want = PingBadCredentials
			}
			if got := wrong.doc.Find(`[data-testid="fed-error"]`).Text(); got != want {
				t.Fatalf("wrong password: %q", got)
			}
			ok := ts.signIn(t, wrong, testUPN, testPassword)
			action, fields := formOf(t, ok)
			if action != testRP || fields.Get("wa") != "wsignin1.0" || fields.Get("wctx") != q.Get("wctx") {
				t.Fatalf("posts to %q: %v", action, fields)
			}
			rstr := parseXML(t, fields.Get("wresult"))
			if rstr.Tag != "RequestSecurityTokenResponse" || rstr.NamespaceURI() != "http://schemas.xmlsoap.org/ws/2005/02/trust" {
				t.Fatalf("wresult root %s in %s", rstr.Tag, rstr.NamespaceURI())
			}
			for _, path := range []string{"./Lifetime/Created", "./Lifetime/Expires"} {
				if rstr.FindElement(path) == nil {
					t.Errorf("no %s", path)
				}
			}
			if a := rstr.FindElement("./AppliesTo/EndpointReference/Address"); a == nil || a.Text() != MicrosoftOnline {
				t.Errorf("AppliesTo %v", a)
			}
			assertion := rstr.FindElement("./RequestedSecurityToken/Assertion")
			if assertion == nil {
				t.Fatal("no assertion")
			}
			signed, err := verify(t, ts.SigningCertificate(), detach(assertion), "AssertionID")
			if err != nil {
				t.Fatalf("assertion signature: %v", err)
			}
			immutableID := base64.StdEncoding.EncodeToString(testGUID)
			for _, c := range []struct{ path, attr, want string }{
				{".", "MajorVersion", "1"},
				{".", "MinorVersion", "1"},
				{".", "Issuer", tc.issuer},
				{"./Conditions/AudienceRestrictionCondition/Audience", "", MicrosoftOnline},
				{"./AttributeStatement/Subject/NameIdentifier", "", immutableID},
				{"./AttributeStatement/Attribute[@AttributeName='UPN']", "AttributeNamespace", UPNNamespace},
				{"./AttributeStatement/Attribute[@AttributeName='UPN']/AttributeValue", "", testUPN},
				{"./AttributeStatement/Attribute[@AttributeName='ImmutableID']", "AttributeNamespace", ImmutableIDNamespace},
				{"./AttributeStatement/Attribute[@AttributeName='ImmutableID']/AttributeValue", "", immutableID},
				{"./AuthenticationStatement", "AuthenticationMethod", "urn:oasis:names:tc:SAML:1.0:am:password"},
				{"./AuthenticationStatement/Subject/NameIdentifier", "", immutableID},
			} {
				el := signed.FindElement(c.path)
				if el == nil {
					t.Errorf("no %s in the signed assertion", c.path)
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
			if assertion.NamespaceURI() != "urn:oasis:names:tc:SAML:1.0:assertion" {
				t.Errorf("assertion namespace %q", assertion.NamespaceURI())
			}
			if sm := assertion.FindElement("./Signature/SignedInfo/SignatureMethod"); sm == nil || !strings.HasSuffix(sm.SelectAttrValue("Algorithm", ""), "rsa-sha256") {
				t.Errorf("signature method %v", sm)
			}

			tampered := strings.Replace(fields.Get("wresult"), ">"+testUPN+"<", ">tuser004@corp.example.test<", 1)
			ta := parseXML(t, tampered).FindElement("./RequestedSecurityToken/Assertion")
			if _, err := verify(t, ts.SigningCertificate(), detach(ta), "AssertionID"); err == nil {
				t.Error("a tampered assertion verified")
			}
		})
	}
}

func TestWSFedRefusals(t *testing.T) {
	ts := newTestServer(t, Config{ADFSName: "sts.corp.example.test", PingHost: "pf.corp.example.test:9031", PingNoSPConnection: true})
	cases := []struct {
		name, path string
		q          url.Values
		status     int
	}{
		{"unknown realm", "/adfs/ls/", url.Values{"wa": {"wsignin1.0"}, "wtrealm": {"urn:example:other"}}, http.StatusBadRequest},
		{"no action", "/adfs/ls/", url.Values{}, http.StatusBadRequest},
		{"PingFederate without SP connection", "/idp/prp.wsf", url.Values{"wa": {"wsignin1.0"}, "wtrealm": {MicrosoftOnline}}, http.StatusBadRequest},
		{"sign-out", "/adfs/ls/", url.Values{"wa": {"wsignout1.0"}}, http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := ts.do(t, http.MethodGet, tc.path+"?"+tc.q.Encode(), nil)
			if p.status != tc.status || p.doc.Find(`[data-testid="fed-password"]`).Length() != 0 {
				t.Errorf("%d, want %d, without a sign-in form:\n%s", p.status, tc.status, p.body)
			}
		})
	}
}
