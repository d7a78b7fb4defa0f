package tenant

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// Federated sign-in. When the user name typed on the sign-in page is in a
// verified Federated domain, the password is not asked for: the browser is
// sent to the domain's passiveSignInUri (home realm discovery), by the
// domain's preferredAuthenticationProtocol:
//
//   - wsFed: 302 to passiveSignInUri?wa=wsignin1.0&wtrealm=urn:federation:MicrosoftOnline
//     &wctx=<the sign-in flow's id>&username=<upn>; the federation service
//     posts wa=wsignin1.0, wresult (an RSTR holding a signed SAML 1.1
//     assertion) and wctx to its configured endpoint for Entra, here
//     {base}/login.srf (LoginSRFPath);
//   - saml: an HTML form that posts SAMLRequest (a samlp:AuthnRequest, as in
//     how-to-connect-fed-saml-idp.md) and RelayState=<flow id> to
//     passiveSignInUri (HTTP-POST binding); the IdP posts SAMLResponse and
//     RelayState to login.srf.
//
// login.srf checks the token against the domain the flow was sent for: the
// issuer is the domain's issuerUri, the signature verifies with its
// signingCertificate or nextSigningCertificate (XML-DSig, enveloped), the
// audience is urn:federation:MicrosoftOnline, the validity window holds
// (5 minutes of clock skew), and for SAML 2.0 the Destination and Recipient
// are login.srf and InResponseTo is the AuthnRequest's ID. The ImmutableID
// (the ImmutableID attribute, else the NameIdentifier / NameID) names the
// user by onPremisesImmutableId; a UPN claim (WS-Fed UPN, SAML IDPEmail)
// must be in a domain federated with the same issuer, and so must the
// user's UPN. Then the sign-in ends as a password sign-in does: a code
// goes to the client's redirect URI.
//
// Every refusal shows the sign-in service's error page with its AADSTS
// code, and ends the sign-in: Entra shows its own error page, not the
// client's, when a federation token is refused.
// Guess: a refused federation token shows the error page and is not sent back to the client's redirect URI.

// LoginSRFPath is the path of the endpoint federation services post their
// tokens to (https://login.microsoftonline.com/login.srf in the real cloud;
// {base}/login.srf here).
const LoginSRFPath = "/login.srf"

// FederationRealm is the identifier Entra is known by to federation
// services: the wtrealm of WS-Fed, the Issuer of its AuthnRequests, the
// audience of the tokens it accepts.
const FederationRealm = cloudAudienceURN

// XML namespaces and values of the token formats.
const (
	nsSAML1         = "urn:oasis:names:tc:SAML:1.0:assertion"
	nsSAML2         = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsSAMLP         = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsClaims        = "http://schemas.xmlsoap.org/claims"
	nsLiveID        = "http://schemas.microsoft.com/LiveID/Federation/2008/05"
	nameIDPersisted = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
	statusSuccess   = "urn:oasis:names:tc:SAML:2.0:status:Success"
	cmBearer2       = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
	fedClockSkew    = 5 * time.Minute
	samlTimeLayout  = "2006-01-02T15:04:05.000Z"
)

// amrFederated is the amr of a federated sign-in.
// Guess: a federated sign-in's tokens carry amr ["fed"] (Entra's value depends on what the federation service asserts).
var amrFederated = []string{"fed"}

// fedRedirect is where a sign-in flow was sent for a federated domain.
type fedRedirect struct {
	Domain    string
	Protocol  string
	RequestID string // the AuthnRequest's ID (saml)
	UPN       string // as typed
}

func (s *identity) setFlowFed(id string, f fedRedirect) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if fl, ok := s.flows[id]; ok {
		fl.Fed = &f
	}
}

// userDomain is the domain part of a user name, lower-cased.
func userDomain(upn string) string {
	i := strings.LastIndex(upn, "@")
	if i < 0 {
		return ""
	}
	return strings.ToLower(upn[i+1:])
}

// federatedDomainLocked is the verified Federated domain of a user name
// (exact match of the UPN suffix; a subdomain of a federated domain is a
// domain of its own here), or nil. Caller holds t.mu.
// Guess: home realm discovery matches the user name's domain exactly, not the parent of a subdomain.
func (t *Tenant) federatedDomainLocked(upn string) *domain {
	d := t.domainLocked(userDomain(upn))
	if d == nil || !d.Verified || !strings.EqualFold(d.AuthenticationType, "Federated") {
		return nil
	}
	return d
}

