package tenant

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Default write budget: 3,000 writes per 150 s per app (DESIGN.md, "Export").
const (
	DefaultWriteBudget = 3000
	DefaultWriteWindow = 150 * time.Second
)

// Tenant is one emulated tenant. It is safe for concurrent use.
type Tenant struct {
	tenantID      string
	displayName   string
	initialDomain string
	createdAt     time.Time

	key *rsa.PrivateKey

	budget        int
	window        time.Duration
	tokenLifetime time.Duration
	now           func() time.Time
	deltaPage     int // objects per delta page (delta.go)

	mux   *http.ServeMux // identity platform
	graph http.Handler   // /v1.0/..., behind token validation

	mu      sync.Mutex
	domains []*domain // initial first
	apps    map[string]SeedApp
	users   map[string]*user // by id
	byUPN   map[string]string
	byProxy map[string]string
	byImmID map[string]string
	seq     int64
	writes  map[string]*bucket // app id → budget window
	objects                    // groups, contacts, devices, role assignments, sync settings (directory.go)
	persist                    // the state file (state.go)

	idp identity // sign-in flows, codes, refresh tokens, sessions (authorize.go)
}

type domain struct {
	Name               string
	Verified           bool
	Initial            bool
	Default            bool
	AuthenticationType string
	Verifiable         bool   `json:",omitempty"` // verify succeeds (dirsync.go)
	Code               string `json:",omitempty"` // the 8 digits of MS=ms######## (dirsync.go)
	// Federation is the domain's federation configuration (federation.go).
	Federation *Federation `json:",omitempty"`
}

type bucket struct {
	start time.Time
	count int
}

// New builds a tenant from a seed.
func New(seed Seed, opts Options) (*Tenant, error) {
	if err := seed.Validate(); err != nil {
		return nil, err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("tenant: unable to generate signing key: %w", err)
	}
	t := &Tenant{
		tenantID:      strings.ToLower(seed.TenantID),
		displayName:   seed.DisplayName,
		initialDomain: strings.ToLower(seed.InitialDomain),
		key:           key,
		budget:        DefaultWriteBudget,
		window:        DefaultWriteWindow,
		tokenLifetime: time.Hour,
		deltaPage:     DefaultDeltaPageSize,
		now:           time.Now,
		apps:          map[string]SeedApp{},
		users:         map[string]*user{},
		byUPN:         map[string]string{},
		byProxy:       map[string]string{},
		byImmID:       map[string]string{},
		writes:        map[string]*bucket{},
	}
	if seed.WriteBudget > 0 {
		t.budget = seed.WriteBudget
	}
	if seed.WriteWindowSeconds > 0 {
		t.window = time.Duration(seed.WriteWindowSeconds * float64(time.Second))
	}
	if opts.WriteBudget > 0 {
		t.budget = opts.WriteBudget
	}
	if opts.WriteWindow > 0 {
		t.window = opts.WriteWindow
	}
	if opts.TokenLifetime > 0 {
		t.tokenLifetime = opts.TokenLifetime
	}
	if opts.DeltaPageSize > 0 {
		t.deltaPage = opts.DeltaPageSize
	}
	if opts.Now != nil {
		t.now = opts.Now
	}
	t.createdAt = t.now().UTC()
	if t.displayName == "" {
		t.displayName = t.initialDomain
	}

	for _, a := range seed.Apps {
		t.apps[a.ClientID] = a
	}
	// Domains, accounts and the other directory objects: from the state
	// file when there is one, else from the seed (state.go).
	if err := t.initDirectory(seed, opts); err != nil {
		return nil, err
	}
	t.routes()
	return t, nil
}

// TenantID is the tenant's id (the tid claim).
func (t *Tenant) TenantID() string { return t.tenantID }

// InitialDomain is the tenant's xxx.onmicrosoft.com domain.
func (t *Tenant) InitialDomain() string { return t.initialDomain }

// ServeHTTP implements http.Handler.
func (t *Tenant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/v1.0/") {
		t.graph.ServeHTTP(w, r)
		return
	}
	t.mux.ServeHTTP(w, r)
}

func (t *Tenant) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", t.handleDiscovery)
	m.HandleFunc("GET /{tenant}/discovery/v2.0/keys", t.handleJWKS)
	m.HandleFunc("POST /{tenant}/oauth2/v2.0/token", t.handleToken)
	m.HandleFunc("GET /{tenant}/oauth2/v2.0/authorize", t.handleAuthorize)
	m.HandleFunc("POST /{tenant}"+signInPath, t.handleSignIn)
	m.HandleFunc("POST "+LoginSRFPath, t.handleLoginSRF)
	m.HandleFunc("GET /{tenant}/oauth2/v2.0/logout", t.handleLogout)
	m.HandleFunc("GET /oidc/userinfo", t.handleUserInfo)
	m.HandleFunc("GET /{tenant}/.well-known/openid-configuration", t.handleDiscoveryV1)
	m.HandleFunc("GET /{tenant}/discovery/keys", t.handleJWKSV1)
	m.HandleFunc("GET /common/UserRealm/{username}", t.handleUserRealm)
	m.HandleFunc("GET /common/userrealm/{username}", t.handleUserRealm)
	m.HandleFunc("GET /common/discovery/instance", t.handleInstanceDiscovery)
	t.mux = m
	t.graph = decodeContent(t.requireToken(t.graphMux()))
}

func (t *Tenant) graphMux() *http.ServeMux {
	g := http.NewServeMux()
	for _, rt := range graphRoutes() {
		g.HandleFunc(rt.pattern, t.typed(rt.typ, func(w http.ResponseWriter, r *http.Request) { rt.handle(t, w, r) }))
	}
	g.HandleFunc("/v1.0/", func(w http.ResponseWriter, r *http.Request) {
		writeGraphError(w, r, http.StatusBadRequest, "BadRequest",
			fmt.Sprintf("Resource not found for the segment '%s'.", strings.TrimPrefix(r.URL.Path, "/v1.0/")), nil)
	})
	return g
}

// baseURL is scheme://host of the request, the root of every URL handed out.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newGUID returns a random version-4 UUID string.
func newGUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
