package tenant

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// The authorization code flow (learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow):
// GET /{tenant}/oauth2/v2.0/authorize validates the request and renders the
// sign-in page; the page posts to /{tenant}/login (password, then the MFA
// code for accounts that have MFA); success redirects to the redirect URI
// with code and state. The token endpoint redeems the code once, with the
// PKCE verifier, for an access token, an ID token (scope openid) and a
// refresh token (scope offline_access).
//
// All sign-in state is kept here, in memory: the browser only carries the
// flow's random id (the "ctx" field of the form) and, once signed in, a
// session cookie used by prompt=none.

// Lifetimes. Codes: "Typically, they expire after about 10 minutes"
// (v2-oauth2-auth-code-flow). Refresh tokens: 90 days of inactivity
// (AADSTS700082 "... was inactive for 90.00:00:00").
// Guess: the lifetimes of the sign-in flow and of the sign-in session.
const (
	codeLifetime       = 10 * time.Minute
	flowLifetime       = 15 * time.Minute
	refreshInactivity  = 90 * 24 * time.Hour
	sessionLifetime    = 12 * time.Hour
	sessionCookie      = "tenant_session"
	signInPath         = "/login"
	maxOpenSignInFlows = 10000
)

// identity is the sign-in state of a tenant. Its zero value is ready to use.
type identity struct {
	mu       sync.Mutex
	flows    map[string]*signInFlow
	codes    map[string]*authCode
	refresh  map[string]*refreshGrant
	sessions map[string]session

	certOnce sync.Once
	signing  *signingCert // the token-signing key's certificate (certificate.go)
}

// authRequest is a validated authorization request.
type authRequest struct {
	Segment       string // the {tenant} path segment it came on
	ClientID      string
	RedirectURI   string // as sent (a loopback URI keeps its port)
	Scope         string
	State         string
	Nonce         string
	Challenge     string
	Method        string // "S256" or "plain"
	ResponseMode  string // "query", "fragment" or "form_post"
	LoginHint     string
	AppName       string
	GroupsInToken bool
}

// signInFlow is one sign-in in progress.
type signInFlow struct {
	Req     authRequest
	Created time.Time
	UserID  string // set once the password was right and MFA is next
	UPN     string
	Fed     *fedRedirect // set once sent to a federation service (federation_signin.go)
}

type authCode struct {
	Req      authRequest
	UserID   string
	Issued   time.Time
	AuthTime time.Time
	Sign     signedIn
	Redeemed bool
	Refresh  []string // refresh tokens issued from it, revoked if it is replayed
}

// signedIn is how a sign-in went, for the tokens issued from it: the
// authentication methods (amr), the address the user signed in from
// (ipaddr) and the session it made (sid).
type signedIn struct {
	AMR       []string
	IP        string
	SessionID string
}

type refreshGrant struct {
	ClientID  string
	UserID    string
	Scope     string
	AuthTime  time.Time
	LastUsed  time.Time
	Issued    time.Time
	AMR       []string
	IP        string
	SessionID string
}

type session struct {
	UserID  string
	Expires time.Time
	SID     string   // the sid claim: a GUID made with the session
	AMR     []string // how the user signed in to it
}

func (s *identity) initLocked() {
	if s.flows == nil {
		s.flows = map[string]*signInFlow{}
		s.codes = map[string]*authCode{}
		s.refresh = map[string]*refreshGrant{}
		s.sessions = map[string]session{}
	}
}

// sweepLocked forgets expired flows, codes and sessions.
func (s *identity) sweepLocked(now time.Time) {
	for k, f := range s.flows {
		if now.Sub(f.Created) > flowLifetime {
			delete(s.flows, k)
		}
	}
	for k, c := range s.codes {
		if now.Sub(c.Issued) > 2*codeLifetime {
			delete(s.codes, k)
		}
	}
	for k, ss := range s.sessions {
		if now.After(ss.Expires) {
			delete(s.sessions, k)
		}
	}
}

func (s *identity) newFlow(req authRequest, now time.Time) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()
	s.sweepLocked(now)
	if len(s.flows) >= maxOpenSignInFlows {
		return "", false
	}
	id := randomB64(32)
	s.flows[id] = &signInFlow{Req: req, Created: now}
	return id, true
}

// flow returns a copy of a live flow.
func (s *identity) flow(id string, now time.Time) (signInFlow, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.flows[id]
	if !ok || now.Sub(f.Created) > flowLifetime {
		return signInFlow{}, false
	}
	return *f, true
}

