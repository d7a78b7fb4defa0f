package federation

import (
	"bytes"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// Metadata is what a federation server's metadata says, in the shape the
// tenant's internalDomainFederation (Microsoft Graph) wants.
type Metadata struct {
	// EntityID is the issuer (AD FS: http://<fs>/adfs/services/trust): the
	// domain federation's issuerUri.
	EntityID string
	// SigningCertificates are the token-signing certificates, base64 DER as
	// Graph's signingCertificate wants: the first is the current one, the
	// second (when published) the next.
	SigningCertificates []string
	PassiveSignInURI    string
	SignOutURI          string
	ActiveSignInURI     string
	MetadataExchangeURI string
	// SAMLSSOURI and SAMLSLOURI are the SAML 2.0 SingleSignOnService and
	// SingleLogoutService, when published.
	SAMLSSOURI string
	SAMLSLOURI string
	// Protocol is Graph's preferredAuthenticationProtocol: "wsFed" for AD FS,
	// "saml" for PingFederate.
	Protocol string
	// Endpoints is every distinct endpoint URL found or derived, in document
	// order, for the connectivity page.
	Endpoints []string
	// SignedBy is the thumbprint (SHA-1, uppercase hex) of the certificate
	// that signed the metadata document; "" when the document is unsigned.
	SignedBy string
}

// The namespaces of federation metadata.
const (
	nsMD  = "urn:oasis:names:tc:SAML:2.0:metadata"
	nsFed = "http://docs.oasis-open.org/wsfed/federation/200706"
	nsWSA = "http://www.w3.org/2005/08/addressing"
	nsDS  = "http://www.w3.org/2000/09/xmldsig#"
	nsXSI = "http://www.w3.org/2001/XMLSchema-instance"
)

// The SAML 2.0 bindings looked for.
const (
	bindingPOST     = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
	bindingRedirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
)

// AD FS's fixed paths (Graph's documented AD FS example; the WS-Trust
// endpoints of an AD FS trust dump, research A1 and Appendix 1a).
const (
	adfsUsernameMixed = "/adfs/services/trust/2005/usernamemixed"
	adfsMex           = "/adfs/services/trust/mex"
)

type entitiesDescriptor struct {
	Entities []entityDescriptor   `xml:"urn:oasis:names:tc:SAML:2.0:metadata EntityDescriptor"`
	Nested   []entitiesDescriptor `xml:"urn:oasis:names:tc:SAML:2.0:metadata EntitiesDescriptor"`
}

type entityDescriptor struct {
	EntityID string           `xml:"entityID,attr"`
	Roles    []roleDescriptor `xml:"urn:oasis:names:tc:SAML:2.0:metadata RoleDescriptor"`
	IDPs     []idpDescriptor  `xml:"urn:oasis:names:tc:SAML:2.0:metadata IDPSSODescriptor"`
}

// roleDescriptor is a WS-Federation role; only the security token service
// (xsi:type fed:SecurityTokenServiceType) is read.
type roleDescriptor struct {
	Type    string          `xml:"http://www.w3.org/2001/XMLSchema-instance type,attr"`
	Keys    []keyDescriptor `xml:"urn:oasis:names:tc:SAML:2.0:metadata KeyDescriptor"`
	Passive []endpointRef   `xml:"http://docs.oasis-open.org/wsfed/federation/200706 PassiveRequestorEndpoint"`
	STS     []endpointRef   `xml:"http://docs.oasis-open.org/wsfed/federation/200706 SecurityTokenServiceEndpoint"`
}

type endpointRef struct {
	Refs []struct {
		Address string `xml:"http://www.w3.org/2005/08/addressing Address"`
	} `xml:"http://www.w3.org/2005/08/addressing EndpointReference"`
}

func (e endpointRef) addresses() []string {
	var out []string
	for _, r := range e.Refs {
		if a := strings.TrimSpace(r.Address); a != "" {
			out = append(out, a)
		}
	}
	return out
}

type idpDescriptor struct {
	Keys []keyDescriptor `xml:"urn:oasis:names:tc:SAML:2.0:metadata KeyDescriptor"`
	SSO  []endpoint      `xml:"urn:oasis:names:tc:SAML:2.0:metadata SingleSignOnService"`
	SLO  []endpoint      `xml:"urn:oasis:names:tc:SAML:2.0:metadata SingleLogoutService"`
}

type endpoint struct {
	Binding  string `xml:"Binding,attr"`
	Location string `xml:"Location,attr"`
}

type keyDescriptor struct {
	Use     string `xml:"use,attr"`
	KeyInfo struct {
		Data []struct {
			Certs []string `xml:"http://www.w3.org/2000/09/xmldsig# X509Certificate"`
		} `xml:"http://www.w3.org/2000/09/xmldsig# X509Data"`
	} `xml:"http://www.w3.org/2000/09/xmldsig# KeyInfo"`
}

// ParseADFS reads WS-Federation metadata as AD FS publishes it at
// /FederationMetadata/2007-06/FederationMetadata.xml: the EntityDescriptor's
// entityID, the security token service role (signing KeyDescriptors,
// PassiveRequestorEndpoint, SecurityTokenServiceEndpoint) and the SAML
// IDPSSODescriptor. A signed document must verify (see verifySignature).
func ParseADFS(doc []byte) (*Metadata, error) {
	verified, signedBy, err := verifySignature(doc)
	if err != nil {
		return nil, err
	}
	entities, err := decodeEntities(verified)
	if err != nil {
		return nil, err
	}
	var ent *entityDescriptor
	var sts *roleDescriptor
	for i := range entities {
		if r := stsRole(&entities[i]); r != nil {
			ent, sts = &entities[i], r
			break
		}
	}
	if sts == nil {
		return nil, errors.New("This is not AD FS federation metadata: it has no WS-Federation security token service (RoleDescriptor of type SecurityTokenServiceType).")
	}
	m := &Metadata{EntityID: strings.TrimSpace(ent.EntityID), Protocol: "wsFed", SignedBy: signedBy}
	keys := append([]keyDescriptor(nil), sts.Keys...)
	for _, idp := range ent.IDPs {
		keys = append(keys, idp.Keys...)
	}
	if m.SigningCertificates, err = signingCerts(keys); err != nil {
		return nil, err
	}
	var passive, stsAddrs []string
	for _, p := range sts.Passive {
		passive = append(passive, p.addresses()...)
	}
	for _, s := range sts.STS {
		stsAddrs = append(stsAddrs, s.addresses()...)
	}
	if len(passive) > 0 {
		m.PassiveSignInURI = passive[0]
		m.SignOutURI = passive[0]
	}
	if len(ent.IDPs) > 0 {
		m.SAMLSSOURI = pick(ent.IDPs[0].SSO, bindingPOST, bindingRedirect)
		m.SAMLSLOURI = pick(ent.IDPs[0].SLO, bindingRedirect, bindingPOST)
	}

	// The active (WS-Trust username) and MEX endpoints are not in the
	// WS-Federation metadata: AD FS publishes one of its WS-Trust endpoints
	// as the SecurityTokenServiceEndpoint (usually .../2005/
	// issuedtokenmixedsymmetricbasic256). Every AD FS farm has
	// /adfs/services/trust/2005/usernamemixed and /adfs/services/trust/mex
	// on the federation service name, so they are derived from its host
	// (Graph's own AD FS example uses exactly these URLs).
	for _, a := range stsAddrs {
		if strings.HasSuffix(strings.TrimSuffix(a, "/"), adfsUsernameMixed) {
			m.ActiveSignInURI = a
		}
	}
	if host := adfsHost(append(append(passive, stsAddrs...), m.EntityID)); host != "" {
		if m.ActiveSignInURI == "" {
			m.ActiveSignInURI = "https://" + host + adfsUsernameMixed
		}
		m.MetadataExchangeURI = "https://" + host + adfsMex
	}
	m.Endpoints = distinct(passive, stsAddrs, []string{m.SAMLSSOURI, m.SAMLSLOURI, m.ActiveSignInURI, m.MetadataExchangeURI})
	return m, nil
}

// stsRole is the entity's WS-Federation security token service role. The
// xsi:type prefix is not resolved: the canonical form a signature check
// returns may drop its declaration (a QName in an attribute value is not a
// "visible use" for exclusive canonicalization), and no other RoleDescriptor
// type is named SecurityTokenServiceType.
func stsRole(e *entityDescriptor) *roleDescriptor {
	for i, r := range e.Roles {
		t := r.Type
		if i := strings.LastIndexByte(t, ':'); i >= 0 {
			t = t[i+1:]
		}
		if t == "SecurityTokenServiceType" {
			return &e.Roles[i]
		}
	}
	return nil
}

// adfsHost is the host (with its port, if any) of the first URL that has one.
func adfsHost(urls []string) string {
	for _, s := range urls {
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			return u.Host
		}
	}
	return ""
}

