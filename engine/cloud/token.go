package cloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultScope asks for Graph's application or delegated permissions.
const DefaultScope = "https://graph.microsoft.com/.default"

// Sentinel errors a *TokenError matches with errors.Is.
var (
	// ErrMFARequired: the account needs multi-factor authentication, which
	// the password grant cannot do; move to the interactive flow.
	ErrMFARequired = errors.New("cloud: multi-factor authentication required")
	// ErrBadCredentials: wrong user name or password (or unknown account).
	ErrBadCredentials = errors.New("cloud: invalid username or password")
	// ErrBadClient: unknown client id or wrong client secret.
	ErrBadClient = errors.New("cloud: invalid client credentials")
)

// TokenError is the identity platform's token-endpoint error:
// {"error","error_description","error_codes":[n],"timestamp","trace_id",
// "correlation_id","error_uri","suberror"}.
type TokenError struct {
	Status        int
	ErrorCode     string // e.g. invalid_grant, interaction_required
	Description   string
	Codes         []int // AADSTS numbers
	SubError      string
	TraceID       string
	CorrelationID string
}

// AADSTS is the first AADSTS code, or 0.
func (e *TokenError) AADSTS() int {
	if len(e.Codes) == 0 {
		return 0
	}
	return e.Codes[0]
}

func (e *TokenError) Error() string {
	d, _, _ := strings.Cut(e.Description, " Trace ID:")
	d, _, _ = strings.Cut(d, "\r\n")
	return fmt.Sprintf("cloud: token request failed (%s): %s", e.ErrorCode, d)
}

// AADSTS codes that mean "needs MFA / interaction" and "bad credentials".
var (
	mfaCodes      = []int{50074, 50076, 50079, 50158}
	badCredsCodes = []int{50126, 50034, 50055, 50057, 50053}
	badClient     = []int{7000215, 700016, 7000222}
)

// Is matches ErrMFARequired, ErrBadCredentials and ErrBadClient.
func (e *TokenError) Is(target error) bool {
	has := func(codes []int) bool {
		return slices.ContainsFunc(e.Codes, func(c int) bool { return slices.Contains(codes, c) })
	}
	switch target {
	case ErrMFARequired:
		return e.ErrorCode == "interaction_required" || has(mfaCodes)
	case ErrBadCredentials:
		return has(badCredsCodes)
	case ErrBadClient:
		return e.ErrorCode == "invalid_client" || has(badClient)
	}
	return false
}

// TokenSource hands out bearer tokens for Graph.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// StaticToken is a fixed bearer token (tests, tokens obtained elsewhere).
type StaticToken string

// Token returns the token.
func (s StaticToken) Token(context.Context) (string, error) { return string(s), nil }

// tokenEndpoint is Authority + /oauth2/v2.0/token; Authority names the
// tenant, e.g. https://login.microsoftonline.com/contoso.onmicrosoft.com.
func tokenEndpoint(authority string) string {
	return strings.TrimSuffix(authority, "/") + "/oauth2/v2.0/token"
}

// PasswordGrant is the resource-owner password credentials grant for an
// administrator account. It caches the token until a minute before expiry.
type PasswordGrant struct {
	Authority  string // https://login.microsoftonline.com/{tenant}
	ClientID   string
	Username   string
	Password   string
	Scope      string // default DefaultScope
	HTTPClient *http.Client

	cache tokenCache
}

// Token implements TokenSource.
func (p *PasswordGrant) Token(ctx context.Context) (string, error) {
	return p.cache.get(ctx, func(ctx context.Context) (tokenResponse, error) {
		return requestToken(ctx, p.HTTPClient, p.Authority, url.Values{
			"grant_type": {"password"}, "client_id": {p.ClientID},
			"username": {p.Username}, "password": {p.Password}, "scope": {scopeOr(p.Scope)},
		})
	})
}

// ClientCredentials is the client_credentials grant for an application.
type ClientCredentials struct {
	Authority    string
	ClientID     string
	ClientSecret string
	Scope        string // default DefaultScope
	HTTPClient   *http.Client

	cache tokenCache
}

// Token implements TokenSource.
func (c *ClientCredentials) Token(ctx context.Context) (string, error) {
	return c.cache.get(ctx, func(ctx context.Context) (tokenResponse, error) {
		return requestToken(ctx, c.HTTPClient, c.Authority, url.Values{
			"grant_type": {"client_credentials"}, "client_id": {c.ClientID},
			"client_secret": {c.ClientSecret}, "scope": {scopeOr(c.Scope)},
		})
	})
}

func scopeOr(s string) string {
	if s == "" {
		return DefaultScope
	}
	return s
}

type tokenResponse struct {
	TokenType   string `json:"token_type"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
}

type tokenCache struct {
	mu      sync.Mutex
	token   string
	expires time.Time
}

func (c *tokenCache) get(ctx context.Context, fetch func(context.Context) (tokenResponse, error)) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && time.Now().Before(c.expires) {
		return c.token, nil
	}
	tr, err := fetch(ctx)
	if err != nil {
		return "", err
	}
	c.token = tr.AccessToken
	c.expires = time.Now().Add(time.Duration(tr.ExpiresIn)*time.Second - time.Minute)
	return c.token, nil
}

func requestToken(ctx context.Context, hc *http.Client, authority string, form url.Values) (tokenResponse, error) {
	if hc == nil {
		hc = DefaultHTTPClient()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenEndpoint(authority), strings.NewReader(form.Encode()))
	if err != nil {
		return tokenResponse{}, fmt.Errorf("cloud: unable to build token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return tokenResponse{}, fmt.Errorf("cloud: unable to reach the authority: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return tokenResponse{}, fmt.Errorf("cloud: unable to read token response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error         string `json:"error"`
			Description   string `json:"error_description"`
			Codes         []int  `json:"error_codes"`
			SubError      string `json:"suberror"`
			TraceID       string `json:"trace_id"`
			CorrelationID string `json:"correlation_id"`
		}
		if json.Unmarshal(body, &e) != nil || e.Error == "" {
			return tokenResponse{}, fmt.Errorf("cloud: token endpoint answered %d", resp.StatusCode)
		}
		return tokenResponse{}, &TokenError{Status: resp.StatusCode, ErrorCode: e.Error, Description: e.Description,
			Codes: e.Codes, SubError: e.SubError, TraceID: e.TraceID, CorrelationID: e.CorrelationID}
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		return tokenResponse{}, errors.New("cloud: token endpoint answered without an access_token")
	}
	return tr, nil
}
