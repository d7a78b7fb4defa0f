package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/hybridsync/hybridsync/e2e/forest"
	"github.com/hybridsync/hybridsync/engine/outcome"
)

// server is one hybridsync process: `hybridsync serve` on a loopback port and a
// data directory of its own.
type server struct {
	t       *testing.T
	dataDir string
	addr    string // 127.0.0.1:port
	base    string // http://127.0.0.1:port
	logs    *logBuffer

	cmd    *exec.Cmd
	exited chan struct{}
	runs   int
	// args are extra flags of serve (the tenant's authority, say).
	args []string
	// tenant is the emulated tenant the server signs in to (started with the
	// server unless args name another authority).
	tenant *tenantProc
}

// logBuffer keeps everything the process wrote, over every run.
type logBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (b *logBuffer) add(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines = append(b.lines, line)
}

func (b *logBuffer) snapshot() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.lines...)
}

// startServer starts hybridsync on dataDir; it is stopped when the test ends,
// and its log is printed if the test failed.
func startServer(t *testing.T, dataDir string, args ...string) *server {
	t.Helper()
	s := &server{t: t, dataDir: dataDir, logs: &logBuffer{}, args: args}
	// Cycles run on Run now only, unless a test turns the scheduler on: the
	// tests that are not about sync must not race a cycle.
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--scheduler") }) {
		s.args = append(s.args, "--scheduler=false")
	}
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--entra-authority") }) {
		s.tenant = startTenant(t, testSeed())
		s.args = append(s.args, s.tenant.flags()...)
	}
	s.addr = freeAddr(t)
	s.base = "http://" + s.addr
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("hybridsync log (%s):\n%s", s.dataDir, strings.Join(s.logs.snapshot(), "\n"))
		}
	})
	s.start()
	return s
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("no free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs the process and waits for /healthz.
func (s *server) start() {
	s.t.Helper()
	if s.cmd != nil {
		s.t.Fatal("the server is already running")
	}
	s.runs++
	args := append([]string{"serve", "--data-dir", s.dataDir, "--listen", s.addr, "--log-format", "json", "--dns-server", dnsServer}, s.args...)
	s.logs.add(fmt.Sprintf("---- run %d: hybridsync %s", s.runs, strings.Join(args, " ")))
	cmd := exec.Command(binPath, args...)
	cmd.Dir = s.dataDir
	// No SSL_CERT_FILE a developer's shell may carry: the console trusts
	// the emulator's CA through --entra-ca or not at all.
	cmd.Env = append(slices.DeleteFunc(cmd.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "SSL_CERT_FILE=") || strings.HasPrefix(kv, "SSL_CERT_DIR=")
	}), "HYBRIDSYNC_SECRET_KEY=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr // the same pipe: stdout is not used by serve anyway
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("unable to start hybridsync: %v", err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			s.logs.add(sc.Text())
		}
	}()
	go func() {
		<-read
		_ = cmd.Wait()
		close(s.exited)
	}()
	s.waitHealthy()
}

// waitHealthy polls /healthz until it answers ok.
func (s *server) waitHealthy() {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	c := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-s.exited:
			s.t.Fatalf("hybridsync exited at start (%s)", s.cmd.ProcessState)
		default:
		}
		resp, err := c.Get(s.base + "/healthz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.TrimSpace(string(body)) == "ok" {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("hybridsync did not become healthy on %s: %v", s.base, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the process with SIGTERM and waits for it; it fails the test if
// the process does not stop cleanly.
func (s *server) stop() {
	s.t.Helper()
	if s.cmd == nil {
		return
	}
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		s.t.Errorf("hybridsync did not stop within 15 s of SIGTERM; killed it")
		return
	}
	if !cmd.ProcessState.Success() {
		s.t.Errorf("hybridsync exited with %s after SIGTERM", cmd.ProcessState)
	}
	if !s.logged(func(e logEntry) bool { return e.Msg == "stopped" }) {
		s.t.Errorf("hybridsync did not log %q when it stopped", "stopped")
	}
}

// restart stops the process and starts it again on the same data directory
// and address.
func (s *server) restart() {
	s.t.Helper()
	s.stop()
	s.start()
}

// logEntry is one JSON line of the log.
type logEntry struct {
	Level string         `json:"level"`
	Msg   string         `json:"msg"`
	Attrs map[string]any `json:"-"`
	Raw   string         `json:"-"`
}

// entries parses every JSON line of the log (lines of the test's own markers
// and anything else that is not JSON are left out).
func (s *server) entries() []logEntry {
	var out []logEntry
	for _, line := range s.logs.snapshot() {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var e logEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			continue
		}
		_ = json.Unmarshal([]byte(line), &e.Attrs)
		e.Raw = line
		out = append(out, e)
	}
	return out
}

func (s *server) logged(match func(logEntry) bool) bool {
	for _, e := range s.entries() {
		if match(e) {
			return true
		}
	}
	return false
}

