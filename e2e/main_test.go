package e2e

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mxschmitt/playwright-go"

	"github.com/hybridsync/hybridsync/e2e/tenant"
)

// What TestMain prepares once for the whole test binary.
var (
	moduleRoot     string // the repository root (holds go.mod)
	binPath        string // the hybridsync binary built from it
	screenshotsDir string
	// tenantTLS is this run's test CA and the certificate every tenant
	// emulator serves HTTPS with (made before any emulator starts, which
	// then only loads it).
	tenantTLS *tenant.TLSFiles

	pw      *playwright.Playwright
	browser playwright.Browser
	// browserErr says why no browser is available; tests skip on it, or fail
	// under HYBRIDSYNC_E2E_REQUIRED=1.
	browserErr error
)

// Timeouts of the browser's auto-waiting (milliseconds).
const (
	actionTimeout = 10_000
	expectTimeout = 10_000
)

var expect = playwright.NewPlaywrightAssertions(expectTimeout)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	// The forests come up while the binary builds and the browser starts.
	forestsUp := make(chan func(), 1)
	go func() {
		start := time.Now()
		stop, err := startForests()
		live.err = err
		if err == nil {
			fmt.Fprintf(os.Stderr, "e2e: forests up in %s\n", time.Since(start).Round(time.Millisecond))
		} else {
			fmt.Fprintln(os.Stderr, "e2e: no forests:", err)
		}
		forestsUp <- stop
	}()
	var stopForests func()
	defer func() {
		if stopForests == nil { // an early return: wait for them, to stop them
			stopForests = <-forestsUp
		}
		stopForests()
	}()

	root, err := findModuleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	moduleRoot = root
	screenshotsDir = filepath.Join(root, "e2e", "screenshots")
	if err := os.MkdirAll(screenshotsDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}

	tmp, err := os.MkdirTemp("", "hybridsync-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	if tenantTLS, err = tenant.TestCA(filepath.Join(tmp, "tenant-ca")); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	if fedTLS, err = newFedTLS(filepath.Join(tmp, "federation-ca"), fedADFSName, fedPingName); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	binPath = filepath.Join(tmp, "hybridsync")
	start := time.Now()
	build := exec.Command("go", "build", "-o", binPath, "./cmd/hybridsync")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/hybridsync failed: %v\n%s", err, out)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: built %s in %s\n", binPath, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	browserErr = startBrowser()
	if browserErr == nil {
		fmt.Fprintf(os.Stderr, "e2e: playwright and chromium started in %s\n", time.Since(start).Round(time.Millisecond))
	} else {
		fmt.Fprintln(os.Stderr, "e2e: no browser:", browserErr)
	}
	stopForests = <-forestsUp
	code := m.Run()
	if browser != nil {
		_ = browser.Close()
	}
	if pw != nil {
		_ = pw.Stop()
	}
	return code
}

// findModuleRoot walks up from the working directory (the package's folder
// under go test) to the folder that holds go.mod.
func findModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// chromiumPath is the browser to drive: $HYBRIDSYNC_CHROMIUM, else Debian's.
func chromiumPath() (string, error) {
	candidates := []string{"/usr/lib/chromium/chromium", "/usr/bin/chromium"}
	if p := os.Getenv("HYBRIDSYNC_CHROMIUM"); p != "" {
		candidates = append([]string{p}, candidates...)
	}
	for _, p := range candidates {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("no chromium at %v (run scripts/e2e-deps.sh)", candidates)
}

// browserArgs are chromium's flags: no sandbox or GPU (in a container), no
// traffic of its own, and the one certificate error it may overlook — the
// tenant emulator's certificate, named by its public key, whose CA it does
// not know (certificate errors of any other server still stop it).
// --ignore-certificate-errors-spki-list needs a --user-data-dir, which
// playwright always passes (TestBrowserTrustsTheTenantOnly shows it works).
func browserArgs(trustSPKI string) []string {
	args := []string{
		"--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
	}
	if trustSPKI != "" {
		args = append(args, "--ignore-certificate-errors-spki-list="+trustSPKI)
	}
	// The federation servers' names, as the test DNS answers them (the
	// browser's own resolver asks the system's DNS, which doesn't know them).
	var rules []string
	for _, name := range []string{fedADFSName, fedPingName} {
		rules = append(rules, "MAP "+name+" "+fedAddr[name])
	}
	return append(args, "--host-resolver-rules="+strings.Join(rules, ","))
}

// launchChromium starts a headless chromium with browserArgs(trustSPKI).
func launchChromium(trustSPKI string) (playwright.Browser, error) {
	exe, err := chromiumPath()
	if err != nil {
		return nil, err
	}
	b, err := pw.Chromium.Launch(playwright.BrowserTypeLaunchOptions{
		ExecutablePath: playwright.String(exe),
		Headless:       playwright.Bool(true),
		Args:           browserArgs(trustSPKI),
	})
	if err != nil {
		return nil, fmt.Errorf("unable to launch %s: %w", exe, err)
	}
	return b, nil
}

// startBrowser starts the playwright driver (never installing anything) and
// one headless chromium for every test, trusting the tenant emulator's
// certificate.
func startBrowser() error {
	if _, err := chromiumPath(); err != nil {
		return err
	}
	dir := os.Getenv("PLAYWRIGHT_DRIVER_PATH")
	if dir == "" {
		return errors.New("PLAYWRIGHT_DRIVER_PATH is not set (run scripts/e2e-deps.sh, then set it to .cache/playwright-core-1.64.1)")
	}
	if _, err := os.Stat(filepath.Join(dir, "package", "cli.js")); err != nil {
		return fmt.Errorf("no playwright driver in %s (run scripts/e2e-deps.sh): %w", dir, err)
	}
	if os.Getenv("PLAYWRIGHT_NODEJS_PATH") == "" {
		node, err := exec.LookPath("node")
		if err != nil {
			return errors.New("no node: set PLAYWRIGHT_NODEJS_PATH or install nodejs (scripts/e2e-deps.sh)")
		}
		os.Setenv("PLAYWRIGHT_NODEJS_PATH", node)
	}
	var err error
	pw, err = playwright.Run(&playwright.RunOptions{
		DriverDirectory:     dir,
		SkipInstallBrowsers: true,
		Verbose:             false,
		Stdout:              io.Discard,
		Stderr:              os.Stderr,
	})
	if err != nil {
		return fmt.Errorf("unable to start the playwright driver: %w", err)
	}
	browser, err = launchChromium(tenantTLS.SPKIHash() + "," + fedTLS.SPKIHash())
	if err != nil {
		_ = pw.Stop()
		pw = nil
		return err
	}
	return nil
}

// needBrowser skips the test without a browser, or fails it when the browser
// tests are required.
func needBrowser(t *testing.T) {
	t.Helper()
	if browserErr == nil {
		return
	}
	if os.Getenv("HYBRIDSYNC_E2E_REQUIRED") == "1" {
		t.Fatalf("browser tests are required (HYBRIDSYNC_E2E_REQUIRED=1) but cannot run: %v", browserErr)
	}
	t.Skipf("browser tests skipped: %v", browserErr)
}
