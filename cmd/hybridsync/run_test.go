package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/e2e/tenant"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestRunCommands(t *testing.T) {
	dir := t.TempDir()
	all, err := store.Migrations(store.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	latest := fmt.Sprintf("schema is at version %d", len(all))
	tests := []struct {
		name    string
		args    []string
		wantOut string
		wantErr string
	}{
		{"no command", nil, "", "no command given"},
		{"unknown command", []string{"frobnicate"}, "", `unknown command "frobnicate"`},
		{"version", []string{"version"}, "hybridsync " + setup.ProductVersion, ""},
		{"help", []string{"help"}, "usage: hybridsync", ""},
		{"migrate a new store", []string{"migrate", "--data-dir", dir}, latest, ""},
		{"migrate again", []string{"migrate", "--data-dir", dir}, latest, ""},
		{"export before any configure", []string{"config", "export", "--data-dir", dir}, "", "no configuration has been applied yet"},
		{"unknown config command", []string{"config", "import"}, "", "unknown config command"},
		{"database that is not SQL Server", []string{"migrate", "--data-dir", dir, "--database", "postgres://x"}, "", "sqlserver://"},
		{"bad log level", []string{"migrate", "--data-dir", dir, "--log-level", "loud"}, "", "bad --log-level"},
		{"bad memory limit", []string{"migrate", "--data-dir", dir, "--memory-limit", "lots"}, "", "bad --memory-limit"},
		{"tls halves", []string{"serve", "--data-dir", dir, "--tls-cert", "c.pem"}, "", "--tls-cert and --tls-key go together"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), tt.args, env(nil), &out, &errb)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("error %v\n%s", err, errb.String())
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("output %q, want %q", out.String(), tt.wantOut)
			}
		})
	}
}

