package export

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/e2e/tenant"
	"github.com/hybridsync/hybridsync/engine/metaverse"
	"github.com/hybridsync/hybridsync/engine/store"
)

// killedState stands for a server killed during an export: the run's
// outcome is never recorded.
type killedState struct{ State }

func (killedState) FinishExportRun(context.Context, store.ExportRun) error { return nil }

// TestProgressOfAKilledExport: a running export records the counts that
// reached the tenant after its batches (in its export run and through
// Options.Progress), so that a run the server was killed during shows them,
// still running, until the next start ends it as interrupted with them.
func TestProgressOfAKilledExport(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, tenant.Options{}, Options{})
	progressed := make(chan Result, 100)
	var returned atomic.Bool
	e.exp = New(e.sync, killedState{e.st}, Options{Concurrency: 1, Match: &MatchSettings{BlockSoftMatch: true}, Logger: e.exp.log,
		Progress: func(r Result) {
			if returned.Load() {
				t.Error("Progress called after Run returned")
			}
			progressed <- r
		}})
	e.exp.progressEvery = 0 // after every batch
	var cs []metaverse.Change
	for i := range 30 {
		k := fmt.Sprintf("p%02d", i)
		cs = append(cs, userAdd(k, k+"@"+domain))
	}
	// 30 hard-match lookups (a $batch of 20, then 10), then 30 creates (20,
	// then 10): the server dies once Graph answered the last creates, after
	// the progress of the first 20 was written (which the export never
	// waits for: the test does).
	calls := 0
	e.exp.afterGraph = func() error {
		if calls++; calls < 4 {
			return nil
		}
		deadline := time.After(10 * time.Second)
		for {
			select {
			case p := <-progressed:
				if p.Status != StatusRunning || p.RunID == 0 {
					return fmt.Errorf("progress %+v", p)
				}
				if p.Adds == 20 {
					return errors.New("killed")
				}
			case <-deadline:
				return errors.New("no progress with the first 20 creates")
			}
		}
	}
	_, err := e.exp.Run(ctx, cs)
	returned.Store(true)
	if err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("killed run: %v", err)
	}
	runs, err := e.st.ExportRuns(ctx, 10)
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs %+v, %v", runs, err)
	}
	if r := runs[0]; r.Status != StatusRunning || r.Adds != 20 || r.Writes != 20 || r.Errors != 0 || !r.FinishedAt.IsZero() {
		t.Fatalf("killed run as its progress left it: %+v", r)
	}

	// The next start ends it.
	if n, err := e.st.EndInterruptedExportRuns(ctx); err != nil || n != 1 {
		t.Fatalf("EndInterruptedExportRuns = %d, %v", n, err)
	}
	runs, err = e.st.ExportRuns(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if r := runs[0]; r.Status != StatusInterrupted || r.Adds != 20 || r.Writes != 20 || r.FinishedAt.IsZero() || r.Message != store.MsgExportInterrupted {
		t.Fatalf("interrupted run: %+v", r)
	}
}

// TestProgressIsBounded: a run records its progress at most every
// progressEvery, never after Run returned, and a finished run keeps its
// outcome.
func TestProgressIsBounded(t *testing.T) {
	ctx := context.Background()
	var calls atomic.Int64
	e := newEnv(t, tenant.Options{}, Options{Concurrency: 1, Match: &MatchSettings{BlockSoftMatch: true}, Progress: func(Result) { calls.Add(1) }})
	e.exp.progressEvery = time.Hour
	var cs []metaverse.Change
	for i := range 45 {
		k := fmt.Sprintf("b%02d", i)
		cs = append(cs, userAdd(k, k+"@"+domain))
	}
	res := e.run(t, cs)
	if res.Status != StatusSuccess || res.Adds != 45 {
		t.Fatalf("result %+v", res)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("progress told %d times within an hour", n)
	}
	runs, err := e.st.ExportRuns(ctx, 1)
	if err != nil || runs[0].Status != StatusSuccess || runs[0].Adds != 45 || runs[0].Writes != 45 {
		t.Fatalf("run %+v, %v", runs, err)
	}
}
