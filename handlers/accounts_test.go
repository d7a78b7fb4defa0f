package handlers

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hybridsync/hybridsync/engine/auth"
	"github.com/hybridsync/hybridsync/engine/store"
)

func TestAccountGroupsFragment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.signedIn("admin")
	ctx := context.Background()
	path := fmt.Sprintf("/accounts/%d/groups", e.ids["helpdesk"])
	cases := []struct {
		name     string
		mode     csrfMode
		hdr      []string
		fragment bool
	}{
		{"htmx request", csrfField, []string{"HX-Request", "true"}, true},
		{"htmx request, token in the header", csrfHeader, []string{"HX-Request", "true"}, true},
		{"boosted navigation", csrfHeader, []string{"HX-Request", "true", "HX-Boosted", "true"}, false},
		{"plain form post", csrfField, nil, false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			groups := [][]string{{"browse"}, {"browse", "operators"}}[i%2]
			r := c.postWith(tc.mode, c.csrf, path, url.Values{"groups": groups}, tc.hdr...)
			wantStatus(t, r, http.StatusOK, tc.name)
			isFragment := !strings.Contains(r.text(), "<html")
			if isFragment != tc.fragment {
				t.Fatalf("fragment=%v, want %v:\n%s", isFragment, tc.fragment, r.text())
			}
			if tc.fragment {
				if !strings.HasPrefix(strings.TrimSpace(r.text()), "<tr") {
					t.Errorf("the fragment is not a row: %.80q", r.text())
				}
				if got := r.testid(t, "row-msg-helpdesk"); got != "Saved." {
					t.Errorf("row message %q", got)
				}
				if tok, _ := r.find(t, `input[name="csrf_token"]`).Attr("value"); tok == "" {
					t.Error("the row's form has no CSRF token")
				}
			} else if got := r.testid(t, "flash"); got != "Saved the groups of helpdesk." {
				t.Errorf("flash %q", got)
			}
			for _, role := range auth.Roles {
				checked := r.find(t, fmt.Sprintf(`[data-testid="group-helpdesk-%s"]`, role)).Is("[checked]")
				if checked != slices.Contains(groups, string(role)) {
					t.Errorf("%s checked=%v, want %v", role, checked, !checked)
				}
			}
			a, _ := e.st.AccountByID(ctx, e.ids["helpdesk"])
			if !slices.Equal(a.Roles, sorted(groups)) {
				t.Errorf("stored groups %v, want %v", a.Roles, groups)
			}
		})
	}

	bad := []struct {
		name, path string
		form       url.Values
		status     int
		msg        string
	}{
		{"unknown group", path, url.Values{"groups": {"root"}}, 422, "Choose among the four sync groups."},
		{"last administrator", fmt.Sprintf("/accounts/%d/groups", e.ids["admin"]), url.Values{"groups": {"browse"}}, 422, "at least one administrator"},
		{"last administrator, no groups", fmt.Sprintf("/accounts/%d/groups", e.ids["admin"]), url.Values{}, 422, "at least one administrator"},
		{"no such account", "/accounts/9999/groups", url.Values{"groups": {"browse"}}, 404, ""},
		{"not an id", "/accounts/x/groups", url.Values{"groups": {"browse"}}, 404, ""},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			before := e.snapshot()
			for _, hx := range []bool{true, false} {
				var hdr []string
				if hx {
					hdr = []string{"HX-Request", "true"}
				}
				r := c.post(tc.path, tc.form, hdr...)
				wantStatus(t, r, tc.status, tc.name)
				if tc.msg == "" {
					continue
				}
				sel := `[data-testid="page-error"]`
				if hx {
					sel = `[data-testid^="row-msg-"]`
				}
				if got := r.find(t, sel).Text(); !strings.Contains(got, tc.msg) {
					t.Errorf("htmx=%v: message %q, want %q", hx, got, tc.msg)
				}
			}
			if after := e.snapshot(); after != before {
				t.Errorf("a refused change changed the store:\n%s\n%s", before, after)
			}
		})
	}

	// With a second administrator, the first may step down.
	if _, err := e.st.CountRole(ctx, string(auth.Admins)); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, c.post(fmt.Sprintf("/accounts/%d/groups", e.ids["operator"]), url.Values{"groups": {"admins"}}), 200, "make operator an admin")
	wantStatus(t, c.post(fmt.Sprintf("/accounts/%d/groups", e.ids["admin"]), url.Values{"groups": {"browse"}}), 200, "admin steps down")
	if r := c.get("/accounts"); r.status != http.StatusForbidden {
		t.Errorf("former administrator on /accounts: %d", r.status)
	}
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

