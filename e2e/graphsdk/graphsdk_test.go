// Package graphsdk drives the tenant emulator with Microsoft's own clients:
// azidentity signs in with a client secret and the Graph SDK for Go
// (msgraph-sdk-go) pages, reads, creates and batches users on Graph v1.0.
//
// It is a Go module of its own so that the main module never builds the
// SDK, whose thousands of generated packages take minutes and gigabytes to
// compile; `make graph-sdk` runs it, `make test` does not.
package graphsdk

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	abstractions "github.com/microsoft/kiota-abstractions-go"
	khttp "github.com/microsoft/kiota-http-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
	graphauth "github.com/microsoftgraph/msgraph-sdk-go-core/authentication"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/hybridsync/hybridsync/e2e/tenant"
)

var guid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// seen is one request that left the SDK or azidentity.
type seen struct {
	method, path, contentEncoding, clientRequestID string
}

// loopback is the transport under both clients: it refuses any host but the
// emulator's (so nothing reaches login.microsoftonline.com or
// graph.microsoft.com) and records what was sent.
type loopback struct {
	host string
	next http.RoundTripper

	mu   sync.Mutex
	reqs []seen
}

func (l *loopback) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != l.host {
		return nil, fmt.Errorf("graphsdk: refused %s %s: only the emulator at %s may be reached", r.Method, r.URL, l.host)
	}
	l.mu.Lock()
	l.reqs = append(l.reqs, seen{r.Method, r.URL.Path, r.Header.Get("Content-Encoding"), r.Header.Get("client-request-id")})
	l.mu.Unlock()
	return l.next.RoundTrip(r)
}

// sent returns the requests recorded so far that match method and path.
func (l *loopback) sent(method, path string) []seen {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []seen
	for _, s := range l.reqs {
		if s.method == method && s.path == path {
			out = append(out, s)
		}
	}
	return out
}

// graph is what the sub-tests share: the SDK's client and request adapter,
// the transport log, and the accounts the tenant holds.
type graph struct {
	client  *msgraphsdk.GraphServiceClient
	adapter abstractions.RequestAdapter
	wire    *loopback
	// users are the accounts the tenant holds: userPrincipalName → id, or
	// "" for a seeded one (the emulator makes its ids at start).
	users map[string]string
}

// newGraph starts the emulator over HTTPS and builds the SDK's client the way
// an application would, with only the hosts changed: azidentity's authority
// and the request adapter's base URL point at the emulator.
func newGraph(t *testing.T) *graph {
	t.Helper()
	seed := tenant.DefaultSeed()
	tn, err := tenant.New(seed, tenant.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(tn)
	t.Cleanup(srv.Close)
	base, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	wire := &loopback{host: base.Host, next: srv.Client().Transport}

	// The seeded daemon app: a secret and Directory.ReadWrite.All.
	cred, err := azidentity.NewClientSecretCredential(seed.TenantID, tenant.SyncClientID, tenant.SyncClientSecret,
		&azidentity.ClientSecretCredentialOptions{
			ClientOptions: azcore.ClientOptions{
				Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: srv.URL},
				Transport: &http.Client{Transport: wire},
			},
			// Instance discovery asks login.microsoftonline.com about the
			// authority; the emulator is not one it knows.
			DisableInstanceDiscovery: true,
		})
	if err != nil {
		t.Fatal(err)
	}
	auth, err := graphauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(cred,
		[]string{tenant.GraphResource + "/.default"}, []string{base.Hostname()})
	if err != nil {
		t.Fatal(err)
	}
	// The SDK's own middleware (telemetry, retry, redirect, gzip of request
	// bodies, ...) over the test server's TLS transport, as
	// msgraphgocore.GetDefaultClient builds it over the default one.
	opts := msgraphsdk.GetDefaultClientOptions()
	hc := &http.Client{
		Transport:     khttp.NewCustomTransportWithParentTransport(wire, msgraphgocore.GetDefaultMiddlewaresWithOptions(&opts)...),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
	adapter, err := msgraphsdk.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, nil, nil, hc)
	if err != nil {
		t.Fatal(err)
	}
	adapter.SetBaseUrl(srv.URL + "/v1.0")

	accounts := map[string]string{}
	for _, a := range slices.Concat(seed.Admins, seed.Users) {
		accounts[a.UserPrincipalName] = ""
	}
	return &graph{client: msgraphsdk.NewGraphServiceClient(adapter), adapter: adapter, wire: wire, users: accounts}
}

