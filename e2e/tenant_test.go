package e2e

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/e2e/tenant"
	"github.com/hybridsync/hybridsync/engine/cloud"
)

// tenantProc is one tenant-emulator process on a loopback port, seeded from
// a JSON file: the stand-in for Microsoft's cloud in the browser tests. It
// serves HTTPS, as the real cloud does, with this run's test CA (tenantTLS).
type tenantProc struct {
	Base string // https://127.0.0.1:port
	Seed tenant.Seed
	CA   string // the test CA's PEM file, which the console is told to trust
	logs *logBuffer
}

// HTTPClient is a client that trusts the emulator's test CA alone.
func (tp *tenantProc) HTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: tenantTLS.Pool()}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// Graph is a Graph client signed in to the emulator as a seeded account,
// trusting the emulator's test CA alone.
func (tp *tenantProc) Graph(t *testing.T, upn, password string) *cloud.Client {
	t.Helper()
	hc := tp.HTTPClient()
	g, err := cloud.New(cloud.Config{GraphURL: tp.GraphURL(), HTTPClient: hc},
		&cloud.PasswordGrant{Authority: tp.Authority(), ClientID: tenant.ConnectClientID, Username: upn, Password: password, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// Authority is the sign-in authority hybridsync is pointed at: the
// multi-tenant "organizations" endpoint, as against the real cloud.
func (tp *tenantProc) Authority() string { return tp.Base + "/organizations" }

// GraphURL is the emulator's Graph v1.0 root.
func (tp *tenantProc) GraphURL() string { return tp.Base + "/v1.0" }

// testSeed is the emulator's default tenant with the test forests' domains
// added and verified, so that pass-through authentication (which needs a
// verified domain) can be chosen with them.
func testSeed() tenant.Seed {
	seed := tenant.DefaultSeed()
	seed.Domains = append(seed.Domains, tenant.SeedDomain{Name: "corp.example.test", Verified: true})
	return seed
}

// flags point hybridsync serve at the emulator and have it trust the
// emulator's test CA (for Graph, the sign-in service and the console's own
// OpenID Connect sign-in, all of which may be an emulator of this run).
func (tp *tenantProc) flags() []string {
	return []string{"--entra-authority", tp.Authority(), "--graph-url", tp.GraphURL(), "--entra-client-id", tenant.ConnectClientID,
		"--entra-ca", tp.CA}
}

// The seed's Hybrid Identity Administrators (tenant.DefaultSeed).
const (
	entraAdmin    = "hybrid.admin@contoso.onmicrosoft.com"
	entraPassword = "Passw0rd!hybrid"
	entraMFAAdmin = "mfa.admin@contoso.onmicrosoft.com"
	// The seed's Global Administrator, who alone may read the sync features.
	entraGlobalAdmin    = "global.admin@contoso.onmicrosoft.com"
	entraGlobalPassword = "Passw0rd!global"
	entraMFAPassword    = "Passw0rd!mfa"
	entraMFACode        = "123456"
)

// signInEntra signs in on Connect to Microsoft Entra ID with a password and
// waits until the page shows the tenant.
func (p *bpage) signInEntra(user, password string) {
	p.t.Helper()
	p.onPage("connect-entra")
	p.fill("entra_user", user)
	p.fill("entra_password", password)
	p.click("entra-signin")
	p.expectContains("entra-signed-in", user)
}

// signInEntra posts the sign-in on Connect to Microsoft Entra ID: the
// account in vals (entra_user, entra_password), or the seed's administrator.
func (c *client) signInEntra(vals url.Values) {
	c.t.Helper()
	v := url.Values{"action": {"entra_signin"}, "entra_user": {entraAdmin}, "entra_password": {entraPassword}}
	for k, vs := range vals {
		v[k] = vs
	}
	r := c.post("/setup/connect-entra", v)
	if r.Status != http.StatusOK || r.URL != "/setup/connect-entra" || !strings.Contains(r.Body, "entra-signed-in") {
		c.t.Fatalf("sign-in to the tenant: %d at %s:\n%s", r.Status, r.URL, excerpt(r.Body))
	}
}

var (
	emulatorOnce sync.Once
	emulatorBin  string
	emulatorErr  error
)

// buildEmulator builds cmd/tenant-emulator once per test binary.
func buildEmulator() (string, error) {
	emulatorOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hybridsync-tenant-")
		if err != nil {
			emulatorErr = err
			return
		}
		emulatorBin = filepath.Join(dir, "tenant-emulator")
		build := exec.Command("go", "build", "-o", emulatorBin, "./cmd/tenant-emulator")
		build.Dir = moduleRoot
		if out, err := build.CombinedOutput(); err != nil {
			emulatorErr = fmt.Errorf("go build ./cmd/tenant-emulator: %v\n%s", err, out)
		}
	})
	return emulatorBin, emulatorErr
}

// startTenant runs the emulator with seed (and its extra flags) on a free
// loopback port, over HTTPS with the run's test CA, until the test ends; its
// log is printed if the test failed.
func startTenant(t *testing.T, seed tenant.Seed, args ...string) *tenantProc {
	t.Helper()
	bin, err := buildEmulator()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	seedPath := filepath.Join(dir, "seed.json")
	b, err := json.MarshalIndent(seed, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(seedPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	tp := &tenantProc{Seed: seed, CA: tenantTLS.CA, logs: &logBuffer{}}
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-tls-dir", tenantTLS.Dir, "-seed", seedPath}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("unable to start the tenant emulator: %v", err)
	}
	addr := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			tp.logs.add(line)
			if rest, ok := strings.CutPrefix(line, "listening on "); ok {
				base, _, _ := strings.Cut(rest, " ")
				select {
				case addr <- base:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("tenant emulator log:\n%s", strings.Join(tp.logs.snapshot(), "\n"))
		}
	})
	select {
	case tp.Base = <-addr:
		if !strings.HasPrefix(tp.Base, "https://") {
			t.Fatalf("the tenant emulator serves %s, not https", tp.Base)
		}
	case <-done:
		t.Fatalf("the tenant emulator exited at start:\n%s", strings.Join(tp.logs.snapshot(), "\n"))
	case <-time.After(20 * time.Second):
		t.Fatal("the tenant emulator did not start listening within 20 s")
	}
	return tp
}
