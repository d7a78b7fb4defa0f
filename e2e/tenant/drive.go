package tenant

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"

	"github.com/PuerkitoBio/goquery"

	"github.com/hybridsync/hybridsync/engine/cloud"
)

// SignInAs walks the emulator's interactive sign-in pages the way a person
// in a browser does — the authorization URL, the username and password page,
// the verification-code page for an account with MFA — and returns the
// redirect_uri address the emulator sends the browser back to (with code and
// state, or error). It is for tests and demos that drive the flow without a
// browser. The pages are found by their data-testid attributes.
func SignInAs(hc *http.Client, authURL, user, password, mfaCode string) (string, error) {
	if hc == nil {
		hc = &http.Client{}
	}
	jar, _ := cookiejar.New(nil)
	c := *hc
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(authURL)
	if err != nil {
		return "", err
	}
	fields := map[string]string{"tenant-username": user, "tenant-password": password, "tenant-mfa-code": mfaCode}
	for range 4 {
		if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && loc != "" {
			resp.Body.Close()
			return loc, nil
		}
		resp, err = submitPage(&c, resp, fields)
		if err != nil {
			return "", err
		}
	}
	resp.Body.Close()
	return "", errors.New("tenant: the sign-in pages did not redirect back")
}

// ErrorOnPage is a sign-in page that answered with an error instead of
// moving on (a wrong password or code); Text is what it says.
type ErrorOnPage struct{ Text string }

func (e *ErrorOnPage) Error() string { return "tenant: the sign-in page says: " + e.Text }

func submitPage(c *http.Client, page *http.Response, fields map[string]string) (*http.Response, error) {
	defer page.Body.Close()
	doc, err := goquery.NewDocumentFromReader(io.LimitReader(page.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if msg := strings.TrimSpace(doc.Find(`[data-testid="tenant-error"]`).Text()); msg != "" {
		return nil, &ErrorOnPage{Text: msg}
	}
	form := doc.Find("form").First()
	if form.Length() == 0 {
		return nil, fmt.Errorf("tenant: no form on %s (status %d): %s", page.Request.URL, page.StatusCode, strings.TrimSpace(doc.Text()))
	}
	vals := url.Values{}
	form.Find("input").Each(func(_ int, in *goquery.Selection) {
		name := in.AttrOr("name", "")
		if name == "" {
			return
		}
		v := in.AttrOr("value", "")
		if f, ok := fields[in.AttrOr("data-testid", "")]; ok {
			v = f
		}
		vals.Set(name, v)
	})
	if btn := form.Find("button[name]").First(); btn.Length() > 0 {
		vals.Set(btn.AttrOr("name", ""), btn.AttrOr("value", ""))
	}
	target, err := page.Request.URL.Parse(form.AttrOr("action", ""))
	if err != nil {
		return nil, err
	}
	return c.PostForm(target.String(), vals)
}

// GroupIDsOf reads, through the Graph API of the emulator at base with the
// seed's sync app (client credentials), the ids of the groups a user is a
// direct member of: what an ID token's groups claim holds.
func GroupIDsOf(ctx context.Context, hc *http.Client, base, tenantID, upn string) ([]string, error) {
	g, err := cloud.New(cloud.Config{GraphURL: base + "/v1.0", HTTPClient: hc}, &cloud.ClientCredentials{
		Authority: base + "/" + tenantID, ClientID: SyncClientID, ClientSecret: SyncClientSecret, HTTPClient: hc})
	if err != nil {
		return nil, err
	}
	objs, err := g.MemberOf(ctx, upn)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, o := range objs {
		if o.ODataType == "" || o.ODataType == "#microsoft.graph.group" {
			ids = append(ids, o.ID)
		}
	}
	return ids, nil
}