// ParseSAML reads SAML 2.0 metadata, as PingFederate publishes it for one
// service provider connection at /pf/federation_metadata.ping?PartnerSpId=…:
// the EntityDescriptor's entityID and its IDPSSODescriptor (signing
// KeyDescriptors, SingleSignOnService, SingleLogoutService). For an
// EntitiesDescriptor, the entity with an IDPSSODescriptor is read (never the
// partner's own entity). partner is the service provider's entity ID
// (urn:federation:MicrosoftOnline for Microsoft Entra ID).
//
// A document with no identity provider role is the missing connection: the
// error is ErrNoSPConnection.
func ParseSAML(doc []byte, partner string) (*Metadata, error) {
	verified, signedBy, err := verifySignature(doc)
	if err != nil {
		return nil, err
	}
	entities, err := decodeEntities(verified)
	if err != nil {
		return nil, err
	}
	var ent *entityDescriptor
	for i := range entities {
		if len(entities[i].IDPs) > 0 && (partner == "" || entities[i].EntityID != partner) {
			ent = &entities[i]
			break
		}
	}
	if ent == nil {
		return nil, fmt.Errorf("federation: the metadata for %s has no identity provider (IDPSSODescriptor): %w", partner, ErrNoSPConnection)
	}
	idp := ent.IDPs[0]
	m := &Metadata{EntityID: strings.TrimSpace(ent.EntityID), Protocol: "saml", SignedBy: signedBy}
	if m.SigningCertificates, err = signingCerts(idp.Keys); err != nil {
		return nil, err
	}
	// HTTP-POST first: Entra ID posts the AuthnRequest and wants the token
	// posted back; for sign-out Entra ID uses the Redirect binding (research
	// Appendix 1c).
	m.SAMLSSOURI = pick(idp.SSO, bindingPOST, bindingRedirect)
	m.SAMLSLOURI = pick(idp.SLO, bindingRedirect, bindingPOST)
	m.PassiveSignInURI = m.SAMLSSOURI
	m.SignOutURI = m.SAMLSLOURI
	if m.SignOutURI == "" {
		m.SignOutURI = m.SAMLSSOURI
	}
	// PingFederate's WS-Trust (/idp/sts.wst) and MEX endpoints are not in
	// SAML metadata; the active sign-in URI stays empty (Graph makes it
	// optional for SAML).
	var all []string
	for _, e := range idp.SSO {
		all = append(all, e.Location)
	}
	for _, e := range idp.SLO {
		all = append(all, e.Location)
	}
	m.Endpoints = distinct(all)
	return m, nil
}