func (s *identity) setFlowUser(id, userID, upn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.flows[id]; ok {
		f.UserID, f.UPN = userID, upn
	}
}

func (s *identity) endFlow(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.flows, id)
}

func (s *identity) newCode(req authRequest, userID string, sign signedIn, now time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()
	s.sweepLocked(now)
	code := "1.A" + randomB64(48) // real codes are long opaque strings
	s.codes[code] = &authCode{Req: req, UserID: userID, Issued: now, AuthTime: now, Sign: sign}
	return code
}

// newSession starts a sign-in session: the cookie value, and the session's
// sid.
func (s *identity) newSession(userID string, amr []string, now time.Time) (cookie, sid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()
	cookie, sid = randomB64(32), newGUID()
	s.sessions[cookie] = session{UserID: userID, Expires: now.Add(sessionLifetime), SID: sid, AMR: amr}
	return cookie, sid
}

func (s *identity) session(id string, now time.Time) (session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.sessions[id]
	if !ok || now.After(ss.Expires) {
		return session{}, false
	}
	return ss, true
}

func (s *identity) endSession(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, id)
}

func (s *identity) newRefreshToken(g refreshGrant, now time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()
	g.Issued, g.LastUsed = now, now
	rt := "1.A" + randomB64(64)
	s.refresh[rt] = &g
	return rt
}

// ---- the authorization endpoint ----

// handleAuthorize is GET /{tenant}/oauth2/v2.0/authorize. Errors that cannot
// be sent back to the client (unknown tenant or client, a redirect URI that is
// missing or not registered) are shown on the page and never redirected;
// the others go back to the redirect URI with error, error_description and
// state, as the real endpoint does.
func (t *Tenant) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	seg := r.PathValue("tenant")
	if !t.tenantMatches(seg) {
		t.renderError(w, r, &tokenError{code: "invalid_request", aadsts: 90002, msg: tenantNotFound(seg)})
		return
	}
	req := authRequest{
		Segment:      seg,
		ClientID:     q.Get("client_id"),
		RedirectURI:  q.Get("redirect_uri"),
		Scope:        q.Get("scope"),
		State:        q.Get("state"),
		Nonce:        q.Get("nonce"),
		Challenge:    q.Get("code_challenge"),
		Method:       q.Get("code_challenge_method"),
		ResponseMode: q.Get("response_mode"),
		LoginHint:    q.Get("login_hint"),
	}
	if req.ClientID == "" {
		t.renderError(w, r, errMissing("client_id"))
		return
	}
	app, ok := t.app(req.ClientID)
	if !ok {
		t.renderError(w, r, t.errUnknownClient(req.ClientID))
		return
	}
	req.AppName = app.DisplayName
	if req.RedirectURI == "" {
		// reference-error-codes.md: AADSTS900971 "No reply address provided."
		t.renderError(w, r, &tokenError{code: "invalid_request", aadsts: 900971, msg: "No reply address provided."})
		return
	}
	if !redirectRegistered(app.RedirectURIs, req.RedirectURI) {
		// OfficeDev/microsoft-teams-apps-company-communicator #1035, unoplatform/uno.todo #180.
		t.renderError(w, r, &tokenError{code: "invalid_request", aadsts: 50011, msg: fmt.Sprintf(
			"The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.",
			req.RedirectURI, app.ClientID)})
		return
	}
	// From here on errors go back to the client.
	switch req.ResponseMode {
	case "":
		req.ResponseMode = "query"
	case "query", "fragment", "form_post":
	default:
		req.ResponseMode = "query"
		// reference-error-codes.md names AADSTS70007 UnsupportedResponseMode; the text is ours.
		t.redirectError(w, r, req, &tokenError{code: "invalid_request", aadsts: 70007,
			msg: fmt.Sprintf("The provided value '%s' for the input parameter 'response_mode' is not supported.", q.Get("response_mode"))})
		return
	}
	if terr := checkAuthRequest(q, &req); terr != nil {
		t.redirectError(w, r, req, terr)
		return
	}
	if q.Get("prompt") == "none" {
		var ss session
		if c, err := r.Cookie(sessionCookie); err == nil {
			ss, _ = t.idp.session(c.Value, t.now())
		}
		userID := ss.UserID
		if userID == "" {
			// MSAL.js troubleshooting docs quote this text.
			t.redirectError(w, r, req, &tokenError{code: "login_required", aadsts: 50058, msg: "A silent sign-in request was sent but no user is signed in."})
			return
		}
		f := t.userFacts(userID)
		if terr := t.errFacts(f, false); terr != nil {
			t.redirectError(w, r, req, &tokenError{code: "interaction_required", aadsts: terr.aadsts, msg: terr.msg})
			return
		}
		t.completeSignIn(w, r, req, f, &ss, nil)
		return
	}
	id, ok := t.idp.newFlow(req, t.now())
	if !ok {
		t.redirectError(w, r, req, &tokenError{code: "temporarily_unavailable", aadsts: 90024, msg: "A transient error has occurred. Try again."})
		return
	}
	// A login hint in a federated domain goes straight to its federation
	// service, as Entra's home realm discovery does with a known user name.
	if req.LoginHint != "" {
		if fl, ok := t.idp.flow(id, t.now()); ok && t.startFederatedSignIn(w, r, id, fl, req.LoginHint) {
			return
		}
	}
	t.renderSignIn(w, r, signInPage{Step: "password", Ctx: id, Username: req.LoginHint, AppName: req.AppName})
}

