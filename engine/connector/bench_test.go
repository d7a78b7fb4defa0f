package connector_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/hybridsync/hybridsync/e2e/forest"
	"github.com/hybridsync/hybridsync/engine/connector"
)

// benchUsers are added to corp (OU=Bench Users) by the benchmark's setup, not
// by the shared seed; the forest is restored fresh on the next run.
const benchUsers = 4000

var benchSeed struct {
	once sync.Once
	err  error
}

func seedBenchUsers(ctx context.Context, f *forest.Forest) error {
	benchSeed.once.Do(func() {
		l := forest.LayoutOf(f)
		ou := "OU=Bench Users," + f.BaseDN
		c, err := f.Dial(ctx)
		if err != nil {
			benchSeed.err = err
			return
		}
		a := ldap.NewAddRequest(ou, nil)
		a.Attribute("objectClass", []string{"organizationalUnit"})
		err = c.Add(a)
		c.Close()
		if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
			benchSeed.err = err
			return
		}
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
				var firstErr error
				for i := range work {
					if firstErr != nil {
						continue
					}
					sam := fmt.Sprintf("bench%05d", i)
					a := ldap.NewAddRequest(fmt.Sprintf("CN=Bench User %05d,%s", i, ou), nil)
					a.Attribute("objectClass", []string{"user"})
					a.Attribute("sAMAccountName", []string{sam})
					a.Attribute("userPrincipalName", []string{sam + "@" + l.Forest.Name})
					a.Attribute("givenName", []string{"Bench"})
					a.Attribute("sn", []string{fmt.Sprintf("User %05d", i)})
					a.Attribute("displayName", []string{fmt.Sprintf("Bench User %05d", i)})
					a.Attribute("mail", []string{sam + "@" + f.Spec.RoutableSuffix})
					a.Attribute("proxyAddresses", []string{"SMTP:" + sam + "@" + f.Spec.RoutableSuffix})
					a.Attribute("department", []string{"Benchmarks"})
					a.Attribute("userAccountControl", []string{"544"})
					if err := c.Add(a); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
						firstErr = err
					}
				}
				errs <- firstErr
			}()
		}
		for i := 1; i <= benchUsers; i++ {
			work <- i
		}
		close(work)
		for w := 0; w < 4; w++ {
			if err := <-errs; err != nil && benchSeed.err == nil {
				benchSeed.err = err
			}
		}
	})
	return benchSeed.err
}

// ldapsearchRate runs Debian's ldapsearch against the same DC with the same
// filter, attributes and page size as the import, and returns entries per
// second.
func ldapsearchRate(b *testing.B, f *forest.Forest, attrs []string) (int, float64) {
	b.Helper()
	s := ldapsearchScale(b, f, attrs)
	return s.n, s.rate()
}

// importPairs is how many ldapsearch-then-import pairs one benchmark
// iteration measures: one pair's ratio moves by ±0.15 with what the VM's
// neighbours do, so the median of several is reported, with the range.
const importPairs = 5

// BenchmarkImportVsLdapsearch compares a full import of corp plus several
// thousand extra users (paged reads, ranged members, scope, writes into a
// fresh SQLite connector space) with a raw ldapsearch of the same DC, in
// pairs run back to back. Target: the import at ≥ 0.8× ldapsearch's rate
// (the median pair's ratio).
func BenchmarkImportVsLdapsearch(b *testing.B) {
	corp, _ := forests(b)
	ctx := context.Background()
	start := time.Now()
	if err := seedBenchUsers(ctx, corp); err != nil {
		b.Fatalf("seeding %d users: %v", benchUsers, err)
	}
	b.Logf("seeded %d bench users in %s", benchUsers, time.Since(start).Round(time.Millisecond))
	type pair struct{ imp, raw float64 }
	var pairs []pair
	var rawN int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		pairs = pairs[:0]
		for range importPairs {
			b.StopTimer()
			sp := newSpace(b)
			spec := specOf(b, corp, connector.Scope{})
			n, rate := ldapsearchRate(b, corp, connector.BaseAttributes)
			rawN = n
			b.StartTimer()
			t0 := time.Now()
			res, err := connector.Import(ctx, sp, spec)
			if err != nil {
				b.Fatal(err)
			}
			took := time.Since(t0)
			if res.Totals().Read < benchUsers {
				b.Fatalf("imported %d entries, want at least %d", res.Totals().Read, benchUsers)
			}
			if res.Totals().Read != rawN {
				b.Fatalf("imported %d entries, ldapsearch read %d", res.Totals().Read, rawN)
			}
			pairs = append(pairs, pair{float64(res.Totals().Read) / took.Seconds(), rate})
		}
	}
	slices.SortFunc(pairs, func(x, y pair) int { return cmp.Compare(x.imp/x.raw, y.imp/y.raw) })
	med := pairs[len(pairs)/2]
	b.ReportMetric(med.imp, "import-entries/s")
	b.ReportMetric(med.raw, "ldapsearch-entries/s")
	b.ReportMetric(med.imp/med.raw, "ratio")
	b.ReportMetric(pairs[0].imp/pairs[0].raw, "min-ratio")
	b.ReportMetric(pairs[len(pairs)-1].imp/pairs[len(pairs)-1].raw, "max-ratio")
	b.Logf("median of %d pairs: import %.0f entries/s, ldapsearch %.0f entries/s (%d entries): %.2f× (%.2f–%.2f×; target ≥ 0.8×)",
		len(pairs), med.imp, med.raw, rawN, med.imp/med.raw, pairs[0].imp/pairs[0].raw, pairs[len(pairs)-1].imp/pairs[len(pairs)-1].raw)
}
