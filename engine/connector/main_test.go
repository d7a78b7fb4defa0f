package connector_test

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/e2e/forest"
	"github.com/hybridsync/hybridsync/engine/directory"
)

// The live tests run against the two seeded forests of e2e/forest, brought up
// here on loopback addresses of their own (127.0.0.42 and 127.0.0.43), so this
// package runs beside other packages' forests. Their cached tarballs live in
// <cache>/engine-connector. Every run restores a fresh copy, so what the tests
// write (users, memberships, grants) never leaks into the next run; tests that
// change a forest therefore only change objects no other test counts, or say
// so.
var live struct {
	forests []*forest.Forest // corp, fabrikam
	err     error
}

func testSpecs() []forest.Spec {
	corp, fab := forest.Corp, forest.Fabrikam
	corp.IP, fab.IP = "127.0.0.42", "127.0.0.43"
	return []forest.Spec{corp, fab}
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if testing.Short() {
		live.err = fmt.Errorf("-short: live forest tests skipped")
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if _, err := forest.Install(ctx); err != nil {
		live.err = fmt.Errorf("samba unavailable: %w", err)
		return m.Run()
	}
	base, err := os.MkdirTemp("", "hybridsync-connector-")
	if err != nil {
		live.err = err
		return m.Run()
	}
	defer os.RemoveAll(base)
	cache, err := forest.DefaultCacheDir()
	if err != nil {
		live.err = err
		return m.Run()
	}
	cache = filepath.Join(cache, "engine-connector")
	start := time.Now()
	fs, err := forest.UpAll(ctx, testSpecs(), base, forest.Options{CacheDir: cache, Logf: log.Printf})
	if err != nil {
		live.err = fmt.Errorf("forests did not come up: %w", err)
		return m.Run()
	}
	defer func() {
		if err := forest.StopAll(fs); err != nil {
			log.Printf("stopping forests: %v", err)
		}
	}()
	// fabrikam's svc-sync gets what Configure gives a connector account with
	// password hash sync: "Replicating Directory Changes" (and "… All"), so
	// its imports use plain DirSync; corp's stays an ordinary user (DirSync
	// with the object-security flag).
	if err := grantReplication(ctx, fs[1]); err != nil {
		live.err = fmt.Errorf("grant svc-sync on %s: %w", fs[1].Name, err)
		return m.Run()
	}
	log.Printf("forests up in %s", time.Since(start).Round(10*time.Millisecond))
	live.forests = fs
	return m.Run()
}

func grantReplication(ctx context.Context, f *forest.Forest) error {
	pem, err := os.ReadFile(f.CACertPEM)
	if err != nil {
		return err
	}
	c, err := directory.Dial(ctx, directory.Target{Forest: f.Name, Host: f.IP, Security: directory.LDAPS, CAPEM: pem}, f.AdminUPN, f.AdminPassword)
	if err != nil {
		return err
	}
	defer c.Close()
	e, err := c.ReadObject(ctx, forest.LayoutOf(f).SvcSyncDN, []string{"objectSid"})
	if err != nil {
		return err
	}
	sid, err := directory.SIDFromBytes(e.GetRawAttributeValue("objectSid"))
	if err != nil {
		return err
	}
	fi, err := c.Forest(ctx)
	if err != nil {
		return err
	}
	_, err = c.Grant(ctx, fi.Domains[0], sid.String(), directory.Rights{PasswordHashSync: true})
	return err
}

// forests returns corp and fabrikam, or skips (fails with
// HYBRIDSYNC_FORESTS_REQUIRED=1) when they could not be started.
func forests(t testing.TB) (*forest.Forest, *forest.Forest) {
	t.Helper()
	if live.err != nil {
		if os.Getenv("HYBRIDSYNC_FORESTS_REQUIRED") == "1" {
			t.Fatalf("live forests required: %v", live.err)
		}
		t.Skipf("live forests unavailable: %v", live.err)
	}
	return live.forests[0], live.forests[1]
}