func newUser(upn, name string) models.Userable {
	u := models.NewUser()
	u.SetAccountEnabled(ptr(true))
	u.SetDisplayName(ptr(name))
	u.SetMailNickname(ptr(strings.Split(upn, "@")[0]))
	u.SetUserPrincipalName(ptr(upn))
	pp := models.NewPasswordProfile()
	pp.SetPassword(ptr("Sdk!Passw0rd-2024"))
	pp.SetForceChangePasswordNextSignIn(ptr(false))
	u.SetPasswordProfile(pp)
	return u
}

func ptr[T any](v T) *T { return &v }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// odataError unwraps the SDK's ODataError and checks its status (0: not
// known, as for a batch item, whose status the batch response carries) and code.
func odataError(t *testing.T, err error, status int, code string) *odataerrors.ODataError {
	t.Helper()
	var oe *odataerrors.ODataError
	if !errors.As(err, &oe) {
		t.Fatalf("error = %T %v, want *odataerrors.ODataError", err, describe(err))
	}
	if status != 0 && oe.ResponseStatusCode != status {
		t.Errorf("status = %d, want %d", oe.ResponseStatusCode, status)
	}
	if oe.GetErrorEscaped() == nil {
		t.Fatal("the ODataError has no error object")
	}
	if got := deref(oe.GetErrorEscaped().GetCode()); got != code {
		t.Errorf("error.code = %q, want %q (message %q)", got, code, deref(oe.GetErrorEscaped().GetMessage()))
	}
	return oe
}