// errFederationService is what a federated domain without a usable
// configuration gets: a domain seeded Federated without one, or without
// a preferredAuthenticationProtocol ("This parameter must be configured
// explicitly for the federation passive authentication flow to work", beta
// domain-post-federationconfiguration).
// Guess: a federated domain whose configuration cannot start a passive sign-in gets AADSTS50000.
var errFederationService = &tokenError{http.StatusBadRequest, "server_error", 50000,
	"There was an error issuing a token or an issue with our sign-in service.", ""}

// startFederatedSignIn sends the browser to the federation service of upn's
// domain when it is federated, and reports whether it did (or showed why
// it could not).
func (t *Tenant) startFederatedSignIn(w http.ResponseWriter, r *http.Request, ctx string, fl signInFlow, upn string) bool {
	t.mu.Lock()
	d := t.federatedDomainLocked(upn)
	var fed *Federation
	if d != nil && d.Federation != nil {
		f := *d.Federation
		fed = &f
	}
	t.mu.Unlock()
	if d == nil {
		return false
	}
	if fed == nil || (fed.PreferredAuthenticationProtocol != ProtocolWSFed && fed.PreferredAuthenticationProtocol != ProtocolSAML) {
		t.idp.endFlow(ctx)
		t.renderError(w, r, errFederationService)
		return true
	}
	target, err := url.Parse(fed.PassiveSignInURI)
	if err != nil {
		t.idp.endFlow(ctx)
		t.renderError(w, r, errFederationService)
		return true
	}
	redirect := fedRedirect{Domain: d.Name, Protocol: fed.PreferredAuthenticationProtocol, UPN: upn}
	if redirect.Protocol == ProtocolWSFed {
		t.idp.setFlowFed(ctx, redirect)
		q := target.Query()
		q.Set("wa", "wsignin1.0")
		q.Set("wtrealm", FederationRealm)
		q.Set("wctx", ctx)
		q.Set("username", upn)
		target.RawQuery = q.Encode()
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, target.String(), http.StatusFound)
		return true
	}
	redirect.RequestID = "_" + newGUID()
	req, err := t.authnRequest(redirect.RequestID, fed)
	if err != nil {
		slog.Error("tenant: unable to make a SAML AuthnRequest", "err", err)
		t.idp.endFlow(ctx)
		t.renderError(w, r, errFederationService)
		return true
	}
	t.idp.setFlowFed(ctx, redirect)
	renderSAMLPost(w, fed.PassiveSignInURI, url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(req)}, "RelayState": {ctx}})
	return true
}

// authnRequest is the SAML AuthnRequest Entra sends (how-to-connect-fed-saml-idp.md):
// ID, Version 2.0, IssueInstant, Issuer urn:federation:MicrosoftOnline and a
// persistent NameIDPolicy. With isSignedAuthenticationRequestRequired it
// also carries Destination and an enveloped signature, made here with the
// tenant's token-signing key and its certificate in KeyInfo (Entra signs
// with "the OrgID signing key", RSA-SHA1, and names it by X509SKI and
// KeyName MicrosoftOnline).
// Guess: a signed AuthnRequest is signed RSA-SHA256 with the token-signing key, its certificate in KeyInfo.
func (t *Tenant) authnRequest(id string, fed *Federation) ([]byte, error) {
	doc := etree.NewDocument()
	req := doc.CreateElement("samlp:AuthnRequest")
	req.CreateAttr("xmlns:samlp", nsSAMLP)
	req.CreateAttr("ID", id)
	req.CreateAttr("Version", "2.0")
	req.CreateAttr("IssueInstant", t.now().UTC().Format(samlTimeLayout))
	if fed.IsSignedAuthenticationRequestRequired {
		req.CreateAttr("Destination", fed.PassiveSignInURI)
	}
	iss := req.CreateElement("Issuer")
	iss.CreateAttr("xmlns", nsSAML2)
	iss.SetText(FederationRealm)
	req.CreateElement("samlp:NameIDPolicy").CreateAttr("Format", nameIDPersisted)
	if fed.IsSignedAuthenticationRequestRequired {
		sc, err := dsig.NewSigningContext(t.key, [][]byte{t.cert().der})
		if err != nil {
			return nil, fmt.Errorf("tenant: unable to sign the AuthnRequest: %w", err)
		}
		sc.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
		signed, err := sc.SignEnveloped(req)
		if err != nil {
			return nil, fmt.Errorf("tenant: unable to sign the AuthnRequest: %w", err)
		}
		// The schema puts Signature right after Issuer; the enveloped
		// transform leaves it out of the digest wherever it is.
		// (goxmldsig appends it without making it a child by etree's
		// book-keeping, so it is taken out by position.)
		sig := signed.RemoveChildAt(len(signed.Child) - 1)
		signed.InsertChildAt(1, sig)
		doc.SetRoot(signed)
	}
	return doc.WriteToBytes()
}

