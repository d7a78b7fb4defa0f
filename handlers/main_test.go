package handlers

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/e2e/forest"
)

// The directories tests run against the two seeded forests of e2e/forest,
// brought up on loopback addresses of this package's own (corp on 127.0.0.22,
// fabrikam on 127.0.0.23), so the handler tests can run beside other
// packages' forests (`go test ./...` runs packages in parallel) and beside a
// developer's `make forests` on .2/.3. Their cached tarballs live in
// <cache>/handlers. The forests start the first time a test asks for them (a
// run that needs none, such as a fuzz worker, starts none) and stop when the
// tests end. Every run restores a fresh copy, so what the tests write
// (connector accounts, grants, schema) never leaks into the next run.
//
// corp's schema has no Exchange; fabrikam's seed has Exchange's (see
// forest.Spec.Exchange), for the Exchange features and group writeback.
var live struct {
	once           sync.Once
	corp, fabrikam *forest.Forest
	err            error
	// base is the directory the running forests live in.
	base string
}

// The handler tests' own addresses for the two standard forests.
const (
	corpIP     = "127.0.0.22"
	fabrikamIP = "127.0.0.23"
)

func testSpecs() []forest.Spec {
	corp, fab := forest.Corp, forest.Fabrikam
	corp.IP, fab.IP = corpIP, fabrikamIP
	return []forest.Spec{corp, fab}
}

// testResolver asks the test forest's DNS server (Samba's internal DNS on
// corpIP:53) and nothing else, so no lookup ever leaves loopback, whether or
// not the forest is running.
var testResolver = &net.Resolver{
	PreferGo: true,
	Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, net.JoinHostPort(corpIP, "53"))
	},
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if live.corp != nil {
		if err := forest.StopAll([]*forest.Forest{live.corp, live.fabrikam}); err != nil {
			log.Printf("stopping the test forests: %v", err)
		}
	}
	if live.base != "" {
		os.RemoveAll(live.base)
	}
	os.Exit(code)
}

func startForests() {
	if testing.Short() {
		live.err = errors.New("-short: live forest tests skipped")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, err := forest.Install(ctx); err != nil {
		live.err = fmt.Errorf("samba unavailable: %w", err)
		return
	}
	base, err := os.MkdirTemp("", "hybridsync-handlers-")
	if err != nil {
		live.err = err
		return
	}
	live.base = base
	cache, err := forest.DefaultCacheDir()
	if err != nil {
		live.err = err
		return
	}
	start := time.Now()
	fs, err := forest.UpAll(ctx, testSpecs(), base, forest.Options{CacheDir: filepath.Join(cache, "handlers"), Logf: log.Printf})
	if err != nil {
		live.err = fmt.Errorf("the test forests did not come up: %w", err)
		return
	}
	live.corp, live.fabrikam = fs[0], fs[1]
	log.Printf("test forests up in %s", time.Since(start).Round(10*time.Millisecond))
}

// forests returns corp (no Exchange) and fabrikam (Exchange schema), or skips
// (fails with HYBRIDSYNC_FORESTS_REQUIRED=1) when they could not be started.
func forests(t testing.TB) (corp, fabrikam *forest.Forest) {
	t.Helper()
	live.once.Do(startForests)
	if live.err != nil {
		if os.Getenv("HYBRIDSYNC_FORESTS_REQUIRED") == "1" {
			t.Fatalf("live forests required: %v", live.err)
		}
		t.Skipf("live forests unavailable: %v", live.err)
	}
	return live.corp, live.fabrikam
}

// forestsUp reports whether the forests run, for a test that skips only a
// part when they don't; like forests, it fails with
// HYBRIDSYNC_FORESTS_REQUIRED=1.
func forestsUp(t testing.TB) bool {
	t.Helper()
	live.once.Do(startForests)
	if live.err == nil {
		return true
	}
	if os.Getenv("HYBRIDSYNC_FORESTS_REQUIRED") == "1" {
		t.Fatalf("live forests required: %v", live.err)
	}
	t.Logf("live forests unavailable: %v", live.err)
	return false
}

func corpForest(t testing.TB) *forest.Forest {
	t.Helper()
	corp, _ := forests(t)
	return corp
}

func fabrikamForest(t testing.TB) *forest.Forest {
	t.Helper()
	_, fab := forests(t)
	return fab
}

// caPEM is the test CA's certificate, which the system roots don't hold.
func caPEM(t testing.TB, f *forest.Forest) string {
	t.Helper()
	b, err := os.ReadFile(f.CACertPEM)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
