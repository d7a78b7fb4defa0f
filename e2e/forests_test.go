package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/e2e/forest"
)

// The e2e tests run against the two seeded forests of e2e/forest, brought up
// by TestMain on loopback addresses of their own (127.0.0.32 and 127.0.0.33),
// so this package can run beside other packages' forests and beside a
// developer's `make forests` on .2/.3. Their cached tarballs live in
// <cache>/e2e; their running copies in <cache>/e2e/run, restored afresh on
// every run, so what a run writes (connector accounts) never leaks into the
// next one.
var live struct {
	corp, fabrikam *forest.Forest
	err            error // why the forests are not available
}

// dnsServer is corp's Samba DNS: every hybridsync the tests start finds
// domain controllers through it (corp.example.test only; fabrikam is reached
// with an explicit DC host).
const dnsServer = "127.0.0.32:53"

func e2eSpecs() []forest.Spec {
	corp, fab := forest.Corp, forest.Fabrikam
	corp.IP, fab.IP = "127.0.0.32", "127.0.0.33"
	return []forest.Spec{corp, fab}
}

// startForests brings both forests up (restored from the cache, or
// provisioned and seeded on the first run). The returned stop function stops
// them; it is never nil.
func startForests() (stop func(), err error) {
	stop = func() {}
	if testing.Short() {
		return stop, errors.New("-short: the forest tests are skipped")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if _, err := forest.Install(ctx); err != nil {
		return stop, fmt.Errorf("samba unavailable: %w", err)
	}
	cache, err := forest.DefaultCacheDir()
	if err != nil {
		return stop, err
	}
	cache = filepath.Join(cache, "e2e")
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return stop, err
	}
	// The addresses and the run directory are this package's: one e2e
	// binary at a time.
	unlock, err := lockFile(ctx, filepath.Join(cache, "e2e.lock"))
	if err != nil {
		return stop, err
	}
	runDir := filepath.Join(cache, "run")
	// A run killed before its cleanup leaves its forests running: stop them
	// (by the PID in their own pid file) so that the addresses are free.
	for _, spec := range e2eSpecs() {
		if err := forest.New(spec, filepath.Join(runDir, spec.DirName())).Stop(); err != nil {
			unlock()
			return stop, err
		}
	}
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "e2e: "+format+"\n", args...) }
	fs, err := forest.UpAll(ctx, e2eSpecs(), runDir, forest.Options{CacheDir: cache, Logf: logf})
	if err != nil {
		unlock()
		return stop, fmt.Errorf("the forests did not come up: %w", err)
	}
	live.corp, live.fabrikam = fs[0], fs[1]
	return func() {
		if err := forest.StopAll(fs); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: stopping the forests:", err)
		}
		unlock()
	}, nil
}

// lockFile takes an exclusive flock on path, waiting for whoever holds it.
func lockFile(ctx context.Context, path string) (release func(), err error) {
	file, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(file.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(file.Fd()), syscall.LOCK_UN)
				file.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			file.Close()
			return nil, err
		}
		select {
		case <-ctx.Done():
			file.Close()
			return nil, fmt.Errorf("waiting for %s (another e2e run?): %w", path, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// needForests returns corp and fabrikam, or skips the test when they could
// not be started (fails it under HYBRIDSYNC_FORESTS_REQUIRED=1).
func needForests(t *testing.T) (corp, fabrikam *forest.Forest) {
	t.Helper()
	if live.err != nil {
		if os.Getenv("HYBRIDSYNC_FORESTS_REQUIRED") == "1" {
			t.Fatalf("the test forests are required (HYBRIDSYNC_FORESTS_REQUIRED=1) but cannot run: %v", live.err)
		}
		t.Skipf("test forests unavailable: %v", live.err)
	}
	return live.corp, live.fabrikam
}

// caPEM is the forest's test CA certificate, as an admin would paste it.
func caPEM(t *testing.T, f *forest.Forest) string {
	t.Helper()
	b, err := os.ReadFile(f.CACertPEM)
	if err != nil {
		t.Fatalf("the CA certificate of %s: %v", f.Name, err)
	}
	return string(b)
}
