package fedserver

import (
	"fmt"
	"net/http"
	"time"

	"github.com/beevik/etree"
)

// WS-Federation and WS-Trust 2005 names of the passive sign-in.
const (
	nsTrust2005 = "http://schemas.xmlsoap.org/ws/2005/02/trust"
	nsWSU       = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
	nsPolicy    = "http://schemas.xmlsoap.org/ws/2004/09/policy"
	nsSAML11    = "urn:oasis:names:tc:SAML:1.0:assertion"
	// ImmutableIDNamespace and UPNNamespace are the AttributeNamespaces of
	// the two claims Microsoft Online reads from a SAML 1.1 token.
	ImmutableIDNamespace = "http://schemas.microsoft.com/LiveID/Federation/2008/05"
	UPNNamespace         = "http://schemas.xmlsoap.org/claims"
)

// samlTime is xs:dateTime in UTC with milliseconds, as AD FS writes it.
func samlTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// serveADFSLogin is /adfs/ls/: WS-Federation (wa=wsignin1.0) and, as AD FS
// does on the same endpoint, SAML 2.0 AuthnRequests.
func (s *Server) serveADFSLogin(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, roleADFS, http.StatusBadRequest, "The request could not be read.", err)
		return
	}
	if r.Form.Has("SAMLRequest") {
		s.serveSAML(w, r, roleADFS)
		return
	}
	s.serveWSFed(w, r, roleADFS)
}

func (s *Server) servePingWSFed(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, rolePing, http.StatusBadRequest, "The request could not be read.", err)
		return
	}
	s.serveWSFed(w, r, rolePing)
}

// serveWSFed answers the WS-Federation passive requestor profile: the
// sign-in form, then the RequestSecurityTokenResponse posted to the
// relying party with wctx echoed.
func (s *Server) serveWSFed(w http.ResponseWriter, r *http.Request, rl role) {
	switch wa := r.Form.Get("wa"); wa {
	case "wsignin1.0":
	case "wsignout1.0", "wsignoutcleanup1.0":
		s.log.Info("WS-Federation sign-out", "role", rl.String())
		s.render(w, http.StatusOK, errorTmpl, errorPage{Product: rl.String(), Message: "You have signed out."})
		return
	default:
		s.fail(w, r, rl, http.StatusBadRequest, "The request names no WS-Federation action (wa=wsignin1.0) and carries no SAMLRequest.",
			fmt.Errorf("wa=%q", wa))
		return
	}
	realm := r.Form.Get("wtrealm")
	if realm != MicrosoftOnline || (rl == rolePing && !s.pingSP.Load()) {
		// AD FS: MSIS7007 "The requested relying party trust '…' is
		// unspecified or unsupported."
		msg := fmt.Sprintf("MSIS7007: The requested relying party trust '%s' is unspecified or unsupported.", realm)
		if rl == rolePing {
			// Guess: PingFederate's page for a realm without an enabled SP
			// connection; its exact wording is not public.
			msg = fmt.Sprintf("There is no enabled SP connection for the realm '%s'.", realm)
		}
		s.fail(w, r, rl, http.StatusBadRequest, msg, fmt.Errorf("unknown realm %q", realm))
		return
	}
	hidden := []field{{"wa", "wsignin1.0"}, {"wtrealm", realm}}
	if wctx := r.Form.Get("wctx"); wctx != "" {
		hidden = append(hidden, field{"wctx", wctx})
	}
	submitted := r.Method == http.MethodPost && r.PostForm.Get("fedAction") == "signin"
	id, ok := s.signIn(w, r, rl, hidden, submitted)
	if !ok {
		return
	}
	issuer := s.adfsIssuer()
	if rl == rolePing {
		issuer = s.pingEntityID(r)
	}
	wresult, err := s.wsfedResult(issuer, id, time.Now())
	if err != nil {
		s.fail(w, r, rl, http.StatusInternalServerError, "The token could not be issued.", err)
		return
	}
	fields := []field{{"wa", "wsignin1.0"}, {"wresult", wresult}}
	if wctx := r.PostForm.Get("wctx"); wctx != "" {
		fields = append(fields, field{"wctx", wctx})
	}
	s.log.Info("WS-Federation token issued", "role", rl.String(), "upn", id.UPN, "immutableID", id.ImmutableID, "to", s.cfg.RelyingParty)
	s.render(w, http.StatusOK, postTmpl, postPage{Product: rl.String(), Action: s.cfg.RelyingParty, Fields: fields})
}

