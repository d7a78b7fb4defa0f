package e2e

import (
	"path/filepath"
	"testing"
)

// signedInPage creates the first administrator over HTTP and opens a browser
// context that carries its session.
func signedInPage(t *testing.T, s *server) (*bpage, *client) {
	t.Helper()
	c := s.newClient()
	c.firstRun(adminUser, adminPass)
	p := newPage(t, s)
	p.signInAs(c)
	return p, c
}

// TestResumeAfterReloadAndRestart: the wizard keeps every answer and its place
// across a reload, a new browser session and a restart of the server.
func TestResumeAfterReloadAndRestart(t *testing.T) {
	needBrowser(t)
	s := startServer(t, t.TempDir())
	p, _ := signedInPage(t, s)

	p.open("/setup")
	p.onPage("express")
	p.click("customize")

	p.onPage("components")
	loc := filepath.Join(t.TempDir(), "hybridsync-data")
	p.check("custom_location")
	p.fill("location", loc)
	p.check("custom_groups")
	p.fill("group_admins", "HSAdmins")
	p.fill("group_browse", "HSHelpdesk")
	p.click("next")

	p.onPage("user-signin")
	p.ok(p.id("field-method-federation-pingfederate").Check(), "choose PingFederate")
	p.click("next")
	p.onPage("connect-entra")
	p.signInEntra(entraAdmin, entraPassword)
	p.click("next")
	p.onPage("directories")

	// A reload in the middle: the same page.
	_, err := p.page.Reload()
	p.ok(err, "reload")
	p.onPage("directories")
	p.shot("directories-reloaded")

	// Back, then a reload of an earlier page: its answers are there.
	p.click("back")
	p.onPage("connect-entra")
	p.click("back")
	p.onPage("user-signin")
	_, err = p.page.Reload()
	p.ok(err, "reload")
	p.onPage("user-signin")
	p.ok(expect.Locator(p.id("field-method-federation-pingfederate")).ToBeChecked(), "PingFederate is still chosen after a reload")
	p.expectChecked("sso", false)
	p.shot("user-signin-reloaded")
	p.click("next")
	p.onPage("connect-entra")
	p.click("next")
	p.onPage("directories")

	// Close the browser, restart the server, come back in a new session.
	p.close()
	s.restart()
	c2 := s.newClient()
	c2.signIn(adminUser, adminPass)
	p2 := newPage(t, s)
	p2.signInAs(c2)
	p2.open("/setup")
	p2.onPage("directories")
	p2.shot("resumed-after-restart")

	// PingFederate's pages are part of this run of the wizard.
	p2.visible("step-ping-domain")
	p2.ok(expectCount(p2.id("step-adfs-farm"), 0), "no AD FS pages for PingFederate")

	p2.click("back")
	p2.onPage("connect-entra")
	// The tenant is remembered; the sign-in itself was only in memory.
	p2.expectContains("entra-signed-in", "no longer in memory")
	p2.click("next")
	p2.expectContains("error-entra", "Sign in again")
	p2.click("back")
	p2.onPage("user-signin")
	p2.ok(expect.Locator(p2.id("field-method-federation-pingfederate")).ToBeChecked(), "PingFederate is still chosen after the restart")
	p2.shot("user-signin-after-restart")
	p2.click("back")
	p2.onPage("components")
	p2.expectChecked("custom_location", true)
	p2.expectValue("location", loc)
	p2.expectChecked("custom_groups", true)
	p2.expectValue("group_admins", "HSAdmins")
	p2.expectValue("group_operators", "ADSyncOperators")
	p2.expectValue("group_browse", "HSHelpdesk")
	p2.expectValue("group_passwordset", "ADSyncPasswordSet")
	p2.expectChecked("use_sql", false)
	p2.shot("components-after-restart")

	// The setup token was printed once: an account exists after the restart.
	n := 0
	for _, e := range s.entries() {
		if _, ok := e.Attrs["setup_token"]; ok {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the setup token was logged %d times over two starts, want once (only while no account exists)", n)
	}
	s.expectNoErrors()
}
