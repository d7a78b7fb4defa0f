package e2e

import (
	"context"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/mxschmitt/playwright-go"

	"github.com/hybridsync/hybridsync/e2e/dnstest"
	"github.com/hybridsync/hybridsync/e2e/fedserver"
	"github.com/hybridsync/hybridsync/e2e/forest"
	"github.com/hybridsync/hybridsync/e2e/tenant"
	"github.com/hybridsync/hybridsync/engine/setup"
)

// The federation tests' world: the intranet and extranet DNS (e2e/dnstest),
// the WinRM ports of the AD FS server and the proxy (a WS-Management
// stand-in that answers as an unauthenticated WinRM listener does), and the
// federation server (e2e/fedserver), started when a test wants it.

// The test DNS servers' addresses: the intranet one forwards what it doesn't
// know to corp's Samba DNS, so that the console still finds domain
// controllers through it.
const (
	intranetDNS = "127.0.0.48:53"
	extranetDNS = "127.0.0.49:53"
	// fedUser is the synced user who signs in through the federation server.
	fedUserIndex = 1 // tuser001@corp.example.com
	fedUserPass  = "Fed3rated-Passw0rd!"
	// An existing AD FS farm, read on the farm page and not chosen.
	fedOldFarm   = "adfs-old.corp.example.test"
	fedOldFarmIP = "127.0.0.50"
)

type fedWorld struct {
	t            *testing.T
	intra, extra *dnstest.Server
	corp         *forest.Forest
	caFile       string // the PEM file of the CA the console trusts for the federation servers
}

func startFedWorld(t *testing.T, corp *forest.Forest) *fedWorld {
	t.Helper()
	intra, err := dnstest.Start(intranetDNS, dnsServer)
	if err != nil {
		t.Fatalf("the intranet DNS: %v", err)
	}
	t.Cleanup(func() { intra.Close() })
	extra, err := dnstest.Start(extranetDNS)
	if err != nil {
		t.Fatalf("the extranet DNS: %v", err)
	}
	t.Cleanup(func() { extra.Close() })
	for name, ip := range fedAddr {
		intra.SetA(name, ip)
	}
	// The public DNS knows the federation service and the proxy only.
	extra.SetA(fedADFSName, fedAddr[fedADFSName])
	extra.SetA(fedPingName, fedAddr[fedPingName])
	extra.SetA(fedProxyName, fedAddr[fedProxyName])
	for _, name := range []string{fedServerName, fedProxyName} {
		startWinRM(t, fedAddr[name])
	}
	return &fedWorld{t: t, intra: intra, extra: extra, corp: corp, caFile: fedTLS.CAFile}
}

// startWinRM listens on addr:5985 and answers POST /wsman as a WinRM
// listener answers a request without credentials: 401, Negotiate.
func startWinRM(t *testing.T, ip string) {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "5985"))
	if err != nil {
		t.Fatalf("the WinRM stand-in on %s: %v", ip, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/wsman" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", "Negotiate")
		w.Header().Set("Server", "Microsoft-HTTPAPI/2.0")
		w.WriteHeader(http.StatusUnauthorized)
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
}

// serverFlags point the console at the test DNS and have it trust the
// federation servers' CA.
func (w *fedWorld) serverFlags() []string {
	return []string{"--dns-server", intranetDNS, "--extranet-dns-server", extranetDNS, "--federation-ca", w.caFile, "--farm-poll", "1s"}
}

// startFedServer runs the federation server for the AD FS farm or the
// PingFederate server, signing users in against corp.
func (w *fedWorld) startFedServer(cfg fedserver.Config, ip string, port int) *fedserver.Server {
	w.t.Helper()
	return w.startFedServerWith(cfg, fedTLS, ip, port)
}