// decodeEntities reads an EntityDescriptor, or the entities of an
// EntitiesDescriptor (nested ones too).
func decodeEntities(doc []byte) ([]entityDescriptor, error) {
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var start *xml.StartElement
	for start == nil {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("This is not federation metadata: the XML could not be read (%v).", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			start = &se
		}
	}
	if start.Name.Space != nsMD {
		return nil, fmt.Errorf("This is not federation metadata: the document is a <%s>, not a SAML 2.0 metadata EntityDescriptor.", start.Name.Local)
	}
	switch start.Name.Local {
	case "EntityDescriptor":
		var e entityDescriptor
		if err := dec.DecodeElement(&e, start); err != nil {
			return nil, fmt.Errorf("The federation metadata could not be read: %v.", err)
		}
		return []entityDescriptor{e}, nil
	case "EntitiesDescriptor":
		var es entitiesDescriptor
		if err := dec.DecodeElement(&es, start); err != nil {
			return nil, fmt.Errorf("The federation metadata could not be read: %v.", err)
		}
		return flatten(es), nil
	}
	return nil, fmt.Errorf("This is not federation metadata: the document is a <%s>, not an EntityDescriptor.", start.Name.Local)
}

func flatten(es entitiesDescriptor) []entityDescriptor {
	out := append([]entityDescriptor(nil), es.Entities...)
	for _, n := range es.Nested {
		out = append(out, flatten(n)...)
	}
	return out
}

// signingCerts collects the certificates of the KeyDescriptors for signing
// (use="signing", or no use: both), in order, without repeats, as base64 DER.
func signingCerts(keys []keyDescriptor) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, k := range keys {
		if k.Use != "" && k.Use != "signing" {
			continue
		}
		for _, d := range k.KeyInfo.Data {
			for _, c := range d.Certs {
				der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(c), ""))
				if err == nil {
					_, err = x509.ParseCertificate(der)
				}
				if err != nil {
					return nil, fmt.Errorf("The federation metadata carries a signing certificate that can't be read: %v.", err)
				}
				b64 := base64.StdEncoding.EncodeToString(der)
				if !seen[b64] {
					seen[b64] = true
					out = append(out, b64)
				}
			}
		}
	}
	return out, nil
}

