package metaverse

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

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
	d := newSynth(n, big)
	e := NewEngine(baseConfig())
	var st *store.Store
	if withStore {
		st = openStore(b)
	}
	cycle := scaleCycle(e, st)
	var full *Result
	b.Run("full-sync", func(b *testing.B) {
		measureMemoryUnder(b, scaleLimit)
		for b.Loop() {
			var err error
			if full, err = cycle(true, d.each()); err != nil {
				b.Fatal(err)
			}
		}
		reportCheckpoint(b, st)
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
		return scaleDelta(b, st, cycle, changed)
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
	b.Run("group-member", func(b *testing.B) { benchGroupMember(b, d, cycle, st) })
	b.Run("delta-1-1-5", func(b *testing.B) {
		// Made as it is read, not held (churnEach): the delta of a million
		// is 80,000 objects and the first group's 260,000 members.
		res := scaleDeltaEach(b, st, cycle, func(int) Objects { return churnEach(n, d.nUsers, d.object) })
		b.ReportMetric(float64(res.Adds), "adds")
		b.ReportMetric(float64(res.Updates), "updates")
		b.ReportMetric(float64(res.Deletes), "deletes")
	})
}

// BenchmarkScaleGroup400k is BenchmarkScale1M's group-member step in a few
// minutes: a directory of 400,000 objects whose first group lists 250,000
// users of corp (synth.dense), one engine and one SQLite store; only that
// group's add is confirmed (the step diffs only its key), then one member
// is added to it per iteration.
func BenchmarkScaleGroup400k(b *testing.B) { benchScaleGroup(b, true) }

// BenchmarkScaleGroupMemory400k is the same without the store.
func BenchmarkScaleGroupMemory400k(b *testing.B) { benchScaleGroup(b, false) }

func benchScaleGroup(b *testing.B, withStore bool) {
	if os.Getenv(scaleEnv) == "" {
		b.Skip("set " + scaleEnv + "=1 (make bench-scale) to run the million-object benchmarks")
	}
	ctx := context.Background()
	d := newSynth(400_000, 250_000)
	d.dense = true
	e := NewEngine(baseConfig())
	var st *store.Store
	if withStore {
		st = openStore(b)
	}
	cycle := scaleCycle(e, st)
	measureMemoryUnder(b, scaleLimit)
	if _, err := cycle(true, d.each()); err != nil {
		b.Fatal(err)
	}
	if st != nil {
		g := d.object(d.nUsers)
		key := e.cs.get(SourceID{g.Connector, g.Anchor}).key
		add := Diff(e.desired(key), nil)
		add[0].CloudID = "cloud-" + key
		if err := st.RecordExported(ctx, Confirmed(add)); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	b.Run("group-member", func(b *testing.B) { benchGroupMember(b, d, cycle, st) })
}

// scaleCycle runs one cycle of e: with the store, a sync; without, the
// rules alone, letting the traces go as a write does.
func scaleCycle(e *Engine, st *store.Store) func(full bool, objs Objects) (*Result, error) {
	return func(full bool, objs Objects) (*Result, error) {
		if st != nil {
			return e.SyncEach(context.Background(), st, full, objs)
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
			if en := e.cs.get(id); en != nil {
				en.tr = nil
			}
		}
		return &Result{Full: full, Objects: len(e.mv), Evaluated: len(t.Sources)}, nil
	}
}

// reportCheckpoint waits, untimed, for the checkpoint the step's last sync
// left to st's checkpointer (copying its pages into the database file,
// after its commit), and reports how long that took after the step.
func reportCheckpoint(b *testing.B, st *store.Store) {
	if st == nil {
		return
	}
	b.StopTimer()
	defer b.StartTimer()
	start := time.Now()
	if err := st.Checkpointed(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(time.Since(start).Seconds(), "checkpoint-after-s")
}

// scaleDelta runs the delta changed(i) gives at each iteration, and reports
// what it evaluated and changed, its peak RSS, and the checkpoint after it.
func scaleDelta(b *testing.B, st *store.Store, cycle func(bool, Objects) (*Result, error), changed func(i int) []connector.Object) *Result {
	return scaleDeltaEach(b, st, cycle, func(i int) Objects { return Each(changed(i)) })
}

// scaleDeltaEach is scaleDelta with the changed objects as a sequence.
func scaleDeltaEach(b *testing.B, st *store.Store, cycle func(bool, Objects) (*Result, error), changed func(i int) Objects) *Result {
	measureMemoryUnder(b, scaleLimit)
	var res *Result
	i := 0
	var gc0, gc1 runtime.MemStats
	var cycles uint32
	for b.Loop() {
		b.StopTimer()
		objs := changed(i)
		i++
		// The set-up's garbage collected first (churnEach makes every group
		// to find those that change: 250 MB at a million), as the console's
		// is before a scheduled delta: the runtime collects at least every
		// two minutes, and the deltas are minutes apart. Left, it brought
		// the delta's first collection forward by as much.
		runtime.GC()
		runtime.ReadMemStats(&gc0)
		b.StartTimer()
		var err error
		if res, err = cycle(false, objs); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		runtime.ReadMemStats(&gc1)
		cycles += gc1.NumGC - gc0.NumGC
		b.StartTimer()
	}
	// The collections it ran: at a million each costs a second or more of
	// the step (the collector marks a heap of about 900 MB).
	b.ReportMetric(float64(cycles)/float64(b.N), "gc-cycles/op")
	reportCheckpoint(b, st)
	b.ReportMetric(float64(res.Evaluated), "evaluated")
	b.ReportMetric(float64(res.Adds+res.Updates+res.Deletes), "changes")
	b.ReportMetric(float64(res.Memberships), "memberships")
	b.ReportMetric(peakRSS(), "peak-RSS-MB")
	b.ReportMetric(float64(scaleLimit>>20), "memory-limit-MB")
	return res
}

// benchGroupMember adds one member to d's first group per iteration; with
// the store, the delta must be that one membership.
func benchGroupMember(b *testing.B, d synth, cycle func(bool, Objects) (*Result, error), st *store.Store) {
	g := d.object(d.nUsers) // the first group
	if len(g.Members) != d.big {
		b.Fatalf("the first group has %d members, want %d", len(g.Members), d.big)
	}
	n := 0
	res := scaleDelta(b, st, cycle, func(i int) []connector.Object {
		g.Members = append(g.Members, benchDN(corp, d.nonMember(i)))
		n++
		return []connector.Object{g}
	})
	// Nothing is exported between the iterations: the n-th diffs n members.
	if res.Evaluated != 1 || st != nil && res.Memberships != n {
		b.Fatalf("one member added (%d times): %d membership changes of %d evaluated", n, res.Memberships, res.Evaluated)
	}
}
