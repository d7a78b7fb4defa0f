package cloud_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/e2e/tenant"
	"github.com/hybridsync/hybridsync/engine/cloud"
)

const clientID = "11111111-2222-3333-4444-555555555555"

type env struct {
	t      *tenant.Tenant
	srv    *httptest.Server
	client *cloud.Client

	mu         sync.Mutex
	batchSizes []int
}

// start serves an emulator on loopback and signs a client in as the seed's
// Hybrid Identity Administrator with the password grant.
func start(t *testing.T, opts tenant.Options, cfg cloud.Config) *env {
	t.Helper()
	tn, err := tenant.New(tenant.DefaultSeed(), opts)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: tn}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1.0/$batch" {
			b, _ := io.ReadAll(r.Body)
			var in struct{ Requests []json.RawMessage }
			_ = json.Unmarshal(b, &in)
			e.mu.Lock()
			e.batchSizes = append(e.batchSizes, len(in.Requests))
			e.mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		tn.ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	cfg.GraphURL = e.srv.URL + "/v1.0"
	cfg.HTTPClient = e.srv.Client()
	e.client, err = cloud.New(cfg, e.admin("hybrid.admin@contoso.onmicrosoft.com", "Passw0rd!hybrid"))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) authority() string { return e.srv.URL + "/" + e.t.InitialDomain() }

func (e *env) admin(user, pass string) *cloud.PasswordGrant {
	return &cloud.PasswordGrant{Authority: e.authority(), ClientID: clientID, Username: user, Password: pass, HTTPClient: e.srv.Client()}
}

func newUser(i int, domain string) cloud.User {
	return cloud.User{
		AccountEnabled:        cloud.Bool(true),
		DisplayName:           fmt.Sprintf("User %03d", i),
		MailNickname:          fmt.Sprintf("user%03d", i),
		UserPrincipalName:     fmt.Sprintf("user%03d@%s", i, domain),
		OnPremisesImmutableID: fmt.Sprintf("aW1tdXRhYmxl%03d==", i),
		PasswordProfile:       &cloud.PasswordProfile{Password: "Xy!" + fmt.Sprint(i) + "long-enough"},
	}
}