// wsfedResult is the wresult AD FS posts: a WS-Trust 2005
// RequestSecurityTokenResponse holding a signed SAML 1.1 assertion.
func (s *Server) wsfedResult(issuer string, id Identity, now time.Time) (string, error) {
	assertion, err := s.saml11Assertion(issuer, id, now)
	if err != nil {
		return "", err
	}
	rstr := etree.NewElement("t:RequestSecurityTokenResponse")
	rstr.CreateAttr("xmlns:t", nsTrust2005)
	life := rstr.CreateElement("t:Lifetime")
	created := life.CreateElement("wsu:Created")
	created.CreateAttr("xmlns:wsu", nsWSU)
	created.SetText(samlTime(now))
	expires := life.CreateElement("wsu:Expires")
	expires.CreateAttr("xmlns:wsu", nsWSU)
	expires.SetText(samlTime(now.Add(s.cfg.TokenLifetime)))
	applies := rstr.CreateElement("wsp:AppliesTo")
	applies.CreateAttr("xmlns:wsp", nsPolicy)
	epr := applies.CreateElement("wsa:EndpointReference")
	epr.CreateAttr("xmlns:wsa", nsWSA)
	epr.CreateElement("wsa:Address").SetText(MicrosoftOnline)
	rstr.CreateElement("t:RequestedSecurityToken").AddChild(assertion)
	rstr.CreateElement("t:TokenType").SetText(nsSAML11)
	rstr.CreateElement("t:RequestType").SetText(nsTrust2005 + "/Issue")
	rstr.CreateElement("t:KeyType").SetText("http://schemas.xmlsoap.org/ws/2005/05/identity/NoProofKey")
	doc := etree.NewDocument()
	doc.SetRoot(rstr)
	out, err := doc.WriteToString()
	if err != nil {
		return "", fmt.Errorf("fedserver: unable to write the token response: %w", err)
	}
	return out, nil
}

// saml11Assertion is the signed SAML 1.1 assertion AD FS issues to
// urn:federation:MicrosoftOnline with Entra Connect's claim rules: the
// ImmutableID as NameIdentifier, the UPN and ImmutableID attributes.
func (s *Server) saml11Assertion(issuer string, id Identity, now time.Time) (*etree.Element, error) {
	a := etree.NewElement("saml:Assertion")
	a.CreateAttr("xmlns:saml", nsSAML11)
	a.CreateAttr("MajorVersion", "1")
	a.CreateAttr("MinorVersion", "1")
	a.CreateAttr("AssertionID", "_"+newID())
	a.CreateAttr("Issuer", issuer)
	a.CreateAttr("IssueInstant", samlTime(now))
	cond := a.CreateElement("saml:Conditions")
	cond.CreateAttr("NotBefore", samlTime(now))
	cond.CreateAttr("NotOnOrAfter", samlTime(now.Add(s.cfg.TokenLifetime)))
	cond.CreateElement("saml:AudienceRestrictionCondition").CreateElement("saml:Audience").SetText(MicrosoftOnline)

	subject := func(parent *etree.Element) {
		sub := parent.CreateElement("saml:Subject")
		ni := sub.CreateElement("saml:NameIdentifier")
		ni.CreateAttr("Format", "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified")
		ni.SetText(id.ImmutableID)
		sub.CreateElement("saml:SubjectConfirmation").CreateElement("saml:ConfirmationMethod").
			SetText("urn:oasis:names:tc:SAML:1.0:cm:bearer")
	}
	attr := func(parent *etree.Element, name, ns, value string) {
		at := parent.CreateElement("saml:Attribute")
		at.CreateAttr("AttributeName", name)
		at.CreateAttr("AttributeNamespace", ns)
		at.CreateElement("saml:AttributeValue").SetText(value)
	}
	as := a.CreateElement("saml:AttributeStatement")
	subject(as)
	attr(as, "UPN", UPNNamespace, id.UPN)
	attr(as, "ImmutableID", ImmutableIDNamespace, id.ImmutableID)
	authn := a.CreateElement("saml:AuthenticationStatement")
	authn.CreateAttr("AuthenticationMethod", "urn:oasis:names:tc:SAML:1.0:am:password")
	authn.CreateAttr("AuthenticationInstant", samlTime(now))
	subject(authn)
	return s.sign.sign(a, "AssertionID", false)
}
