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
// (accounts, grants, schema) never leaks into the next run. fabrikam's schema
// has Exchange's attributes from its seed; corp's has none.
var live forest.Pair

// BenchOUName is the OU (under the corp domain root) with BenchOUChildren
// child OUs that BenchmarkChildren2000OUs lists.
const (
	BenchOUName     = "Bench 2000"
	BenchOUChildren = 2000
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(forest.RunWithPair(m, &live, "engine-directory", "127.0.0.12", "127.0.0.13", func(ctx context.Context, fs []*forest.Forest, cache string) error {
		return ensureBenchOUs(ctx, fs[0], filepath.Join(cache, fs[0].Spec.CacheFile()))
	}))
}

// forests returns corp and fabrikam, or skips (fails with
// HYBRIDSYNC_FORESTS_REQUIRED=1) when they could not be started.
func forests(t testing.TB) (*forest.Forest, *forest.Forest) { return live.Need(t) }

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