func TestPasswordGrant(t *testing.T) {
	e := start(t, tenant.Options{}, cloud.Config{})
	tests := []struct {
		name, user, pass string
		want             error
		aadsts           int
	}{
		{"ok", "hybrid.admin@contoso.onmicrosoft.com", "Passw0rd!hybrid", nil, 0},
		{"wrong password", "hybrid.admin@contoso.onmicrosoft.com", "nope", cloud.ErrBadCredentials, 50126},
		{"unknown account", "nobody@contoso.onmicrosoft.com", "nope", cloud.ErrBadCredentials, 50034},
		{"mfa", "mfa.admin@contoso.onmicrosoft.com", "Passw0rd!mfa", cloud.ErrMFARequired, 50076},
		{"mfa account, wrong password", "mfa.admin@contoso.onmicrosoft.com", "nope", cloud.ErrBadCredentials, 50126},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := e.admin(tt.user, tt.pass).Token(context.Background())
			if tt.want == nil {
				if err != nil || tok == "" {
					t.Fatalf("Token: %q, %v", tok, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var te *cloud.TokenError
			if !errors.As(err, &te) || te.AADSTS() != tt.aadsts || te.ErrorCode != "invalid_grant" || te.TraceID == "" {
				t.Fatalf("TokenError = %+v, want AADSTS%d invalid_grant", te, tt.aadsts)
			}
			if tt.want == cloud.ErrMFARequired && te.SubError != "basic_action" {
				t.Errorf("suberror = %q", te.SubError)
			}
		})
	}
}

func TestClientCredentials(t *testing.T) {
	e := start(t, tenant.Options{}, cloud.Config{})
	app := tenant.DefaultSeed().Apps[0]
	ok := &cloud.ClientCredentials{Authority: e.authority(), ClientID: app.ClientID, ClientSecret: app.ClientSecret, HTTPClient: e.srv.Client()}
	c, err := cloud.New(cloud.Config{GraphURL: e.srv.URL + "/v1.0", HTTPClient: e.srv.Client()}, ok)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateUser(context.Background(), newUser(1, "contoso.example.test")); err != nil {
		t.Fatalf("app create: %v", err)
	}
	bad := &cloud.ClientCredentials{Authority: e.authority(), ClientID: app.ClientID, ClientSecret: "wrong", HTTPClient: e.srv.Client()}
	if _, err := bad.Token(context.Background()); !errors.Is(err, cloud.ErrBadClient) {
		t.Fatalf("wrong secret: %v", err)
	}
}

func TestTokenValidation(t *testing.T) {
	e := start(t, tenant.Options{}, cloud.Config{})
	mint := func(s tenant.TokenSpec) string {
		s.BaseURL = e.srv.URL
		tok, err := e.t.MintToken(s)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tests := []struct {
		name, token, msg string
	}{
		{"expired", mint(tenant.TokenSpec{Lifetime: -time.Minute}), "Access token has expired or is not yet valid."},
		{"wrong audience", mint(tenant.TokenSpec{Audience: "api://someone-else"}), "Access token validation failure. Invalid audience."},
		{"wrong issuer", mint(tenant.TokenSpec{Issuer: "https://login.example.test/other/v2.0"}), "Access token validation failure. Invalid issuer."},
		{"tampered", mint(tenant.TokenSpec{}) + "x", "Access token validation failure."},
		{"empty", "", "Access token is empty."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := cloud.New(cloud.Config{GraphURL: e.srv.URL + "/v1.0", HTTPClient: e.srv.Client()}, cloud.StaticToken(tt.token))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Organization(context.Background())
			var ge *cloud.Error
			if !errors.As(err, &ge) || ge.Status != 401 || ge.Code != "InvalidAuthenticationToken" || ge.Message != tt.msg || ge.RequestID == "" {
				t.Fatalf("err = %#v, want 401 InvalidAuthenticationToken %q", err, tt.msg)
			}
		})
	}
	t.Run("valid minted token", func(t *testing.T) {
		c, _ := cloud.New(cloud.Config{GraphURL: e.srv.URL + "/v1.0", HTTPClient: e.srv.Client()}, cloud.StaticToken(mint(tenant.TokenSpec{})))
		if _, err := c.Organization(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestOrganizationAndDomains(t *testing.T) {
	e := start(t, tenant.Options{}, cloud.Config{})
	ctx := context.Background()
	org, err := e.client.Organization(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if org.ID != e.t.TenantID() || org.InitialDomain() != "contoso.onmicrosoft.com" || len(org.VerifiedDomains) != 2 {
		t.Fatalf("organization = %+v", org)
	}
	ds, err := e.client.Domains(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, d := range ds {
		got[d.ID] = d.IsVerified
	}
	want := map[string]bool{"contoso.onmicrosoft.com": true, "contoso.example.test": true, "fabrikam.example.test": false}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("domain %s verified = %v (present %v), want %v", k, g, ok, v)
		}
	}
	d, err := e.client.Domain(ctx, "fabrikam.example.test")
	if err != nil || d.IsVerified || d.IsInitial {
		t.Fatalf("Domain = %+v, %v", d, err)
	}
	if _, err := e.client.Domain(ctx, "nowhere.example.test"); !cloud.IsNotFound(err) {
		t.Fatalf("missing domain: %v", err)
	}
}

func TestUsers(t *testing.T) {
	e := start(t, tenant.Options{}, cloud.Config{})
	ctx := context.Background()
	u := newUser(1, "contoso.example.test")
	u.Mail = "first@contoso.example.test"
	created, err := e.client.CreateUser(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	// Graph adds mail to proxyAddresses; an alias is Exchange's to add.
	if got, err := e.client.GetUser(ctx, created.ID); err != nil || len(got.ProxyAddresses) != 1 || got.ProxyAddresses[0] != "SMTP:first@contoso.example.test" {
		t.Fatalf("GetUser = %+v, %v", got, err)
	}
	if err := e.t.SetProxyAddresses(created.ID, []string{"SMTP:first@contoso.example.test", "smtp:alias@contoso.example.test"}); err != nil {
		t.Fatal(err)
	}
	got, err := e.client.GetUser(ctx, created.ID)
	if err != nil || got.OnPremisesImmutableID != u.OnPremisesImmutableID || len(got.ProxyAddresses) != 2 {
		t.Fatalf("GetUser = %+v, %v", got, err)
	}

	tests := []struct {
		name  string
		user  func() cloud.User
		check func(error) bool
	}{
		{"duplicate UPN (case-insensitive)", func() cloud.User {
			d := newUser(2, "contoso.example.test")
			d.UserPrincipalName = "USER001@contoso.example.test"
			return d
		}, cloud.IsDuplicateUPN},
		{"proxyAddresses is read-only", func() cloud.User {
			d := newUser(3, "contoso.example.test")
			d.ProxyAddresses = []string{"smtp:new@contoso.example.test"}
			return d
		}, cloud.IsReadOnly},
		{"mail taken as another's proxy address", func() cloud.User {
			d := newUser(4, "contoso.example.test")
			d.Mail = "alias@contoso.example.test"
			return d
		}, cloud.IsDuplicateProxyAddress},
		{"duplicate immutable id", func() cloud.User {
			d := newUser(5, "contoso.example.test")
			d.OnPremisesImmutableID = u.OnPremisesImmutableID
			return d
		}, cloud.IsDuplicateImmutableID},
		{"unverified domain", func() cloud.User { return newUser(6, "fabrikam.example.test") }, cloud.IsUnverifiedDomain},
		{"domain not in tenant", func() cloud.User { return newUser(7, "elsewhere.example.test") }, cloud.IsUnverifiedDomain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.client.CreateUser(ctx, tt.user())
			if !tt.check(err) {
				t.Fatalf("err = %v", err)
			}
			var ge *cloud.Error
			if !errors.As(err, &ge) || ge.Status != 400 || ge.Code != "Request_BadRequest" {
				t.Fatalf("err = %#v", err)
			}
		})
	}

	if err := e.client.UpdateUser(ctx, created.ID, map[string]any{"jobTitle": "Engineer", "userPrincipalName": "renamed@contoso.onmicrosoft.com"}); err != nil {
		t.Fatal(err)
	}
	got, err = e.client.GetUser(ctx, "renamed@contoso.onmicrosoft.com")
	if err != nil || got.JobTitle != "Engineer" || got.ID != created.ID {
		t.Fatalf("after update: %+v, %v", got, err)
	}
	if err := e.client.UpdateUser(ctx, created.ID, map[string]any{"userPrincipalName": "x@fabrikam.example.test"}); !cloud.IsUnverifiedDomain(err) {
		t.Fatalf("update to unverified domain: %v", err)
	}
	if err := e.client.UpdateUser(ctx, created.ID, map[string]any{"userPrincipalName": "hybrid.admin@contoso.onmicrosoft.com"}); !cloud.IsDuplicateUPN(err) {
		t.Fatalf("update to taken UPN: %v", err)
	}
	if err := e.client.DeleteUser(ctx, created.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.GetUser(ctx, created.ID); !cloud.IsNotFound(err) {
		t.Fatalf("after delete: %v", err)
	}
	// The deleted user's names are free again.
	if _, err := e.client.CreateUser(ctx, u); err != nil {
		t.Fatalf("re-create after delete: %v", err)
	}
}

func TestBatchAndPaging(t *testing.T) {
	e := start(t, tenant.Options{}, cloud.Config{})
	ctx := context.Background()
	reqs := make([]cloud.BatchRequest, 45)
	for i := range reqs {
		reqs[i] = cloud.BatchRequest{Method: http.MethodPost, URL: "/users", Body: newUser(i, "contoso.example.test")}
	}
	reqs[44].Body = newUser(0, "contoso.example.test") // duplicate of the first
	res, err := e.client.Batch(ctx, reqs)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(e.batchSizes) != "[20 20 5]" {
		t.Fatalf("batch sizes = %v, want [20 20 5]", e.batchSizes)
	}
	if len(res) != 45 {
		t.Fatalf("%d responses", len(res))
	}
	for i, r := range res[:44] {
		var u cloud.User
		if r.Status != http.StatusCreated || r.Decode(&u) != nil || u.ID == "" || r.ID != reqs[i].ID {
			t.Fatalf("response %d = %+v", i, r)
		}
	}
	if !cloud.IsDuplicateUPN(res[44].Err()) {
		t.Fatalf("last response: %v", res[44].Err())
	}

	// dependsOn: a failed dependency gives 424.
	dep, err := e.client.Batch(ctx, []cloud.BatchRequest{
		{ID: "a", Method: http.MethodPost, URL: "/users", Body: newUser(0, "contoso.example.test")},
		{ID: "b", Method: http.MethodPatch, URL: "/users/user001@contoso.example.test", Body: map[string]any{"jobTitle": "x"}, DependsOn: []string{"a"}},
	})
	if err != nil || dep[0].Status != 400 || dep[1].Status != http.StatusFailedDependency {
		t.Fatalf("dependsOn: %+v, %v", dep, err)
	}

	// 250 users in all (44 + 206 more), plus the 6 seeded accounts.
	more := make([]cloud.BatchRequest, 206)
	for i := range more {
		more[i] = cloud.BatchRequest{Method: http.MethodPost, URL: "/users", Body: newUser(100+i, "contoso.example.test")}
	}
	if res, err := e.client.Batch(ctx, more); err != nil || res[205].Err() != nil {
		t.Fatalf("Batch: %v", err)
	}
	var pages []int
	seen := map[string]bool{}
	err = e.client.ListUsersPages(ctx, 100, func(p []cloud.User) error {
		pages = append(pages, len(p))
		for _, u := range p {
			if seen[u.ID] {
				return fmt.Errorf("user %s twice", u.ID)
			}
			seen[u.ID] = true
		}
		return nil
	})
	if err != nil || fmt.Sprint(pages) != "[100 100 57]" { // 250 created, 7 seeded
		t.Fatalf("pages = %v, %v", pages, err)
	}
}

func TestWriteBudget(t *testing.T) {
	t.Parallel()
	var retries atomic.Int32
	var waited atomic.Int64
	e := start(t, tenant.Options{WriteBudget: 10, WriteWindow: 2 * time.Second}, cloud.Config{
		OnRetry: func(status int, d time.Duration) {
			if status == http.StatusTooManyRequests {
				retries.Add(1)
				waited.Add(int64(d))
			}
		},
	})
	ctx := context.Background()
	for i := range 25 {
		if _, err := e.client.CreateUser(ctx, newUser(i, "contoso.example.test")); err != nil {
			t.Fatalf("user %d: %v", i, err)
		}
	}
	if retries.Load() < 2 || time.Duration(waited.Load()) < time.Second {
		t.Fatalf("retries = %d, waited %v; want the budget to bite", retries.Load(), time.Duration(waited.Load()))
	}
	// $batch items are throttled one by one and resent after Retry-After.
	reqs := make([]cloud.BatchRequest, 15)
	for i := range reqs {
		reqs[i] = cloud.BatchRequest{Method: http.MethodPost, URL: "/users", Body: newUser(100+i, "contoso.example.test")}
	}
	before := retries.Load()
	res, err := e.client.Batch(ctx, reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Status != http.StatusCreated {
			t.Fatalf("batch item %d: %d %v", i, r.Status, r.Err())
		}
	}
	if retries.Load() == before {
		t.Fatal("batch never throttled")
	}
}

func TestThrottledBeyondBound(t *testing.T) {
	e := start(t, tenant.Options{WriteBudget: 1, WriteWindow: time.Hour}, cloud.Config{MaxWait: time.Second})
	ctx := context.Background()
	if _, err := e.client.CreateUser(ctx, newUser(1, "contoso.example.test")); err != nil {
		t.Fatal(err)
	}
	_, err := e.client.CreateUser(ctx, newUser(2, "contoso.example.test"))
	var ge *cloud.Error
	if !cloud.IsThrottled(err) || !errors.As(err, &ge) || ge.Code != "TooManyRequests" || ge.RetryAfter < time.Minute {
		t.Fatalf("err = %#v", err)
	}
}

func TestNextLinkStaysOnGraphHost(t *testing.T) {
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("token sent off-host")
	}))
	defer evil.Close()
	graph := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"value":[],"@odata.nextLink":%q}`, evil.URL+"/v1.0/users?$skiptoken=x")
	}))
	defer graph.Close()
	c, _ := cloud.New(cloud.Config{GraphURL: graph.URL + "/v1.0"}, cloud.StaticToken("t"))
	if _, err := c.ListUsers(context.Background(), 10); err == nil {
		t.Fatal("followed a nextLink to another host")
	}
}

func TestRetry503(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) < 3 {
			w.Header().Set("Retry-After", "0.05")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, `{"value":[{"id":"t1","verifiedDomains":[]}]}`)
	}))
	defer srv.Close()
	c, _ := cloud.New(cloud.Config{GraphURL: srv.URL + "/v1.0"}, cloud.StaticToken("t"))
	org, err := c.Organization(context.Background())
	if err != nil || org.ID != "t1" || n.Load() != 3 {
		t.Fatalf("org = %+v, err = %v, calls = %d", org, err, n.Load())
	}
}