// checkAuthRequest validates the parameters that are the client's to get
// right, once the redirect URI is known to be safe.
func checkAuthRequest(q url.Values, req *authRequest) *tokenError {
	rt := q.Get("response_type")
	switch {
	case rt == "":
		return errMissing("response_type")
	case rt != "code":
		if strings.Contains(rt, "id_token") {
			// reference-error-codes.md, AADSTS700054: the emulated apps have no
			// implicit grant enabled, so the hybrid flow is refused as it would be.
			return &tokenError{code: "unsupported_response_type", aadsts: 700054, msg: "response_type 'id_token' is not enabled for the application."}
		}
		// Entra supports only code, id_token and token.
		// Guess: the text of AADSTS70005 for a response_type Entra doesn't support.
		return &tokenError{code: "unsupported_response_type", aadsts: 70005, msg: fmt.Sprintf("The response_type '%s' is not supported.", rt)}
	case req.Scope == "":
		return errMissing("scope")
	}
	if req.Challenge == "" {
		if req.Method != "" {
			// reference-error-codes.md: AADSTS50147 MissingCodeChallenge; text is ours.
			return &tokenError{code: "invalid_request", aadsts: 50147, msg: "The code_challenge parameter is missing although code_challenge_method was sent."}
		}
		return nil
	}
	switch req.Method {
	case "":
		// "If excluded, code_challenge is assumed to be plaintext" (v2-oauth2-auth-code-flow).
		req.Method = "plain"
	case "S256", "plain":
	default:
		// AADSTS50149 "Invalid Code_Challenge_method parameter." (MicrosoftDocs/entra-docs #1538).
		return &tokenError{code: "invalid_request", aadsts: 50149, msg: "Invalid Code_Challenge_method parameter."}
	}
	if n := len(req.Challenge); n < 43 || n > 128 {
		// reference-error-codes.md: AADSTS501491 InvalidCodeChallengeMethodInvalidSize.
		return &tokenError{code: "invalid_request", aadsts: 501491, msg: "Invalid size of Code_Challenge parameter."}
	}
	return nil
}

// redirectRegistered reports whether uri is one of the registered redirect
// URIs: an exact match (scheme and host compared case-insensitively, path and
// query exactly), except that the port of a localhost or 127.0.0.1 URI is
// ignored (reply-url.md, "Localhost exceptions"). A URI without a path equals
// the same URI with "/".
func redirectRegistered(registered []string, uri string) bool {
	u, err := url.Parse(uri)
	if err != nil || u.Fragment != "" || u.Host == "" {
		return false
	}
	for _, reg := range registered {
		v, err := url.Parse(reg)
		if err != nil {
			continue
		}
		if sameRedirect(v, u) {
			return true
		}
	}
	return false
}

func sameRedirect(reg, got *url.URL) bool {
	if !strings.EqualFold(reg.Scheme, got.Scheme) || !strings.EqualFold(reg.Hostname(), got.Hostname()) {
		return false
	}
	if !isLoopbackHost(reg.Hostname()) && portOf(reg) != portOf(got) {
		return false
	}
	rp, gp := reg.EscapedPath(), got.EscapedPath()
	if rp == "" {
		rp = "/"
	}
	if gp == "" {
		gp = "/"
	}
	return rp == gp && reg.RawQuery == got.RawQuery
}

func isLoopbackHost(h string) bool { return strings.EqualFold(h, "localhost") || h == "127.0.0.1" }

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

