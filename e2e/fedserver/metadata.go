package fedserver

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
)

// Namespaces of the WS-Federation metadata AD FS publishes.
const (
	nsMetadata = "urn:oasis:names:tc:SAML:2.0:metadata"
	nsFed      = "http://docs.oasis-open.org/wsfed/federation/200706"
	nsAuth     = "http://docs.oasis-open.org/wsfed/authorization/200706"
	nsXSI      = "http://www.w3.org/2001/XMLSchema-instance"
	nsDS       = "http://www.w3.org/2000/09/xmldsig#"
	nsWSA      = "http://www.w3.org/2005/08/addressing"
)

// The claims AD FS offers that Entra ID uses.
var adfsClaimsOffered = []struct{ uri, name, desc string }{
	{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn", "UPN", "The user principal name (UPN) of the user"},
	{"http://schemas.xmlsoap.org/claims/UPN", "UPN", "The user principal name (UPN) of the user, as Microsoft Online expects it"},
	{"http://schemas.microsoft.com/LiveID/Federation/2008/05/ImmutableID", "ImmutableID", "The immutable identifier of the user for Microsoft Online"},
	{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier", "Name ID", "The SAML name identifier of the user"},
	{"http://schemas.microsoft.com/ws/2008/06/identity/claims/issuerid", "Issuer ID", "The identifier of the issuer"},
}

// adfsMetadata builds AD FS's FederationMetadata.xml, signed.
func (s *Server) adfsMetadata() (*etree.Document, error) {
	base := s.adfsBase()
	passive := base + "/adfs/ls/"
	cert := base64.StdEncoding.EncodeToString(s.sign.cert.Raw)

	ed := etree.NewElement("EntityDescriptor")
	ed.CreateAttr("xmlns", nsMetadata)
	ed.CreateAttr("ID", "_"+newID())
	ed.CreateAttr("entityID", s.adfsIssuer())

	keyDescriptor := func(parent *etree.Element) {
		kd := parent.CreateElement("KeyDescriptor")
		kd.CreateAttr("use", "signing")
		ki := kd.CreateElement("KeyInfo")
		ki.CreateAttr("xmlns", nsDS)
		ki.CreateElement("X509Data").CreateElement("X509Certificate").SetText(cert)
	}
	endpointRef := func(parent *etree.Element, tag, addr string) {
		epr := parent.CreateElement(tag).CreateElement("wsa:EndpointReference")
		epr.CreateAttr("xmlns:wsa", nsWSA)
		epr.CreateElement("wsa:Address").SetText(addr)
	}

	rd := ed.CreateElement("RoleDescriptor")
	rd.CreateAttr("xmlns:xsi", nsXSI)
	rd.CreateAttr("xmlns:fed", nsFed)
	rd.CreateAttr("xsi:type", "fed:SecurityTokenServiceType")
	rd.CreateAttr("protocolSupportEnumeration", nsFed)
	keyDescriptor(rd)
	tt := rd.CreateElement("fed:TokenTypesOffered")
	tt.CreateElement("fed:TokenType").CreateAttr("Uri", "urn:oasis:names:tc:SAML:2.0:assertion")
	tt.CreateElement("fed:TokenType").CreateAttr("Uri", "urn:oasis:names:tc:SAML:1.0:assertion")
	ct := rd.CreateElement("fed:ClaimTypesOffered")
	for _, c := range adfsClaimsOffered {
		el := ct.CreateElement("auth:ClaimType")
		el.CreateAttr("xmlns:auth", nsAuth)
		el.CreateAttr("Uri", c.uri)
		el.CreateAttr("Optional", "true")
		el.CreateElement("auth:DisplayName").SetText(c.name)
		el.CreateElement("auth:Description").SetText(c.desc)
	}
	endpointRef(rd, "fed:SecurityTokenServiceEndpoint", base+"/adfs/services/trust/2005/usernamemixed")
	endpointRef(rd, "fed:PassiveRequestorEndpoint", passive)

	idp := ed.CreateElement("IDPSSODescriptor")
	idp.CreateAttr("protocolSupportEnumeration", "urn:oasis:names:tc:SAML:2.0:protocol")
	keyDescriptor(idp)
	for _, b := range []string{saml.HTTPRedirectBinding, saml.HTTPPostBinding} {
		slo := idp.CreateElement("SingleLogoutService")
		slo.CreateAttr("Binding", b)
		slo.CreateAttr("Location", passive)
	}
	for _, f := range []string{"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress", string(saml.PersistentNameIDFormat), string(saml.TransientNameIDFormat)} {
		idp.CreateElement("NameIDFormat").SetText(f)
	}
	for _, b := range []string{saml.HTTPRedirectBinding, saml.HTTPPostBinding} {
		sso := idp.CreateElement("SingleSignOnService")
		sso.CreateAttr("Binding", b)
		sso.CreateAttr("Location", passive)
	}
	return s.signedDocument(ed)
}

// pingMetadata builds PingFederate's SAML 2.0 IdP metadata (the same with
// and without PartnerSpId once the SP connection exists), signed.
func (s *Server) pingMetadata(r *http.Request) (*etree.Document, error) {
	idp := s.samlIDP(r, rolePing)
	ed := idp.Metadata()
	ed.ValidUntil, ed.CacheDuration = time.Time{}, 0
	ed.ID = "_" + newID()
	d := &ed.IDPSSODescriptors[0]
	keys := d.KeyDescriptors[:0]
	for _, k := range d.KeyDescriptors {
		if k.Use == "signing" {
			keys = append(keys, k)
		}
	}
	d.KeyDescriptors = keys
	buf, err := xml.Marshal(ed)
	if err != nil {
		return nil, fmt.Errorf("fedserver: unable to write the PingFederate metadata: %w", err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(buf); err != nil {
		return nil, fmt.Errorf("fedserver: unable to read back the PingFederate metadata: %w", err)
	}
	return s.signedDocument(doc.Root())
}

// signedDocument signs an EntityDescriptor (by its ID) and puts the
// signature first, where the metadata schema wants it.
func (s *Server) signedDocument(ed *etree.Element) (*etree.Document, error) {
	signed, err := s.sign.sign(ed, "ID", true)
	if err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	doc.SetRoot(signed)
	return doc, nil
}

func (s *Server) serveADFSMetadata(w http.ResponseWriter, r *http.Request) {
	doc, err := s.adfsMetadata()
	s.writeXML(w, r, doc, err)
}

// servePingMetadata answers /pf/federation_metadata.ping.
func (s *Server) servePingMetadata(w http.ResponseWriter, r *http.Request) {
	partner := r.URL.Query().Get("PartnerSpId")
	if partner != "" && (partner != MicrosoftOnline || !s.pingSP.Load()) {
		// Guess: PingFederate answers a PartnerSpId it has no enabled SP
		// connection for with 404 and a short text, not with its default
		// metadata; the product reads any answer without this partner's
		// metadata as "found, but the SP connection is missing or disabled".
		s.log.Info("metadata for an unknown or disabled SP connection", "partner", partner)
		http.Error(w, "No enabled SP connection found for PartnerSpId "+partner, http.StatusNotFound)
		return
	}
	doc, err := s.pingMetadata(r)
	s.writeXML(w, r, doc, err)
}

func (s *Server) writeXML(w http.ResponseWriter, r *http.Request, doc *etree.Document, err error) {
	var buf []byte
	if err == nil {
		buf, err = doc.WriteToBytes() // never indented: that would break the signature
	}
	if err != nil {
		s.log.Error("writing metadata", "path", r.URL.Path, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	_, _ = w.Write(buf)
}

// serveMex is a minimal WS-MetadataExchange answer: the WSDL service with
// the WS-Trust endpoints AD FS advertises for rich clients.
func (s *Server) serveMex(w http.ResponseWriter, r *http.Request) {
	// Guess: the real document carries full WS-Policy for each binding;
	// hybridsync reads only the endpoint addresses from it.
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="utf-8"`)
	defs := doc.CreateElement("wsdl:definitions")
	defs.CreateAttr("name", "SecurityTokenService")
	defs.CreateAttr("targetNamespace", "http://schemas.microsoft.com/ws/2008/06/identity/securitytokenservice")
	defs.CreateAttr("xmlns:wsdl", "http://schemas.xmlsoap.org/wsdl/")
	defs.CreateAttr("xmlns:soap12", "http://schemas.xmlsoap.org/wsdl/soap12/")
	defs.CreateAttr("xmlns:wsa10", nsWSA)
	defs.CreateAttr("xmlns:tns", "http://schemas.microsoft.com/ws/2008/06/identity/securitytokenservice")
	svc := defs.CreateElement("wsdl:service")
	svc.CreateAttr("name", "SecurityTokenService")
	for _, p := range []struct{ name, path string }{
		{"UserNameWSTrustBinding_IWSTrustFeb2005Async", "/adfs/services/trust/2005/usernamemixed"},
		{"UserNameWSTrustBinding_IWSTrust13Async", "/adfs/services/trust/13/usernamemixed"},
	} {
		port := svc.CreateElement("wsdl:port")
		port.CreateAttr("name", p.name)
		port.CreateAttr("binding", "tns:"+p.name)
		port.CreateElement("soap12:address").CreateAttr("location", s.adfsBase()+p.path)
		port.CreateElement("wsa10:EndpointReference").CreateElement("wsa10:Address").SetText(s.adfsBase() + p.path)
	}
	buf, err := doc.WriteToBytes()
	if err != nil {
		s.log.Error("writing mex", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = w.Write(buf)
}

// newID is a random identifier for XML ID attributes (an NCName after "_").
func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