func TestGraphSDK(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	g := newGraph(t)

	var createdID string
	const createdUPN = "sdk.created@contoso.example.test"

	t.Run("create user", func(t *testing.T) {
		u, err := g.client.Users().Post(ctx, newUser(createdUPN, "SDK Created"), nil)
		if err != nil {
			t.Fatalf("POST /users: %v", describe(err))
		}
		createdID = deref(u.GetId())
		if !guid.MatchString(createdID) {
			t.Errorf("id = %q, want a GUID", createdID)
		}
		if got := deref(u.GetUserPrincipalName()); got != createdUPN {
			t.Errorf("userPrincipalName = %q, want %q", got, createdUPN)
		}
		if got := u.GetAccountEnabled(); got == nil || !*got {
			t.Errorf("accountEnabled = %v, want true", got)
		}
		g.users[createdUPN] = createdID
		// The SDK gzips request bodies; this is the path the emulator must read.
		posts := g.wire.sent(http.MethodPost, "/v1.0/users")
		if len(posts) != 1 || posts[0].contentEncoding != "gzip" {
			t.Errorf("POST /v1.0/users went out as %+v, want one with Content-Encoding gzip", posts)
		}
	})

	t.Run("get user", func(t *testing.T) {
		if createdID == "" {
			t.Fatal("no user was created")
		}
		u, err := g.client.Users().ByUserId(createdID).Get(ctx, nil)
		if err != nil {
			t.Fatalf("GET /users/%s: %v", createdID, describe(err))
		}
		if deref(u.GetId()) != createdID || deref(u.GetUserPrincipalName()) != createdUPN || deref(u.GetDisplayName()) != "SDK Created" {
			t.Errorf("got id %q upn %q name %q, want %q %q %q", deref(u.GetId()), deref(u.GetUserPrincipalName()), deref(u.GetDisplayName()),
				createdID, createdUPN, "SDK Created")
		}
		// accountEnabled is outside the default property set: $select it.
		u, err = g.client.Users().ByUserId(createdUPN).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
			QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: []string{"id", "accountEnabled"}},
		})
		if err != nil {
			t.Fatalf("GET /users/%s?$select=id,accountEnabled: %v", createdUPN, describe(err))
		}
		if deref(u.GetId()) != createdID {
			t.Errorf("by userPrincipalName: id = %q, want %q", deref(u.GetId()), createdID)
		}
		if got := u.GetAccountEnabled(); got == nil || !*got {
			t.Errorf("accountEnabled = %v, want true", got)
		}
	})

	t.Run("list users with paging", func(t *testing.T) {
		const top = 2
		before := len(g.wire.sent(http.MethodGet, "/v1.0/users"))
		page, err := g.client.Users().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
			QueryParameters: &users.UsersRequestBuilderGetQueryParameters{Top: ptr(int32(top)), Select: []string{"id", "userPrincipalName"}},
		})
		if err != nil {
			t.Fatalf("GET /users?$top=%d: %v", top, describe(err))
		}
		if n := len(page.GetValue()); n != top {
			t.Errorf("first page has %d users, want %d", n, top)
		}
		if page.GetOdataNextLink() == nil {
			t.Fatalf("first page of %d has no @odata.nextLink; the tenant holds %d users", top, len(g.users))
		}
		it, err := msgraphgocore.NewPageIterator[models.Userable](page, g.adapter, models.CreateUserCollectionResponseFromDiscriminatorValue)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{} // upn → id
		var dups []string
		err = it.Iterate(ctx, func(u models.Userable) bool {
			upn := deref(u.GetUserPrincipalName())
			if _, ok := got[upn]; ok {
				dups = append(dups, upn)
			}
			got[upn] = deref(u.GetId())
			return true
		})
		if err != nil {
			t.Fatalf("paging: %v", describe(err))
		}
		if len(dups) > 0 {
			t.Errorf("users served twice: %v", dups)
		}
		for upn, id := range g.users {
			if id != "" && got[upn] != id {
				t.Errorf("%s listed with id %q, want %q", upn, got[upn], id)
			}
		}
		want := slices.Sorted(maps.Keys(g.users))
		if listed := slices.Sorted(maps.Keys(got)); !slices.Equal(listed, want) {
			t.Errorf("listed %v, want %v", listed, want)
		}
		pages := len(g.wire.sent(http.MethodGet, "/v1.0/users")) - before
		if wantPages := (len(want) + top - 1) / top; pages != wantPages {
			t.Errorf("%d users came in %d pages of $top=%d, want %d pages", len(want), pages, top, wantPages)
		}
	})

	t.Run("batch", func(t *testing.T) {
		registerBatchErrors(t)
		const (
			adminUPN = "hybrid.admin@contoso.onmicrosoft.com"
			opsUPN   = "ops.user@contoso.onmicrosoft.com"
			batchUPN = "sdk.batch@contoso.example.test"
			missing  = "00000000-0000-4000-8000-00000000beef"
		)
		admin, err := g.client.Users().ByUserId(adminUPN).Get(ctx, nil)
		if err != nil {
			t.Fatalf("GET /users/%s: %v", adminUPN, describe(err))
		}
		adminID := deref(admin.GetId())

		batch := msgraphgocore.NewBatchRequest(g.adapter)
		add := func(info *abstractions.RequestInformation, err error) string {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			item, err := batch.AddBatchRequestStep(*info)
			if err != nil {
				t.Fatal(err)
			}
			return deref(item.GetId())
		}
		getByID := add(g.client.Users().ByUserId(adminID).ToGetRequestInformation(ctx, nil))
		getByUPN := add(g.client.Users().ByUserId(opsUPN).ToGetRequestInformation(ctx, nil))
		post := add(g.client.Users().ToPostRequestInformation(ctx, newUser(batchUPN, "SDK Batch"), nil))
		getMissing := add(g.client.Users().ByUserId(missing).ToGetRequestInformation(ctx, nil))

		resp, err := batch.Send(ctx, g.adapter)
		if err != nil {
			t.Fatalf("POST /$batch: %v", describe(err))
		}
		status := resp.GetStatusCodes()
		for id, want := range map[string]int32{getByID: 200, getByUPN: 200, post: 201, getMissing: 404} {
			if status[id] != want {
				t.Errorf("batch item %s: status %d, want %d (all: %v)", id, status[id], want, status)
			}
		}

		u, err := batchUser(resp, getByID)
		if err != nil {
			t.Errorf("GET /users/%s in the batch: %v", adminID, describe(err))
		} else if deref(u.GetId()) != adminID || deref(u.GetUserPrincipalName()) != adminUPN {
			t.Errorf("GET /users/%s in the batch: id %q upn %q, want %q %q", adminID, deref(u.GetId()), deref(u.GetUserPrincipalName()), adminID, adminUPN)
		}
		u, err = batchUser(resp, getByUPN)
		if err != nil {
			t.Errorf("GET /users/%s in the batch: %v", opsUPN, describe(err))
		} else if deref(u.GetUserPrincipalName()) != opsUPN || !guid.MatchString(deref(u.GetId())) {
			t.Errorf("GET /users/%s in the batch: id %q upn %q", opsUPN, deref(u.GetId()), deref(u.GetUserPrincipalName()))
		}
		u, err = batchUser(resp, post)
		if err != nil {
			t.Fatalf("POST /users in the batch: %v", describe(err))
		}
		batchID := deref(u.GetId())
		if !guid.MatchString(batchID) || deref(u.GetUserPrincipalName()) != batchUPN {
			t.Errorf("POST /users in the batch: id %q upn %q, want a GUID and %q", batchID, deref(u.GetUserPrincipalName()), batchUPN)
		}
		_, err = batchUser(resp, getMissing)
		odataError(t, err, 0, "Request_ResourceNotFound")

		// The user the batch created is there outside the batch too.
		direct, err := g.client.Users().ByUserId(batchID).Get(ctx, nil)
		if err != nil {
			t.Fatalf("GET /users/%s after the batch: %v", batchID, describe(err))
		}
		if deref(direct.GetUserPrincipalName()) != batchUPN {
			t.Errorf("after the batch: upn %q, want %q", deref(direct.GetUserPrincipalName()), batchUPN)
		}
		g.users[batchUPN] = batchID
	})

	t.Run("missing user", func(t *testing.T) {
		missing := "00000000-0000-4000-8000-00000000dead"
		_, err := g.client.Users().ByUserId(missing).Get(ctx, nil)
		if err == nil {
			t.Fatalf("GET /users/%s succeeded, want 404", missing)
		}
		oe := odataError(t, err, http.StatusNotFound, "Request_ResourceNotFound")
		if msg := deref(oe.GetErrorEscaped().GetMessage()); !strings.Contains(msg, missing) {
			t.Errorf("message %q does not name %s", msg, missing)
		}
		// Graph echoes the client-request-id the SDK sent in innerError.
		sent := g.wire.sent(http.MethodGet, "/v1.0/users/"+missing)
		inner := oe.GetErrorEscaped().GetInnerError()
		switch {
		case len(sent) == 0 || sent[len(sent)-1].clientRequestID == "":
			t.Errorf("the SDK sent no client-request-id: %+v", sent)
		case inner == nil:
			t.Error("error has no innerError")
		default:
			if got := deref(inner.GetClientRequestId()); got != sent[len(sent)-1].clientRequestID {
				t.Errorf("innerError.client-request-id = %q, want %q", got, sent[len(sent)-1].clientRequestID)
			}
			if !guid.MatchString(deref(inner.GetRequestId())) {
				t.Errorf("innerError.request-id = %q, want a GUID", deref(inner.GetRequestId()))
			}
			if inner.GetDate() == nil {
				t.Error("innerError has no date")
			}
		}
	})

	t.Run("one token", func(t *testing.T) {
		// azidentity caches the token for its lifetime: one sign-in served
		// every request above.
		tokenPath := "/" + tenant.DefaultSeed().TenantID + "/oauth2/v2.0/token"
		if n := len(g.wire.sent(http.MethodPost, tokenPath)); n != 1 {
			t.Errorf("%d token requests to %s, want 1", n, tokenPath)
		}
	})
}

