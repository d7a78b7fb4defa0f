package connector_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

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
var live forest.Pair

func TestMain(m *testing.M) {
	flag.Parse()
	// fabrikam's svc-sync gets what Configure gives a connector account with
	// password hash sync: "Replicating Directory Changes" (and "… All"), so
	// its imports use plain DirSync; corp's stays an ordinary user (DirSync
	// with the object-security flag).
	//
	// With HYBRIDSYNC_BENCH_SCALE=1 the package runs on the scale forests
	// instead (scale_bench_test.go): corp holds about 21,900 objects, seeded
	// once into <cache>/engine-connector-scale-22k; the live tests then skip.
	name, pair := "engine-connector", &live
	if benchScale() {
		name, pair = scaleCacheName, &scale
		live.Err = errors.New("HYBRIDSYNC_BENCH_SCALE=1: the forests hold the scale corp; live tests skipped")
		reuseBaseTarballs(name)
	}
	os.Exit(forest.RunWithPair(m, pair, name, "127.0.0.42", "127.0.0.43", func(ctx context.Context, fs []*forest.Forest, cache string) error {
		if err := grantReplication(ctx, fs[1]); err != nil {
			return fmt.Errorf("grant svc-sync on %s: %w", fs[1].Name, err)
		}
		if benchScale() {
			return ensureScaleCorp(ctx, fs[0], filepath.Join(cache, fs[0].Spec.CacheFile()))
		}
		return nil
	}))
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
func forests(t testing.TB) (*forest.Forest, *forest.Forest) { return live.Need(t) }
