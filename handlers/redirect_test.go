package handlers

import (
	"net/http"
	"net/url"
	"testing"
)

// nextCases are the redirect targets tried: the whole class of tricks that
// lead a browser to another site, and paths that must stay.
var nextCases = []struct{ next, want string }{
	{"", "/"},
	{"/", "/"},
	{"/setup/components", "/setup/components"},
	{"/jobs/3?x=1", "/jobs/3?x=1"},
	{"/jobs?x=1&y=a%20b", "/jobs?x=1&y=a%20b"},
	{"/accounts/oidc#frag", "/accounts/oidc"},
	{"/a/%2F/b", "/a/%2F/b"},                   // an encoded slash later in the path is only a path
	{"/%09/evil.example", "/%09/evil.example"}, // as sent, still encoded: a path on this site
	{"//evil.example", "/"},
	{"///evil.example", "/"},
	{`/\evil.example`, "/"},
	{`\\evil.example`, "/"},
	{`\/evil.example`, "/"},
	{"/\t/evil.example", "/"},
	{"/\n/evil.example", "/"},
	{"/\r/evil.example", "/"},
	{"/evil\n", "/"},
	{"/ /evil.example", "/"},
	{" /evil", "/"},
	{"/\x00/evil", "/"},
	{"/\x7f/evil", "/"},
	{"/%2F/evil.example", "/"},
	{"/%2f/evil.example", "/"},
	{"/%5C/evil.example", "/"},
	{"/%5cevil.example", "/"},
	{"%2F%2Fevil.example", "/"},
	{"https://evil.example/", "/"},
	{"http:/evil.example", "/"},
	{"HTTPS://evil.example", "/"},
	{"javascript:alert(1)", "/"},
	{"/javascript:alert(1)", "/javascript:alert(1)"}, // a path named so: harmless
	{"data:text/html,x", "/"},
	{"evil.example", "/"},
	{"/\u2215evil.example", "/"}, // division slash
	{"/\uff0fevil.example", "/"}, // fullwidth solidus
	{"/\uff3cevil.example", "/"}, // fullwidth reverse solidus
	{"/\u3002evil.example", "/"}, // ideographic full stop
	{"/é", "/"},                  // raw non-ASCII: a real next is always encoded
	{"/%C3%A9", "/%C3%A9"},
	{"/a%zz", "/"},
	{"/@evil.example", "/@evil.example"},
}

func TestRedirectSafeNext(t *testing.T) {
	t.Parallel()
	for _, tc := range nextCases {
		if got := safeNext(tc.next); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.next, got, tc.want)
		}
	}
}

// Through the routes: a signed-in visitor of /signin?next= and of
// /auth/oidc/start?next= is sent to the safe target, and the sign-in form
// carries only a safe next.
func TestRedirectNextRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	anon := e.newClient()
	c := e.signedIn("helpdesk")
	for _, tc := range nextCases {
		q := "?next=" + url.QueryEscape(tc.next)
		for _, path := range []string{"/signin", "/auth/oidc/start"} {
			r := c.get(path + q)
			wantStatus(t, r, http.StatusSeeOther, path+" for "+tc.next)
			if r.location() != tc.want {
				t.Errorf("GET %s%s: Location %q, want %q", path, q, r.location(), tc.want)
			}
		}
		if tc.next == "" {
			continue
		}
		if v, _ := anon.get("/signin"+q).value(t, "next"); v != tc.want {
			t.Errorf("GET /signin%s: next input %q, want %q", q, v, tc.want)
		}
	}
	// The literal report: the tab arrives decoded from the query.
	r := c.get("/signin?next=/%09/evil.example")
	if r.location() != "/" {
		t.Errorf("/signin?next=/%%09/evil.example: Location %q, want /", r.location())
	}
}

// FuzzSafeNext: whatever a next parameter holds, where the browser goes
// afterwards is on this site — resolved against the console's address, the
// host stays — and the answer is printable ASCII, a path, and stable.
// `make fuzz` runs it.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/jobs", "/sync/lookup?q=alice", "//evil.example", "/\\evil.example", "/\t/evil.example",
		"/%2f/evil", "/%5Cevil", "https://evil.example/", "javascript:alert(1)", "/ok/../..//x", "/\uff0fevil", "/a?b=//c", ""} {
		f.Add(s)
	}
	base, err := url.Parse("https://console.example.test/setup/ready")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if got == "" || got[0] != '/' || len(got) > 1 && (got[1] == '/' || got[1] == '\\') {
			t.Fatalf("safeNext(%q) = %q: not one path on this site", next, got)
		}
		for i := 0; i < len(got); i++ {
			if c := got[i]; c <= ' ' || c >= 0x7f || c == '\\' {
				t.Fatalf("safeNext(%q) = %q holds %q", next, got, c)
			}
		}
		ref, err := url.Parse(got)
		if err != nil {
			t.Fatalf("safeNext(%q) = %q does not parse: %v", next, got, err)
		}
		if to := base.ResolveReference(ref); to.Host != base.Host || to.Scheme != base.Scheme || to.User != nil {
			t.Fatalf("safeNext(%q) = %q leads to %s", next, got, to)
		}
		if again := safeNext(got); again != got {
			t.Fatalf("safeNext(%q) = %q, but safeNext of that = %q", next, got, again)
		}
	})
}