func TestConfigExport(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Dialect: store.SQLite, DSN: store.SQLitePath(dir)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	a := setup.Defaults()
	a.SignIn = setup.SignIn{Method: setup.MethodPTA, SSO: true}
	answers, _ := json.Marshal(a)
	if _, err := st.SaveActiveConfiguration(ctx, store.Configuration{InstallID: "i", Answers: answers, AppliedBy: "alice", JobID: 7}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	var out bytes.Buffer
	if err := run(ctx, []string{"config", "export"}, env(map[string]string{"HYBRIDSYNC_DATA_DIR": dir}), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	x, err := setup.ParseExport(out.Bytes())
	if err != nil {
		t.Fatalf("the export does not import: %v\n%s", err, out.String())
	}
	if x.Settings.SignIn != a.SignIn || x.Source.AppliedBy != "alice" || x.Source.ConfigurationID != 1 {
		t.Errorf("export %+v", x)
	}
}

// syncWriter collects a server's log while it runs.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestServe starts the console on a free port, checks /healthz, the first-run
// token in the log and the key file, then stops it the way a signal does.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncWriter{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", "127.0.0.1:0"}, env(map[string]string{"HYBRIDSYNC_DATA_DIR": dir}), io.Discard, logs)
	}()
	urlRe := regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+) `)
	var base string
	for deadline := time.Now().Add(20 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := urlRe.FindStringSubmatch(logs.String()); m != nil && strings.Contains(logs.String(), "listening") {
			base = m[1]
		}
	}
	if base == "" {
		cancel()
		t.Fatalf("the server did not start:\n%s", logs.String())
	}
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok\n" {
		t.Errorf("healthz: %d %q", resp.StatusCode, body)
	}
	if !regexp.MustCompile(`setup_token=[A-Za-z0-9_-]{32}`).MatchString(logs.String()) {
		t.Errorf("no setup token in the log:\n%s", logs.String())
	}
	fi, err := os.Stat(filepath.Join(dir, "secret.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("secret key file: %v %v", fi, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop after its context ended")
	}
	if !strings.Contains(logs.String(), "msg=stopped") {
		t.Errorf("no clean stop in the log:\n%s", logs.String())
	}
}

// make run points the console at the tenant emulator's hybridsync-connect
// application: the id in scripts/run.sh must be the emulator's.
func TestRunScriptUsesTheEmulatorsClientID(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "scripts", "run.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "HYBRIDSYNC_ENTRA_CLIENT_ID="+tenant.ConnectClientID) {
		t.Errorf("scripts/run.sh does not use tenant.ConnectClientID (%s)", tenant.ConnectClientID)
	}
}

// make run without forests: the emulator serves HTTPS with the test CA kept
// in DATA_DIR/tenant-ca, the console is pointed at its https authority and
// Graph and told to trust that CA — it signs in to the tenant through it —
// and the block names the CA. run.sh runs in a tree of its own, given a GO
// that copies binaries built here, so that nothing is written into the
// source tree.
func TestRunScriptServesTheTenantOverHTTPS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs make run's three commands")
	}
	for _, tool := range []string{"bash", "curl", "setsid"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("scripts/run.sh needs %s: %v", tool, err)
		}
	}
	root := t.TempDir()
	prebuilt := filepath.Join(root, "prebuilt")
	build := exec.Command("go", "build", "-o", prebuilt+"/", "./cmd/hybridsync", "./cmd/tenant-emulator", "./e2e/forest/cmd/forests")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	script, err := os.ReadFile(filepath.Join("..", "..", "scripts", "run.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "scripts", "run.sh"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	// forests looks for the module root (its cache is there).
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module runsh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fakeGo := filepath.Join(root, "go")
	if err := os.WriteFile(fakeGo, []byte("#!/bin/sh\n# go build -o DIR/ PACKAGES...: the binaries built by the test\n"+
		"[ \"$1\" = build ] && [ \"$2\" = -o ] || exit 2\nexec cp "+prebuilt+"/hybridsync "+prebuilt+"/tenant-emulator "+prebuilt+"/forests \"$3\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}

	dataDir := filepath.Join(root, "data")
	listen, tenantAddr := freeLoopback(t), freeLoopback(t)
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "run.sh"))
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HYBRIDSYNC_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "GO="+fakeGo, "DATA_DIR="+dataDir, "LISTEN="+listen, "TENANT_ADDR="+tenantAddr, "FORESTS=0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncWriter{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM) // run.sh stops what it started
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Errorf("run.sh did not stop within 30 s of SIGTERM")
		}
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("run.sh's stderr:\n%s", stderr.String())
		}
	})

	// The block: from one rule to the next.
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var block []string
	timeout := time.After(2 * time.Minute)
	for rules := 0; rules < 2; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("run.sh ended before its block:\n%s", strings.Join(block, "\n"))
			}
			if strings.HasPrefix(l, "=====") {
				rules++
			}
			block = append(block, l)
		case <-timeout:
			t.Fatalf("no block from run.sh within 2 minutes:\n%s", strings.Join(block, "\n"))
		}
	}
	go func() {
		for range lines {
		}
	}()
	text := strings.Join(block, "\n")
	tenantURL := "https://" + tenantAddr
	caFile := filepath.Join(dataDir, "tenant-ca", "ca.pem")
	for _, want := range []string{"tenant emulator on " + tenantURL, "test CA " + caFile + ", which the console trusts", "unless you import that CA"} {
		if !strings.Contains(text, want) {
			t.Errorf("the block lacks %q:\n%s", want, text)
		}
	}

	// The console's environment, as run.sh exported it.
	m := regexp.MustCompile(`the console \(pid (\d+)\)`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no console pid in the block:\n%s", text)
	}
	environ, err := os.ReadFile("/proc/" + m[1] + "/environ")
	if err != nil {
		t.Fatal(err)
	}
	vars := strings.Split(string(environ), "\x00")
	for _, want := range []string{"HYBRIDSYNC_ENTRA_AUTHORITY=" + tenantURL + "/organizations", "HYBRIDSYNC_GRAPH_URL=" + tenantURL + "/v1.0", "HYBRIDSYNC_ENTRA_CA=" + caFile} {
		if !slices.Contains(vars, want) {
			t.Errorf("the console's environment lacks %s", want)
		}
	}

	// ca.pem alone vouches for the emulator.
	pemCA, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pemCA) {
		t.Fatalf("no certificate in %s", caFile)
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	resp, err := hc.Get(tenantURL + "/organizations/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatalf("the emulator, trusting %s: %v", caFile, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("discovery: %d", resp.StatusCode)
	}

	// The console reaches the emulator over HTTPS: the first administrator
	// (with the block's setup token) sets it up as the OpenID Connect
	// sign-in provider, which saves only once its discovery document is read.
	tok := regexp.MustCompile(`setup token +(\S+)`).FindStringSubmatch(text)
	if tok == nil {
		t.Fatalf("no setup token in the block:\n%s", text)
	}
	c := newFormClient(t, "http://"+listen)
	c.post("/first-run", url.Values{"token": {tok[1]}, "username": {"admin"}, "display_name": {"Admin"},
		"password": {"correct-horse-battery"}, "confirm": {"correct-horse-battery"}})
	issuer := tenantURL + "/" + tenant.DefaultSeed().TenantID + "/v2.0"
	body := c.post("/accounts/oidc", url.Values{"enabled": {"on"}, "issuer": {issuer}, "client_id": {tenant.ConsoleClientID},
		"client_secret": {tenant.ConsoleClientSecret}, "display_name": {"Contoso"}, "groups_claim": {"groups"},
		"groups_browse": {"5f3b7a43-6a0c-4d1e-9a55-0c1d2e3f4a5b"}})
	if !strings.Contains(body, "discovery document checked out") {
		t.Errorf("the console did not read the emulator's discovery document:\n%.3000s", body)
	}

	stop()
	for _, name := range []string{"console", "tenant emulator"} {
		m := regexp.MustCompile(`the ` + name + ` \(pid (\d+)\)`).FindStringSubmatch(text)
		if m == nil {
			t.Errorf("no %s pid in the block", name)
			continue
		}
		if _, err := os.Stat("/proc/" + m[1]); err == nil {
			t.Errorf("the %s (pid %s) still runs after run.sh stopped", name, m[1])
		}
	}
}

func freeLoopback(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// formClient posts forms to the console as a browser would: with its cookie
// and the CSRF token of the page it fetched first.
type formClient struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newFormClient(t *testing.T, base string) *formClient {
	jar, _ := cookiejar.New(nil)
	return &formClient{t: t, base: base, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

var (
	csrfField  = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
	fieldError = regexp.MustCompile(`data-testid="error-[^<]*`)
)

// post GETs path for its CSRF token, then posts vals there, and returns the
// page it ended on.
func (c *formClient) post(path string, vals url.Values) string {
	c.t.Helper()
	page := c.read(c.hc.Get(c.base + path))
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		c.t.Fatalf("no CSRF token on %s:\n%.2000s", path, page)
	}
	vals.Set("csrf_token", m[1])
	return c.read(c.hc.PostForm(c.base+path, vals))
}

func (c *formClient) read(resp *http.Response, err error) string {
	c.t.Helper()
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		if errs := fieldError.FindAll(b, -1); len(errs) > 0 {
			b = bytes.Join(errs, []byte("\n"))
		}
		c.t.Fatalf("%s %s: %d, %v\n%.2000s", resp.Request.Method, resp.Request.URL, resp.StatusCode, err, b)
	}
	return string(b)
}
