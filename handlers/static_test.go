package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hybridsync/hybridsync/web"
)

// /static/ serves its files and lists no directory.
func TestStaticNoListing(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, envOptions{noAccounts: true})
	c := e.newClient()
	for _, tc := range []struct {
		path   string
		status int
		body   string // a piece of the body; "" for none
	}{
		{web.CSS, http.StatusOK, "{"},
		{web.JS, http.StatusOK, ""},
		{web.HTMX, http.StatusOK, "htmx"},
		{"/static/vendor/LICENSE.htmx", http.StatusOK, ""},
		{"/static/", http.StatusNotFound, ""},
		{"/static/vendor/", http.StatusNotFound, ""},
		{"/static/vendor", http.StatusNotFound, ""},
		{"/static/./vendor/", http.StatusNotFound, ""},
		{"/static/vendor/../", http.StatusNotFound, ""},
		{"/static/nothing.js", http.StatusNotFound, ""},
		{"/static/index.html", http.StatusNotFound, ""},
	} {
		// The file server's redirects (index.html to its directory) are
		// followed: only the final answer counts.
		at, _ := url.Parse(tc.path)
		r := c.get(at.Path)
		for i := 0; r.status == http.StatusMovedPermanently && i < 3; i++ {
			to, err := url.Parse(r.location())
			if err != nil {
				t.Fatal(err)
			}
			at = at.ResolveReference(to)
			r = c.get(at.Path)
		}
		if r.status != tc.status {
			t.Errorf("GET %s: status %d, want %d", tc.path, r.status, tc.status)
			continue
		}
		for _, name := range []string{"app.css", "vendor/", "htmx-2"} {
			if tc.status != http.StatusOK && strings.Contains(r.text(), name) {
				t.Errorf("GET %s lists %q:\n%s", tc.path, name, r.text())
			}
		}
		if tc.body != "" && !strings.Contains(r.text(), tc.body) {
			t.Errorf("GET %s: body lacks %q", tc.path, tc.body)
		}
	}
}
