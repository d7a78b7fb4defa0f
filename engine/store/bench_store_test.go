package store

import (
	"context"
	"path/filepath"
	"testing"
)

func benchOpenStore(b *testing.B) *Store {
	b.Helper()
	ctx := context.Background()
	st, err := Open(ctx, Options{Dialect: SQLite, DSN: filepath.Join(b.TempDir(), FileName)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	return st
}

// BenchmarkAppendEvent measures how fast a job's progress is persisted: every
// event is its own transaction on the single SQLite writer.
func BenchmarkAppendEvent(b *testing.B) {
	st := benchOpenStore(b)
	ctx := context.Background()
	id, err := st.CreateJob(ctx, Job{Kind: "bench", Status: "running", Params: []byte("{}"), CreatedBy: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := st.AppendEvent(ctx, Event{JobID: id, Kind: "log", Level: "info", Message: "progress line"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkEventsReplay measures a reconnecting viewer's catch-up read of 500 events.
func BenchmarkEventsReplay(b *testing.B) {
	st := benchOpenStore(b)
	ctx := context.Background()
	id, err := st.CreateJob(ctx, Job{Kind: "bench", Status: "running", Params: []byte("{}"), CreatedBy: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 500; i++ {
		if _, err := st.AppendEvent(ctx, Event{JobID: id, Kind: "log", Level: "info", Message: "progress line"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		evs, err := st.Events(ctx, id, 0, 500)
		if err != nil || len(evs) != 500 {
			b.Fatalf("got %d events, err %v", len(evs), err)
		}
	}
}
