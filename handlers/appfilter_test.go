package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/hybridsync/hybridsync/engine/setup"
)

// Microsoft Entra app and attribute filtering over HTTP: the two pages, a
// bad submission of each (error shown, input kept), a good one, and the
// summary on Ready to configure.
func TestAppAndAttributeFiltering(t *testing.T) {
	t.Parallel()
	corp := corpForest(t)
	e := newEnv(t)
	c := e.signedIn("admin")
	walkToFeatures(t, c, corp, nil)
	c.next("optional-features", url.Values{"app_attribute_filtering": {"on"}}, setup.PageAppFiltering)

	// Microsoft Entra apps: every app listed and selected at first, and the
	// note about changing the selection later.
	const apps = "/setup/" + setup.PageAppFiltering
	r := c.page(setup.PageAppFiltering)
	if r.find(t, `[data-testid="coming"]`).Length() != 0 {
		t.Error("the apps page still says it is coming")
	}
	for _, app := range setup.EntraAppList {
		box := r.find(t, `input[type=checkbox][name="`+setup.AppField(app.ID)+`"]`)
		if box.Length() != 1 || !box.Is("[checked]") {
			t.Errorf("%s: %d boxes, checked %v", app.Label, box.Length(), box.Is("[checked]"))
		}
		if !strings.Contains(r.find(t, `[data-testid="apps"]`).Text(), app.Label) {
			t.Errorf("%s not named", app.Label)
		}
	}
	if !strings.Contains(r.find(t, `[data-testid="notice"]`).Text(), setup.MsgAppsRerun) {
		t.Error("no note about rerunning the wizard")
	}

	// No app: an error, and the cleared boxes stay cleared.
	none := url.Values{}
	for _, app := range setup.EntraAppList {
		none.Set(setup.AppField(app.ID), "")
	}
	r = c.submit(r, apps, "next", none)
	wantStatus(t, r, http.StatusUnprocessableEntity, "Next without an app")
	if got := r.testid(t, "error-apps"); got != setup.MsgNoApp {
		t.Errorf("error-apps says %q", got)
	}
	if r.testid(t, "page-error") == "" {
		t.Error("no page-level message")
	}
	wantKept(t, r, none)

	// Exchange Online and the 3rd party application.
	pick := url.Values{setup.AppField(setup.AppExchange): {"on"}, setup.AppField(setup.AppThirdParty): {"on"}}
	wantRedirect(t, c.submit(r, apps, "next", pick), "/setup/"+setup.PageAttributeFiltering, "Next with two apps")

	// Microsoft Entra attributes: the union of the two apps' lists, the
	// seed's warning, required attributes that can't be cleared.
	const attrs = "/setup/" + setup.PageAttributeFiltering
	r = c.page(setup.PageAttributeFiltering)
	if got := r.find(t, `[data-testid="notice"]`).Text(); !strings.Contains(got, "Removing attributes can affect functionality. For best practices and recommendations, see Attributes to synchronize.") {
		t.Errorf("no warning; notices %q", got)
	}
	var listed []string
	r.find(t, `input[name="attr_seen"]`).Each(func(_ int, s *goquery.Selection) {
		listed = append(listed, s.AttrOr("value", ""))
	})
	for _, n := range []string{"department", "employeeID", "msExchArchiveName", "objectSid", "operatingSystem"} {
		if !slices.Contains(listed, n) {
			t.Errorf("%s not listed", n)
		}
	}
	for _, n := range []string{"msRTCSIP-Line", "hideDLMembership"} { // Lync's, SharePoint's
		if slices.Contains(listed, n) {
			t.Errorf("%s listed for Exchange and 3rd party", n)
		}
	}
	sid := r.find(t, `input[type=checkbox][name="attr_objectSid"]`)
	if !sid.Is("[disabled]") || !sid.Is("[checked]") || r.testid(t, "required-objectSid") == "" {
		t.Error("objectSid can be cleared, or says not why")
	}
	if dep := r.find(t, `input[type=checkbox][name="attr_department"]`); dep.Is("[disabled]") || !dep.Is("[checked]") {
		t.Error("department is not a selected box that can be cleared")
	}

	// Clear department and title, and post what a stale or forged form
	// might: a required one cleared and a name the page never listed.
	bad := url.Values{"attr_department": {""}, "attr_title": {""}, "attr_objectSid": {""},
		"attr_seen": append(slices.Clone(listed), "favouriteColour")}
	r = c.submit(r, attrs, "next", bad)
	wantStatus(t, r, http.StatusUnprocessableEntity, "Next with bad attributes")
	if got := r.testid(t, "error-attr_objectSid"); !strings.Contains(got, "objectSid can't be cleared") {
		t.Errorf("error-attr_objectSid says %q", got)
	}
	if got := r.testid(t, "error-attrs"); !strings.Contains(got, "favouriteColour") {
		t.Errorf("error-attrs says %q", got)
	}
	wantKept(t, r, url.Values{"attr_department": {""}, "attr_title": {""}, "attr_givenName": {"on"}})
	if got := r.testid(t, "attr-count"); !strings.Contains(got, "2 cleared") {
		t.Errorf("count says %q", got)
	}

	// The page as shown again is valid: the required box posts itself.
	wantRedirect(t, c.submit(r, attrs, "next", nil), "/setup/ready", "Next with two attributes cleared")
	ready := c.page("ready")
	summary := ready.find(t, `[data-testid="summary"]`).Text()
	for _, want := range []string{"Exchange Online, 3rd party application", "2: department, title"} {
		if !strings.Contains(summary, want) {
			t.Errorf("the summary lacks %q:\n%s", want, summary)
		}
	}
	for _, p := range []string{setup.PageAppFiltering, setup.PageAttributeFiltering} {
		if ready.find(t, `[data-testid="step-`+p+`"] .coming`).Length() != 0 {
			t.Errorf("step %s marked coming", p)
		}
	}

	// The answers are saved: back on the apps page, add Lync Online, and the
	// clearings are still there while Lync's own attributes start selected.
	st, err := e.st.WizardState(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var saved setup.Answers
	if err := json.Unmarshal(st.Answers, &saved); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(saved.EntraAttributes.Cleared, []string{"department", "title"}) ||
		!slices.Equal(saved.EntraApps.Selected, []string{setup.AppExchange, setup.AppThirdParty}) {
		t.Errorf("saved %+v %+v", saved.EntraApps, saved.EntraAttributes)
	}
	c.next(setup.PageAppFiltering, url.Values{setup.AppField(setup.AppLync): {"on"}}, setup.PageAttributeFiltering)
	r = c.page(setup.PageAttributeFiltering)
	wantKept(t, r, url.Values{"attr_department": {""}, "attr_title": {""}, "attr_msRTCSIP-Line": {"on"}})
}
