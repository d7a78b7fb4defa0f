package federation

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// metadataDoc reads a testdata document with {{CERT}} and {{NEXT_CERT}} replaced
// by the certificates given.
func metadataDoc(t *testing.T, name string, cert, next *x509.Certificate) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(b), "{{CERT}}", b64(cert))
	if next != nil {
		s = strings.ReplaceAll(s, "{{NEXT_CERT}}", b64(next))
	}
	return []byte(s)
}

func b64(c *x509.Certificate) string { return base64.StdEncoding.EncodeToString(c.Raw) }

// signXML signs the document's root with an enveloped signature as AD FS
// does (exclusive c14n, RSA-SHA256, the certificate in KeyInfo), the
// signature first.
func signXML(t *testing.T, doc []byte, key crypto.Signer, cert *x509.Certificate) []byte {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		t.Fatal(err)
	}
	ctx, err := dsig.NewSigningContext(key, [][]byte{cert.Raw})
	if err != nil {
		t.Fatal(err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := ctx.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		t.Fatal(err)
	}
	signed, err := ctx.SignEnveloped(d.Root())
	if err != nil {
		t.Fatal(err)
	}
	// SignEnveloped appends the signature without making signed its parent:
	// remove it by position.
	sig := signed.RemoveChildAt(len(signed.Child) - 1)
	signed.InsertChildAt(0, sig)
	d.SetRoot(signed)
	out, err := d.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestParseADFS(t *testing.T) {
	cert, key := makeCert(t, certSpec{cn: "ADFS Signing - sts.contoso.test", noEKU: true})
	next, _ := makeCert(t, certSpec{cn: "ADFS Signing - sts.contoso.test (next)", noEKU: true})
	otherRSA, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, otherKey := makeCert(t, certSpec{cn: "someone else", noEKU: true, key: otherRSA})
	doc := metadataDoc(t, "adfs-metadata.xml", cert, next)
	signed := signXML(t, doc, key, cert)

	want := Metadata{
		EntityID:            "http://sts.contoso.test/adfs/services/trust",
		SigningCertificates: []string{b64(cert), b64(next)},
		PassiveSignInURI:    "https://sts.contoso.test/adfs/ls/",
		SignOutURI:          "https://sts.contoso.test/adfs/ls/",
		ActiveSignInURI:     "https://sts.contoso.test/adfs/services/trust/2005/usernamemixed",
		MetadataExchangeURI: "https://sts.contoso.test/adfs/services/trust/mex",
		SAMLSSOURI:          "https://sts.contoso.test/adfs/ls/",
		SAMLSLOURI:          "https://sts.contoso.test/adfs/ls/",
		Protocol:            "wsFed",
		Endpoints: []string{
			"https://sts.contoso.test/adfs/ls/",
			"https://sts.contoso.test/adfs/services/trust/2005/issuedtokenmixedsymmetricbasic256",
			"https://sts.contoso.test/adfs/services/trust/2005/usernamemixed",
			"https://sts.contoso.test/adfs/services/trust/mex",
		},
	}
	signedWant := want
	signedWant.SignedBy = thumbprint(cert)
	otherWant := want
	otherWant.SignedBy = thumbprint(other)
	portWant := want
	portWant.EntityID = "http://sts.contoso.test:8443/adfs/services/trust"
	for _, f := range []*string{&portWant.PassiveSignInURI, &portWant.SignOutURI, &portWant.ActiveSignInURI, &portWant.MetadataExchangeURI, &portWant.SAMLSSOURI, &portWant.SAMLSLOURI} {
		*f = strings.Replace(*f, "sts.contoso.test/", "sts.contoso.test:8443/", 1)
	}
	portWant.Endpoints = nil
	for _, e := range want.Endpoints {
		portWant.Endpoints = append(portWant.Endpoints, strings.Replace(e, "sts.contoso.test/", "sts.contoso.test:8443/", 1))
	}
	withUsernameMixed := []byte(strings.Replace(string(doc), "2005/issuedtokenmixedsymmetricbasic256", "2005/usernamemixed", 1))
	umWant := want
	umWant.Endpoints = []string{want.Endpoints[0], want.Endpoints[2], want.Endpoints[3]}

	tests := []struct {
		name    string
		doc     []byte
		want    *Metadata
		errText string
	}{
		{"unsigned", doc, &want, ""},
		{"signed", signed, &signedWant, ""},
		{"with a byte order mark", append([]byte("\xef\xbb\xbf"), signed...), &signedWant, ""},
		{"on port 8443", []byte(strings.ReplaceAll(string(doc), "sts.contoso.test/", "sts.contoso.test:8443/")), &portWant, ""},
		{"STS endpoint is usernamemixed", withUsernameMixed, &umWant, ""},
		{"changed after signing", []byte(strings.Replace(string(signed), "https://sts.contoso.test/adfs/ls/", "https://evil.example.test/adfs/ls/", 1)), nil, "does not verify"},
		{"signed by another certificate (the caller compares SignedBy)", signXML(t, doc, otherKey, other), &otherWant, ""},
		{"signature by another key", swapSigCert(t, signXML(t, doc, otherKey, other), cert), nil, "does not verify"},
		{"PingFederate's SAML metadata", metadataDoc(t, "ping-metadata.xml", cert, nil), nil, "not AD FS federation metadata"},
		{"HTML", []byte("<html><body>Service unavailable</body></html>"), nil, "not federation metadata"},
		{"not XML", []byte("{}"), nil, "not federation metadata"},
		{"broken certificate", []byte(strings.Replace(string(doc), b64(next), "bm90IGEgY2VydGlmaWNhdGU=", 1)), nil, "can't be read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseADFS(tt.doc)
			if tt.errText != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("err = %v, want one saying %q", err, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			compareMetadata(t, m, tt.want)
			if p := m.Problems(); len(p) > 0 {
				t.Errorf("Problems = %q, want none", p)
			}
		})
	}
}

// swapSigCert replaces the certificate in the document's signature with
// cert, as someone would who re-signed a document with their own key and
// claims it is the farm's.
func swapSigCert(t *testing.T, doc []byte, cert *x509.Certificate) []byte {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		t.Fatal(err)
	}
	el := d.Root().FindElement("./Signature/KeyInfo/X509Data/X509Certificate")
	if el == nil {
		t.Fatal("no signature certificate")
	}
	el.SetText(b64(cert))
	out, err := d.WriteToBytes()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func compareMetadata(t *testing.T, got, want *Metadata) {
	t.Helper()
	for _, f := range []struct{ name, got, want string }{
		{"EntityID", got.EntityID, want.EntityID},
		{"PassiveSignInURI", got.PassiveSignInURI, want.PassiveSignInURI},
		{"SignOutURI", got.SignOutURI, want.SignOutURI},
		{"ActiveSignInURI", got.ActiveSignInURI, want.ActiveSignInURI},
		{"MetadataExchangeURI", got.MetadataExchangeURI, want.MetadataExchangeURI},
		{"SAMLSSOURI", got.SAMLSSOURI, want.SAMLSSOURI},
		{"SAMLSLOURI", got.SAMLSLOURI, want.SAMLSLOURI},
		{"Protocol", got.Protocol, want.Protocol},
		{"SignedBy", got.SignedBy, want.SignedBy},
	} {
		if f.got != f.want {
			t.Errorf("%s = %q, want %q", f.name, f.got, f.want)
		}
	}
	if !slices.Equal(got.SigningCertificates, want.SigningCertificates) {
		t.Errorf("SigningCertificates: %d, want %d (or in another order)", len(got.SigningCertificates), len(want.SigningCertificates))
	}
	if !slices.Equal(got.Endpoints, want.Endpoints) {
		t.Errorf("Endpoints = %q, want %q", got.Endpoints, want.Endpoints)
	}
}

func TestParseSAML(t *testing.T) {
	cert, key := makeCert(t, certSpec{cn: "ping signing", noEKU: true})
	doc := metadataDoc(t, "ping-metadata.xml", cert, nil)
	want := Metadata{
		EntityID:            "https://ping.contoso.test:9031/idp",
		SigningCertificates: []string{b64(cert)},
		PassiveSignInURI:    "https://ping.contoso.test:9031/idp/SSO.saml2",
		SignOutURI:          "https://ping.contoso.test:9031/idp/SLO.saml2",
		SAMLSSOURI:          "https://ping.contoso.test:9031/idp/SSO.saml2",
		SAMLSLOURI:          "https://ping.contoso.test:9031/idp/SLO.saml2",
		Protocol:            "saml",
		Endpoints:           []string{"https://ping.contoso.test:9031/idp/SSO.saml2", "https://ping.contoso.test:9031/idp/SLO.saml2"},
	}
	signedWant := want
	signedWant.SignedBy = thumbprint(cert)

	// No SingleLogoutService, SSO by Redirect only.
	var noSLO strings.Builder
	for line := range strings.Lines(string(doc)) {
		if strings.Contains(line, "SingleLogoutService") || strings.Contains(line, "SSO.saml2") && strings.Contains(line, "HTTP-POST") {
			continue
		}
		noSLO.WriteString(line)
	}
	noSLOWant := want
	noSLOWant.SignOutURI, noSLOWant.SAMLSLOURI = want.SAMLSSOURI, ""
	noSLOWant.Endpoints = want.Endpoints[:1]

	entity := func(id, role string) string {
		return `<md:EntityDescriptor entityID="` + id + `">` + role + `</md:EntityDescriptor>`
	}
	idpRole := `<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>` + b64(cert) + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` +
		`<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://ping.contoso.test:9031/idp/SSO.saml2"/></md:IDPSSODescriptor>`
	spRole := `<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://login.microsoftonline.com/login.srf" index="0"/></md:SPSSODescriptor>`
	entities := func(inner ...string) []byte {
		return []byte(`<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">` + strings.Join(inner, "") + `</md:EntitiesDescriptor>`)
	}
	listWant := Metadata{
		EntityID:            "https://ping.contoso.test:9031/idp",
		SigningCertificates: []string{b64(cert)},
		PassiveSignInURI:    "https://ping.contoso.test:9031/idp/SSO.saml2",
		SignOutURI:          "https://ping.contoso.test:9031/idp/SSO.saml2",
		SAMLSSOURI:          "https://ping.contoso.test:9031/idp/SSO.saml2",
		Protocol:            "saml",
		Endpoints:           []string{"https://ping.contoso.test:9031/idp/SSO.saml2"},
	}

	tests := []struct {
		name    string
		doc     []byte
		want    *Metadata
		noConn  bool
		errText string
	}{
		{"unsigned", doc, &want, false, ""},
		{"signed", signXML(t, doc, key, cert), &signedWant, false, ""},
		{"no logout, SSO by redirect", []byte(noSLO.String()), &noSLOWant, false, ""},
		{"entities: the partner, then the IdP", entities(entity(PingPartnerSpID, spRole), entity("https://ping.contoso.test:9031/idp", idpRole)), &listWant, false, ""},
		{"entities: nested", entities(`<md:EntitiesDescriptor>` + entity("https://ping.contoso.test:9031/idp", idpRole) + `</md:EntitiesDescriptor>`), &listWant, false, ""},
		{"entities: the partner alone", entities(entity(PingPartnerSpID, spRole)), nil, true, ""},
		{"an SP entity", []byte(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x">` + spRole + `</md:EntityDescriptor>`), nil, true, ""},
		{"empty entities", entities(), nil, true, ""},
		{"changed after signing", []byte(strings.Replace(string(signXML(t, doc, key, cert)), "SSO.saml2", "SSO.evil", 1)), nil, false, "does not verify"},
		{"not metadata", []byte(`<?xml version="1.0"?><error>no such partner</error>`), nil, false, "not federation metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseSAML(tt.doc, PingPartnerSpID)
			switch {
			case tt.noConn:
				if !errors.Is(err, ErrNoSPConnection) {
					t.Fatalf("err = %v, want ErrNoSPConnection", err)
				}
				return
			case tt.errText != "":
				if err == nil || !strings.Contains(err.Error(), tt.errText) || errors.Is(err, ErrNoSPConnection) {
					t.Fatalf("err = %v, want one saying %q", err, tt.errText)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			compareMetadata(t, m, tt.want)
		})
	}
}

func TestMetadataProblems(t *testing.T) {
	now := time.Now()
	current, _ := makeCert(t, certSpec{cn: "signing", noEKU: true})
	expired, _ := makeCert(t, certSpec{cn: "old signing", noEKU: true, notBefore: now.AddDate(-2, 0, 0), notAfter: now.AddDate(0, 0, -1)})
	fit := Metadata{
		EntityID: "http://sts.contoso.test/adfs/services/trust", SigningCertificates: []string{b64(current)},
		PassiveSignInURI: "https://sts.contoso.test/adfs/ls/", Protocol: "wsFed",
		Endpoints: []string{"https://sts.contoso.test/adfs/ls/"},
	}
	tests := []struct {
		name   string
		change func(*Metadata)
		want   []string
	}{
		{"fit", func(*Metadata) {}, nil},
		{"no issuer", func(m *Metadata) { m.EntityID = "" }, []string{"no issuer"}},
		{"no signing certificate", func(m *Metadata) { m.SigningCertificates = nil }, []string{"no token-signing certificate"}},
		{"expired signing certificate", func(m *Metadata) { m.SigningCertificates = []string{b64(expired), b64(current)} }, []string{"expired on"}},
		{"no passive endpoint", func(m *Metadata) { m.PassiveSignInURI = "" }, []string{"PassiveRequestorEndpoint"}},
		{"no SAML endpoint", func(m *Metadata) { m.PassiveSignInURI, m.Protocol = "", "saml" }, []string{"SingleSignOnService"}},
		{"plain HTTP endpoint", func(m *Metadata) { m.Endpoints = append(m.Endpoints, "http://sts.contoso.test/adfs/ls/") }, []string{"http://sts.contoso.test/adfs/ls/ is not an HTTPS URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := fit
			tt.change(&m)
			got := m.Problems()
			if len(got) != len(tt.want) {
				t.Fatalf("Problems = %q, want %q", got, tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %d = %q, want it to say %q", i, got[i], w)
				}
			}
		})
	}
}