func TestAccountCreate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.signedIn("admin")
	cases := []struct {
		name   string
		form   url.Values
		status int
		field  string
		msg    string
	}{
		{"taken", url.Values{"username": {"Helpdesk"}, "password": {testPassword}}, 422, "username", "already exists"},
		{"bad username", url.Values{"username": {"a b"}, "password": {testPassword}}, 422, "username", "Use letters"},
		{"short password", url.Values{"username": {"fresh"}, "password": {"short"}}, 422, "password", "at least 12"},
		{"password holds the username", url.Values{"username": {"fresh"}, "password": {"my-fresh-password"}}, 422, "password", "must not contain the username"},
		{"unknown group", url.Values{"username": {"fresh"}, "password": {testPassword}, "groups": {"wheel"}}, 422, "groups", "four sync groups"},
		{"huge display name", url.Values{"username": {"fresh"}, "password": {testPassword}, "display_name": {strings.Repeat("x", 1<<20)}}, 422, "display_name", "at most 256"},
		{"display name not UTF-8", url.Values{"username": {"fresh"}, "password": {testPassword}, "display_name": {"Fresh\xffOne"}}, 422, "display_name", "not valid text"},
		{"display name with a line break", url.Values{"username": {"fresh"}, "password": {testPassword}, "display_name": {"Fresh\nOne"}}, 422, "display_name", "control characters"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.post("/accounts", tc.form)
			wantStatus(t, r, tc.status, tc.name)
			if got := r.testid(t, "error-"+tc.field); !strings.Contains(got, tc.msg) {
				t.Errorf("error-%s says %q", tc.field, got)
			}
			if v, _ := r.value(t, "username"); v != tc.form.Get("username") {
				t.Errorf("username not kept: %q", v)
			}
		})
	}
	r := c.post("/accounts", url.Values{"username": {"fresh"}, "display_name": {"Fresh One"}, "password": {testPassword}, "groups": {"operators", "browse", "operators"}})
	wantStatus(t, r, http.StatusOK, "create")
	if got := r.testid(t, "flash"); got != "Added fresh." {
		t.Errorf("flash %q", got)
	}
	a, err := e.st.AccountByUsername(context.Background(), "fresh")
	if err != nil || !slices.Equal(a.Roles, []string{"browse", "operators"}) || a.CreatedBy != "admin" {
		t.Fatalf("created %+v, %v", a, err)
	}
	// The new account can sign in, and sees what its groups allow.
	f := e.signedIn("fresh")
	if r := f.get("/jobs"); r.status != http.StatusOK {
		t.Errorf("new operator on /jobs: %d", r.status)
	}
}

// TestRequestLog: the request log names the user, as the house style asks.
func TestRequestLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.signedIn("helpdesk")
	c.get("/jobs")
	if !strings.Contains(e.logs.String(), `path=/jobs status=200 user=helpdesk`) {
		t.Errorf("the request log does not name the user:\n%s", e.logs.String())
	}
}

// TestAdminsDemotingEachOther: two administrators, each taking the other out
// of the administrators at the same moment, must leave one administrator; the
// request that comes second is refused, saying why (or, when the first was
// done before it was even let in, refused as no longer an administrator).
func TestAdminsDemotingEachOther(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.ids["admin2"] = e.createAccount("admin2", string(auth.Admins))
	a, b := e.signedIn("admin"), e.signedIn("admin2")
	const rounds = 200
	refused := 0
	for round := range rounds {
		for _, u := range []string{"admin", "admin2"} {
			if err := e.st.SetRoles(ctx, e.ids[u], []string{string(auth.Admins)}, "test"); err != nil {
				t.Fatal(err)
			}
		}
		// a demotes admin2, b demotes admin: each keeps only Browse for the other.
		reqs := []*http.Request{}
		for _, x := range []struct {
			c      *client
			target string
		}{{a, "admin2"}, {b, "admin"}} {
			form := url.Values{"groups": {string(auth.Browse)}, "csrf_token": {x.c.csrf}}
			req := x.c.newRequest(http.MethodPost, fmt.Sprintf("/accounts/%d/groups", e.ids[x.target]), strings.NewReader(form.Encode()), "HX-Request", "true")
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			reqs = append(reqs, req)
		}
		clients := []*client{a, b}
		results := race(clients, reqs)

		admins := 0
		for _, u := range []string{"admin", "admin2"} {
			acct, err := e.st.AccountByID(ctx, e.ids[u])
			if err != nil {
				t.Fatal(err)
			}
			if slices.Contains(acct.Roles, string(auth.Admins)) {
				admins++
			}
		}
		if admins == 0 {
			t.Fatalf("round %d: no administrator left; answers %d and %d", round, results[0].status, results[1].status)
		}
		ok, other := 0, raceResult{}
		for _, r := range results {
			if r.err != nil {
				t.Fatalf("round %d: %v", round, r.err)
			}
			if r.status == http.StatusOK {
				ok++
			} else {
				other = r
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d requests succeeded, want 1 (answers %d, %d)", round, ok, results[0].status, results[1].status)
		}
		switch other.status {
		case http.StatusUnprocessableEntity:
			refused++
			if !strings.Contains(other.body, "needs at least one administrator") {
				t.Fatalf("round %d: refused without saying why:\n%s", round, other.body)
			}
		case http.StatusForbidden:
			// The other was demoted before its request was let in.
		default:
			t.Fatalf("round %d: the second answer is %d, want 422 or 403:\n%s", round, other.status, other.body)
		}
	}
	t.Logf("%d of %d rounds refused by the last-administrator check, the rest by the role check", refused, rounds)
}

// TestAdminRoleAgrees: the store keeps an administrator by its own name for
// the role; it must be auth's.
func TestAdminRoleAgrees(t *testing.T) {
	if store.AdminRole != string(auth.Admins) {
		t.Fatalf("store.AdminRole = %q, auth.Admins = %q", store.AdminRole, auth.Admins)
	}
}

// raceResult is one answer of race.
type raceResult struct {
	status int
	body   string
	err    error
}

// race sends each request with its client at the same moment and returns
// the answers in order.
func race(clients []*client, reqs []*http.Request) []raceResult {
	results := make([]raceResult, len(reqs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range reqs {
		wg.Go(func() {
			<-start
			res, err := clients[i].hc.Do(reqs[i])
			if err != nil {
				results[i].err = err
				return
			}
			defer res.Body.Close()
			body, err := io.ReadAll(res.Body)
			results[i] = raceResult{status: res.StatusCode, body: string(body), err: err}
		})
	}
	close(start)
	wg.Wait()
	return results
}