// startFedServerWith is startFedServer serving the certificate cert.
func (w *fedWorld) startFedServerWith(cfg fedserver.Config, cert *fedCert, ip string, port int) *fedserver.Server {
	w.t.Helper()
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(w.corp.CACertPEM)
	if err != nil {
		w.t.Fatal(err)
	}
	pool.AppendCertsFromPEM(pem)
	cfg.LDAPURL, cfg.BaseDN, cfg.LDAPRootCAs = w.corp.LDAPSURL(), w.corp.BaseDN, pool
	cfg.TLSCert = cert.TLS
	cfg.SourceAnchor = fedserver.AnchorObjectGUID
	fs, err := fedserver.New(cfg)
	if err != nil {
		w.t.Fatalf("the federation server: %v", err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(port)))
	if err != nil {
		w.t.Fatalf("the federation server's port: %v", err)
	}
	go fs.Serve(l)
	w.t.Cleanup(func() { fs.Close() })
	return fs
}

// setUserPassword gives a staff user of corp a password (the seed's have none).
func setUserPassword(t *testing.T, f *forest.Forest, i int, password string) {
	t.Helper()
	conn, err := f.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	m := ldap.NewModifyRequest(forest.LayoutOf(f).UserDN(i), nil)
	m.Replace("unicodePwd", []string{string(utf16le(`"` + password + `"`))})
	m.Replace("userAccountControl", []string{"512"})
	if err := conn.Modify(m); err != nil {
		t.Fatalf("set the password of user %d: %v", i, err)
	}
	// The other tests share the forest: the user's flags go back as seeded
	// (the password stays, which no other test reads).
	t.Cleanup(func() {
		conn, err := f.Dial(context.Background())
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		m := ldap.NewModifyRequest(forest.LayoutOf(f).UserDN(i), nil)
		m.Replace("userAccountControl", []string{"544"})
		if err := conn.Modify(m); err != nil {
			t.Errorf("restore user %d: %v", i, err)
		}
	})
}

// setSPN adds (or, with remove, removes) an SPN on a staff user of corp.
func setSPN(t *testing.T, f *forest.Forest, i int, spn string, remove bool) {
	t.Helper()
	conn, err := f.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	m := ldap.NewModifyRequest(forest.LayoutOf(f).UserDN(i), nil)
	if remove {
		m.Delete("servicePrincipalName", []string{spn})
	} else {
		m.Add("servicePrincipalName", []string{spn})
	}
	if err := conn.Modify(m); err != nil {
		t.Fatalf("the SPN %s on user %d: %v", spn, i, err)
	}
}

// objectGUIDAnchor makes objectGUID the sourceAnchor: Configure then writes
// nothing back to the users (ms-DS-ConsistencyGuid would be), and the forests
// the other tests share stay as seeded.
var objectGUIDAnchor = url.Values{"source_anchor": {setup.AnchorAttribute}, "source_anchor_attribute": {"objectGUID"}}

// fedSeed is the test tenant with corp's routable suffix verified: the
// domain to federate.
func fedSeed(corp *forest.Forest) tenant.Seed {
	seed := testSeed()
	seed.Domains = append(seed.Domains, tenant.SeedDomain{Name: corp.Spec.RoutableSuffix, Verified: true})
	return seed
}

// walkTo drives the wizard over HTTP from the start to page, with answers.
func (c *client) walkTo(page string, answers map[string]url.Values) {
	c.t.Helper()
	r := c.get("/setup")
	for i := 0; i < 30; i++ {
		cur := strings.TrimPrefix(r.URL, "/setup/")
		if r.Status != http.StatusOK || !strings.HasPrefix(r.URL, "/setup/") {
			c.t.Fatalf("wizard: %d at %s:\n%s", r.Status, r.URL, excerpt(r.Body))
		}
		if cur == page {
			return
		}
		vals := url.Values{}
		for k, v := range answers[cur] {
			vals[k] = v
		}
		for name, value := range checkedRadios(c.t, r.Body) {
			if _, ok := vals[name]; !ok {
				vals.Set(name, value)
			}
		}
		switch cur {
		case "directories":
			if _, ok := answers[cur]; ok {
				c.addForest(vals)
			}
			vals = url.Values{}
		case "connect-entra":
			c.signInEntra(vals)
			vals = url.Values{}
		}
		vals.Set("action", "next")
		next := c.post("/setup/"+cur, vals)
		if next.URL == r.URL {
			c.t.Fatalf("wizard page %s did not move on (%d):\n%s", cur, next.Status, excerpt(next.Body))
		}
		r = next
	}
	c.t.Fatalf("the wizard never reached %s", page)
}