// handleSignIn is POST /{tenant}/login, the sign-in page's form: the
// username and password, then the verification code for accounts with MFA.
func (t *Tenant) handleSignIn(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		t.renderError(w, r, &tokenError{code: "invalid_request", aadsts: 90013, msg: "Invalid input received from the user."})
		return
	}
	ctx := r.PostForm.Get("ctx")
	fl, ok := t.idp.flow(ctx, t.now())
	if !ok {
		// reference-error-codes.md: AADSTS50089 "Authentication failed due to flow token expired."
		t.renderError(w, r, &tokenError{code: "invalid_request", aadsts: 50089, msg: "Authentication failed due to flow token expired. Go back to the application and sign in again."})
		return
	}
	page := signInPage{Step: "password", Ctx: ctx, AppName: fl.Req.AppName}
	if fl.UserID == "" {
		upn := strings.TrimSpace(r.PostForm.Get("login"))
		page.Username = upn
		if upn != "" && t.startFederatedSignIn(w, r, ctx, fl, upn) {
			return // home realm discovery: a federated domain's users sign in at its federation service
		}
		f := t.signInFacts(upn, r.PostForm.Get("passwd"))
		// The page texts are the sign-in page's as we remember them; they are
		// not taken from a published source.
		switch {
		case upn == "":
			page.Error = "Enter a valid email address, phone number, or Skype name."
		case !f.Exists:
			page.Error = "This username may be incorrect. Make sure you typed it correctly. Otherwise, contact your admin."
		case r.PostForm.Get("passwd") == "":
			page.Error = "Please enter your password."
		case f.Locked:
			page.Error = "Your account is temporarily locked to prevent unauthorized use. Try again later, and if you still have trouble, contact your admin."
		case !f.PasswordOK:
			page.Error = "Your account or password is incorrect. If you don't remember your password, reset it now."
		case !f.Enabled:
			page.Error = "Your account has been locked. Contact your support person to unlock it, then try again."
		case f.MFA:
			t.idp.setFlowUser(ctx, f.UserID, f.UPN)
			t.renderSignIn(w, r, signInPage{Step: "mfa", Ctx: ctx, Username: f.UPN, AppName: fl.Req.AppName})
			return
		default:
			t.idp.endFlow(ctx)
			t.completeSignIn(w, r, fl.Req, f, nil, amrPassword)
			return
		}
		t.renderSignIn(w, r, page)
		return
	}
	f := t.userFacts(fl.UserID)
	if terr := t.errFacts(f, false); terr != nil {
		t.idp.endFlow(ctx)
		t.renderError(w, r, terr)
		return
	}
	code := strings.TrimSpace(r.PostForm.Get("otc"))
	if f.MFACode == "" || subtle.ConstantTimeCompare([]byte(code), []byte(f.MFACode)) != 1 {
		t.renderSignIn(w, r, signInPage{Step: "mfa", Ctx: ctx, Username: f.UPN, AppName: fl.Req.AppName,
			Error: "You didn't enter the expected verification code. Please try again."})
		return
	}
	t.idp.endFlow(ctx)
	t.completeSignIn(w, r, fl.Req, f, nil, amrMFA)
}

// completeSignIn issues the code and sends the browser back to the client:
// from an existing session (prompt=none), or after the user signed in with
// amr, which starts a session.
func (t *Tenant) completeSignIn(w http.ResponseWriter, r *http.Request, req authRequest, f signInFacts, existing *session, amr []string) {
	now := t.now()
	sign := signedIn{AMR: amr, IP: clientIP(r)}
	if existing != nil {
		sign.AMR, sign.SessionID = existing.AMR, existing.SID
	} else {
		cookie, sid := t.idp.newSession(f.UserID, amr, now)
		sign.SessionID = sid
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: cookie, Path: "/",
			HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode, MaxAge: int(sessionLifetime / time.Second)})
	}
	code := t.idp.newCode(req, f.UserID, sign, now)
	t.respond(w, req, url.Values{"code": {code}, "state": {req.State}, "session_state": {newGUID()}})
}

// redirectError sends an authorization error back to the client.
func (t *Tenant) redirectError(w http.ResponseWriter, r *http.Request, req authRequest, e *tokenError) {
	desc, _, _, _ := t.aadstsDescription(e)
	t.respond(w, req, url.Values{
		"error": {e.code}, "error_description": {desc},
		"error_uri": {fmt.Sprintf("%s/error?code=%d", baseURL(r), e.aadsts)}, "state": {req.State},
	})
}

