package directory_test

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/hybridsync/hybridsync/e2e/forest"
)

// The live tests run against the two seeded forests of e2e/forest, brought up
// here on loopback addresses of their own (127.0.0.12 and 127.0.0.13), so this
// package can run beside other packages' forests (`go test ./...` runs packages
// in parallel) and beside a developer's `make forests` on .2/.3. Their cached
// tarballs live in <cache>/engine-directory and also hold BenchOU (2,000 child
// OUs, added once). Every run restores a fresh copy, so what the tests write
// (accounts, grants, schema) never leaks into the next run.
var live struct {
	forests []*forest.Forest // corp, fabrikam
	err     error
}

// BenchOUName is the OU (under the corp domain root) with BenchOUChildren
// child OUs that BenchmarkChildren2000OUs lists.
const (
	BenchOUName     = "Bench 2000"
	BenchOUChildren = 2000
)

func testSpecs() []forest.Spec {
	corp, fab := forest.Corp, forest.Fabrikam
	corp.IP, fab.IP = "127.0.0.12", "127.0.0.13"
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
	base, err := os.MkdirTemp("", "hybridsync-directory-")
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
	cache = filepath.Join(cache, "engine-directory")
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
	if err := ensureBenchOUs(ctx, fs[0], filepath.Join(cache, fs[0].Spec.CacheFile())); err != nil {
		live.err = fmt.Errorf("bench OUs: %w", err)
		return m.Run()
	}
	log.Printf("forests up in %s", time.Since(start).Round(10*time.Millisecond))
	live.forests = fs
	return m.Run()
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

// benchOUDN is the DN of the benchmark OU in f.
func benchOUDN(f *forest.Forest) string { return "OU=" + ldap.EscapeDN(BenchOUName) + "," + f.BaseDN }

// ensureBenchOUs creates BenchOUName with BenchOUChildren child OUs in f when
// missing, then saves f into its cache tarball so later runs restore them.
func ensureBenchOUs(ctx context.Context, f *forest.Forest, tarPath string) error {
	conn, err := f.Dial(ctx)
	if err != nil {
		return err
	}
	parent := benchOUDN(f)
	res, err := conn.SearchWithPaging(ldap.NewSearchRequest(parent, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=organizationalUnit)", []string{"1.1"}, nil), 1000)
	if err == nil && len(res.Entries) == BenchOUChildren {
		conn.Close()
		return nil
	}
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		conn.Close()
		return err
	}
	start := time.Now()
	a := ldap.NewAddRequest(parent, nil)
	a.Attribute("objectClass", []string{"organizationalUnit"})
	if err := conn.Add(a); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
		conn.Close()
		return err
	}
	conn.Close()
	work := make(chan int)
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		go func() {
			c, err := f.Dial(ctx)
			if err != nil {
				for range work {
				}
				errs <- err
				return
			}
			defer c.Close()
			var first error
			for i := range work {
				if first != nil {
					continue
				}
				a := ldap.NewAddRequest(fmt.Sprintf("OU=Bench OU %04d,%s", i, parent), nil)
				a.Attribute("objectClass", []string{"organizationalUnit"})
				if err := c.Add(a); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
					first = err
				}
			}
			errs <- first
		}()
	}
	for i := 1; i <= BenchOUChildren; i++ {
		work <- i
	}
	close(work)
	for w := 0; w < 4; w++ {
		if err := <-errs; err != nil {
			return err
		}
	}
	log.Printf("forest %s: created %d bench OUs in %s; saving %s", f.Name, BenchOUChildren, time.Since(start).Round(time.Millisecond), tarPath)
	if err := f.Stop(); err != nil {
		return err
	}
	if err := f.Save(tarPath); err != nil {
		return err
	}
	return f.Start(ctx)
}

// resolverFor sends every DNS query to the forest's own DNS server (Samba's
// internal DNS on IP:53).
func resolverFor(f *forest.Forest) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, net.JoinHostPort(f.IP, "53"))
		},
	}
}

func caPEM(t testing.TB, f *forest.Forest) []byte {
	t.Helper()
	b, err := os.ReadFile(f.CACertPEM)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
