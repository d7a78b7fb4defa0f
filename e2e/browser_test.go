package e2e

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/mxschmitt/playwright-go"

	"github.com/hybridsync/hybridsync/e2e/tenant"
)

// bpage is one browser context with one page, for one test (or one part of a
// test: a test may close a context and open another).
type bpage struct {
	t    *testing.T
	s    *server
	ctx  playwright.BrowserContext
	page playwright.Page

	mu       sync.Mutex
	jsErrors []string
}

// newPage opens a fresh browser context on the server. Uncaught script errors
// and console errors (a blocked script, a CSP violation) fail the test.
func newPage(t *testing.T, s *server) *bpage {
	t.Helper()
	needBrowser(t)
	ctx, err := browser.NewContext(playwright.BrowserNewContextOptions{
		BaseURL:  playwright.String(s.base),
		Viewport: &playwright.Size{Width: 1280, Height: 860},
		Locale:   playwright.String("en-US"),
	})
	if err != nil {
		t.Fatalf("new browser context: %v", err)
	}
	ctx.SetDefaultTimeout(actionTimeout)
	ctx.SetDefaultNavigationTimeout(actionTimeout)
	page, err := ctx.NewPage()
	if err != nil {
		t.Fatalf("new page: %v", err)
	}
	p := &bpage{t: t, s: s, ctx: ctx, page: page}
	page.OnPageError(func(err error) {
		p.mu.Lock()
		p.jsErrors = append(p.jsErrors, "uncaught: "+err.Error())
		p.mu.Unlock()
	})
	page.OnConsole(func(m playwright.ConsoleMessage) {
		if m.Type() != "error" {
			return
		}
		// A 4xx answer (a form with errors, a 403) is logged by chromium as a
		// failed resource: that is the app working, not a script error.
		if strings.HasPrefix(m.Text(), "Failed to load resource: the server responded with a status of 4") {
			return
		}
		p.mu.Lock()
		p.jsErrors = append(p.jsErrors, "console: "+m.Text())
		p.mu.Unlock()
	})
	t.Cleanup(p.close)
	return p
}

// close closes the context once and reports the script errors it saw.
func (p *bpage) close() {
	if p.ctx == nil {
		return
	}
	_ = p.ctx.Close()
	p.ctx = nil
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.jsErrors {
		p.t.Errorf("browser: %s", e)
	}
	p.jsErrors = nil
}

// signInAs copies an HTTP client's session cookie into the context.
func (p *bpage) signInAs(c *client) {
	p.t.Helper()
	name, value := c.sessionCookie()
	err := p.ctx.AddCookies([]playwright.OptionalCookie{{
		Name: name, Value: value, URL: playwright.String(p.s.base + "/"),
		HttpOnly: playwright.Bool(true), SameSite: playwright.SameSiteAttributeLax,
	}})
	if err != nil {
		p.t.Fatalf("add cookie: %v", err)
	}
}

// open navigates to a path and returns the HTTP status of the final document.
func (p *bpage) open(path string) int {
	p.t.Helper()
	resp, err := p.page.Goto(path)
	if err != nil {
		p.t.Fatalf("goto %s: %v", path, err)
	}
	if resp == nil {
		return 0
	}
	return resp.Status()
}

func (p *bpage) id(testID string) playwright.Locator { return p.page.GetByTestId(testID) }

// field is a form input by name.
func (p *bpage) field(name string) playwright.Locator {
	return p.page.Locator(fmt.Sprintf(`[name=%q]:not([type=hidden])`, name))
}

