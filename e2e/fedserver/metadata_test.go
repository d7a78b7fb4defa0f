package fedserver

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
)

// verify checks el's enveloped signature against cert as a relying party
// would, and returns what the signature covers.
func verify(t *testing.T, cert *x509.Certificate, el *etree.Element, idAttr string) (*etree.Element, error) {
	t.Helper()
	ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	ctx.IdAttribute = idAttr
	return ctx.Validate(el)
}

func parseXML(t *testing.T, body string) *etree.Element {
	t.Helper()
	doc := etree.NewDocument()
	if err := doc.ReadFromString(body); err != nil {
		t.Fatalf("not XML: %v\n%s", err, body)
	}
	return doc.Root()
}

func TestADFSMetadata(t *testing.T) {
	ts := newTestServer(t, Config{ADFSName: "sts.corp.example.test"})
	for _, path := range []string{"/FederationMetadata/2007-06/FederationMetadata.xml", "/federationmetadata/2007-06/federationmetadata.xml"} {
		p := ts.do(t, http.MethodGet, path, nil)
		if p.status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, p.status, p.body)
		}
		root := parseXML(t, p.body)
		if root.ChildElements()[0].Tag != "Signature" {
			t.Errorf("the signature is not the first child of EntityDescriptor")
		}
		if _, err := verify(t, ts.SigningCertificate(), root, "ID"); err != nil {
			t.Fatalf("metadata signature: %v", err)
		}
		if _, err := verify(t, otherCert(t), root, "ID"); err == nil {
			t.Errorf("the metadata verifies against another certificate")
		}

		if got := root.SelectAttrValue("entityID", ""); got != "http://sts.corp.example.test/adfs/services/trust" {
			t.Errorf("entityID = %q", got)
		}
		rd := root.FindElement("./RoleDescriptor")
		if rd == nil || rd.SelectAttrValue("xsi:type", "") != "fed:SecurityTokenServiceType" {
			t.Fatalf("no RoleDescriptor of type fed:SecurityTokenServiceType")
		}
		certB64 := base64.StdEncoding.EncodeToString(ts.SigningCertificate().Raw)
		for _, tc := range []struct{ path, want string }{
			{"./KeyDescriptor[@use='signing']/KeyInfo/X509Data/X509Certificate", certB64},
			{"./PassiveRequestorEndpoint/EndpointReference/Address", "https://sts.corp.example.test/adfs/ls/"},
			{"./SecurityTokenServiceEndpoint/EndpointReference/Address", "https://sts.corp.example.test/adfs/services/trust/2005/usernamemixed"},
		} {
			el := rd.FindElement(tc.path)
			if el == nil || el.Text() != tc.want {
				t.Errorf("%s = %v, want %q", tc.path, el, tc.want)
			}
		}
		var claims []string
		for _, c := range rd.FindElements("./ClaimTypesOffered/ClaimType") {
			claims = append(claims, c.SelectAttrValue("Uri", ""))
		}
		for _, want := range []string{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn", "http://schemas.microsoft.com/LiveID/Federation/2008/05/ImmutableID"} {
			if !strings.Contains(strings.Join(claims, " "), want) {
				t.Errorf("ClaimTypesOffered %v lacks %s", claims, want)
			}
		}

		// The SAML 2.0 half, read as a SAML library reads metadata.
		var ed saml.EntityDescriptor
		if err := xml.Unmarshal([]byte(p.body), &ed); err != nil {
			t.Fatal(err)
		}
		if len(ed.IDPSSODescriptors) != 1 {
			t.Fatalf("%d IDPSSODescriptors", len(ed.IDPSSODescriptors))
		}
		d := ed.IDPSSODescriptors[0]
		bindings := map[string]string{}
		for _, e := range d.SingleSignOnServices {
			bindings[e.Binding] = e.Location
		}
		for _, b := range []string{saml.HTTPRedirectBinding, saml.HTTPPostBinding} {
			if bindings[b] != "https://sts.corp.example.test/adfs/ls/" {
				t.Errorf("SingleSignOnService %s = %q", b, bindings[b])
			}
		}
		if len(d.SingleLogoutServices) == 0 || d.KeyDescriptors[0].Use != "signing" ||
			d.KeyDescriptors[0].KeyInfo.X509Data.X509Certificates[0].Data != certB64 {
			t.Errorf("IDPSSODescriptor: SLO %v, keys %+v", d.SingleLogoutServices, d.KeyDescriptors)
		}
	}

	mex := ts.do(t, http.MethodGet, "/adfs/services/trust/mex", nil)
	if mex.status != http.StatusOK || !strings.Contains(mex.body, "https://sts.corp.example.test/adfs/services/trust/2005/usernamemixed") {
		t.Errorf("mex: %d %s", mex.status, mex.body)
	}
}

func TestADFSMetadataTampered(t *testing.T) {
	ts := newTestServer(t, Config{ADFSName: "sts.corp.example.test"})
	p := ts.do(t, http.MethodGet, "/FederationMetadata/2007-06/FederationMetadata.xml", nil)
	tampered := strings.Replace(p.body, "https://sts.corp.example.test/adfs/ls/", "https://evil.example.test/adfs/ls/", 1)
	if _, err := verify(t, ts.SigningCertificate(), parseXML(t, tampered), "ID"); err == nil {
		t.Fatal("tampered metadata verified")
	}
}

