package metaverse

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"testing"

	"github.com/hybridsync/hybridsync/engine/connector"
	"github.com/hybridsync/hybridsync/engine/store"
)

// scaleLimit is the soft memory limit the scale benchmarks run under: the
// console run with --memory-limit 1792MiB, as a directory of a million
// objects needs (the default, MemoryLimit, is below what it holds, and the
// collector would run all the time), leaving room under the 2 GB target
// for what is not Go's heap (SQLite's page cache, stacks).
const scaleLimit int64 = 1792 << 20

// scaleEnv switches the million-object benchmarks on (make bench-scale):
// they take minutes and gigabytes, so `make bench` and `make test` skip them.
const scaleEnv = "HYBRIDSYNC_BENCH_SCALE"

// BenchmarkScale1M is the scale targets on a synthetic directory of
// 1,000,000 objects (synth, its first group of 250,000 members), one engine
// and one SQLite store through every step, as the console keeps them
// between cycles: the full sync, its objects read one at a time (SyncEach,
// as from the store: the benchmark never holds the directory); then, every
// pending export confirmed as an export does, a delta of one changed
// attribute of one user, one member added to the 250,000-member group, and
// a delta of 1% adds, 1% deletes and 5% changes. Each step reports its time
// and its own peak RSS under scaleLimit (measureMemoryUnder). Run with
// -benchtime 1x: each step's state follows from the one before.
func BenchmarkScale1M(b *testing.B) { benchScale(b, 1_000_000, 250_000, true) }

// BenchmarkScale100k is the same at a tenth of the size: what grows with
// the directory and what follows the change.
func BenchmarkScale100k(b *testing.B) { benchScale(b, 100_000, 25_000, true) }

// BenchmarkScaleMemory1M is BenchmarkScale1M without the store: the rules,
// joins and memberships alone (no pending exports are computed, and the
// traces are let go after each step as a write lets them go).
func BenchmarkScaleMemory1M(b *testing.B) { benchScale(b, 1_000_000, 250_000, false) }

func benchScale(b *testing.B, n, big int, withStore bool) {
	if os.Getenv(scaleEnv) == "" {
		b.Skip("set " + scaleEnv + "=1 (make bench-scale) to run the million-object benchmarks")
	}
	ctx := context.Background()
	d := newSynth(n, big)
	e := NewEngine(baseConfig())
	var st *store.Store
	if withStore {
		st = openStore(b)
	}
	cycle := func(full bool, objs Objects) (*Result, error) {
		if st != nil {
			return e.SyncEach(ctx, st, full, objs)
		}
		run := e.delta
		if full {
			run = e.full
		}
		t, err := run(objs)
		if err != nil {
			return nil, err
		}
		for _, id := range t.Sources {
			if en := e.cs[id]; en != nil {
				en.tr = nil
			}
		}
		return &Result{Full: full, Objects: len(e.mv), Evaluated: len(t.Sources)}, nil
	}
	var full *Result
	b.Run("full-sync", func(b *testing.B) {
		measureMemoryUnder(b, scaleLimit)
		for b.Loop() {
			var err error
			if full, err = cycle(true, d.each()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(full.Objects), "objects")
		b.ReportMetric(float64(full.Adds), "adds")
		b.ReportMetric(peakRSS(), "peak-RSS-MB")
		b.ReportMetric(float64(scaleLimit>>20), "memory-limit-MB")
	})
	if full == nil {
		b.Fatal("the full sync did not run")
	}
	full = nil
	if st != nil {
		confirmPending(b, st)
	}
	runtime.GC()

	delta := func(b *testing.B, changed func(i int) []connector.Object) *Result {
		measureMemoryUnder(b, scaleLimit)
		var res *Result
		i := 0
		for b.Loop() {
			b.StopTimer()
			objs := changed(i)
			i++
			b.StartTimer()
			var err error
			if res, err = cycle(false, Each(objs)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(res.Evaluated), "evaluated")
		b.ReportMetric(float64(res.Adds+res.Updates+res.Deletes), "changes")
		b.ReportMetric(float64(res.Memberships), "memberships")
		b.ReportMetric(peakRSS(), "peak-RSS-MB")
		b.ReportMetric(float64(scaleLimit>>20), "memory-limit-MB")
		return res
	}
	b.Run("one-attribute", func(b *testing.B) {
		res := delta(b, func(i int) []connector.Object {
			o := d.object(12_345)
			o.Attrs["title"] = []string{"Manager " + strconv.Itoa(i)}
			return []connector.Object{o}
		})
		if res.Evaluated != 1 || st != nil && res.Updates != 1 {
			b.Fatalf("one attribute: %d updates of %d evaluated", res.Updates, res.Evaluated)
		}
	})
	b.Run("group-member", func(b *testing.B) {
		g := d.object(d.nUsers) // the first group
		if len(g.Members) != big {
			b.Fatalf("the first group has %d members, want %d", len(g.Members), big)
		}
		res := delta(b, func(i int) []connector.Object {
			// Users 3k are its members; users 3k+1 are of corp and not.
			g.Members = append(g.Members, benchDN(corp, 3*i+1))
			return []connector.Object{g}
		})
		if res.Evaluated != 1 || st != nil && res.Memberships != 1 {
			b.Fatalf("one member added: %d membership changes", res.Memberships)
		}
	})
	b.Run("delta-1-1-5", func(b *testing.B) {
		ch := churn(n, d.nUsers, d.object)
		res := delta(b, func(int) []connector.Object { return ch })
		b.ReportMetric(float64(res.Adds), "adds")
		b.ReportMetric(float64(res.Updates), "updates")
		b.ReportMetric(float64(res.Deletes), "deletes")
	})
}
