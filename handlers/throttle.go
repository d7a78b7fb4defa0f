package handlers

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Sign-in throttling slows password guessing without handing strangers a
// lockout. Failures are counted per client address (an IPv4 address, or the
// /64 an IPv6 address belongs to: r.RemoteAddr; X-Forwarded-For is not
// trusted) and per account *and* client address:
//
//   - An account from one client: the first throttleFree (5) failures cost
//     nothing; each one after them makes that client wait before its next try
//     for that account, 1 s, 2 s, 4 s … doubling up to throttleMaxDelay
//     (5 minutes). While backing off, one try at a time. A success, or an hour
//     without a failure (throttleForget), starts the count afresh.
//   - One client across every account: failures spend tokens of a bucket of
//     Config.SignInBurst (default 10) that refills at Config.SignInRate
//     (default one every 6 seconds), so a client guesses at most 10 times a
//     minute, over all names, once its burst is spent.
//
// Only failures count: a successful attempt gives back its token. So a client
// that has not failed is never refused a correct password (unless more than
// SignInBurst of its own attempts are in progress at the same instant), and
// failures from another address never slow it. The first-run form's setup
// token is throttled the same way, as the account "first-run".
//
// Memory is bounded: each table keeps at most throttleMaxEntries entries;
// when full it forgets idle ones first, then the least recently seen.
const (
	throttleFree       = 5
	throttleFirstDelay = time.Second
	throttleMaxDelay   = 5 * time.Minute
	throttleForget     = time.Hour
	throttleMaxEntries = 10000
)

// signInLimiter holds the throttle's state; now is its clock (time.Now; tests
// replace it).
type signInLimiter struct {
	mu       sync.Mutex
	now      func() time.Time
	interval time.Duration // a client's bucket regains one failure in this (0: at once)
	burst    int
	// maxEntries bounds each table (throttleMaxEntries; tests lower it).
	maxEntries int
	clients    map[string]*clientBucket
	pairs      map[pairKey]*pairState
}

// clientBucket is one client's failure budget across every account, as a
// generic cell rate algorithm: full is the moment the bucket is full again;
// each failure moves it one interval later, and a client may fail while full
// lies less than burst intervals ahead.
type clientBucket struct{ full time.Time }

type pairKey struct{ client, account string }

// pairState is one client's failures for one account.
type pairState struct {
	failures int
	inflight int       // attempts begun and not yet finished
	last     time.Time // the last attempt's start or end
	until    time.Time // no try before this
}

func newSignInLimiter(every rate.Limit, burst int) *signInLimiter {
	var interval time.Duration
	if every > 0 && !math.IsInf(float64(every), 1) {
		interval = time.Duration(float64(time.Second) / float64(every))
	}
	return &signInLimiter{now: time.Now, interval: interval, burst: max(burst, 1), maxEntries: throttleMaxEntries,
		clients: map[string]*clientBucket{}, pairs: map[pairKey]*pairState{}}
}

// attemptResult is how an attempt ended.
type attemptResult int

const (
	abandoned attemptResult = iota // not a guess (an empty form, a server error): costs nothing
	failed                         // a wrong password or token
	succeeded
)

// attempt is one sign-in try that the limiter let through; finish it exactly
// once. A nil attempt (a refused one) ignores finish.
type attempt struct {
	l   *signInLimiter
	key pairKey
}

// begin asks to try account from client. It returns the attempt, or nil and
// how long the client must wait.
func (l *signInLimiter) begin(client, account string) (*attempt, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	k := pairKey{client, account}
	p := l.pairs[k]
	if p != nil && p.inflight == 0 && now.Sub(p.last) > throttleForget && !now.Before(p.until) {
		delete(l.pairs, k)
		p = nil
	}
	if p != nil {
		if now.Before(p.until) {
			return nil, p.until.Sub(now)
		}
		// Backing off: one try at a time, so that concurrent guesses don't
		// all slip in before the first failure is counted.
		if p.inflight > 0 && p.failures+p.inflight >= throttleFree {
			return nil, throttleFirstDelay
		}
	}
	b := l.bucket(client, now)
	if wait := b.full.Sub(now) - time.Duration(l.burst-1)*l.interval; wait > 0 {
		return nil, wait
	}
	b.full = b.full.Add(l.interval) // taken now; given back unless the attempt fails
	if p == nil {
		l.makeRoom(len(l.pairs), now)
		p = &pairState{}
		l.pairs[k] = p
	}
	p.inflight++
	p.last = now
	return &attempt{l: l, key: k}, 0
}

