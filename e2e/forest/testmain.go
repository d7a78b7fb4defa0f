package forest

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Pair is a test package's two standard forests, corp and fabrikam, on
// loopback addresses of its own so that packages run their forests side by
// side (`go test ./...` runs packages in parallel), or why they could not be
// started.
type Pair struct {
	Corp, Fabrikam *Forest
	Err            error
}

// RunWithPair is a TestMain's body: it brings corp and fabrikam up on corpIP
// and fabIP from the cache <cache>/<name> (a fresh copy at every run, so
// what tests write never leaks into the next run), runs prepare on them
// (nil: nothing; it gets the cache folder too), runs the package's tests
// and stops the forests. With -short, without samba or when they fail to
// start, the tests run with p.Err set, and Need skips or fails them.
func RunWithPair(m *testing.M, p *Pair, name, corpIP, fabIP string, prepare func(ctx context.Context, fs []*Forest, cache string) error) int {
	if testing.Short() {
		p.Err = errors.New("-short: live forest tests skipped")
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if _, err := Install(ctx); err != nil {
		p.Err = fmt.Errorf("samba unavailable: %w", err)
		return m.Run()
	}
	base, err := os.MkdirTemp("", "hybridsync-"+name+"-")
	if err != nil {
		p.Err = err
		return m.Run()
	}
	defer os.RemoveAll(base)
	cache, err := DefaultCacheDir()
	if err != nil {
		p.Err = err
		return m.Run()
	}
	cache = filepath.Join(cache, name)
	corp, fab := Corp, Fabrikam
	corp.IP, fab.IP = corpIP, fabIP
	start := time.Now()
	fs, err := UpAll(ctx, []Spec{corp, fab}, base, Options{CacheDir: cache, Logf: log.Printf})
	if err != nil {
		p.Err = fmt.Errorf("forests did not come up: %w", err)
		return m.Run()
	}
	defer func() {
		if err := StopAll(fs); err != nil {
			log.Printf("stopping forests: %v", err)
		}
	}()
	if prepare != nil {
		if err := prepare(ctx, fs, cache); err != nil {
			p.Err = fmt.Errorf("preparing the forests: %w", err)
			return m.Run()
		}
	}
	log.Printf("forests up in %s", time.Since(start).Round(10*time.Millisecond))
	p.Corp, p.Fabrikam = fs[0], fs[1]
	return m.Run()
}

// Need returns corp and fabrikam, or skips the test — fails it when
// HYBRIDSYNC_FORESTS_REQUIRED=1 — when they could not be started.
func (p *Pair) Need(t testing.TB) (*Forest, *Forest) {
	t.Helper()
	if p.Err != nil {
		if os.Getenv("HYBRIDSYNC_FORESTS_REQUIRED") == "1" {
			t.Fatalf("live forests required: %v", p.Err)
		}
		t.Skipf("live forests unavailable: %v", p.Err)
	}
	return p.Corp, p.Fabrikam
}
