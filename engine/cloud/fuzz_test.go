package cloud

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Fuzz targets for what Graph (or whatever answers in its place) sends back:
// error bodies, Retry-After headers and @odata.nextLink addresses.

// FuzzParseError: any body becomes an *Error whose message is short, and
// valid UTF-8 when the body is (it is shown on the pages and kept in the
// job's events); a Graph error envelope gives its code and message.
func FuzzParseError(f *testing.F) {
	for _, s := range []string{
		`{"error":{"code":"Request_BadRequest","message":"Another object with the same value for property userPrincipalName already exists.","details":[{"code":"ObjectConflict","message":"x","target":"userPrincipalName"}],"innerError":{"request-id":"r","date":"2026-01-01T00:00:00"}}}`,
		`{"error":{"code":"","message":""}}`, `{"error":"x"}`, `<html><body>Service Unavailable</body></html>`, "", "   ",
		strings.Repeat("é", 150), strings.Repeat("a", 199) + "é", `{"error":{"code":"TooManyRequests","message":"` + strings.Repeat("€", 100) + `"}}`,
	} {
		f.Add(s, 400)
	}
	f.Fuzz(func(t *testing.T, body string, status int) {
		e := parseError(status, []byte(body), time.Second)
		if e.Status != status || e.RetryAfter != time.Second {
			t.Fatalf("parseError kept status %d, retry %v", e.Status, e.RetryAfter)
		}
		var env struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal([]byte(body), &env) == nil && env.Error.Code+env.Error.Message != "" {
			if e.Code != env.Error.Code || e.Message != env.Error.Message {
				t.Fatalf("envelope %q read as %q %q", body, e.Code, e.Message)
			}
			return
		}
		if len(e.Message) > 200 || !strings.HasPrefix(strings.TrimSpace(body), e.Message) {
			t.Fatalf("body %q kept as message %q", body, e.Message)
		}
		if utf8.ValidString(body) && !utf8.ValidString(e.Message) {
			t.Fatalf("body %q cut inside a character: %q", body, e.Message)
		}
		_ = e.Error()
	})
}

// FuzzRetryAfter: a Retry-After header, whatever it says, never asks for a
// negative wait (which would retry at once, and past MaxWait).
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "5", "1.5", "-1", "120", "1e300", "Inf", "NaN", "0x10", "Wed, 21 Oct 2015 07:28:00 GMT",
		"Fri, 31 Dec 9999 23:59:59 GMT", "  7  "} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, h string) {
		d, ok := retryAfter(h, now)
		if d < 0 {
			t.Fatalf("retryAfter(%q) = %v, %v", h, d, ok)
		}
		if !ok && d != 0 {
			t.Fatalf("retryAfter(%q) = %v without a header", h, d)
		}
	})
}

// FuzzResolve: a path or an @odata.nextLink never sends the token off the
// Graph host.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{"users", "/users?$top=999", "https://graph.microsoft.com/v1.0/users?$skiptoken=x", "https://evil.example/v1.0/users",
		"https://graph.microsoft.com@evil.example/", "//evil.example/x", "HTTPS://evil.example/", "https://graph.microsoft.com:443/v1.0/users",
		"https://graph.microsoft.com\\@evil.example/", "http://graph.microsoft.com/v1.0/users", "@evil.example", "%2F%2Fevil.example"} {
		f.Add(s)
	}
	base, err := url.Parse("https://graph.microsoft.com/v1.0")
	if err != nil {
		f.Fatal(err)
	}
	c := &Client{base: base}
	f.Fuzz(func(t *testing.T, ref string) {
		target, err := c.resolve(ref)
		if err != nil {
			return
		}
		u, err := url.Parse(target)
		if err != nil {
			return // the request is never made: http.NewRequest refuses it
		}
		if u.Scheme != base.Scheme || u.Host != base.Host || u.User != nil {
			t.Fatalf("resolve(%q) = %q: scheme %q, host %q, user %v", ref, target, u.Scheme, u.Host, u.User)
		}
	})
}