// batchUser reads the user a batch item answered with, or its error. The SDK
// dereferences the item and its status unchecked: a missing one is told here.
func batchUser(resp msgraphgocore.BatchResponse, id string) (models.Userable, error) {
	if item := resp.GetResponseById(id); item == nil || item.GetStatus() == nil {
		return nil, fmt.Errorf("the batch response has no item %s with a status", id)
	}
	return msgraphgocore.GetBatchResponseById[models.Userable](resp, id, models.CreateUserFromDiscriminatorValue)
}

var registerOnce sync.Once

// registerBatchErrors maps failed batch items to ODataError, as the SDK's
// documentation has applications do: msgraph-sdk-go-core has no mapping of
// its own for them.
func registerBatchErrors(t *testing.T) {
	registerOnce.Do(func() {
		err := msgraphgocore.RegisterError(msgraphgocore.BatchRequestErrorRegistryKey, abstractions.ErrorMappings{
			"4XX": odataerrors.CreateODataErrorFromDiscriminatorValue,
			"5XX": odataerrors.CreateODataErrorFromDiscriminatorValue,
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// describe spells out an SDK error: an ODataError's Error() is its message alone.
func describe(err error) string {
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) && oe.GetErrorEscaped() != nil {
		return fmt.Sprintf("%d %s: %s", oe.ResponseStatusCode, deref(oe.GetErrorEscaped().GetCode()), deref(oe.GetErrorEscaped().GetMessage()))
	}
	var ae *abstractions.ApiError
	if errors.As(err, &ae) {
		return fmt.Sprintf("%d %s", ae.ResponseStatusCode, ae.Message)
	}
	return fmt.Sprint(err)
}
