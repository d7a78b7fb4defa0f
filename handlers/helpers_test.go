package handlers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/go-chi/chi/v5"
	"golang.org/x/time/rate"

	"github.com/hybridsync/hybridsync/engine/audit"
	"github.com/hybridsync/hybridsync/engine/auth"
	"github.com/hybridsync/hybridsync/engine/configure"
	"github.com/hybridsync/hybridsync/engine/cycle"
	"github.com/hybridsync/hybridsync/engine/entra"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/secret"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
)

// The handler tests run the real parts: a SQLite store in t.TempDir(), a real
// secret box, a jobs runner with the configure job and three test job types,
// the real StoreChecker, and the router behind httptest.NewServer.

const testPassword = "correct horse battery staple"

// testHash is one argon2id hash shared by every test account: hashing costs
// about half a second under -race, signing in only one check.
var testHash = sync.OnceValue(func() string {
	h, err := auth.HashPassword(testPassword)
	if err != nil {
		panic(err)
	}
	return h
})

// The accounts every environment starts with, by role.
var testAccounts = []struct {
	username string
	roles    []string
}{
	{"admin", []string{string(auth.Admins)}},
	{"operator", []string{string(auth.Operators)}},
	{"helpdesk", []string{string(auth.Browse)}},
	{"pwreset", []string{string(auth.PasswordSet)}},
	{"nobody", nil},
}

// Test job kinds.
const (
	kindGate = "test-gate" // logs, waits for env.release, logs again
	kindSpam = "test-spam" // logs spamParams.Lines lines of spamParams.Size bytes
	kindFail = "test-fail" // fails at once
)

type spamParams struct{ Lines, Size int }

type envOptions struct {
	cfg        Config
	maxJobs    int
	noAccounts bool
	// checkTimeout bounds the StoreChecker's connection attempts (5 s: a
	// forest check binds and searches several times, under -race, on a
	// machine that may run other packages' forests too).
	checkTimeout time.Duration
	// entra replaces the Microsoft Entra settings (default: the package's
	// tenant emulator, testTenant).
	entra *entra.Config
	// restartOf, when set, starts a new server on that environment's data
	// directory and store (a restart: a fresh vault, runner and handler; the
	// accounts are already there).
	restartOf *env
}

type env struct {
	t       testing.TB
	h       *Handler
	st      *store.Store
	box     *secret.Box
	runner  *jobs.Runner
	srv     *httptest.Server
	dataDir string
	ids     map[string]int64 // account ids by username
	logs    *syncBuffer
	// vault holds the enterprise admin credentials typed on Connect your
	// directories, shared by the StoreChecker and the configure job.
	vault *setup.Vault

	gate     chan struct{}
	gateOnce sync.Once
}

func newEnv(t testing.TB) *env { return newEnvWith(t, envOptions{}) }

