// Package cloud is hybridsync's Microsoft Graph v1.0 client: organization and
// its directory-sync settings, domains (add, verify), users, groups and their
// members, contacts, devices, the signed-in user and its directory roles,
// role assignments, and $batch over plain net/http and encoding/json, with
// paging through @odata.nextLink, bounded retries honouring Retry-After on 429
// and 503, and Graph's error bodies turned into *Error. The authority and the
// Graph base URL are configuration: the tenant emulator (e2e/tenant) and a
// real tenant differ only in those URLs.
package cloud

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config configures a Client.
type Config struct {
	// GraphURL is Graph's versioned root, e.g. https://graph.microsoft.com/v1.0.
	GraphURL string
	// HTTPClient defaults to DefaultHTTPClient().
	HTTPClient *http.Client
	// MaxRetries bounds retries of one request on 429/503 (default 5).
	MaxRetries int
	// MaxWait is the longest single wait the client accepts; a Retry-After
	// beyond it ends the retries (default 150 s, Graph's write window).
	MaxWait time.Duration
	// OnRetry, when set, is told about every wait before a retry.
	OnRetry func(status int, wait time.Duration)
}

// Client talks to Graph with tokens from a TokenSource. Safe for concurrent use.
type Client struct {
	base    *url.URL
	ts      TokenSource
	hc      *http.Client
	retries int
	maxWait time.Duration
	onRetry func(int, time.Duration)
	sleep   func(context.Context, time.Duration) error
}

// DefaultHTTPClient is an HTTP client that refuses TLS below 1.2.
func DefaultHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: 2 * time.Minute}
}

// New builds a client.
func New(cfg Config, ts TokenSource) (*Client, error) {
	u, err := url.Parse(strings.TrimSuffix(cfg.GraphURL, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("cloud: invalid Graph URL %q", cfg.GraphURL)
	}
	if ts == nil {
		return nil, errors.New("cloud: no token source")
	}
	c := &Client{base: u, ts: ts, hc: cfg.HTTPClient, retries: cfg.MaxRetries, maxWait: cfg.MaxWait, onRetry: cfg.OnRetry, sleep: sleepCtx}
	if c.hc == nil {
		c.hc = DefaultHTTPClient()
	}
	if c.retries <= 0 {
		c.retries = 5
	}
	if c.maxWait <= 0 {
		c.maxWait = 150 * time.Second
	}
	return c, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// resolve makes an absolute URL from a path relative to GraphURL, or checks
// that an absolute URL (an @odata.nextLink) stays on Graph's host, so the
// bearer token is never sent elsewhere.
func (c *Client) resolve(ref string) (string, error) {
	if strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://") {
		u, err := url.Parse(ref)
		if err != nil || u.Scheme != c.base.Scheme || u.Host != c.base.Host {
			return "", fmt.Errorf("cloud: refusing to follow %q off the Graph host", ref)
		}
		return ref, nil
	}
	return c.base.String() + "/" + strings.TrimPrefix(ref, "/"), nil
}

// retryAfter reads Retry-After as (possibly fractional) seconds or an HTTP date.
func retryAfter(h string, now time.Time) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	if f, err := strconv.ParseFloat(h, 64); err == nil && f >= 0 && !math.IsInf(f, 0) {
		// A float beyond int64 does not convert to a Duration (it comes out
		// negative on amd64, a wait of nothing): such a wait is the longest.
		if ns := f * float64(time.Second); ns < math.MaxInt64 {
			return time.Duration(ns), true
		}
		return time.Duration(math.MaxInt64), true
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(0, t.Sub(now)), true
	}
	return 0, false
}

// backoff is the wait before retry n (0-based) when no Retry-After was sent.
func backoff(n int) time.Duration {
	return min(time.Duration(1<<n)*time.Second, 30*time.Second)
}

// do sends one request, retrying 429 and 503 within the bounds, and decodes a
// 2xx JSON body into out (when non-nil). Non-2xx answers become *Error.
func (c *Client) do(ctx context.Context, method, ref string, in, out any) error {
	target, err := c.resolve(ref)
	if err != nil {
		return err
	}
	var payload []byte
	if in != nil {
		if payload, err = json.Marshal(in); err != nil {
			return fmt.Errorf("cloud: unable to encode %s %s: %w", method, ref, err)
		}
	}
	for attempt := 0; ; attempt++ {
		status, body, hdr, err := c.send(ctx, method, target, payload)
		if err != nil {
			return err
		}
		if status >= 200 && status < 300 {
			if out != nil && len(bytes.TrimSpace(body)) > 0 {
				if err := json.Unmarshal(body, out); err != nil {
					return fmt.Errorf("cloud: unable to decode %s %s: %w", method, ref, err)
				}
			}
			return nil
		}
		ra, hasRA := retryAfter(hdr.Get("Retry-After"), time.Now())
		gerr := parseError(status, body, ra)
		if status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable {
			return gerr
		}
		if !hasRA {
			ra = backoff(attempt)
		}
		if attempt >= c.retries || ra > c.maxWait {
			return gerr
		}
		if c.onRetry != nil {
			c.onRetry(status, ra)
		}
		if err := c.sleep(ctx, ra); err != nil {
			return err
		}
	}
}