// setupToken returns the newest one-time setup token the server logged.
func (s *server) setupToken() string {
	s.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		tok := ""
		for _, e := range s.entries() {
			if v, ok := e.Attrs["setup_token"].(string); ok && v != "" {
				tok = v
			}
		}
		if tok != "" {
			return tok
		}
		if time.Now().After(deadline) {
			s.t.Fatal("hybridsync logged no setup_token")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// expectNoErrors fails the test if the server logged anything at ERROR level.
func (s *server) expectNoErrors() {
	s.t.Helper()
	for _, e := range s.entries() {
		if e.Level == "ERROR" {
			s.t.Errorf("hybridsync logged an error: %s", e.Raw)
		}
	}
}

// expectLogged fails the test unless a log line matches.
func (s *server) expectLogged(what string, match func(logEntry) bool) {
	s.t.Helper()
	if !s.logged(match) {
		s.t.Errorf("hybridsync did not log %s", what)
	}
}

// ---- HTTP without the browser ----

// client is a signed-in (or not yet) HTTP session with the server: a cookie
// jar and the session's CSRF token.
type client struct {
	t    *testing.T
	s    *server
	http *http.Client
	jar  *cookiejar.Jar
	csrf string
}

func (s *server) newClient() *client {
	j, _ := cookiejar.New(nil)
	return &client{t: s.t, s: s, jar: j, http: &http.Client{Jar: j, Timeout: 15 * time.Second}}
}

// response is a finished request: where it ended up after redirects.
type response struct {
	Status int
	URL    string // the final path
	Body   string
	Header http.Header
}

func (c *client) do(req *http.Request) response {
	c.t.Helper()
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading the body: %v", req.Method, req.URL.Path, err)
	}
	r := response{Status: resp.StatusCode, URL: resp.Request.URL.RequestURI(), Body: string(body), Header: resp.Header}
	if tok := scrapeCSRF(r.Body); tok != "" {
		c.csrf = tok
	}
	return r
}

func (c *client) get(path string) response {
	c.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, c.s.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(req)
}

// post sends a urlencoded form with the session's CSRF token (fetched from
// the page at path first if none is known yet).
func (c *client) post(path string, form map[string][]string) response {
	c.t.Helper()
	if c.csrf == "" {
		c.get(path)
		if c.csrf == "" {
			c.t.Fatalf("no CSRF token on %s", path)
		}
	}
	vals := make(map[string][]string, len(form)+1)
	for k, v := range form {
		vals[k] = v
	}
	vals["csrf_token"] = []string{c.csrf}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, c.s.base+path, strings.NewReader(url.Values(vals).Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// scrapeCSRF finds the csrf_token hidden field of a page.
func scrapeCSRF(body string) string {
	const marker = `name="csrf_token" value="`
	i := strings.Index(body, marker)
	if i < 0 {
		return ""
	}
	rest := body[i+len(marker):]
	j := strings.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return rest[:j]
}

// firstRun creates the first administrator over HTTP with the logged token;
// the client is then signed in as that administrator.
func (c *client) firstRun(user, password string) {
	c.t.Helper()
	page := c.get("/first-run")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `data-testid="firstrun-page"`) {
		c.t.Fatalf("GET /first-run: %d at %s", page.Status, page.URL)
	}
	r := c.post("/first-run", map[string][]string{
		"token": {c.s.setupToken()}, "username": {user}, "display_name": {strings.ToUpper(user[:1]) + user[1:]},
		"password": {password}, "confirm": {password},
	})
	if r.Status != http.StatusOK || !strings.HasPrefix(r.URL, "/setup/") {
		c.t.Fatalf("POST /first-run: %d at %s, want the wizard; body:\n%s", r.Status, r.URL, excerpt(r.Body))
	}
}

// signIn signs in over HTTP with the sign-in form's CSRF token.
func (c *client) signIn(user, password string) {
	c.t.Helper()
	page := c.get("/signin")
	if page.Status != http.StatusOK || c.csrf == "" {
		c.t.Fatalf("GET /signin: %d at %s, csrf %q", page.Status, page.URL, c.csrf)
	}
	r := c.post("/signin", map[string][]string{"username": {user}, "password": {password}, "next": {"/"}})
	if r.Status != http.StatusOK || r.URL != "/" || !strings.Contains(r.Body, `data-testid="signed-in-as"`) {
		c.t.Fatalf("POST /signin as %s: %d at %s; body:\n%s", user, r.Status, r.URL, excerpt(r.Body))
	}
}

// sessionCookie returns the session cookie the jar holds.
func (c *client) sessionCookie() (name, value string) {
	c.t.Helper()
	u, _ := url.Parse(c.s.base + "/")
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == "hybridsync" {
			return ck.Name, ck.Value
		}
	}
	c.t.Fatal("no session cookie in the jar")
	return "", ""
}

func excerpt(s string) string {
	if len(s) > 3000 {
		return s[:3000] + "…"
	}
	return s
}

var errTimeout = errors.New("timed out")

// jobStatus finds a job page's status (its outcome once it is finished).
var jobStatus = regexp.MustCompile(`data-testid="job-status" data-status="([a-z-]+)"`)

// waitJob polls /jobs/{id} until the job is finished, and returns its final
// status: one of the six outcomes (engine/outcome).
func (c *client) waitJob(path string) (string, error) {
	c.t.Helper()
	return c.waitJobWithin(path, 20*time.Second)
}

// waitJobWithin is waitJob with a deadline of its own.
func (c *client) waitJobWithin(path string, within time.Duration) (string, error) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for {
		r := c.get(path)
		if m := jobStatus.FindStringSubmatch(r.Body); m != nil && outcome.Is(m[1]) {
			return m[1], nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("%s: %w; page:\n%s", path, errTimeout, excerpt(r.Body))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kill ends the process abruptly (SIGKILL), as a crash or power loss would.
func (s *server) kill() {
	s.t.Helper()
	if s.cmd == nil {
		return
	}
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	_ = cmd.Process.Kill()
	<-exited
	s.logs.add("---- killed (SIGKILL)")
}

// driveWizard walks the wizard over HTTP from wherever it stands to Configure,
// posting answers[page] (plus action=next) on each page, and returns the job's
// path. A page that does not move on fails the test. On Connect your
// directories, answers["directories"] (if any) is posted first with
// action=add_forest: a forest to add (see forestForm).
func (c *client) driveWizard(answers map[string]url.Values) string {
	c.t.Helper()
	return c.driveWizardTo(answers, "")
}

// driveWizardTo is driveWizard that stops when it reaches the page stop
// (without submitting it) and returns its path; "" goes on to Configure.
func (c *client) driveWizardTo(answers map[string]url.Values, stop string) string {
	c.t.Helper()
	r := c.get("/setup")
	for i := 0; i < 30; i++ {
		if r.Status != http.StatusOK || !strings.HasPrefix(r.URL, "/setup/") {
			c.t.Fatalf("wizard: %d at %s:\n%s", r.Status, r.URL, excerpt(r.Body))
		}
		page := strings.TrimPrefix(r.URL, "/setup/")
		if page == stop {
			return r.URL
		}
		vals := url.Values{}
		for k, v := range answers[page] {
			vals[k] = v
		}
		// As a browser would, send the checked choice of every radio group
		// the answers leave alone.
		for name, value := range checkedRadios(c.t, r.Body) {
			if _, ok := vals[name]; !ok {
				vals.Set(name, value)
			}
		}
		if page == "ready" {
			vals.Set("action", "configure")
			r = c.post("/setup/configure", vals)
			if r.Status != http.StatusOK || !strings.HasPrefix(r.URL, "/jobs/") {
				c.t.Fatalf("configure: %d at %s:\n%s", r.Status, r.URL, excerpt(r.Body))
			}
			return r.URL
		}
		if page == "directories" && len(vals) > 0 {
			c.addForest(vals)
			vals = url.Values{}
		}
		if page == "connect-entra" {
			c.signInEntra(vals)
			vals = url.Values{}
		}
		vals.Set("action", "next")
		next := c.post("/setup/"+page, vals)
		if next.URL == r.URL {
			c.t.Fatalf("wizard page %s did not move on (%d):\n%s", page, next.Status, excerpt(next.Body))
		}
		r = next
	}
	c.t.Fatal("the wizard never reached Ready to configure")
	return ""
}

// forestForm is the Add directory form of Connect your directories: connect
// to f over LDAPS (trusting its test CA) through host ("" finds a DC through
// DNS) with account "create" or "existing".
func forestForm(t *testing.T, f *forest.Forest, host, account, user, password string) url.Values {
	return url.Values{
		"forest": {f.Name}, "host": {host}, "security": {"ldaps"}, "ca_pem": {caPEM(t, f)},
		"account": {account}, "user": {user}, "password": {password},
	}
}

// addForest posts the Add directory form and fails the test unless the
// forest is then listed.
func (c *client) addForest(form url.Values) {
	c.t.Helper()
	vals := url.Values{}
	for k, v := range form {
		vals[k] = v
	}
	vals.Set("action", "add_forest")
	r := c.post("/setup/directories", vals)
	if r.Status != http.StatusOK || !strings.HasSuffix(r.URL, "/setup/directories") ||
		!strings.Contains(r.Body, `data-testid="forest-`+form.Get("forest")+`"`) {
		c.t.Fatalf("adding %s on Connect your directories: %d at %s:\n%s", form.Get("forest"), r.Status, r.URL, excerpt(r.Body))
	}
}

// corpWithSvcSync is the simplest forest to add over HTTP: corp, found
// through DNS, with the ordinary user svc-sync as the existing account.
func corpWithSvcSync(t *testing.T) url.Values {
	t.Helper()
	corp, _ := needForests(t)
	return forestForm(t, corp, "", "existing", `CORP\svc-sync`, forest.SvcSyncPassword)
}

// checkedRadios are the radio buttons checked in the wizard page's form, by
// name.
func checkedRadios(t *testing.T, body string) map[string]string {
	t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse the page: %v", err)
	}
	out := map[string]string{}
	doc.Find(`#wizard-page form input[type="radio"][checked]`).Each(func(_ int, sel *goquery.Selection) {
		name, _ := sel.Attr("name")
		value, _ := sel.Attr("value")
		if name != "" {
			out[name] = value
		}
	})
	return out
}