// respond delivers an authorization response by the request's response_mode.
// A redirect URI without a path gets "/" (reply-url.md).
func (t *Tenant) respond(w http.ResponseWriter, req authRequest, params url.Values) {
	if params.Get("state") == "" {
		params.Del("state")
	}
	u, _ := url.Parse(req.RedirectURI) // validated before
	if u.Path == "" {
		u.Path = "/"
	}
	w.Header().Set("Cache-Control", "no-store")
	switch req.ResponseMode {
	case "form_post":
		renderFormPost(w, u.String(), params)
	case "fragment":
		u.Fragment = ""
		w.Header().Set("Location", u.String()+"#"+params.Encode())
		w.WriteHeader(http.StatusFound)
	default:
		qs := u.Query()
		for k, v := range params {
			qs[k] = v
		}
		u.RawQuery = qs.Encode()
		w.Header().Set("Location", u.String())
		w.WriteHeader(http.StatusFound)
	}
}

// handleLogout is the end-session endpoint: it ends the emulator's session
// and goes to post_logout_redirect_uri when that is a registered redirect URI
// of the client (client_id), else shows a signed-out page.
func (t *Tenant) handleLogout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		t.idp.endSession(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	q := r.URL.Query()
	if target := q.Get("post_logout_redirect_uri"); target != "" {
		if app, ok := t.app(q.Get("client_id")); ok && redirectRegistered(app.RedirectURIs, target) {
			u, _ := url.Parse(target)
			if s := q.Get("state"); s != "" {
				qs := u.Query()
				qs.Set("state", s)
				u.RawQuery = qs.Encode()
			}
			w.Header().Set("Location", u.String())
			w.WriteHeader(http.StatusFound)
			return
		}
	}
	t.renderSignIn(w, r, signInPage{Step: "signedout"})
}

// handleUserInfo is the OpenID Connect UserInfo endpoint (served by Graph in
// the real cloud, at https://graph.microsoft.com/oidc/userinfo).
func (t *Tenant) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	p, err := t.verify(r, strings.TrimSpace(tok))
	f := t.userFacts(p.OID)
	if err != nil || !f.Exists {
		w.Header().Set("WWW-Authenticate", `Bearer realm="", error="invalid_token"`)
		writeGraphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure.", nil)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sub": t.pairwiseSub(p.AppID, f.UserID), "name": f.DisplayName, "preferred_username": f.UPN})
}

// ---- the token endpoint's code and refresh grants ----