func newEnvWith(t testing.TB, o envOptions) *env {
	t.Helper()
	ctx := context.Background()
	var (
		dir string
		st  *store.Store
		box *secret.Box
		err error
	)
	if o.restartOf != nil {
		dir, st, box = o.restartOf.dataDir, o.restartOf.st, o.restartOf.box
		o.noAccounts = true
	} else {
		dir = t.TempDir()
		st, err = store.Open(ctx, store.Options{Dialect: store.SQLite, DSN: store.SQLitePath(dir)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if _, err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		box, err = secret.Load(dir, "")
		if err != nil {
			t.Fatal(err)
		}
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	const installID = "handlers-test"
	if o.checkTimeout == 0 {
		o.checkTimeout = 5 * time.Second
	}
	// As serve wires them: one vault for the checker and the configure job,
	// and a resolver that asks the test forest's DNS server only.
	vault := &setup.Vault{}
	checker := &setup.StoreChecker{InstallID: installID, OwnDB: store.SQLitePath(dir), Box: box, Timeout: o.checkTimeout, Vault: vault, Resolver: testResolver, Store: st,
		Entra: testTenant(t).config(), EntraVault: &setup.EntraVault{}}
	if o.entra != nil {
		checker.Entra = *o.entra
	}
	if o.maxJobs == 0 {
		o.maxJobs = 2
	}
	e := &env{t: t, st: st, box: box, dataDir: dir, ids: map[string]int64{}, logs: logs, vault: vault, gate: make(chan struct{})}
	if o.restartOf != nil {
		e.ids = o.restartOf.ids
	}
	e.runner = jobs.NewRunner(st, jobs.NewHub(), log, o.maxJobs)
	e.runner.Register(configure.Type(configure.Deps{Store: st, Box: box, DataDir: dir, InstallID: installID, Checker: checker, Vault: vault, Resolver: testResolver, Entra: checker}))
	e.runner.Register(cycle.New(cycle.Deps{Store: st, Box: box, Entra: checker.Entra, Resolver: testResolver, Log: log}).Type())
	e.registerTestTypes()
	e.runner.OnFinish(audit.ConfigureEnds(st, configure.Kind, log))
	t.Cleanup(func() {
		e.release()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		e.runner.Shutdown(sctx)
	})

	cfg := o.cfg
	cfg.DataDir, cfg.InstallID = dir, installID
	if cfg.SignInBurst == 0 && cfg.SignInRate == 0 {
		// Tests sign in often from one address; the limiter has its own test.
		cfg.SignInBurst, cfg.SignInRate = 1000, rate.Inf
	}
	e.h, err = New(ctx, cfg, Deps{Store: st, Box: box, Runner: e.runner, Checker: checker, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(e.h.Routes())
	t.Cleanup(func() {
		e.srv.CloseClientConnections()
		e.srv.Close()
	})
	t.Cleanup(e.h.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	if !o.noAccounts {
		for _, a := range testAccounts {
			e.ids[a.username] = e.createAccount(a.username, a.roles...)
		}
	}
	return e
}

func (e *env) registerTestTypes() {
	e.runner.Register(jobs.Type{Kind: kindGate, Title: "Gate", Steps: func([]byte) ([]jobs.Step, error) {
		return []jobs.Step{{Name: "Wait for the gate", Run: func(ctx context.Context, r *jobs.Run) error {
			r.Logf("waiting")
			select {
			case <-e.gate:
			case <-ctx.Done():
				return ctx.Err()
			}
			r.Logf("released")
			return nil
		}}}, nil
	}})
	e.runner.Register(jobs.Type{Kind: kindSpam, Title: "Spam", Steps: func(raw []byte) ([]jobs.Step, error) {
		var p spamParams
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, err
		}
		pad := strings.Repeat("x", p.Size)
		return []jobs.Step{{Name: "Log a lot", Run: func(ctx context.Context, r *jobs.Run) error {
			for i := range p.Lines {
				r.Logf("line %d %s", i, pad)
			}
			return nil
		}}}, nil
	}})
	e.runner.Register(jobs.Type{Kind: kindFail, Title: "Fail", Steps: func([]byte) ([]jobs.Step, error) {
		return []jobs.Step{{Name: "Fail", Run: func(context.Context, *jobs.Run) error { return errors.New("boom") }}}, nil
	}})
}

// release opens the gate of every kindGate job.
func (e *env) release() { e.gateOnce.Do(func() { close(e.gate) }) }

func (e *env) createAccount(username string, roles ...string) int64 {
	e.t.Helper()
	id, err := e.st.CreateAccount(context.Background(), store.Account{Username: username, DisplayName: "User " + username, PasswordHash: testHash(), CreatedBy: "test", Roles: roles})
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) startJob(kind string, params any) int64 {
	e.t.Helper()
	id, err := e.runner.Start(context.Background(), jobs.Request{Kind: kind, Params: params, By: "test"})
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// waitJob waits until a job has finished and returns it.
func (e *env) waitJob(id int64, within time.Duration) store.Job {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for {
		j, err := e.st.Job(context.Background(), id)
		if err != nil {
			e.t.Fatal(err)
		}
		if jobs.Finished(j.Status) {
			return j
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("job %d still %s after %s", id, j.Status, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// snapshot describes everything a request could change, to show that a
// refused one changed nothing.
func (e *env) snapshot() string {
	e.t.Helper()
	ctx := context.Background()
	var b strings.Builder
	accts, err := e.st.Accounts(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, a := range accts {
		fmt.Fprintf(&b, "account %d %s %q %v\n", a.ID, a.Username, a.DisplayName, a.Roles)
	}
	if ws, err := e.st.WizardState(ctx); err == nil {
		fmt.Fprintf(&b, "wizard %s %s %s\n", ws.Page, ws.Answers, ws.DonePages)
	} else if !errors.Is(err, store.ErrNotFound) {
		e.t.Fatal(err)
	}
	js, err := e.st.Jobs(ctx, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, j := range js {
		fmt.Fprintf(&b, "job %d %s %s\n", j.ID, j.Kind, j.Status)
	}
	if c, err := e.st.ActiveConfiguration(ctx); err == nil {
		fmt.Fprintf(&b, "config %d\n", c.ID)
	}
	groups, err := e.st.SyncGroups(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	fmt.Fprintf(&b, "groups %v\n", groups)
	return b.String()
}

// client is one browser: a cookie jar, no redirects followed, and the CSRF
// token of the last page it saw.
type client struct {
	t    testing.TB
	e    *env
	hc   *http.Client
	csrf string
}

func (e *env) newClient() *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &client{t: e.t, e: e, hc: &http.Client{
		Jar:           jar,
		Timeout:       60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// signedIn returns a client signed in through POST /signin.
func (e *env) signedIn(username string) *client {
	e.t.Helper()
	c := e.newClient()
	c.signIn(username)
	return c
}

func (c *client) signIn(username string) {
	c.t.Helper()
	if r := c.get("/signin"); r.status != http.StatusOK {
		c.t.Fatalf("GET /signin: %d", r.status)
	}
	r := c.post("/signin", url.Values{"username": {username}, "password": {testPassword}})
	if r.status != http.StatusSeeOther {
		c.t.Fatalf("sign in as %s: status %d, want 303\n%s", username, r.status, r.text())
	}
	if r := c.get("/"); r.status != http.StatusOK {
		c.t.Fatalf("GET / after signing in as %s: %d", username, r.status)
	}
}

// cookie returns the session cookie's value.
func (c *client) cookie() string {
	u, _ := url.Parse(c.e.srv.URL)
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == cookieName {
			return ck.Value
		}
	}
	return ""
}

// setCookie replaces the session cookie (to replay an old one).
func (c *client) setCookie(v string) {
	u, _ := url.Parse(c.e.srv.URL)
	c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: cookieName, Value: v, Path: "/"}})
}

type response struct {
	status int
	header http.Header
	body   []byte
	doc    *goquery.Document
}

func (r *response) text() string     { return string(r.body) }
func (r *response) location() string { return r.header.Get("Location") }

// find queries the page; it fails the test on a response that is not HTML.
func (r *response) find(t testing.TB, sel string) *goquery.Selection {
	t.Helper()
	if r.doc == nil {
		t.Fatalf("response is not HTML (%s):\n%s", r.header.Get("Content-Type"), r.body)
	}
	return r.doc.Find(sel)
}

// testid returns the text of the element with that data-testid.
func (r *response) testid(t testing.TB, id string) string {
	t.Helper()
	return strings.TrimSpace(r.find(t, `[data-testid="`+id+`"]`).Text())
}

// value returns the value attribute of the input named name ("" and false if none).
func (r *response) value(t testing.TB, name string) (string, bool) {
	t.Helper()
	return r.find(t, `input[name="`+name+`"]`).First().Attr("value")
}

func (c *client) do(req *http.Request) *response {
	c.t.Helper()
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading the body: %v", req.Method, req.URL.Path, err)
	}
	r := &response{status: res.StatusCode, header: res.Header, body: body}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		if r.doc, err = goquery.NewDocumentFromReader(bytes.NewReader(body)); err != nil {
			c.t.Fatal(err)
		}
		if tok, ok := r.doc.Find(`input[name="csrf_token"]`).First().Attr("value"); ok && tok != "" {
			c.csrf = tok
		}
	}
	return r
}

func (c *client) newRequest(method, path string, body io.Reader, hdr ...string) *http.Request {
	c.t.Helper()
	req, err := http.NewRequest(method, c.e.srv.URL+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return req
}

func (c *client) get(path string, hdr ...string) *response {
	c.t.Helper()
	return c.do(c.newRequest(http.MethodGet, path, nil, hdr...))
}

// How a POST carries its CSRF token.
type csrfMode int

const (
	csrfField  csrfMode = iota // form field csrf_token
	csrfHeader                 // X-CSRF-Token, as htmx sends it
	csrfNone
)

func (m csrfMode) String() string {
	return [...]string{"field", "header", "none"}[m]
}

// postWith posts a urlencoded form with tok carried as mode says.
func (c *client) postWith(mode csrfMode, tok, path string, v url.Values, hdr ...string) *response {
	c.t.Helper()
	form := url.Values{}
	for k, vs := range v {
		form[k] = slices.Clone(vs)
	}
	if mode == csrfField {
		form.Set("csrf_token", tok)
	}
	req := c.newRequest(http.MethodPost, path, strings.NewReader(form.Encode()), hdr...)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if mode == csrfHeader {
		req.Header.Set("X-CSRF-Token", tok)
	}
	return c.do(req)
}

// post posts a form the way the page's own form does.
func (c *client) post(path string, v url.Values, hdr ...string) *response {
	c.t.Helper()
	return c.postWith(csrfField, c.csrf, path, v, hdr...)
}

// postMultipart posts a multipart form with one file, the CSRF token in a field.
func (c *client) postMultipart(path string, v url.Values, fileField, fileName string, data []byte, hdr ...string) *response {
	c.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("csrf_token", c.csrf)
	for k, vs := range v {
		for _, s := range vs {
			_ = mw.WriteField(k, s)
		}
	}
	if fileField != "" {
		fw, err := mw.CreateFormFile(fileField, fileName)
		if err != nil {
			c.t.Fatal(err)
		}
		_, _ = fw.Write(data)
	}
	if err := mw.Close(); err != nil {
		c.t.Fatal(err)
	}
	req := c.newRequest(http.MethodPost, path, &buf, hdr...)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req)
}

// wantStatus fails unless r has the status; it shows the page's message.
func wantStatus(t testing.TB, r *response, want int, what string) {
	t.Helper()
	if r.status != want {
		msg := ""
		if r.doc != nil {
			msg = strings.Join(strings.Fields(r.doc.Find("main").Text()), " ")
		}
		t.Fatalf("%s: status %d, want %d (Location %q) %s", what, r.status, want, r.location(), msg)
	}
}

func wantRedirect(t testing.TB, r *response, to, what string) {
	t.Helper()
	wantStatus(t, r, http.StatusSeeOther, what)
	if r.location() != to {
		t.Fatalf("%s: redirects to %q, want %q", what, r.location(), to)
	}
}

var jobPath = regexp.MustCompile(`^/jobs/(\d+)$`)

// jobIDFrom reads the job id from a redirect to /jobs/{id}.
func jobIDFrom(t testing.TB, r *response) int64 {
	t.Helper()
	m := jobPath.FindStringSubmatch(r.location())
	if r.status != http.StatusSeeOther || m == nil {
		t.Fatalf("want a redirect to /jobs/{id}, got %d to %q: %s", r.status, r.location(), r.text())
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

// walkedRoutes lists every route of the router as "METHOD pattern".
func walkedRoutes(t testing.TB, h *Handler) []string {
	t.Helper()
	routes, ok := h.Routes().(chi.Routes)
	if !ok {
		t.Fatalf("Routes() is a %T, not chi.Routes", h.Routes())
	}
	var out []string
	err := chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		out = append(out, method+" "+route)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// declared returns the route table's entry for "METHOD pattern".
func declared(key string) (route, bool) {
	for _, rt := range routeTable {
		if rt.method+" "+rt.pattern == key {
			return rt, true
		}
	}
	return route{}, false
}

// concrete fills a route pattern's parameters with real ids.
func concrete(pattern string, jobID, accountID int64, page string) string {
	p := pattern
	switch {
	case strings.HasPrefix(p, "/jobs/"):
		p = strings.Replace(p, "{id}", strconv.FormatInt(jobID, 10), 1)
	case strings.HasPrefix(p, "/accounts/"):
		p = strings.Replace(p, "{id}", strconv.FormatInt(accountID, 10), 1)
	}
	p = strings.Replace(p, "{file}", "1-primary-adfs1.ps1", 1)
	return strings.Replace(p, "{page}", page, 1)
}

// sse is an open event stream, parsed into events as they arrive.
type sse struct {
	res    *http.Response
	events chan sseEvent
	cancel context.CancelFunc
	mu     sync.Mutex
	err    error
	pings  atomic.Int64 // comment lines (keep-alives) seen
}

type sseEvent struct {
	id, event, data string
}

// openEvents opens an event stream with the client's cookies.
func (c *client) openEvents(t testing.TB, path string, hdr ...string) *sse {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req := c.newRequest(http.MethodGet, path, nil, hdr...).WithContext(ctx)
	hc := &http.Client{Jar: c.hc.Jar, CheckRedirect: c.hc.CheckRedirect}
	res, err := hc.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", path, err)
	}
	s := &sse{res: res, events: make(chan sseEvent, 100000), cancel: cancel}
	t.Cleanup(s.close)
	go s.read()
	return s
}

func (s *sse) close() {
	s.cancel()
	s.res.Body.Close()
}

func (s *sse) read() {
	defer close(s.events)
	br := bufio.NewReader(s.res.Body)
	var ev sseEvent
	var data []string
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
			return
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if ev.event != "" || len(data) > 0 {
				ev.data = strings.Join(data, "\n")
				s.events <- ev
			}
			ev, data = sseEvent{}, nil
		case strings.HasPrefix(line, ":"):
			s.pings.Add(1)
		case strings.HasPrefix(line, "retry: "):
		case strings.HasPrefix(line, "id: "):
			ev.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			ev.event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = append(data, strings.TrimPrefix(line, "data: "))
		}
	}
}

// next returns the next event, or false when the stream ended or nothing came
// within d.
func (s *sse) next(t testing.TB, d time.Duration) (sseEvent, bool) {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		return ev, ok
	case <-time.After(d):
		t.Fatalf("no event within %s", d)
	}
	return sseEvent{}, false
}

// all reads until the stream ends (failing after d).
func (s *sse) all(t testing.TB, d time.Duration) []sseEvent {
	t.Helper()
	var out []sseEvent
	deadline := time.After(d)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return out
			}
			out = append(out, ev)
		case <-deadline:
			t.Fatalf("the stream did not end within %s; got %d events, last %+v", d, len(out), lastOf(out))
		}
	}
}

func lastOf(evs []sseEvent) sseEvent {
	if len(evs) == 0 {
		return sseEvent{}
	}
	return evs[len(evs)-1]
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// formValues collects what a browser would submit from the page's form with
// that action: text and hidden inputs, checked boxes and radios, no disabled
// fields, no files, no buttons.
func formValues(t testing.TB, r *response, action string) url.Values {
	t.Helper()
	form := r.find(t, `form[action="`+action+`"]`)
	if form.Length() != 1 {
		t.Fatalf("%d forms with action %s", form.Length(), action)
	}
	v := url.Values{}
	form.Find("input").Each(func(_ int, in *goquery.Selection) {
		name, _ := in.Attr("name")
		if name == "" || in.Is("[disabled]") {
			return
		}
		value, _ := in.Attr("value")
		switch typ, _ := in.Attr("type"); typ {
		case "checkbox", "radio":
			if in.Is("[checked]") {
				if value == "" {
					value = "on"
				}
				v.Add(name, value)
			}
		case "file", "submit", "button":
		default:
			v.Add(name, value)
		}
	})
	v.Del("csrf_token")
	return v
}

// submit posts the page's form back like a browser, with changes: a value of
// "" removes the field (an unchecked box).
func (c *client) submit(r *response, action, button string, change url.Values) *response {
	c.t.Helper()
	v := formValues(c.t, r, action)
	for k, vs := range change {
		if len(vs) == 1 && vs[0] == "" {
			v.Del(k)
			continue
		}
		v[k] = vs
	}
	v.Set("action", button)
	if strings.Contains(r.find(c.t, `form[action="`+action+`"]`).AttrOr("enctype", ""), "multipart") {
		return c.postMultipart(action, v, "", "", nil)
	}
	return c.post(action, v)
}