// selectOption chooses a value in a select of the form.
func (p *bpage) selectOption(name, value string) {
	p.t.Helper()
	_, err := p.id("field-" + name).SelectOption(playwright.SelectOptionValues{Values: &[]string{value}})
	p.ok(err, "choose %s in %s", value, name)
}

// uploadPFX sets the AD FS farm page's file input.
func (p *bpage) uploadPFX(name string, data []byte) {
	p.t.Helper()
	p.ok(p.id("field-certificate_file").SetInputFiles([]playwright.InputFile{{Name: name, MimeType: "application/x-pkcs12", Buffer: data}}), "choose %s", name)
}

// TestFederationWithADFS walks federation with a new AD FS farm in the
// browser: the certificate (a wildcard one that doesn't match refused, its
// password asked for; then the farm's own), the AD FS server (a computer of
// corp, WinRM answering) and the proxy, the service account (gMSA: corp has
// no KDS root key; a duplicate SPN blocks until removed; then a domain user,
// its password checked), the domain; Configure gives the scripts and waits
// until the farm answers, then federates the domain in the tenant; Verify
// passes with an A record and fails with a CNAME; and a synced user signs in
// to the tenant through the farm with their AD password.
func TestFederationWithADFS(t *testing.T) {
	needBrowser(t)
	corp, _ := needForests(t)
	w := startFedWorld(t, corp)
	tn := startTenant(t, fedSeed(corp))
	args := append(tn.flags(), w.serverFlags()...)
	s := startServer(t, t.TempDir(), args...)
	p, c := signedInPage(t, s)

	// The common pages over HTTP; the federation pages in the browser. A
	// Hybrid Identity Administrator alone is told federation needs more.
	c.walkTo("connect-entra", map[string]url.Values{"user-signin": {"method": {setup.MethodADFS}}})
	p.open("/setup/connect-entra")
	p.signInEntra(entraAdmin, entraPassword)
	p.ok(expect.Locator(p.page.Locator(`[data-testid="notice"]`, playwright.PageLocatorOptions{HasText: "Domain Name Administrator"}).First()).ToContainText(entraAdmin+" has: Hybrid Identity Administrator"), "the role warning")
	p.shot("adfs-connect-hia")
	p.signInEntra(entraGlobalAdmin, entraGlobalPassword)
	ga := url.Values{"entra_user": {entraGlobalAdmin}, "entra_password": {entraGlobalPassword}}
	// A connector account Configure creates has every right the features
	// need: Configure can end with no warning.
	corpCreate := forestForm(t, corp, "", "create", `CORP\Administrator`, forest.AdminPassword)
	c.walkTo("adfs-farm", map[string]url.Values{"directories": corpCreate, "connect-entra": ga, "identifying-users": objectGUIDAnchor})

	// The AD FS farm. An existing farm: its metadata read over HTTPS, its
	// signing certificate and endpoints shown, the trust re-created.
	p.open("/setup/adfs-farm")
	p.onPage("adfs-farm")
	p.visible("adfs-windows")
	old, err := issueRSA(fedTLS.CA, fedTLS.CAKey, time.Now(), fedOldFarm)
	if err != nil {
		t.Fatal(err)
	}
	w.intra.SetA(fedOldFarm, fedOldFarmIP)
	oldFarm := w.startFedServerWith(fedserver.Config{ADFSName: fedOldFarm, RelyingParty: tn.Base + tenant.LoginSRFPath}, old, fedOldFarmIP, 443)
	p.ok(p.id("field-adfs_farm-existing").Check(), "an existing farm")
	p.fill("adfs_existing", fedOldFarm)
	p.click("adfs-read")
	p.expectText("fed-metadata-issuer", "http://"+fedOldFarm+"/adfs/services/trust")
	p.expectContains("fed-metadata-signing", thumbprint(oldFarm.SigningCertificate()))
	p.visible("adfs-existing-note")
	p.shot("adfs-farm-existing")
	p.ok(p.id("field-adfs_farm-new").Check(), "a new farm after all")

	// A new farm: a wildcard certificate, protected by a password.
	wild, err := issueRSA(fedTLS.CA, fedTLS.CAKey, time.Now(), "*.fabrikam.example.test")
	if err != nil {
		t.Fatal(err)
	}
	const pfxPassword = "Pfx-Passw0rd!"
	wildPFX, err := wild.PFX(pfxPassword)
	if err != nil {
		t.Fatal(err)
	}
	p.uploadPFX("wildcard.pfx", wildPFX)
	p.click("adfs-cert-upload")
	p.expectText("error-adfs_cert", setup.MsgADFSCertPassword)
	p.fill("adfs_cert_password", "not-the-password")
	p.click("adfs-cert-upload")
	p.ok(expect.Locator(p.id("error-adfs_cert_password")).ToBeVisible(), "a wrong certificate password")
	p.shot("adfs-farm-password")
	p.fill("adfs_cert_password", pfxPassword)
	p.click("adfs-cert-upload") // the file waits in memory: only the password is typed again
	p.expectContains("adfs-cert-names", "*.fabrikam.example.test")
	p.fill("adfs_service_name", fedADFSName)
	p.click("next")
	p.expectContains("error-adfs_service_name", "The certificate doesn't match the federation service name "+fedADFSName)
	p.shot("adfs-farm-mismatch")
	p.click("adfs-cert-drop")
	good, err := fedTLS.PFX("")
	if err != nil {
		t.Fatal(err)
	}
	p.uploadPFX("sts.pfx", good)
	p.click("adfs-cert-upload")
	p.expectContains("adfs-cert-thumbprint", thumbprint(fedTLS.Leaf))
	p.selectOption("adfs_service_name", fedADFSName)
	p.shot("adfs-farm")
	p.click("next")

	// Federation servers: a name that doesn't resolve, then corp's SRV01.
	p.onPage("adfs-servers")
	p.fill("server_name", "nohost.corp.example.test")
	p.click("server-add")
	p.expectContains("error-server_name", "doesn't resolve")
	p.expectValue("server_name", "nohost.corp.example.test")
	p.fill("server_name", fedServerName)
	p.click("server-add")
	p.expectContains("servers-"+fedServerName, "CN=SRV01")
	p.expectContains("servers-"+fedServerName, "answers (HTTP 401, Negotiate)")
	p.shot("adfs-servers")
	p.click("next")

	// Web Application Proxy servers, and the AD FS server's administrator.
	p.onPage("adfs-proxies")
	p.fill("proxy_name", fedProxyName)
	p.click("proxy-add")
	p.expectContains("proxies-"+fedProxyName, fedAddr[fedProxyName])
	const proxyPassword = "Wap-Admin-Passw0rd!"
	p.fill("proxy_user", `SRV01\administrator`)
	p.fill("proxy_password", proxyPassword)
	p.click("proxy-creds-enter")
	p.visible("proxy-creds-entered")
	p.shot("adfs-proxies")
	p.click("next")

	// The service account: gMSA needs a KDS root key corp doesn't have.
	p.onPage("adfs-service-account")
	p.click("adfs-read-kds")
	p.visible("adfs-kds-none")
	p.fill("adfs_gmsa", `CORP\adfs-gmsa$`)
	p.click("next")
	p.expectText("error-adfs_kds", setup.MsgADFSNoKDS)
	p.shot("adfs-account-no-kds")
	// A domain user, its password checked; a duplicate SPN blocks.
	setSPN(t, corp, 10, "HOST/"+fedADFSName, false)
	p.ok(p.id("field-adfs_account-user").Check(), "domain user account")
	p.fill("adfs_user", `CORP\svc-sync`)
	p.fill("adfs_user_password", "not-the-password")
	p.click("adfs-check-user")
	p.ok(expect.Locator(p.id("error-adfs_user")).ToBeVisible(), "a wrong password refused")
	p.fill("adfs_user_password", forest.SvcSyncPassword)
	p.click("adfs-check-user")
	p.visible("adfs-user-checked")
	p.click("next")
	p.expectContains("error-adfs_spn", "already registered as a service principal name")
	p.expectContains("error-adfs_spn", forest.LayoutOf(corp).UserDN(10))
	p.shot("adfs-account-duplicate-spn")
	setSPN(t, corp, 10, "HOST/"+fedADFSName, true)
	p.click("next")

	// The Microsoft Entra domain.
	p.onPage("adfs-domain")
	p.selectOption("fed_domain", corp.Spec.RoutableSuffix)
	p.shot("adfs-domain")
	p.click("next")

	// Everything stays across a reload and a server restart (the proxy's
	// credentials, memory only, are asked for again).
	p.onPage("ready")
	p.close()
	s.restart()
	c = s.newClient()
	c.signIn(adminUser, adminPass)
	p = newPage(t, s)
	p.signInAs(c)
	// The enterprise admin credentials were in memory only: add corp again.
	c.post("/setup/directories", url.Values{"action": {"remove_forest:" + corp.Name}})
	c.addForest(corpCreate)
	p.open("/setup/adfs-servers")
	p.expectContains("servers-"+fedServerName, "CN=SRV01")
	p.open("/setup/adfs-proxies")
	p.visible("proxy-creds-gone")
	p.click("next")
	p.expectText("error-proxy_user", setup.MsgProxyCredsGone)
	p.fill("proxy_password", proxyPassword)
	p.click("proxy-creds-enter")
	p.visible("proxy-creds-entered")
	p.click("next")
	p.onPage("adfs-service-account")
	p.expectValue("adfs_user", `CORP\svc-sync`)
	p.click("next")
	p.onPage("adfs-domain")
	p.click("next")
	p.onPage("ready")
	p.ok(expect.Locator(p.page.Locator(`[data-testid="notice"]`, playwright.PageLocatorOptions{HasText: "Name resolution for federation servers"})).ToBeVisible(), "the note on name resolution")
	p.shot("adfs-ready")
	// The restart ended the administrator's Entra sign-in (memory only):
	// sign in again.
	c.signInEntra(ga)
	c.walkTo("ready", map[string]url.Values{"connect-entra": ga})
	p.open("/setup/ready")
	p.click("configure")

	// Configure gives the scripts and waits for the farm.
	waiting := p.jobStep("Wait for the AD FS farm " + fedADFSName + " to answer")
	slow := playwright.LocatorAssertionsToHaveTextOptions{Timeout: playwright.Float(120_000)}
	if err := expect.Locator(waiting.Locator(".badge")).ToHaveText("running", slow); err != nil {
		body, _ := p.page.Locator("main").InnerText()
		p.shot("adfs-configure-failed")
		t.Fatalf("the wait does not run: %v\n%s", err, body)
	}
	p.ok(expect.Locator(p.id("job-log")).ToContainText("Not yet"), "the wait says why")
	p.shot("adfs-configure-waiting")
	// The wait can be cancelled (the job never says succeeded), and retried.
	p.click("job-cancel")
	p.ok(expect.Locator(p.id("job-status")).ToHaveText("cancelled", slow), "the job is cancelled")
	p.ok(expect.Locator(p.id("job-error")).ToContainText("Cancelled by "+adminUser), "who cancelled it")
	p.shot("adfs-configure-cancelled")
	// Retry: the connector account and the sync service account the first
	// attempt created are found, and the wait starts again.
	p.click("retry")
	if err := expect.Locator(waiting.Locator(".badge")).ToHaveText("running", slow); err != nil {
		log, _ := p.id("job-log").InnerText()
		t.Fatalf("the retry does not wait again: %v\n%s", err, log)
	}
	// The scripts, each downloadable, for the primary server and the proxy.
	jobPath := strings.TrimPrefix(p.page.URL(), s.base)
	for _, name := range []string{"1-primary-" + fedServerName + ".ps1", "2-proxy-" + fedProxyName + ".ps1"} {
		p.ok(expect.Locator(p.id("script-"+name)).ToBeVisible(), "the job page shows %s", name)
		r := c.get(jobPath + "/scripts/" + name)
		if r.Status != http.StatusOK || !strings.Contains(r.Body, "#Requires -RunAsAdministrator") || !strings.Contains(r.Body, thumbprint(fedTLS.Leaf)) {
			t.Errorf("the script %s: %d\n%s", name, r.Status, excerpt(r.Body))
		}
	}
	w.startFedServer(fedserver.Config{ADFSName: fedADFSName, RelyingParty: tn.Base + tenant.LoginSRFPath}, fedAddr[fedADFSName], 443)
	if err := expect.Locator(p.id("job-status")).ToHaveText("succeeded", slow); err != nil {
		log, _ := p.id("job-log").InnerText()
		t.Fatalf("Configure does not succeed: %v\n%s", err, log)
	}
	p.shot("adfs-configure-done")

	// The tenant has the domain federated with the farm.
	g := tn.Graph(t, entraGlobalAdmin, entraGlobalPassword)
	fcs, err := g.FederationConfigurations(context.Background(), corp.Spec.RoutableSuffix)
	if err != nil || len(fcs) != 1 || fcs[0].IssuerURI != "http://"+fedADFSName+"/adfs/services/trust" || fcs[0].PreferredAuthenticationProtocol != "wsFed" {
		t.Fatalf("the domain's federation: %+v, %v", fcs, err)
	}

	// Verify, linked from the job and the configuration: an A record
	// passes; a CNAME fails with the seed's words.
	jobPage := p.page.URL()
	p.open("/config")
	p.visible("config-federation")
	p.open(strings.TrimPrefix(jobPage, s.base))
	p.ok(p.id("job-verify-federation").GetByTestId("verify-federation-link").Click(), "open Verify federation")
	p.visible("page-verify-federation")
	p.click("verify-dns")
	p.expectContains("check-intranet-a", "Passed.")
	p.expectContains("check-extranet", "Passed.")
	p.shot("adfs-verify-a")
	w.intra.SetA("adfs-node1.corp.example.test", fedAddr[fedADFSName])
	w.intra.SetCNAME(fedADFSName, "adfs-node1.corp.example.test")
	p.click("verify-dns")
	p.expectContains("check-intranet-a", "Failed.")
	p.expectText("check-intranet-a-fix", setup.MsgVerifyARecord)
	p.shot("adfs-verify-cname")
	w.intra.SetA(fedADFSName, fedAddr[fedADFSName])

	// A synced user signs in through the farm with their AD password: the
	// first cycle exports them.
	setUserPassword(t, corp, fedUserIndex, fedUserPass)
	runCycle(t, c)
	upn := forest.LayoutOf(corp).UserUPN(fedUserIndex)
	p.open("/federation/verify")
	p.fill("login_user", upn)
	p.click("verify-login")
	p.ok(expect.Locator(p.id("fed-password")).ToBeVisible(), "the farm's sign-in page")
	p.shot("adfs-farm-signin")
	p.ok(p.id("fed-password").Fill(fedUserPass), "the user's AD password")
	p.ok(p.id("fed-signin").Click(), "sign in at the farm")
	p.ok(expect.Locator(p.id("login-ok")).ToBeVisible(), "the federated sign-in succeeds")
	p.expectContains("claim-preferred_username", upn)
	p.shot("adfs-login-ok")

	s.stop()
	expectNoSecrets(t, s, []string{s.dataDir}, map[string]string{
		"the certificate's password": pfxPassword, "the proxy's administrator password": proxyPassword,
		"the service account's password": forest.SvcSyncPassword, "the user's AD password": fedUserPass,
		"the enterprise admin's password": forest.AdminPassword,
	})
}

