package handlers

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/hybridsync/hybridsync/engine/auth"
	"github.com/hybridsync/hybridsync/engine/store"
)

// fakeClock is a time source the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestThrottleLimiter(t *testing.T) {
	t.Parallel()
	type step struct {
		after           time.Duration // the clock moves this much first
		client, account string
		result          attemptResult // how the attempt ends if let through
		wait            time.Duration // 0: let through; else the wait told
	}
	const A, B = "192.0.2.1", "192.0.2.2"
	fails := func(n int, client, account string) []step {
		var s []step
		for range n {
			s = append(s, step{client: client, account: account, result: failed})
		}
		return s
	}
	cat := func(parts ...[]step) []step {
		var s []step
		for _, p := range parts {
			s = append(s, p...)
		}
		return s
	}
	cases := []struct {
		name  string
		every rate.Limit
		burst int
		steps []step
	}{
		{"five failures are free, then 1 s, 2 s, 4 s", rate.Every(time.Second), 100, cat(
			fails(5, A, "admin"),
			[]step{
				{client: A, account: "admin", wait: time.Second},
				{client: A, account: "admin", result: succeeded, wait: time.Second}, // even the right password
				{after: time.Second, client: A, account: "admin", result: failed},
				{client: A, account: "admin", wait: 2 * time.Second},
				{after: 2 * time.Second, client: A, account: "admin", result: failed},
				{client: A, account: "admin", wait: 4 * time.Second},
				{after: time.Second, client: A, account: "admin", wait: 3 * time.Second},
			})},
		{"another client is not slowed", rate.Every(6 * time.Second), 10, cat(
			fails(5, A, "admin"),
			[]step{
				{client: A, account: "admin", wait: time.Second},
				{client: B, account: "admin", result: succeeded},
				{client: B, account: "admin", result: failed},
				{client: B, account: "admin", result: succeeded},
			})},
		{"a success after the wait starts afresh", rate.Every(time.Second), 100, cat(
			fails(5, A, "admin"),
			[]step{{after: time.Second, client: A, account: "admin", result: succeeded}},
			fails(5, A, "admin"),
			[]step{{client: A, account: "admin", wait: time.Second}})},
		{"the delay stops growing at 5 minutes", rate.Inf, 1, cat(
			fails(5, A, "admin"),
			[]step{
				{after: time.Hour / 2, client: A, account: "admin", result: failed}, // 1 s
				{after: time.Hour / 2, client: A, account: "admin", result: failed}, // 2 s
			},
			func() []step {
				var s []step
				for range 40 {
					s = append(s, step{after: 5 * time.Minute, client: A, account: "admin", result: failed})
				}
				return s
			}(),
			[]step{
				{client: A, account: "admin", wait: 5 * time.Minute},
				{after: 4 * time.Minute, client: A, account: "admin", wait: time.Minute},
			})},
		{"an hour without failing forgets", rate.Inf, 1, cat(
			fails(5, A, "admin"),
			[]step{{after: time.Hour + time.Second, client: A, account: "admin", result: failed}},
			fails(3, A, "admin"),
			[]step{{client: A, account: "admin", result: failed}, {client: A, account: "admin", wait: time.Second}})},
		{"one client across many accounts", rate.Every(6 * time.Second), 10, cat(
			func() []step {
				var s []step
				for i := range 10 {
					s = append(s, step{client: A, account: fmt.Sprint("user", i), result: failed})
				}
				return s
			}(),
			[]step{
				{client: A, account: "user10", wait: 6 * time.Second},
				{client: A, account: "admin", wait: 6 * time.Second},
				{client: B, account: "user10", result: failed},
				{after: 2 * time.Second, client: A, account: "user10", wait: 4 * time.Second},
				{after: 4 * time.Second, client: A, account: "user10", result: failed},
				{client: A, account: "user11", wait: 6 * time.Second},
			})},
		{"successes cost nothing", rate.Every(time.Hour), 2, cat(
			func() []step {
				var s []step
				for range 20 {
					s = append(s, step{client: A, account: "admin", result: succeeded}, step{client: A, account: "operator", result: abandoned})
				}
				return s
			}(),
			fails(2, A, "admin"),
			[]step{{client: A, account: "operator", wait: time.Hour}})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			l := newSignInLimiter(tc.every, tc.burst)
			l.now = clock.now
			for i, s := range tc.steps {
				clock.advance(s.after)
				att, wait := l.begin(s.client, s.account)
				if (att == nil) != (s.wait != 0) || wait != s.wait {
					t.Fatalf("step %d (%s for %s): let through %v, wait %s; want wait %s", i, s.client, s.account, att != nil, wait, s.wait)
				}
				att.finish(s.result)
			}
		})
	}
}

// While backing off, attempts go one at a time: concurrent guesses don't
// all start before the first failure is counted.
func TestThrottleConcurrentAttempts(t *testing.T) {
	t.Parallel()
	l := newSignInLimiter(rate.Inf, 1)
	l.now = newFakeClock().now
	var open []*attempt
	for i := range throttleFree {
		att, _ := l.begin("192.0.2.1", "admin")
		if att == nil {
			t.Fatalf("attempt %d refused", i)
		}
		open = append(open, att)
	}
	if att, wait := l.begin("192.0.2.1", "admin"); att != nil || wait <= 0 {
		t.Fatalf("attempt %d at once let through (wait %s)", throttleFree+1, wait)
	}
	if att, _ := l.begin("192.0.2.9", "admin"); att == nil {
		t.Fatal("another client refused")
	}
	for _, a := range open {
		a.finish(failed)
	}
	if att, _ := l.begin("192.0.2.1", "admin"); att != nil {
		t.Fatal("let through after the failures")
	}
}