func (p *bpage) ok(err error, what string, args ...any) {
	p.t.Helper()
	if err != nil {
		p.t.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}

func (p *bpage) click(testID string) {
	p.t.Helper()
	p.ok(p.id(testID).Click(), "click %s", testID)
}

func (p *bpage) fill(name, value string) {
	p.t.Helper()
	p.ok(p.field(name).Fill(value), "fill %s", name)
}

func (p *bpage) check(name string) {
	p.t.Helper()
	p.ok(p.field(name).Check(), "check %s", name)
}

// visible waits for an element to show.
func (p *bpage) visible(testID string) {
	p.t.Helper()
	p.ok(expect.Locator(p.id(testID)).ToBeVisible(), "%s is not visible (at %s)", testID, p.page.URL())
}

// onPage waits for the wizard to show a page, by its id, at its own address.
func (p *bpage) onPage(pageID string) {
	p.t.Helper()
	p.ok(expect.Locator(p.id("page-"+pageID)).ToBeVisible(), "wizard page %s is not shown (at %s)", pageID, p.page.URL())
	p.ok(expect.Page(p.page).ToHaveURL(regexp.MustCompile(`/setup/`+regexp.QuoteMeta(pageID)+`$`)), "address of wizard page %s", pageID)
}

// currentWizardPage is the id of the wizard page shown.
func (p *bpage) currentWizardPage() string {
	p.t.Helper()
	loc := p.page.Locator("#wizard-page")
	p.ok(loc.WaitFor(), "no wizard page (at %s)", p.page.URL())
	v, err := loc.GetAttribute("data-testid")
	p.ok(err, "wizard page id")
	return strings.TrimPrefix(v, "page-")
}

func (p *bpage) expectValue(name, want string) {
	p.t.Helper()
	p.ok(expect.Locator(p.field(name)).ToHaveValue(want), "field %s", name)
}

func (p *bpage) expectChecked(name string, want bool) {
	p.t.Helper()
	p.ok(expect.Locator(p.field(name)).ToBeChecked(playwright.LocatorAssertionsToBeCheckedOptions{Checked: playwright.Bool(want)}),
		"field %s checked=%v", name, want)
}

func (p *bpage) expectText(testID, want string) {
	p.t.Helper()
	p.ok(expect.Locator(p.id(testID)).ToHaveText(want), "text of %s", testID)
}

func (p *bpage) expectContains(testID, want string) {
	p.t.Helper()
	p.ok(expect.Locator(p.id(testID)).ToContainText(want), "text of %s", testID)
}

// ---- screenshots ----

var shotCounters sync.Map // test name -> *int

// shot saves a full-page screenshot as e2e/screenshots/<test>-<nn>-<name>.png.
func (p *bpage) shot(name string) {
	p.t.Helper()
	v, _ := shotCounters.LoadOrStore(p.t.Name(), new(int))
	n := v.(*int)
	*n++
	// Sticky parts (the wizard's steps) would be drawn where the last scroll
	// left them: take every shot from the top.
	_, _ = p.page.Evaluate(`() => window.scrollTo(0, 0)`)
	file := fmt.Sprintf("%s-%02d-%s.png", strings.ReplaceAll(p.t.Name(), "/", "_"), *n, name)
	if _, err := p.page.Screenshot(playwright.PageScreenshotOptions{
		Path: playwright.String(filepath.Join(screenshotsDir, file)), FullPage: playwright.Bool(true),
	}); err != nil {
		p.t.Errorf("screenshot %s: %v", file, err)
	}
}

// expectCount waits until a locator matches n elements.
func expectCount(l playwright.Locator, n int) error { return expect.Locator(l).ToHaveCount(n) }

// pwName matches a role by its exact accessible name.
func pwName(name string) playwright.LocatorGetByRoleOptions {
	return playwright.LocatorGetByRoleOptions{Name: name, Exact: playwright.Bool(true)}
}

// clickTo clicks and waits for the element (a CSS selector) that should then show; an error
// page instead fails the test with what it says.
func (p *bpage) clickTo(testID, want string) {
	p.t.Helper()
	p.click(testID)
	either := p.page.Locator(want + `, [data-testid="error-page"]`).First()
	p.ok(either.WaitFor(), "after clicking %s, neither %s nor an error page", testID, want)
	if n, _ := p.id("error-page").Count(); n > 0 {
		text, _ := p.id("error-page").InnerText()
		p.shot("error-after-" + testID)
		p.t.Fatalf("clicking %s (at %s) led to an error page instead of %s:\n%s", testID, p.page.URL(), want, text)
	}
}

// submit clicks a button that sends the page's form and waits for the page
// the server answers with to replace it: a check that follows would
// otherwise find what it looks for on the page still shown, when the
// answer is this page again with the same error, and the next click would
// land on a page about to go.
func (p *bpage) submit(testID string) {
	p.t.Helper()
	_, err := p.page.Evaluate(`() => document.querySelector("main").setAttribute("data-sent", "")`)
	p.ok(err, "mark the page before %s", testID)
	p.click(testID)
	p.ok(expectCount(p.page.Locator("main[data-sent]"), 0), "the page after %s (at %s)", testID, p.page.URL())
}

// leave clicks Next on a wizard page and waits until it is gone (the page
// after it is not always known in advance).
func (p *bpage) leave(pageID string) {
	p.t.Helper()
	p.click("next")
	p.ok(expect.Locator(p.id("page-"+pageID)).ToBeHidden(), "leave %s", pageID)
}

// TestBrowserTrustsTheTenantOnly: the browser the tests share loads the
// tenant emulator's HTTPS pages because it was told the emulator's key
// (--ignore-certificate-errors-spki-list), and only because of that: a
// browser launched without the flag refuses the emulator, and the shared one
// still refuses a server with a certificate for the same names from another
// test CA — certificate errors are not ignored wholesale.
func TestBrowserTrustsTheTenantOnly(t *testing.T) {
	needBrowser(t)
	tp := startTenant(t, tenant.DefaultSeed())
	discovery := tp.Base + "/organizations/v2.0/.well-known/openid-configuration"
	// The emulator answers a client that trusts its CA: what the browsers
	// below refuse is its certificate, nothing else.
	resp, err := tp.HTTPClient().Get(discovery)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("discovery: %d", resp.StatusCode)
	}

	otherCA, err := tenant.TestCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	other := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "another server")
	}))
	other.TLS = otherCA.Config
	other.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	other.StartTLS()
	defer other.Close()

	plain, err := launchChromium("")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()

	tests := []struct {
		name    string
		browser playwright.Browser
		url     string
		wantErr string // "" loads
	}{
		{"the tests' browser, the emulator", browser, discovery, ""},
		{"the tests' browser, another test CA's server", browser, other.URL + "/", "net::ERR_CERT_AUTHORITY_INVALID"},
		{"a browser without the flag, the emulator", plain, discovery, "net::ERR_CERT_AUTHORITY_INVALID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, err := tt.browser.NewContext()
			if err != nil {
				t.Fatal(err)
			}
			defer ctx.Close()
			page, err := ctx.NewPage()
			if err != nil {
				t.Fatal(err)
			}
			resp, err := page.Goto(tt.url, playwright.PageGotoOptions{Timeout: playwright.Float(actionTimeout)})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("goto %s: %v, want %s", tt.url, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("goto %s: %v", tt.url, err)
			}
			body, _ := resp.Text()
			if resp.Status() != http.StatusOK || !strings.Contains(body, `"issuer"`) {
				t.Errorf("goto %s: %d %.200s", tt.url, resp.Status(), body)
			}
		})
	}
}