func TestPingMetadata(t *testing.T) {
	ts := newTestServer(t, Config{PingHost: "pf.corp.example.test:9031"})
	const withPartner = "/pf/federation_metadata.ping?PartnerSpId=urn:federation:MicrosoftOnline"
	p := ts.do(t, http.MethodGet, withPartner, nil)
	if p.status != http.StatusOK {
		t.Fatalf("%d %s", p.status, p.body)
	}
	root := parseXML(t, p.body)
	if _, err := verify(t, ts.SigningCertificate(), root, "ID"); err != nil {
		t.Fatalf("metadata signature: %v", err)
	}
	var ed saml.EntityDescriptor
	if err := xml.Unmarshal([]byte(p.body), &ed); err != nil {
		t.Fatal(err)
	}
	if ed.EntityID != "https://pf.corp.example.test:9031/idp" {
		t.Errorf("entityID = %q", ed.EntityID)
	}
	d := ed.IDPSSODescriptors[0]
	for _, e := range d.SingleSignOnServices {
		if e.Location != "https://pf.corp.example.test:9031/idp/SSO.saml2" {
			t.Errorf("SSO %s at %q", e.Binding, e.Location)
		}
	}
	if len(d.SingleSignOnServices) != 2 {
		t.Errorf("SSO services %+v", d.SingleSignOnServices)
	}
	if len(d.SingleLogoutServices) == 0 || d.SingleLogoutServices[0].Location != "https://pf.corp.example.test:9031/idp/SLO.saml2" {
		t.Errorf("SLO services %+v", d.SingleLogoutServices)
	}
	if len(d.NameIDFormats) != 1 || d.NameIDFormats[0] != saml.PersistentNameIDFormat {
		t.Errorf("NameIDFormats %v", d.NameIDFormats)
	}
	if len(d.KeyDescriptors) != 1 || d.KeyDescriptors[0].Use != "signing" {
		t.Errorf("KeyDescriptors %+v", d.KeyDescriptors)
	}
	if hb := ts.do(t, http.MethodGet, "/pf/heartbeat.ping", nil); hb.status != http.StatusOK || hb.body != "OK" {
		t.Errorf("heartbeat: %d %q", hb.status, hb.body)
	}
	if wst := ts.do(t, http.MethodPost, "/idp/sts.wst", nil); wst.status != http.StatusNotImplemented {
		t.Errorf("/idp/sts.wst: %d", wst.status)
	}
}

// The port of PingFederate's URLs is the listener's when -ping names none.
func TestPingPortFromListener(t *testing.T) {
	ts := newTestServer(t, Config{PingHost: "pf.corp.example.test"})
	p := ts.do(t, http.MethodGet, "/pf/federation_metadata.ping?PartnerSpId=urn:federation:MicrosoftOnline", nil)
	var ed saml.EntityDescriptor
	if err := xml.Unmarshal([]byte(p.body), &ed); err != nil {
		t.Fatal(err)
	}
	port := ts.http.URL[strings.LastIndex(ts.http.URL, ":")+1:]
	if want := "https://pf.corp.example.test:" + port + "/idp"; ed.EntityID != want {
		t.Errorf("entityID = %q, want %q", ed.EntityID, want)
	}
}

func TestPingNoSPConnection(t *testing.T) {
	ts := newTestServer(t, Config{PingHost: "pf.corp.example.test:9031", PingNoSPConnection: true})
	const withPartner = "/pf/federation_metadata.ping?PartnerSpId=urn:federation:MicrosoftOnline"
	steps := []struct {
		name        string
		toggle      string // "" or the enabled= value posted first
		partner     int    // status with PartnerSpId
		noPartner   int
		heartbeat   int
		ssoAccepted bool
	}{
		{"missing at start", "", http.StatusNotFound, http.StatusOK, http.StatusOK, false},
		{"enabled at run time", "true", http.StatusOK, http.StatusOK, http.StatusOK, true},
		{"disabled again", "false", http.StatusNotFound, http.StatusOK, http.StatusOK, false},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.toggle != "" {
				if p := ts.do(t, http.MethodPost, "/_fedserver/ping-sp-connection?enabled="+st.toggle, nil); p.status != http.StatusOK {
					t.Fatalf("toggle: %d %s", p.status, p.body)
				}
			}
			if p := ts.do(t, http.MethodGet, withPartner, nil); p.status != st.partner {
				t.Errorf("with PartnerSpId: %d, want %d (%s)", p.status, st.partner, p.body)
			}
			if p := ts.do(t, http.MethodGet, "/pf/federation_metadata.ping", nil); p.status != st.noPartner {
				t.Errorf("without PartnerSpId: %d, want %d", p.status, st.noPartner)
			}
			if p := ts.do(t, http.MethodGet, "/pf/heartbeat.ping", nil); p.status != st.heartbeat {
				t.Errorf("heartbeat: %d", p.status)
			}
			sp := newSP(t, ts, "https://pf.corp.example.test:9031/idp/SSO.saml2", "https://pf.corp.example.test:9031/idp")
			u, _ := authnRequestURL(t, sp, "rs")
			p := ts.do(t, http.MethodGet, u, nil)
			accepted := p.status == http.StatusOK && p.doc.Find(`[data-testid="fed-password"]`).Length() == 1
			if accepted != st.ssoAccepted {
				t.Errorf("SSO accepted = %v, want %v (%d %s)", accepted, st.ssoAccepted, p.status, p.body)
			}
		})
	}
	if p := ts.do(t, http.MethodPost, "/_fedserver/ping-sp-connection?enabled=maybe", nil); p.status != http.StatusBadRequest {
		t.Errorf("enabled=maybe: %d", p.status)
	}
}

func otherCert(t *testing.T) *x509.Certificate {
	t.Helper()
	_, c, err := NewSigning("other")
	if err != nil {
		t.Fatal(err)
	}
	return c
}