// pick returns the location of the first endpoint with the first binding
// found in order, or the first endpoint's.
func pick(eps []endpoint, bindings ...string) string {
	for _, b := range bindings {
		for _, e := range eps {
			if e.Binding == b && strings.TrimSpace(e.Location) != "" {
				return strings.TrimSpace(e.Location)
			}
		}
	}
	for _, e := range eps {
		if l := strings.TrimSpace(e.Location); l != "" {
			return l
		}
	}
	return ""
}

func distinct(lists ...[]string) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range lists {
		for _, s := range l {
			s = strings.TrimSpace(s)
			if s != "" && !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}

// verifySignature checks the document's own enveloped XML signature (a
// ds:Signature child of the root), if it has one, against the certificate
// the signature carries in its KeyInfo, and returns the signed content (what
// the signature covers, so that nothing outside it is read) with the
// signer's thumbprint. An unsigned document is returned as it is, with "".
//
// The certificate is not checked against a trust anchor here: the document
// came over HTTPS from the server the administrator named, and the caller
// compares SignedBy and the signing certificates with what it expects.
func verifySignature(doc []byte) ([]byte, string, error) {
	doc = bytes.TrimPrefix(doc, []byte("\xef\xbb\xbf")) // AD FS writes a UTF-8 byte order mark
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		return nil, "", fmt.Errorf("This is not federation metadata: the XML could not be read (%v).", err)
	}
	root := d.Root()
	if root == nil {
		return nil, "", errors.New("This is not federation metadata: the document is empty.")
	}
	var sig *etree.Element
	for _, c := range root.ChildElements() {
		if c.Tag == "Signature" && c.NamespaceURI() == nsDS {
			sig = c
			break
		}
	}
	if sig == nil {
		return doc, "", nil
	}
	certEl := sig.FindElement("./KeyInfo/X509Data/X509Certificate")
	if certEl == nil {
		return nil, "", errors.New("The federation metadata is signed, but its signature carries no certificate to check it with.")
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(certEl.Text()), ""))
	if err != nil {
		return nil, "", fmt.Errorf("The federation metadata's signature carries a certificate that can't be read: %v.", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, "", fmt.Errorf("The federation metadata's signature carries a certificate that can't be read: %v.", err)
	}
	vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	signed, err := vc.Validate(root)
	if err != nil {
		return nil, "", fmt.Errorf("The federation metadata's signature does not verify (%v). The document may have been changed after it was signed.", err)
	}
	out := etree.NewDocument()
	out.SetRoot(signed)
	b, err := out.WriteToBytes()
	if err != nil {
		return nil, "", fmt.Errorf("federation: write the signed metadata: %w", err)
	}
	return b, thumbprint(cert), nil
}

func thumbprint(c *x509.Certificate) string {
	sum := sha1.Sum(c.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// Problems lists what keeps the metadata from configuring a federated
// domain, each a sentence for the administrator; none when it is fit.
func (m *Metadata) Problems() []string { return m.problemsAt(time.Now()) }

func (m *Metadata) problemsAt(now time.Time) []string {
	var out []string
	if m.EntityID == "" {
		out = append(out, "The federation metadata names no issuer (entityID).")
	}
	if len(m.SigningCertificates) == 0 {
		out = append(out, "The federation metadata publishes no token-signing certificate.")
	} else if der, err := base64.StdEncoding.DecodeString(m.SigningCertificates[0]); err == nil {
		if c, err := x509.ParseCertificate(der); err == nil && now.After(c.NotAfter) {
			out = append(out, fmt.Sprintf("The token-signing certificate in the federation metadata expired on %s.", c.NotAfter.UTC().Format("2 January 2006")))
		}
	}
	if m.PassiveSignInURI == "" {
		if m.Protocol == "saml" {
			out = append(out, "The federation metadata publishes no SAML sign-in endpoint (SingleSignOnService).")
		} else {
			out = append(out, "The federation metadata publishes no passive sign-in endpoint (PassiveRequestorEndpoint).")
		}
	}
	for _, e := range m.Endpoints {
		u, err := url.Parse(e)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			out = append(out, fmt.Sprintf("The endpoint %s is not an HTTPS URL; Microsoft Entra ID signs users in only through HTTPS endpoints.", e))
		}
	}
	return out
}
