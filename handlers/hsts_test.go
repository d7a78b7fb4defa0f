package handlers

import (
	"net/http"
	"testing"
)

// Strict-Transport-Security on every response when browsers reach the
// console over HTTPS (its own TLS, or an https public URL in front of it),
// and a plain notice on the first pages when they don't.
func TestHSTSAndCleartextNotice(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		cfg       Config
		hsts      bool
		cleartext bool
	}{
		{"plain HTTP", Config{}, false, true},
		{"http public URL", Config{PublicURL: "http://console.example.test"}, false, true},
		{"behind a TLS proxy", Config{PublicURL: "https://console.example.test"}, true, false},
		{"behind a TLS proxy, upper case", Config{PublicURL: "HTTPS://console.example.test:8443"}, true, false},
		{"own TLS", Config{Secure: true}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnvWith(t, envOptions{cfg: tc.cfg, noAccounts: true})
			c := e.newClient()
			want := ""
			if tc.hsts {
				want = "max-age=31536000"
			}
			for _, path := range []string{"/first-run", "/healthz", "/static/app.css", "/static/", "/no/such/page"} {
				if got := c.get(path).header.Get("Strict-Transport-Security"); got != want {
					t.Errorf("GET %s: Strict-Transport-Security %q, want %q", path, got, want)
				}
			}
			r := c.get("/first-run")
			wantStatus(t, r, http.StatusOK, "first-run page")
			if got := r.find(t, `[data-testid="cleartext-notice"]`).Length() == 1; got != tc.cleartext {
				t.Errorf("first-run page: cleartext notice %v, want %v", got, tc.cleartext)
			}
			e.createAccount("admin", "admins")
			r = c.get("/signin")
			wantStatus(t, r, http.StatusOK, "sign-in page")
			if got := r.find(t, `[data-testid="cleartext-notice"]`).Length() == 1; got != tc.cleartext {
				t.Errorf("sign-in page: cleartext notice %v, want %v", got, tc.cleartext)
			}
			if got := r.header.Get("Strict-Transport-Security"); got != want {
				t.Errorf("GET /signin: Strict-Transport-Security %q, want %q", got, want)
			}
		})
	}
}
