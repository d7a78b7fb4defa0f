package fedserver

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
)

// spProvider knows one service provider: Microsoft Entra ID, whose
// assertion consumer service is the tenant emulator's login.srf. For
// PingFederate it disappears while the SP connection is off.
type spProvider struct {
	s  *Server
	rl role
}

func (p spProvider) GetServiceProvider(_ *http.Request, id string) (*saml.EntityDescriptor, error) {
	if id != MicrosoftOnline || (p.rl == rolePing && !p.s.pingSP.Load()) {
		return nil, os.ErrNotExist
	}
	return &saml.EntityDescriptor{
		EntityID: MicrosoftOnline,
		SPSSODescriptors: []saml.SPSSODescriptor{{
			SSODescriptor: saml.SSODescriptor{RoleDescriptor: saml.RoleDescriptor{
				ProtocolSupportEnumeration: "urn:oasis:names:tc:SAML:2.0:protocol",
			}},
			// Index 0, the default: Entra's AuthnRequest names
			// AssertionConsumerServiceIndex="0" or no ACS at all.
			AssertionConsumerServices: []saml.IndexedEndpoint{{
				Binding: saml.HTTPPostBinding, Location: p.s.cfg.RelyingParty, Index: 0, IsDefault: new(true),
			}},
		}},
	}, nil
}

// samlIDP is the SAML 2.0 identity provider of a role for this request.
// It is made per request because PingFederate's URLs may depend on the
// port the request came to.
func (s *Server) samlIDP(r *http.Request, rl role) *saml.IdentityProvider {
	var entityID, sso string
	if rl == rolePing {
		entityID, sso = s.pingEntityID(r), s.pingBase(r)+"/idp/SSO.saml2"
	} else {
		entityID, sso = s.adfsIssuer(), s.adfsBase()+"/adfs/ls/"
	}
	slo := sso
	if rl == rolePing {
		slo = s.pingBase(r) + "/idp/SLO.saml2"
	}
	return &saml.IdentityProvider{
		Key:                     s.sign.key,
		Certificate:             s.sign.cert,
		MetadataURL:             mustURL(entityID),
		SSOURL:                  mustURL(sso),
		LogoutURL:               mustURL(slo),
		LogoutBindings:          []string{saml.HTTPRedirectBinding, saml.HTTPPostBinding},
		NameIDFormats:           []saml.NameIDFormat{saml.PersistentNameIDFormat},
		ServiceProviderProvider: spProvider{s: s, rl: rl},
		SignatureMethod:         dsig.RSASHA256SignatureMethod,
	}
}

func mustURL(s string) url.URL {
	u, err := url.Parse(s)
	if err != nil {
		return url.URL{Path: s}
	}
	return *u
}

func (s *Server) servePingSSO(w http.ResponseWriter, r *http.Request) { s.serveSAML(w, r, rolePing) }