func (c *Client) send(ctx context.Context, method, target string, payload []byte) (int, []byte, http.Header, error) {
	tok, err := c.ts.Token(ctx)
	if err != nil {
		return 0, nil, nil, err
	}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("cloud: unable to build %s request: %w", method, err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("cloud: %s %s: %w", method, redact(target), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("cloud: unable to read %s %s: %w", method, redact(target), err)
	}
	return resp.StatusCode, b, resp.Header, nil
}

// redact drops the query (skip tokens) from URLs in error messages.
func redact(u string) string {
	s, _, _ := strings.Cut(u, "?")
	return s
}

// ---- organization and domains -----------------------------------------------

// Organization is the tenant (GET /organization).
type Organization struct {
	ID                    string           `json:"id"`
	DisplayName           string           `json:"displayName"`
	TenantType            string           `json:"tenantType"`
	OnPremisesSyncEnabled *bool            `json:"onPremisesSyncEnabled"`
	VerifiedDomains       []VerifiedDomain `json:"verifiedDomains"`
}

// VerifiedDomain is an entry of organization.verifiedDomains.
type VerifiedDomain struct {
	Capabilities string `json:"capabilities"`
	IsDefault    bool   `json:"isDefault"`
	IsInitial    bool   `json:"isInitial"`
	Name         string `json:"name"`
	Type         string `json:"type"`
}

// InitialDomain is the tenant's xxx.onmicrosoft.com domain.
func (o *Organization) InitialDomain() string {
	for _, d := range o.VerifiedDomains {
		if d.IsInitial {
			return d.Name
		}
	}
	return ""
}

// Domain is a domain resource (GET /domains).
type Domain struct {
	ID                 string   `json:"id"`
	AuthenticationType string   `json:"authenticationType"`
	IsAdminManaged     bool     `json:"isAdminManaged"`
	IsDefault          bool     `json:"isDefault"`
	IsInitial          bool     `json:"isInitial"`
	IsRoot             bool     `json:"isRoot"`
	IsVerified         bool     `json:"isVerified"`
	SupportedServices  []string `json:"supportedServices"`
}

// Organization reads the tenant.
func (c *Client) Organization(ctx context.Context) (*Organization, error) {
	var res struct {
		Value []Organization `json:"value"`
	}
	if err := c.do(ctx, http.MethodGet, "organization", nil, &res); err != nil {
		return nil, err
	}
	if len(res.Value) == 0 {
		return nil, errors.New("cloud: GET /organization returned no organization")
	}
	return &res.Value[0], nil
}

// Domains lists the tenant's domains, verified or not.
func (c *Client) Domains(ctx context.Context) ([]Domain, error) {
	return getAll[Domain](ctx, c, "domains")
}

// Domain reads one domain by name.
func (c *Client) Domain(ctx context.Context, name string) (*Domain, error) {
	var d Domain
	if err := c.do(ctx, http.MethodGet, "domains/"+url.PathEscape(name), nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// getPages follows @odata.nextLink from first, calling fn for each page.
func getPages[T any](ctx context.Context, c *Client, first string, fn func([]T) error) error {
	next := first
	for next != "" {
		var page struct {
			Value    []T    `json:"value"`
			NextLink string `json:"@odata.nextLink"`
		}
		if err := c.do(ctx, http.MethodGet, next, nil, &page); err != nil {
			return err
		}
		if err := fn(page.Value); err != nil {
			return err
		}
		next = page.NextLink
	}
	return nil
}

// getAll collects every page from first.
func getAll[T any](ctx context.Context, c *Client, first string) ([]T, error) {
	var all []T
	err := getPages(ctx, c, first, func(p []T) error {
		all = append(all, p...)
		return nil
	})
	return all, err
}

// Quote makes an OData string literal for $filter, doubling any single quote.
func Quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// queryEscape encodes a query value with %20 for spaces (Graph reads "+"
// literally in $filter).
func queryEscape(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

// withQuery appends $select, $filter and $top to a path; empty ones are left out.
func withQuery(path string, sel []string, filter string, top int) string {
	var q []string
	if len(sel) > 0 {
		q = append(q, "$select="+strings.Join(sel, ","))
	}
	if filter != "" {
		q = append(q, "$filter="+queryEscape(filter))
	}
	if top > 0 {
		q = append(q, "$top="+strconv.Itoa(top))
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + strings.Join(q, "&")
}

// directoryObjectURL is the @odata.id of a directory object, for $ref bodies.
func (c *Client) directoryObjectURL(id string) string {
	return c.base.String() + "/directoryObjects/" + url.PathEscape(id)
}

// DirectoryObject is a member of a directoryObject collection (group
// members, memberOf): its id and type (#microsoft.graph.user, .group,
// .orgContact, .device, .directoryRole).
type DirectoryObject struct {
	ID                string `json:"id"`
	ODataType         string `json:"@odata.type"`
	DisplayName       string `json:"displayName,omitempty"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
}