var samlPostTemplate = template.Must(template.New("samlpost").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Working...</title></head>
<body>
<form method="post" action="{{.Action}}">
{{range $k, $vs := .Params}}{{range $vs}}<input type="hidden" name="{{$k}}" value="{{.}}">
{{end}}{{end}}<p>Taking you to your organization's sign-in page.</p>
<button type="submit" data-testid="tenant-continue">Continue</button>
</form>
<script nonce="{{.Nonce}}">document.forms[0].submit()</script>
</body>
</html>
`))

// renderSAMLPost is the HTTP-POST binding: a form the script submits, with
// a button for a browser without script.
func renderSAMLPost(w http.ResponseWriter, action string, params url.Values) {
	nonce := randomB64(16)
	var buf bytes.Buffer
	if err := samlPostTemplate.Execute(&buf, map[string]any{"Action": action, "Params": params, "Nonce": nonce}); err != nil {
		http.Error(w, "unable to render the request", http.StatusInternalServerError)
		return
	}
	securityHeaders(w, nonce)
	_, _ = w.Write(buf.Bytes())
}

// ---- login.srf --------------------------------------------------------------

// fedToken is what a federation token says, read from its verified parts.
type fedToken struct {
	Issuer       string
	Audiences    []string
	NotBefore    time.Time // zero when absent
	NotOnOrAfter time.Time
	ImmutableID  string
	UPN          string
}

// The errors of login.srf. AADSTS50107's text is the one public reports
// quote; AADSTS50008 "SAML token is invalid." is the generic refusal of a
// federation token, and what follows it here names the check that failed.
// Guess: the detail after "SAML token is invalid." names the failed check in the emulator's words.
func errSAMLInvalid(detail string) *tokenError {
	msg := "SAML token is invalid."
	if detail != "" {
		msg += " " + detail
	}
	return &tokenError{http.StatusBadRequest, "invalid_request", 50008, msg, ""}
}

func errRealm(issuer string) *tokenError {
	return &tokenError{http.StatusBadRequest, "invalid_request", 50107,
		fmt.Sprintf("The requested federation realm object '%s' does not exist.", issuer), ""}
}

// Guess: a token signed by a key that is not the domain's gets AADSTS50008 "Unable to verify token signature. The signing key identifier does not match any valid registered keys."
var errUntrustedKey = &tokenError{http.StatusBadRequest, "invalid_request", 50008,
	"Unable to verify token signature. The signing key identifier does not match any valid registered keys.", ""}

// Guess: a token whose signature or digest does not verify gets AADSTS50006.
var errBadSignature = &tokenError{http.StatusBadRequest, "invalid_request", 50006,
	"Signature verification failed because of an invalid signature.", ""}

// Guess: a token outside its validity window gets AADSTS500133 "Assertion is not within its valid time range.".
var errTokenTime = &tokenError{http.StatusBadRequest, "invalid_request", 500133,
	"Assertion is not within its valid time range.", ""}

// errNoSuchFederatedUser is the answer for an ImmutableID no user has (the
// well-known AADSTS51004 of a mismatched ImmutableID), or a user outside
// the token's realm.
// Guess: AADSTS51004's text, and that it also answers a user whose domain is not federated with the token's issuer.
func (t *Tenant) errNoSuchFederatedUser() *tokenError {
	return &tokenError{http.StatusBadRequest, "invalid_request", 51004,
		fmt.Sprintf("The user account {EUII Hidden} does not exist in the %s directory. To sign into this application, the account must be added to the directory.", t.tenantID), ""}
}

// errFlowGone answers a token whose wctx / RelayState names no sign-in
// that was sent to a federation service.
// Guess: a token for an unknown or expired wctx or RelayState gets AADSTS50089.
var errFlowGone = &tokenError{http.StatusBadRequest, "invalid_request", 50089,
	"Authentication failed due to flow token expired. Go back to the application and sign in again.", ""}

// handleLoginSRF is POST /login.srf.
func (t *Tenant) handleLoginSRF(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		t.renderError(w, r, errSAMLInvalid("The form could not be read."))
		return
	}
	var ctx string
	saml2 := r.PostForm.Get("SAMLResponse") != ""
	switch {
	case saml2:
		ctx = r.PostForm.Get("RelayState")
	case r.PostForm.Get("wresult") != "":
		if wa := r.PostForm.Get("wa"); wa != "wsignin1.0" {
			t.renderError(w, r, errSAMLInvalid(fmt.Sprintf("The wa parameter is '%s', not wsignin1.0.", wa)))
			return
		}
		ctx = r.PostForm.Get("wctx")
	default:
		t.renderError(w, r, errSAMLInvalid("The request carries neither wresult nor SAMLResponse."))
		return
	}
	fl, ok := t.idp.flow(ctx, t.now())
	if !ok || fl.Fed == nil {
		t.renderError(w, r, errFlowGone)
		return
	}
	// The token ends the sign-in, accepted or not.
	t.idp.endFlow(ctx)
	fed, ok := t.federationOf(fl.Fed.Domain)
	if !ok {
		t.renderError(w, r, errFederationService)
		return
	}
	var tok fedToken
	var terr *tokenError
	if saml2 {
		tok, terr = t.readSAML2(r, fed, fl.Fed)
	} else {
		tok, terr = t.readWSFed(r, fed)
	}
	if terr == nil {
		terr = t.checkFedToken(tok, fed)
	}
	var f signInFacts
	if terr == nil {
		f, terr = t.federatedUser(tok, fed)
	}
	if terr != nil {
		slog.Info("tenant: federation token refused", "domain", fl.Fed.Domain, "aadsts", terr.aadsts, "reason", terr.msg)
		t.renderError(w, r, terr)
		return
	}
	t.completeSignIn(w, r, fl.Req, f, nil, amrFederated)
}

// checkFedToken checks what both formats share: the issuer (again, from
// the verified token), the audience and the validity window.
func (t *Tenant) checkFedToken(tok fedToken, fed Federation) *tokenError {
	if tok.Issuer != fed.IssuerURI {
		return errRealm(tok.Issuer)
	}
	found := false
	for _, a := range tok.Audiences {
		found = found || a == FederationRealm
	}
	if !found {
		return errSAMLInvalid(fmt.Sprintf("The audience of the token is not '%s'.", FederationRealm))
	}
	now := t.now()
	if (!tok.NotBefore.IsZero() && now.Add(fedClockSkew).Before(tok.NotBefore)) ||
		(!tok.NotOnOrAfter.IsZero() && !now.Add(-fedClockSkew).Before(tok.NotOnOrAfter)) {
		return errTokenTime
	}
	if tok.ImmutableID == "" {
		return errSAMLInvalid("The token carries no ImmutableID.")
	}
	return nil
}

// federatedUser finds the token's user by ImmutableID and checks it may
// sign in through this realm.
func (t *Tenant) federatedUser(tok fedToken, fed Federation) (signInFacts, *tokenError) {
	t.mu.Lock()
	inRealm := func(upn string) bool {
		d := t.federatedDomainLocked(upn)
		return d != nil && d.Federation != nil && d.Federation.IssuerURI == fed.IssuerURI
	}
	id, found := t.byImmID[tok.ImmutableID]
	var f signInFacts
	var upnOK, userOK bool
	if found {
		f = t.factsLocked(id)
		userOK = inRealm(f.UPN)
	}
	upnOK = tok.UPN == "" || inRealm(tok.UPN)
	t.mu.Unlock()
	switch {
	case !upnOK:
		// Guess: a UPN claim outside the issuer's federated domains gets AADSTS50107 naming the issuer.
		return signInFacts{}, errRealm(tok.Issuer)
	case !found || !userOK:
		return signInFacts{}, t.errNoSuchFederatedUser()
	}
	if terr := t.errFacts(f, false); terr != nil {
		return signInFacts{}, terr
	}
	return f, nil
}

// verifySigned validates el's enveloped signature with the domain's
// certificates and returns the element as signed (what the digest
// covered, and nothing else). el was found in ctx (its namespaces).
func (t *Tenant) verifySigned(ctx etreeutils.NSContext, el *etree.Element, idAttr string, fed Federation) (*etree.Element, *tokenError) {
	detached, err := etreeutils.NSDetatch(ctx, el)
	if err != nil {
		return nil, errSAMLInvalid("The signed element could not be read.")
	}
	var certs []*x509.Certificate
	for _, s := range []string{fed.SigningCertificate, fed.NextSigningCertificate} {
		if c, err := parseCertificate(s); err == nil {
			certs = append(certs, c)
		}
	}
	var last error
	untrusted := true
	for _, c := range certs {
		vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{c}})
		vc.IdAttribute = idAttr
		vc.Clock = dsig.NewFakeClockAt(t.now())
		v, err := vc.Validate(detached)
		if err == nil {
			return v, nil
		}
		last = err
		switch {
		case errors.Is(err, dsig.ErrMissingSignature):
			return nil, errSAMLInvalid("The token is not signed.")
		case err.Error() == "Could not verify certificate against trusted certs":
		case err.Error() == "Cert is not valid at this time":
			return nil, errSAMLInvalid("The signing certificate is not valid at this time.")
		default:
			untrusted = false
		}
	}
	slog.Debug("tenant: federation token signature", "err", last)
	if untrusted {
		return nil, errUntrustedKey
	}
	return nil, errBadSignature
}

// findAll lists the elements ns:tag under root with their namespace contexts.
func findAll(root *etree.Element, ns, tag string) ([]*etree.Element, []etreeutils.NSContext, error) {
	var els []*etree.Element
	var ctxs []etreeutils.NSContext
	err := etreeutils.NSFindIterate(root, ns, tag, func(ctx etreeutils.NSContext, el *etree.Element) error {
		els = append(els, el)
		ctxs = append(ctxs, ctx)
		return nil
	})
	return els, ctxs, err
}

// child is el's first child element ns:tag, or nil.
func child(el *etree.Element, ns, tag string) *etree.Element {
	if el == nil {
		return nil
	}
	for _, c := range el.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == ns {
			return c
		}
	}
	return nil
}

// children are el's child elements ns:tag.
func children(el *etree.Element, ns, tag string) []*etree.Element {
	var out []*etree.Element
	if el == nil {
		return out
	}
	for _, c := range el.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == ns {
			out = append(out, c)
		}
	}
	return out
}

func parseSAMLTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, true
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	return v, err == nil
}

// readWSFed reads a WS-Fed wresult: a RequestSecurityTokenResponse (WS-Trust
// 2005 or 1.3, alone or in a collection) holding one signed SAML 1.1
// assertion. Only the assertion is trusted; the RSTR around it is not signed.
func (t *Tenant) readWSFed(r *http.Request, fed Federation) (fedToken, *tokenError) {
	doc := etree.NewDocument()
	if err := doc.ReadFromString(r.PostForm.Get("wresult")); err != nil || doc.Root() == nil {
		return fedToken{}, errSAMLInvalid("The wresult is not XML.")
	}
	els, ctxs, err := findAll(doc.Root(), nsSAML1, "Assertion")
	if err != nil || len(els) != 1 {
		return fedToken{}, errSAMLInvalid("The wresult must hold exactly one SAML 1.1 assertion.")
	}
	if iss := els[0].SelectAttrValue("Issuer", ""); iss != fed.IssuerURI {
		return fedToken{}, errRealm(iss)
	}
	a, terr := t.verifySigned(ctxs[0], els[0], "AssertionID", fed)
	if terr != nil {
		return fedToken{}, terr
	}
	tok := fedToken{Issuer: a.SelectAttrValue("Issuer", "")}
	if c := child(a, nsSAML1, "Conditions"); c != nil {
		var ok1, ok2 bool
		tok.NotBefore, ok1 = parseSAMLTime(c.SelectAttrValue("NotBefore", ""))
		tok.NotOnOrAfter, ok2 = parseSAMLTime(c.SelectAttrValue("NotOnOrAfter", ""))
		if !ok1 || !ok2 {
			return fedToken{}, errSAMLInvalid("The Conditions times cannot be read.")
		}
		for _, ar := range children(c, nsSAML1, "AudienceRestrictionCondition") {
			for _, au := range children(ar, nsSAML1, "Audience") {
				tok.Audiences = append(tok.Audiences, text(au))
			}
		}
	}
	var nameID string
	for _, st := range a.ChildElements() {
		if st.NamespaceURI() != nsSAML1 {
			continue
		}
		if n := child(child(st, nsSAML1, "Subject"), nsSAML1, "NameIdentifier"); n != nil && nameID == "" {
			nameID = text(n)
		}
		if st.Tag != "AttributeStatement" {
			continue
		}
		for _, at := range children(st, nsSAML1, "Attribute") {
			v := text(child(at, nsSAML1, "AttributeValue"))
			name, ns := at.SelectAttrValue("AttributeName", ""), at.SelectAttrValue("AttributeNamespace", "")
			switch {
			case name == "UPN" && ns == nsClaims:
				tok.UPN = v
			case name == "ImmutableID" && ns == nsLiveID:
				tok.ImmutableID = v
			}
		}
	}
	if tok.ImmutableID == "" {
		tok.ImmutableID = nameID
	}
	return tok, nil
}

// readSAML2 reads a SAMLResponse: a samlp:Response with one assertion,
// signed itself or inside a signed response. The response's Destination
// and the bearer SubjectConfirmationData's Recipient must be login.srf,
// InResponseTo the AuthnRequest's ID, the status Success.
func (t *Tenant) readSAML2(r *http.Request, fed Federation, sent *fedRedirect) (fedToken, *tokenError) {
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(r.PostForm.Get("SAMLResponse")), ""))
	if err != nil {
		return fedToken{}, errSAMLInvalid("The SAMLResponse is not base64.")
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil || doc.Root() == nil {
		return fedToken{}, errSAMLInvalid("The SAMLResponse is not XML.")
	}
	resp := doc.Root()
	if resp.Tag != "Response" || resp.NamespaceURI() != nsSAMLP {
		return fedToken{}, errSAMLInvalid("The SAMLResponse is not a samlp:Response.")
	}
	if enc, _, _ := findAll(resp, nsSAML2, "EncryptedAssertion"); len(enc) > 0 {
		// Guess: an encrypted assertion from a federation service is refused.
		return fedToken{}, errSAMLInvalid("Encrypted assertions are not accepted.")
	}
	els, ctxs, err := findAll(resp, nsSAML2, "Assertion")
	if err != nil || len(els) != 1 {
		return fedToken{}, errSAMLInvalid("The response must hold exactly one assertion.")
	}
	if iss := text(child(els[0], nsSAML2, "Issuer")); iss != fed.IssuerURI {
		return fedToken{}, errRealm(iss)
	}
	var a *etree.Element
	if sig := child(resp, "http://www.w3.org/2000/09/xmldsig#", "Signature"); sig != nil {
		root := etreeutils.NewDefaultNSContext()
		vr, terr := t.verifySigned(root, resp, "ID", fed)
		if terr != nil {
			return fedToken{}, terr
		}
		resp = vr
		a = child(resp, nsSAML2, "Assertion")
		if a == nil {
			return fedToken{}, errSAMLInvalid("The signed response holds no assertion.")
		}
	} else {
		va, terr := t.verifySigned(ctxs[0], els[0], "ID", fed)
		if terr != nil {
			return fedToken{}, terr
		}
		a = va
	}
	loginSRF := baseURL(r) + LoginSRFPath
	if d := resp.SelectAttrValue("Destination", ""); d != loginSRF {
		return fedToken{}, errSAMLInvalid(fmt.Sprintf("The Destination '%s' of the response is not '%s'.", d, loginSRF))
	}
	if irt := resp.SelectAttrValue("InResponseTo", ""); irt != "" && irt != sent.RequestID {
		return fedToken{}, errSAMLInvalid("The InResponseTo of the response is not the ID of the request.")
	}
	if st := child(child(resp, nsSAMLP, "Status"), nsSAMLP, "StatusCode"); st == nil || st.SelectAttrValue("Value", "") != statusSuccess {
		v := ""
		if st != nil {
			v = st.SelectAttrValue("Value", "")
		}
		return fedToken{}, errSAMLInvalid(fmt.Sprintf("The status of the response is '%s'.", v))
	}
	if ri := child(resp, nsSAML2, "Issuer"); ri != nil && text(ri) != fed.IssuerURI {
		return fedToken{}, errRealm(text(ri))
	}
	tok := fedToken{Issuer: text(child(a, nsSAML2, "Issuer"))}
	subject := child(a, nsSAML2, "Subject")
	if n := child(subject, nsSAML2, "NameID"); n != nil {
		tok.ImmutableID = text(n)
	}
	confirmed := false
	for _, sc := range children(subject, nsSAML2, "SubjectConfirmation") {
		scd := child(sc, nsSAML2, "SubjectConfirmationData")
		if sc.SelectAttrValue("Method", "") != cmBearer2 || scd == nil {
			continue
		}
		if rc := scd.SelectAttrValue("Recipient", ""); rc != loginSRF {
			return fedToken{}, errSAMLInvalid(fmt.Sprintf("The Recipient '%s' of the assertion is not '%s'.", rc, loginSRF))
		}
		if irt := scd.SelectAttrValue("InResponseTo", ""); irt != "" && irt != sent.RequestID {
			return fedToken{}, errSAMLInvalid("The InResponseTo of the assertion is not the ID of the request.")
		}
		noa, ok := parseSAMLTime(scd.SelectAttrValue("NotOnOrAfter", ""))
		if !ok {
			return fedToken{}, errSAMLInvalid("The SubjectConfirmationData times cannot be read.")
		}
		if !noa.IsZero() && !t.now().Add(-fedClockSkew).Before(noa) {
			return fedToken{}, errTokenTime
		}
		confirmed = true
	}
	if !confirmed {
		return fedToken{}, errSAMLInvalid("The assertion has no bearer SubjectConfirmation.")
	}
	if resp.SelectAttrValue("InResponseTo", "") == "" && !hasInResponseTo(subject) {
		return fedToken{}, errSAMLInvalid("The response answers no request (InResponseTo is missing).")
	}
	if c := child(a, nsSAML2, "Conditions"); c != nil {
		var ok1, ok2 bool
		tok.NotBefore, ok1 = parseSAMLTime(c.SelectAttrValue("NotBefore", ""))
		tok.NotOnOrAfter, ok2 = parseSAMLTime(c.SelectAttrValue("NotOnOrAfter", ""))
		if !ok1 || !ok2 {
			return fedToken{}, errSAMLInvalid("The Conditions times cannot be read.")
		}
		for _, ar := range children(c, nsSAML2, "AudienceRestriction") {
			for _, au := range children(ar, nsSAML2, "Audience") {
				tok.Audiences = append(tok.Audiences, text(au))
			}
		}
	}
	for _, st := range children(a, nsSAML2, "AttributeStatement") {
		for _, at := range children(st, nsSAML2, "Attribute") {
			if at.SelectAttrValue("Name", "") == "IDPEmail" {
				tok.UPN = text(child(at, nsSAML2, "AttributeValue"))
			}
		}
	}
	return tok, nil
}

// text is an element's trimmed text; "" for no element.
func text(el *etree.Element) string {
	if el == nil {
		return ""
	}
	return strings.TrimSpace(el.Text())
}

// attr is an element's attribute value; "" for no element.
func attr(el *etree.Element, name string) string {
	if el == nil {
		return ""
	}
	return el.SelectAttrValue(name, "")
}

func hasInResponseTo(subject *etree.Element) bool {
	for _, sc := range children(subject, nsSAML2, "SubjectConfirmation") {
		if attr(child(sc, nsSAML2, "SubjectConfirmationData"), "InResponseTo") != "" {
			return true
		}
	}
	return false
}

// errFederatedPassword answers the password grant for a user of a
// federated domain: Entra would post the credentials to the domain's
// WS-Trust endpoint (activeSignInUri); the emulator does not, and answers
// as Entra does when the federation service refuses them.
// Guess: the password grant of a federated domain's user is refused with AADSTS50126, without asking the federation service.
func (t *Tenant) errFederatedPassword(upn string) *tokenError {
	t.mu.Lock()
	d := t.federatedDomainLocked(upn)
	t.mu.Unlock()
	if d == nil {
		return nil
	}
	return &tokenError{http.StatusBadRequest, "invalid_grant", 50126,
		"Error validating credentials due to invalid username or password.", ""}
}

// federatedIssuer is the issuerUri of the federated domain of upn, or "".
func (t *Tenant) federatedIssuer(upn string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if d := t.federatedDomainLocked(upn); d != nil && d.Federation != nil {
		return d.Federation.IssuerURI
	}
	return ""
}