// authorizationCodeGrant redeems a code: once (AADSTS54005 after), within
// ten minutes (AADSTS70008), by the client it was issued to, with the same
// redirect_uri (AADSTS500112) and the PKCE verifier (AADSTS501481). A public
// client must have used PKCE (AADSTS9002325).
func (t *Tenant) authorizationCodeGrant(r *http.Request, app SeedApp) (map[string]any, *tokenError) {
	code := r.PostForm.Get("code")
	if code == "" {
		return nil, errMissing("code")
	}
	redirectURI := r.PostForm.Get("redirect_uri")
	verifier := r.PostForm.Get("code_verifier")
	now := t.now()
	s := &t.idp
	s.mu.Lock()
	s.initLocked()
	c, ok := s.codes[code]
	var terr *tokenError
	switch {
	case !ok:
		// The text malformed or unknown codes get (commonly reported; not in the reference).
		terr = &tokenError{http.StatusBadRequest, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.", ""}
	case c.Redeemed:
		// RFC 6749 §4.1.2: a replayed code revokes what it gave.
		for _, rt := range c.Refresh {
			delete(s.refresh, rt)
		}
		terr = &tokenError{http.StatusBadRequest, "invalid_grant", 54005,
			"OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.", ""}
	case c.Req.ClientID != app.ClientID:
		// AADSTS70000 InvalidGrant; the text is as we remember it.
		terr = &tokenError{http.StatusBadRequest, "invalid_grant", 70000, "Provided grant is invalid or malformed.", ""}
	case now.Sub(c.Issued) > codeLifetime:
		// snok/django-auth-adfs #245.
		terr = &tokenError{http.StatusBadRequest, "invalid_grant", 70008,
			"The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.", ""}
	case redirectURI == "":
		terr = errMissing("redirect_uri")
	case redirectURI != c.Req.RedirectURI:
		// The code is the one code comments cite for this (AADSTS500112); the
		// text is the older AADSTS50011 wording of the same check
		// (PartnerCenterSamples/Reseller-Web-Application #73).
		terr = &tokenError{http.StatusBadRequest, "invalid_grant", 500112,
			fmt.Sprintf("The reply address '%s' does not match the reply address '%s' provided when requesting Authorization code.", redirectURI, c.Req.RedirectURI), ""}
	case c.Req.Challenge == "" && app.Public:
		// Entra requires PKCE of single-page apps with this error
		// (v2-oauth2-auth-code-flow); the emulator requires it of every public client.
		terr = &tokenError{http.StatusBadRequest, "invalid_request", 9002325,
			"Proof Key for Code Exchange is required for cross-origin authorization code redemption.", ""}
	case c.Req.Challenge != "" && !pkceMatches(c.Req.Method, c.Req.Challenge, verifier):
		// AzureAD/microsoft-authentication-library-for-js #2694, #3248.
		// Guess: a missing code_verifier gets the wrong verifier's answer (AADSTS501481).
		terr = &tokenError{http.StatusBadRequest, "invalid_grant", 501481,
			"The Code_Verifier does not match the code_challenge supplied in the authorization request.", ""}
	default:
		c.Redeemed = true
	}
	var req authRequest
	var userID string
	var authTime time.Time
	var sign signedIn
	if terr == nil {
		req, userID, authTime, sign = c.Req, c.UserID, c.AuthTime, c.Sign
	}
	s.mu.Unlock()
	if terr != nil {
		return nil, terr
	}
	f := t.userFacts(userID)
	if terr := t.errFacts(f, false); terr != nil {
		return nil, terr
	}
	scope := r.PostForm.Get("scope")
	if scope == "" {
		scope = req.Scope
	}
	resp, terr := t.userTokens(r, app, f, userGrant{Scope: scope, Nonce: req.Nonce, AuthTime: authTime,
		AMR: sign.AMR, IP: sign.IP, SessionID: sign.SessionID})
	if rt, ok := resp["refresh_token"].(string); ok {
		s.mu.Lock()
		c.Refresh = append(c.Refresh, rt)
		s.mu.Unlock()
	}
	return resp, terr
}

// pkceMatches checks a code_verifier against the challenge (RFC 7636 §4.6).
func pkceMatches(method, challenge, verifier string) bool {
	if n := len(verifier); n < 43 || n > 128 {
		return false
	}
	want := verifier
	if method == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		want = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}

// refreshTokenGrant redeems a refresh token for new tokens (and a new refresh
// token; the old one stays valid, as Entra's do until they expire). The
// account is looked up again: a disabled account gets AADSTS50057, and the
// wids claim shows the roles it has now.
func (t *Tenant) refreshTokenGrant(r *http.Request, app SeedApp) (map[string]any, *tokenError) {
	rt := r.PostForm.Get("refresh_token")
	if rt == "" {
		return nil, errMissing("refresh_token")
	}
	now := t.now()
	s := &t.idp
	s.mu.Lock()
	s.initLocked()
	g, ok := s.refresh[rt]
	var terr *tokenError
	var grant refreshGrant
	switch {
	case !ok:
		terr = &tokenError{http.StatusBadRequest, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.", ""}
	case g.ClientID != app.ClientID:
		terr = &tokenError{http.StatusBadRequest, "invalid_grant", 70000, "Provided grant is invalid or malformed.", ""}
	case now.Sub(g.LastUsed) > refreshInactivity:
		// Azure/azure-cli #14244.
		terr = &tokenError{http.StatusBadRequest, "invalid_grant", 700082, fmt.Sprintf(
			"The refresh token has expired due to inactivity. The token was issued on %s and was inactive for 90.00:00:00.",
			g.Issued.UTC().Format("2006-01-02T15:04:05.0000000Z")), "bad_token"}
	default:
		g.LastUsed = now
		grant = *g
	}
	s.mu.Unlock()
	if terr != nil {
		return nil, terr
	}
	f := t.userFacts(grant.UserID)
	if terr := t.errFacts(f, false); terr != nil {
		return nil, terr
	}
	scope := r.PostForm.Get("scope")
	if scope == "" {
		scope = grant.Scope
	}
	if !hasScope(scope, "offline_access") {
		scope += " offline_access" // a refresh answers with a new refresh token
	}
	return t.userTokens(r, app, f, userGrant{Scope: strings.TrimSpace(scope), AuthTime: grant.AuthTime,
		AMR: grant.AMR, IP: grant.IP, SessionID: grant.SessionID})
}

func randomB64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
