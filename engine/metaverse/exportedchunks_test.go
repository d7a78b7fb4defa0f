package metaverse

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/engine/connector"

	"github.com/hybridsync/hybridsync/engine/store"
)

// failingExported is a store whose reads of the exported state fail from
// the n-th on.
type failingExported struct {
	*store.Store
	n int
}

func (f *failingExported) MetaverseExported(ctx context.Context, keys []string, all bool) (map[string]store.MVExported, error) {
	if f.n--; f.n <= 0 {
		return nil, errors.New("the disk is gone")
	}
	return f.Store.MetaverseExported(ctx, keys, all)
}

// A delta that reads the exported state a few keys at a time computes and
// writes what one that reads it at once does; a read that fails half-way
// fails the sync, and nothing of it is written.
func TestDeltaReadsTheExportedStateInChunks(t *testing.T) {
	ctx := context.Background()
	objs := synthetic(3_000)
	delta := churn(len(objs), 2_850, func(i int) connector.Object { return objs[i] })
	type outcome struct {
		res     *Result
		pending []store.MVPending
	}
	run := func(chunk int, st Store) (outcome, error) {
		t.Helper()
		defer func(was int) { exportedChunk = was }(exportedChunk)
		exportedChunk = chunk
		e := NewEngine(baseConfig())
		real := openStore(t)
		if st == nil {
			st = real
		} else {
			st.(*failingExported).Store = real
		}
		full, err := e.Sync(ctx, real, true, objs)
		if err != nil {
			t.Fatal(err)
		}
		confirmAll(t, real, full.Changes)
		res, err := e.Sync(ctx, st, false, delta)
		if err != nil {
			return outcome{}, err
		}
		p, err := real.PendingExports(ctx, store.PendingFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range p {
			p[i].ComputedAt = time.Time{}
		}
		return outcome{res, p}, nil
	}
	whole, err := run(1_000_000, nil)
	if err != nil {
		t.Fatal(err)
	}
	if whole.res.Updates == 0 || whole.res.Adds == 0 || whole.res.Deletes == 0 {
		t.Fatalf("the delta changed too little to tell: %+v", whole.res)
	}
	chunked, err := run(7, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(summary(chunked.res.Changes), summary(whole.res.Changes)) || !reflect.DeepEqual(chunked.res.Changes, whole.res.Changes) {
		t.Errorf("in chunks of 7: %d changes, want %d", len(chunked.res.Changes), len(whole.res.Changes))
	}
	if !reflect.DeepEqual(chunked.pending, whole.pending) {
		t.Errorf("in chunks of 7: %d pending exports stored, want %d", len(chunked.pending), len(whole.pending))
	}
	failing := &failingExported{n: 3}
	if _, err := run(7, failing); err == nil {
		t.Fatal("a failed read of the exported state did not fail the sync")
	}
	if p, err := failing.Store.PendingExports(ctx, store.PendingFilter{}); err != nil || len(p) != 0 {
		t.Errorf("the failed sync wrote %d pending exports (%v)", len(p), err)
	}
}