// thumbprint is a certificate's SHA-1 thumbprint as Windows shows it.
func thumbprint(c *x509.Certificate) string {
	sum := sha1.Sum(c.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// runCycle runs a synchronization cycle now and waits for it to finish.
func runCycle(t *testing.T, c *client) {
	t.Helper()
	r := c.post("/sync/run", url.Values{})
	if !strings.HasPrefix(r.URL, "/jobs/") {
		t.Fatalf("Run now: %d at %s:\n%s", r.Status, r.URL, excerpt(r.Body))
	}
	st, err := c.waitJobWithin(r.URL, 3*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if st != "succeeded" && st != "succeeded-with-warnings" { // corp's contacts can't be written through Graph
		t.Fatalf("the cycle ended %s", st)
	}
}

// TestFederationWithPingFederate walks federation with PingFederate in the
// browser: the domain (an unverified one verified on the page, then corp's),
// the settings export, the server found but without the service provider
// connection for Microsoft Entra ID (the seed's words), then with it; the
// endpoints resolved through the intranet and the extranet DNS (a failure
// first); Configure federates the domain (SAML 2.0) with a Hybrid Identity
// Administrator who is also Domain Name Administrator; and a synced user
// signs in through PingFederate with their AD password.
func TestFederationWithPingFederate(t *testing.T) {
	needBrowser(t)
	corp, _ := needForests(t)
	w := startFedWorld(t, corp)
	tn := startTenant(t, fedSeed(corp))
	args := append(tn.flags(), w.serverFlags()...)
	s := startServer(t, t.TempDir(), args...)
	p, c := signedInPage(t, s)
	ping := w.startFedServer(fedserver.Config{PingHost: fedPingName, PingNoSPConnection: true, RelyingParty: tn.Base + tenant.LoginSRFPath}, fedAddr[fedPingName], fedPingPort)

	fedAdmin := url.Values{"entra_user": {"fed.admin@contoso.onmicrosoft.com"}, "entra_password": {"Passw0rd!fed"}}
	corpCreate := forestForm(t, corp, "", "create", `CORP\Administrator`, forest.AdminPassword)
	c.walkTo("ping-domain", map[string]url.Values{"user-signin": {"method": {setup.MethodPing}}, "directories": corpCreate, "connect-entra": fedAdmin,
		"identifying-users": objectGUIDAnchor})

	// Verify the domain: an unverified domain shows its TXT record and is
	// verified from the page.
	p.open("/setup/ping-domain")
	p.onPage("ping-domain")
	p.selectOption("fed_domain", "northwind.example.test")
	p.click("next")
	p.expectText("error-fed_domain", setup.MsgFedNotVerify)
	p.expectContains("fed-domain-txt", "MS=ms")
	p.shot("ping-domain-unverified")
	p.click("fed-domain-verify-button")
	p.ok(expect.Locator(p.id("field-fed_domain").Locator("option:checked")).ToContainText("Verified"), "verified from the page")
	p.selectOption("fed_domain", corp.Spec.RoutableSuffix)
	p.shot("ping-domain")
	p.click("next")

	// Export the PingFederate settings, then the server: found, but without
	// the connection to Microsoft Entra ID.
	p.onPage("ping-settings")
	exp := c.get("/setup/ping-settings/export")
	if exp.Status != http.StatusOK || !strings.Contains(exp.Body, "urn:federation:MicrosoftOnline") || !strings.Contains(exp.Body, corp.Spec.RoutableSuffix) {
		t.Errorf("the settings export: %d\n%s", exp.Status, excerpt(exp.Body))
	}
	p.fill("ping_server", fedPingName)
	p.fill("ping_port", fmt.Sprint(fedPingPort))
	p.click("ping-read")
	p.expectText("ping-missing", setup.MsgPingMissing)
	p.shot("ping-settings-missing")
	p.submit("next")
	p.expectContains("error-ping_server", setup.MsgPingMissing)
	ping.SetPingSPConnection(true)
	p.click("ping-read")
	p.visible("ping-found")
	p.expectContains("fed-metadata-signing", thumbprint(ping.SigningCertificate()))
	p.shot("ping-settings")
	// Back and Next again: nothing entered is lost.
	p.click("back")
	p.onPage("ping-domain")
	p.ok(expect.Locator(p.id("field-fed_domain")).ToHaveValue(corp.Spec.RoutableSuffix), "the domain kept")
	p.click("next")
	p.onPage("ping-settings")
	p.expectValue("ping_server", fedPingName)
	p.expectValue("ping_port", fmt.Sprint(fedPingPort))
	p.visible("ping-found")
	p.click("next")

	// Verify federation connectivity: the public DNS doesn't know the server.
	p.onPage("ping-connectivity")
	w.extra.Remove(fedPingName)
	p.click("ping-check")
	p.expectContains("ping-endpoint-"+fedPingName, "Doesn't resolve")
	p.click("next")
	p.expectContains("error-ping_connectivity", fedPingName)
	p.shot("ping-connectivity-extranet")
	w.extra.SetA(fedPingName, fedAddr[fedPingName])
	p.click("ping-check")
	p.expectContains("ping-endpoint-"+fedPingName, fedAddr[fedPingName])
	p.ok(expect.Locator(p.id("error-ping_connectivity")).ToHaveCount(0), "no error once it resolves")
	p.shot("ping-connectivity")
	p.click("next")

	// Verify federated login: possible once Configure federated the domain.
	p.onPage("ping-login")
	p.visible("ping-login-after")
	p.click("next")
	p.onPage("ready")
	p.click("configure")
	slow := playwright.LocatorAssertionsToHaveTextOptions{Timeout: playwright.Float(120_000)}
	if err := expect.Locator(p.id("job-status")).ToHaveText("succeeded with warnings", slow); err != nil {
		log, _ := p.id("job-log").InnerText()
		t.Fatalf("Configure: %v\n%s", err, log)
	}
	// The warnings are the sync features' only: a Hybrid Identity
	// Administrator may not read or set them; the domain is federated.
	p.ok(expect.Locator(p.page.Locator(`[data-testid="problem"]`)).Not().ToContainText([]string{"federat"}), "no warning about federation")
	p.shot("ping-configure-done")
	g := tn.Graph(t, entraGlobalAdmin, entraGlobalPassword)
	fcs, err := g.FederationConfigurations(context.Background(), corp.Spec.RoutableSuffix)
	if err != nil || len(fcs) != 1 || fcs[0].PreferredAuthenticationProtocol != "saml" || !strings.HasPrefix(fcs[0].PassiveSignInURI, "https://"+fedPingName+":") {
		t.Fatalf("the domain's federation: %+v, %v", fcs, err)
	}

	// The wizard's page now offers the check; so does Verify federation.
	p.open("/setup/ping-login")
	p.visible("ping-login-check")
	setUserPassword(t, corp, fedUserIndex, fedUserPass)
	runCycle(t, c)
	upn := forest.LayoutOf(corp).UserUPN(fedUserIndex)
	p.open("/federation/verify")
	p.click("verify-dns")
	p.expectContains("check-intranet-a", "Passed.")
	p.fill("login_user", upn)
	p.click("verify-login")
	p.ok(expect.Locator(p.id("fed-password")).ToBeVisible(), "PingFederate's sign-in page")
	p.shot("ping-signin")
	// A SAML request names no user: PingFederate asks for the user name too.
	p.ok(p.id("fed-username").Fill(upn), "the user name")
	p.ok(p.id("fed-password").Fill("not-the-password"), "a wrong password")
	p.ok(p.id("fed-signin").Click(), "sign in")
	p.ok(expect.Locator(p.id("fed-error")).ToContainText(fedserver.PingBadCredentials), "refused by AD")
	p.ok(expect.Locator(p.id("fed-username")).ToHaveValue(upn), "the user name kept")
	p.ok(p.id("fed-password").Fill(fedUserPass), "the user's AD password")
	p.ok(p.id("fed-signin").Click(), "sign in")
	p.ok(expect.Locator(p.id("login-ok")).ToBeVisible(), "the federated sign-in succeeds")
	p.expectContains("claim-preferred_username", upn)
	p.shot("ping-login-ok")

	s.stop()
	expectNoSecrets(t, s, []string{s.dataDir}, map[string]string{
		"the user's AD password": fedUserPass, "the enterprise admin's password": forest.AdminPassword, "the tenant admin's password": "Passw0rd!fed",
	})
}
