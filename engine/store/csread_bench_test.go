package store

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

// BenchmarkReadConnectorSpaceMillion: what a full sync's read of a connector
// space of 1,000,000 objects (950,000 users, 50,000 groups of 20 members)
// holds on the heap, read whole as the cycle did (CSObjectsOf and
// CSMembersOf, every row at once) and one object at a time (EachCSObject,
// each object let go before the next, as the engine keeps its own compact
// copy). Only with HYBRIDSYNC_BENCH_SCALE=1 (make bench-scale).
func BenchmarkReadConnectorSpaceMillion(b *testing.B) {
	if os.Getenv("HYBRIDSYNC_BENCH_SCALE") != "1" {
		b.Skip("a million connector-space rows take minutes to write: HYBRIDSYNC_BENCH_SCALE=1 (make bench-scale)")
	}
	ctx := context.Background()
	st := benchOpenStore(b)
	const conn, n, groupEvery, members = "corp.example.test", 1_000_000, 20, 20
	start := time.Now()
	for from := 0; from < n; from += 10_000 {
		var objs []CSObject
		group := map[string][]string{}
		for i := from; i < from+10_000; i++ {
			class := "user"
			if i%groupEvery == 0 {
				class = "group"
				for m := 1; m <= members; m++ {
					group[fmt.Sprintf("%08d", i)] = append(group[fmt.Sprintf("%08d", i)], fmt.Sprintf("CN=User %08d,OU=Staff,DC=corp", (i+m*7919)%n))
				}
			}
			objs = append(objs, CSObject{Connector: conn, Anchor: fmt.Sprintf("%08d", i), Partition: "DC=corp", DN: fmt.Sprintf("CN=User %08d,OU=Staff,DC=corp", i),
				Class: class, InScope: true, Reason: "In scope.", Attrs: map[string][]string{
					"samaccountname": {fmt.Sprintf("user%08d", i)}, "userprincipalname": {fmt.Sprintf("user%08d@corp.example.test", i)},
					"displayname": {fmt.Sprintf("User %08d", i)}, "mail": {fmt.Sprintf("user%08d@corp.example.com", i)},
					"department": {fmt.Sprintf("Department %d", i%40)}, "title": {"Engineer"}, "objectguid": {fmt.Sprintf("guid-%08d", i)}}})
		}
		if _, err := st.ApplyCS(ctx, conn, CSBatch{Objects: objs, Members: group}); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("wrote %d objects in %s", n, time.Since(start).Round(time.Second))
	for _, read := range []struct {
		name string
		read func() (int, error)
	}{
		{"whole", func() (int, error) {
			rows, err := st.CSObjectsOf(ctx, conn)
			if err != nil {
				return 0, err
			}
			all, err := st.CSMembersOf(ctx, conn)
			runtime.KeepAlive(rows)
			runtime.KeepAlive(all)
			return len(rows), err
		}},
		{"one-at-a-time", func() (int, error) {
			count := 0
			for _, err := range st.EachCSObject(ctx, conn) {
				if err != nil {
					return count, err
				}
				count++
			}
			return count, nil
		}},
	} {
		b.Run(read.name, func(b *testing.B) {
			var got int
			var peak uint64
			for b.Loop() {
				runtime.GC()
				stop := sampleHeap(&peak)
				var err error
				got, err = read.read()
				stop()
				if err != nil || got != n {
					b.Fatalf("read %d objects (%v), want %d", got, err, n)
				}
			}
			b.ReportMetric(float64(peak>>20), "peak-heap-MB")
		})
	}
}

// sampleHeap records the largest heap (live and not yet collected objects)
// seen every 5 ms into peak, until stop is called.
func sampleHeap(peak *uint64) (stop func()) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			*peak = max(*peak, s[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