// finish records how the attempt ended.
func (a *attempt) finish(o attemptResult) {
	if a == nil {
		return
	}
	l := a.l
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if o != failed {
		// Not a guess that failed: the client's token comes back.
		b := l.bucket(a.key.client, now)
		b.full = b.full.Add(-l.interval)
	}
	p := l.pairs[a.key]
	if p == nil {
		return // forgotten to make room meanwhile
	}
	p.inflight = max(p.inflight-1, 0)
	p.last = now
	switch o {
	case succeeded:
		p.failures, p.until = 0, time.Time{}
		if p.inflight == 0 {
			delete(l.pairs, a.key)
		}
	case failed:
		p.failures++
		if n := p.failures - throttleFree; n >= 0 {
			p.until = now.Add(backoff(n))
		}
	}
}

// backoff is the wait after the n-th failure beyond the free ones (n from 0).
func backoff(n int) time.Duration {
	if n >= 30 { // 2^30 s is far beyond the cap; avoid overflowing the shift
		return throttleMaxDelay
	}
	return min(throttleFirstDelay<<n, throttleMaxDelay)
}

// bucket returns the client's bucket, its full time no earlier than now.
// l.mu is held.
func (l *signInLimiter) bucket(client string, now time.Time) *clientBucket {
	b := l.clients[client]
	if b == nil {
		l.makeRoom(len(l.clients), now)
		b = &clientBucket{}
		l.clients[client] = b
	}
	if b.full.Before(now) {
		b.full = now
	}
	return b
}

// makeRoom, called with a table's size before adding to it, forgets entries
// when that table is full: first those that no longer matter (a full bucket,
// a pair idle past throttleForget), then the least recently seen. l.mu is held.
func (l *signInLimiter) makeRoom(size int, now time.Time) {
	if size < l.maxEntries {
		return
	}
	for k, b := range l.clients {
		if !b.full.After(now) {
			delete(l.clients, k)
		}
	}
	for k, p := range l.pairs {
		if p.inflight == 0 && !now.Before(p.until) && now.Sub(p.last) > throttleForget {
			delete(l.pairs, k)
		}
	}
	for len(l.clients) >= l.maxEntries {
		// The bucket nearest to full has been failing least lately.
		var oldest string
		var at time.Time
		for k, b := range l.clients {
			if oldest == "" || b.full.Before(at) {
				oldest, at = k, b.full
			}
		}
		delete(l.clients, oldest)
	}
	for len(l.pairs) >= l.maxEntries {
		var oldest pairKey
		var at time.Time
		found := false
		for k, p := range l.pairs {
			if p.inflight == 0 && (!found || p.last.Before(at)) {
				oldest, at, found = k, p.last, true
			}
		}
		if !found {
			return // every entry is an attempt in progress: bounded by concurrency
		}
		delete(l.pairs, oldest)
	}
}

// clientKey is the throttle's name for the request's client: its address as
// the connection shows it (no proxy header is trusted), an IPv6 address
// reduced to its /64, which one client typically holds whole.
func clientKey(r *http.Request) string {
	ip := net.ParseIP(clientIP(r))
	if ip == nil {
		return clientIP(r)
	}
	if ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.String()
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// tooMany says that there were too many of what, and how long to wait; it
// sets Retry-After.
func tooMany(w http.ResponseWriter, wait time.Duration, what string) string {
	secs := int(math.Ceil(wait.Seconds()))
	secs = max(secs, 1)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	switch {
	case secs == 1:
		return "Too many " + what + ". Try again in 1 second."
	case secs < 120:
		return fmt.Sprintf("Too many %s. Try again in %d seconds.", what, secs)
	}
	return fmt.Sprintf("Too many %s. Try again in %d minutes.", what, (secs+59)/60)
}