func TestThrottleMemoryBounded(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	l := newSignInLimiter(rate.Every(time.Minute), 3)
	l.now, l.maxEntries = clock.now, 50
	for i := range 1000 {
		clock.advance(time.Millisecond)
		att, _ := l.begin(fmt.Sprintf("10.0.%d.%d", i/256, i%256), fmt.Sprint("user", i%7))
		if att == nil {
			t.Fatalf("client %d refused", i)
		}
		att.finish(failed)
	}
	if len(l.clients) > 50 || len(l.pairs) > 50 {
		t.Fatalf("%d clients and %d pairs kept, want at most 50 each", len(l.clients), len(l.pairs))
	}
	// The newest client's failures are still counted.
	for range throttleFree - 1 {
		clock.advance(time.Minute)
		att, _ := l.begin("10.0.3.231", "user5")
		att.finish(failed)
	}
	if att, _ := l.begin("10.0.3.231", "user5"); att != nil {
		t.Fatal("the newest client's failures were forgotten")
	}
}

func TestThrottleClientKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ remote, want string }{
		{"127.0.0.1:5000", "127.0.0.1"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:443", "2001:db8:1:2::/64"},
		{"[::ffff:192.0.2.7]:1", "192.0.2.7"},
		{"not an address", "not an address"},
	} {
		r := &http.Request{RemoteAddr: tc.remote, Header: http.Header{"X-Forwarded-For": {"198.51.100.1"}}}
		if got := clientKey(r); got != tc.want {
			t.Errorf("clientKey(%q) = %q, want %q", tc.remote, got, tc.want)
		}
	}
}

// clientFrom returns a browser whose connections come from ip (a loopback
// address), so the server sees a distinct client address.
func (e *env) clientFrom(ip string) *client {
	c := e.newClient()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext}
	e.t.Cleanup(tr.CloseIdleConnections)
	c.hc.Transport = tr
	return c
}

// The default limits, set explicitly: newEnv turns the throttle off.
var defaultThrottle = Config{SignInRate: rate.Every(6 * time.Second), SignInBurst: 10}

// Ten wrong passwords for admin from one address slow that address, and
// that address only: the right password from another signs in at once.
func TestThrottleNoLockoutFromAnotherAddress(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, envOptions{cfg: defaultThrottle})
	clock := newFakeClock()
	e.h.limiter.now = clock.now

	a := e.clientFrom("127.0.0.71")
	a.get("/signin")
	var got []int
	for range 10 {
		got = append(got, a.post("/signin", url.Values{"username": {"admin"}, "password": {"wrong password"}}).status)
	}
	want := []int{401, 401, 401, 401, 401, 429, 429, 429, 429, 429}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ten wrong passwords from A: statuses %v, want %v", got, want)
	}
	r := a.post("/signin", url.Values{"username": {"admin"}, "password": {testPassword}})
	wantStatus(t, r, http.StatusTooManyRequests, "the right password from A while it backs off")
	if msg := r.testid(t, "signin-error"); msg != "Too many sign-in attempts. Try again in 1 second." {
		t.Errorf("refusal says %q", msg)
	}
	if ra := r.header.Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After %q, want 1", ra)
	}

	b := e.clientFrom("127.0.0.72")
	b.signIn("admin")

	clock.advance(time.Second)
	wantRedirect(t, a.post("/signin", url.Values{"username": {"admin"}, "password": {testPassword}}), "/", "the right password from A after the wait")
}

// The first-run form's setup token: one client's wrong tokens don't keep
// another from setting up.
func TestThrottleFirstRunPerClient(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, envOptions{noAccounts: true, cfg: defaultThrottle})
	clock := newFakeClock()
	e.h.limiter.now = clock.now
	const token = "the-one-time-setup-token"
	if err := e.st.SetSetting(context.Background(), store.SettingSetupTokenHash, auth.HashToken(token)); err != nil {
		t.Fatal(err)
	}
	form := func(tok string) url.Values {
		return url.Values{"token": {tok}, "username": {"root"}, "password": {testPassword}, "confirm": {testPassword}}
	}
	a := e.clientFrom("127.0.0.73")
	a.get("/first-run")
	var throttled int
	for range 10 {
		r := a.post("/first-run", form("wrong-token"))
		wantStatus(t, r, http.StatusUnprocessableEntity, "a wrong token")
		if strings.HasPrefix(r.testid(t, "page-error"), "Too many attempts. Try again in") {
			throttled++
		}
	}
	if throttled != 5 {
		t.Errorf("%d of 10 wrong tokens throttled, want 5", throttled)
	}
	r := a.post("/first-run", form(token))
	wantStatus(t, r, http.StatusUnprocessableEntity, "the right token from A while it backs off")
	if n, _ := e.st.CountAccounts(context.Background()); n != 0 {
		t.Fatalf("%d accounts: a throttled first run went through", n)
	}

	b := e.clientFrom("127.0.0.74")
	b.get("/first-run")
	wantRedirect(t, b.post("/first-run", form(token)), "/setup", "the right token from B")
}