// serveSAML answers an AuthnRequest (HTTP-Redirect or HTTP-POST): the
// sign-in form first, then, once the password is right, the SAML Response
// posted to the assertion consumer service.
func (s *Server) serveSAML(w http.ResponseWriter, r *http.Request, rl role) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	idp := s.samlIDP(r, rl)
	req, err := saml.NewIdpAuthnRequest(idp, r)
	if err != nil {
		s.fail(w, r, rl, http.StatusBadRequest, "The SAML request could not be read.", err)
		return
	}
	signingIn := r.Method == http.MethodPost && r.PostForm.Get("fedAction") == "signin"
	if signingIn {
		// The form posts the request again after the user typed: judge its
		// age by when it first arrived, not by how long the user took.
		var ar saml.AuthnRequest
		if xml.Unmarshal(req.RequestBuffer, &ar) == nil && !ar.IssueInstant.IsZero() {
			req.Now = ar.IssueInstant
		}
	}
	s.acceptDestination(idp, req.RequestBuffer)
	if err := req.Validate(); err != nil {
		msg := "The SAML request is not valid."
		if errors.Is(err, saml.ErrUnknownServiceProvider) {
			msg = "There is no enabled connection for the service provider that sent this request; only " + MicrosoftOnline + " is known."
		}
		s.fail(w, r, rl, http.StatusBadRequest, msg, err)
		return
	}
	req.Now = time.Now()
	hidden := []field{{"SAMLRequest", base64.StdEncoding.EncodeToString(req.RequestBuffer)}}
	if req.RelayState != "" {
		hidden = append(hidden, field{"RelayState", req.RelayState})
	}
	id, ok := s.signIn(w, r, rl, hidden, signingIn)
	if !ok {
		return
	}
	session := &saml.Session{
		ID:           newID(),
		CreateTime:   req.Now,
		ExpireTime:   req.Now.Add(s.cfg.TokenLifetime),
		Index:        "_" + newID(),
		NameID:       id.ImmutableID,
		NameIDFormat: string(saml.PersistentNameIDFormat),
		CustomAttributes: []saml.Attribute{{
			Name:   "IDPEmail",
			Values: []saml.AttributeValue{{Type: "xs:string", Value: id.UPN}},
		}},
		AuthnContextClassRef: "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
	}
	if err := (saml.DefaultAssertionMaker{}).MakeAssertion(req, session); err != nil {
		s.fail(w, r, rl, http.StatusInternalServerError, "The token could not be issued.", err)
		return
	}
	s.setLifetimes(req.Assertion, req.Now)
	form, err := req.PostBinding()
	if err != nil {
		s.fail(w, r, rl, http.StatusInternalServerError, "The token could not be issued.", err)
		return
	}
	fields := []field{{"SAMLResponse", form.SAMLResponse}}
	if form.RelayState != "" {
		fields = append(fields, field{"RelayState", form.RelayState})
	}
	s.log.Info("SAML 2.0 token issued", "role", rl.String(), "upn", id.UPN, "immutableID", id.ImmutableID, "acs", form.URL, "inResponseTo", req.Request.ID)
	s.render(w, http.StatusOK, postTmpl, postPage{Product: rl.String(), Action: form.URL, Fields: fields})
}

// acceptDestination lets a request whose Destination names this endpoint in
// another spelling (a trailing slash, the host's case, an explicit :443)
// through crewjam's exact comparison, by taking that spelling as the SSO URL.
func (s *Server) acceptDestination(idp *saml.IdentityProvider, buf []byte) {
	var ar saml.AuthnRequest
	if xml.Unmarshal(buf, &ar) != nil || ar.Destination == "" {
		return
	}
	d, err := url.Parse(ar.Destination)
	if err != nil {
		return
	}
	same := strings.EqualFold(d.Hostname(), idp.SSOURL.Hostname()) &&
		strings.EqualFold(strings.TrimSuffix(d.Path, "/"), strings.TrimSuffix(idp.SSOURL.Path, "/"))
	if same {
		idp.SSOURL = *d
	}
}

// setLifetimes gives the assertion AD FS's lifetimes: valid from now for
// the token lifetime, the bearer confirmation for five minutes.
func (s *Server) setLifetimes(a *saml.Assertion, now time.Time) {
	// Guess: AD FS and PingFederate issue NotBefore = the issue instant
	// (less a little skew) and NotOnOrAfter = + token lifetime, and give the
	// SubjectConfirmationData five minutes; crewjam's 90 s would fail a
	// slow browser.
	a.Conditions.NotBefore = now.Add(-time.Minute)
	a.Conditions.NotOnOrAfter = now.Add(s.cfg.TokenLifetime)
	for i := range a.Subject.SubjectConfirmations {
		if d := a.Subject.SubjectConfirmations[i].SubjectConfirmationData; d != nil {
			d.NotOnOrAfter = now.Add(5 * time.Minute)
		}
	}
}
