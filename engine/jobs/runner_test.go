package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/engine/store"
)

func newStore(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Dialect: store.SQLite, DSN: store.SQLitePath(t.TempDir())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

func newRunner(t *testing.T, st *store.Store, max int) *Runner {
	t.Helper()
	r := NewRunner(st, NewHub(), slog.New(slog.NewTextHandler(io.Discard, nil)), max)
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r.Shutdown(ctx)
	})
	return r
}

// typeOf registers a job type whose steps are the given functions.
func typeOf(kind string, steps ...func(ctx context.Context, r *Run) error) Type {
	return Type{Kind: kind, Title: "Test " + kind, Steps: func([]byte) ([]Step, error) {
		out := make([]Step, len(steps))
		for i, fn := range steps {
			out[i] = Step{Name: fmt.Sprintf("step %d", i+1), Run: fn}
		}
		return out, nil
	}}
}

func ok(context.Context, *Run) error { return nil }

// waitFor polls until cond holds, failing after a while.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func job(t *testing.T, st *store.Store, id int64) store.Job {
	t.Helper()
	j, err := st.Job(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func stepStatuses(j store.Job) []string {
	var out []string
	for _, s := range j.Steps {
		out = append(out, s.Status)
	}
	return out
}

func events(t *testing.T, st *store.Store, id int64) []store.Event {
	t.Helper()
	evs, err := st.Events(context.Background(), id, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range evs {
		if e.Seq != int64(i+1) {
			t.Fatalf("job %d: event %d has seq %d", id, i, e.Seq)
		}
	}
	return evs
}

func TestRunnerOutcomes(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name       string
		fail       func(ctx context.Context, r *Run) error // step 2
		wantJob    string
		wantSteps  []string
		wantError  string
		wantCalled []int
	}{
		{"all succeed", ok, Succeeded, []string{Succeeded, Succeeded, Succeeded}, "", []int{1, 2, 3}},
		{"a step fails", func(context.Context, *Run) error { return boom }, Failed, []string{Succeeded, Failed, Skipped}, "step 2: boom", []int{1, 2}},
		{"a step panics", func(context.Context, *Run) error { panic("kaboom") }, Failed, []string{Succeeded, Failed, Skipped}, "step 2: internal error: kaboom", []int{1, 2}},
		{"a step panics with nil map", func(context.Context, *Run) error {
			var m map[string]int
			m["x"]++
			return nil
		}, Failed, []string{Succeeded, Failed, Skipped}, "internal error: assignment to entry in nil map", []int{1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStore(t)
			r := newRunner(t, st, 2)
			var mu sync.Mutex
			var called []int
			mark := func(n int, fn func(context.Context, *Run) error) func(context.Context, *Run) error {
				return func(ctx context.Context, run *Run) error {
					mu.Lock()
					called = append(called, n)
					mu.Unlock()
					run.Logf("working on %d", n)
					return fn(ctx, run)
				}
			}
			r.Register(typeOf("t", mark(1, ok), mark(2, tt.fail), mark(3, ok)))
			sub := r.Hub().Subscribe(1) // the first job of a fresh store
			defer r.Hub().Unsubscribe(sub)

			id, err := r.Start(context.Background(), Request{Kind: "t", Params: map[string]int{"n": 1}, By: "alice"})
			if err != nil || id != 1 {
				t.Fatalf("Start = %d, %v", id, err)
			}
			r.Wait()
			j := job(t, st, id)
			if j.Status != tt.wantJob || !reflect.DeepEqual(stepStatuses(j), tt.wantSteps) || !strings.Contains(j.Error, tt.wantError) {
				t.Fatalf("job %s %v %q; want %s %v %q", j.Status, stepStatuses(j), j.Error, tt.wantJob, tt.wantSteps, tt.wantError)
			}
			if tt.wantError == "" && j.Error != "" {
				t.Errorf("a succeeded job has an error: %q", j.Error)
			}
			if !reflect.DeepEqual(called, tt.wantCalled) {
				t.Errorf("steps run %v, want %v", called, tt.wantCalled)
			}
			if string(j.Params) != `{"n":1}` || j.CreatedBy != "alice" || j.StartedAt.IsZero() || j.FinishedAt.Before(j.StartedAt) {
				t.Errorf("job row %+v", j)
			}
			for _, s := range j.Steps {
				if s.Status == Failed && !strings.Contains(j.Error, s.Detail) {
					t.Errorf("failed step detail %q not in the job error %q", s.Detail, j.Error)
				}
				if s.Status == Skipped && !s.StartedAt.IsZero() {
					t.Errorf("a skipped step has a start time")
				}
				if s.Status == Succeeded && (s.StartedAt.IsZero() || s.FinishedAt.IsZero()) {
					t.Errorf("a finished step lacks times: %+v", s)
				}
			}

			// Every event is persisted in order and was published, in order, to the viewer.
			evs := events(t, st, id)
			var live []store.Event
			for len(sub.C) > 0 {
				live = append(live, <-sub.C)
			}
			if len(live) != len(evs) {
				t.Fatalf("viewer got %d events, store has %d", len(live), len(evs))
			}
			for i := range evs {
				if live[i].Seq != evs[i].Seq || live[i].Message != evs[i].Message || live[i].Kind != evs[i].Kind || live[i].Step != evs[i].Step {
					t.Errorf("event %d: live %+v, stored %+v", i, live[i], evs[i])
				}
			}
			if evs[0].Message != "Test t queued by alice" || !strings.HasPrefix(evs[len(evs)-1].Message, "Job ") {
				t.Errorf("first %q, last %q", evs[0].Message, evs[len(evs)-1].Message)
			}
			var logs []string
			for _, e := range evs {
				if e.Kind == "log" {
					logs = append(logs, fmt.Sprintf("%d:%s", e.Step, e.Message))
				}
			}
			var wantLogs []string
			for _, n := range tt.wantCalled {
				wantLogs = append(wantLogs, fmt.Sprintf("%d:working on %d", n, n))
			}
			if !reflect.DeepEqual(logs, wantLogs) {
				t.Errorf("log lines %v, want %v (each under its step)", logs, wantLogs)
			}
		})
	}
}

func TestRunnerStartErrors(t *testing.T) {
	st := newStore(t)
	r := newRunner(t, st, 1)
	if _, err := r.Start(context.Background(), Request{Kind: "nope"}); !errors.Is(err, ErrUnknownKind) {
		t.Errorf("unknown kind: %v", err)
	}
	r.Register(Type{Kind: "bad", Steps: func([]byte) ([]Step, error) { return nil, errors.New("no plan") }})
	if _, err := r.Start(context.Background(), Request{Kind: "bad"}); err == nil || !strings.Contains(err.Error(), "no plan") {
		t.Errorf("planning error: %v", err)
	}
	r.Register(typeOf("t", ok))
	if _, err := r.Start(context.Background(), Request{Kind: "t", Params: func() {}}); err == nil {
		t.Error("unencodable params accepted")
	}
	if js, _ := st.Jobs(context.Background(), 10); len(js) != 0 {
		t.Errorf("refused starts left %d jobs", len(js))
	}
	if r.Title("t") != "Test t" || r.Title("zzz") != "zzz" {
		t.Error("Title")
	}
}

func TestRunnerBoundedConcurrency(t *testing.T) {
	st := newStore(t)
	r := newRunner(t, st, 1)
	release := make(chan struct{})
	started := make(chan int64, 2)
	r.Register(typeOf("t", func(ctx context.Context, run *Run) error {
		started <- run.JobID
		<-release
		return nil
	}))
	a, err := r.Start(context.Background(), Request{Kind: "t", By: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if got := <-started; got != a {
		t.Fatalf("job %d started first", got)
	}
	b, err := r.Start(context.Background(), Request{Kind: "t", By: "x"})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-started:
		t.Fatalf("job %d started while job %d holds the only slot", id, a)
	case <-time.After(200 * time.Millisecond):
	}
	if jb := job(t, st, b); jb.Status != Queued || jb.Steps[0].Status != Pending || !jb.StartedAt.IsZero() {
		t.Fatalf("second job is %s / %s, want queued / pending", jb.Status, jb.Steps[0].Status)
	}
	if js, _ := st.JobsWithStatus(context.Background(), Running); len(js) != 1 || js[0].ID != a {
		t.Fatalf("running jobs %+v", js)
	}
	release <- struct{}{}
	if got := <-started; got != b {
		t.Fatalf("job %d started, want %d", got, b)
	}
	release <- struct{}{}
	r.Wait()
	ja, jb := job(t, st, a), job(t, st, b)
	if ja.Status != Succeeded || jb.Status != Succeeded {
		t.Fatalf("statuses %s %s", ja.Status, jb.Status)
	}
	if jb.StartedAt.Before(ja.FinishedAt) {
		t.Errorf("job %d started at %v, before job %d finished at %v", b, jb.StartedAt, a, ja.FinishedAt)
	}
}

func TestSlowViewerNeverBlocksAJob(t *testing.T) {
	st := newStore(t)
	r := newRunner(t, st, 1)
	const lines = 2*SubBuffer + 10
	r.Register(typeOf("t", func(ctx context.Context, run *Run) error {
		for i := range lines {
			run.Logf("line %d", i)
		}
		return nil
	}))
	stuck := r.Hub().Subscribe(1) // never read
	defer r.Hub().Unsubscribe(stuck)
	reader := r.Hub().Subscribe(1) // reads everything
	defer r.Hub().Unsubscribe(reader)
	var mu sync.Mutex
	var got []int64
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case e := <-reader.C:
				mu.Lock()
				got = append(got, e.Seq)
				mu.Unlock()
			case <-stop:
				return
			}
		}
	}()
	defer close(stop)

	start := time.Now()
	id, err := r.Start(context.Background(), Request{Kind: "t", By: "x"})
	if err != nil || id != 1 {
		t.Fatalf("Start = %d, %v", id, err)
	}
	finished := make(chan struct{})
	go func() { r.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(20 * time.Second):
		t.Fatal("the job did not finish: a viewer that never reads blocks it")
	}
	t.Logf("%d events in %v", lines, time.Since(start))
	if j := job(t, st, id); j.Status != Succeeded {
		t.Fatalf("job %s", j.Status)
	}
	select {
	case <-stuck.Lagged:
	default:
		t.Fatal("the stuck viewer was not told it lags")
	}
	if len(stuck.C) != SubBuffer {
		t.Errorf("stuck viewer holds %d events, want a full buffer of %d", len(stuck.C), SubBuffer)
	}
	evs := events(t, st, id)
	if len(evs) < lines {
		t.Fatalf("store has %d events, want at least %d", len(evs), lines)
	}
	// What the stuck viewer has is the start of the stream; the rest is in the store.
	first := <-stuck.C
	if first.Seq != 1 {
		t.Errorf("stuck viewer's first event has seq %d", first.Seq)
	}
	waitFor(t, "the reading viewer to catch up", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= len(evs) })
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(evs) {
		t.Errorf("a reading viewer got %d of %d events", len(got), len(evs))
	}
	for i := range got {
		if got[i] != int64(i+1) {
			t.Fatalf("reading viewer: event %d has seq %d", i, got[i])
		}
	}
}

func TestHub(t *testing.T) {
	h := NewHub()
	a, b, other := h.Subscribe(1), h.Subscribe(1), h.Subscribe(2)
	if h.Viewers(1) != 2 || h.Viewers(2) != 1 || h.Viewers(3) != 0 {
		t.Fatal("Viewers")
	}
	h.Publish(store.Event{JobID: 1, Seq: 1})
	if len(a.C) != 1 || len(b.C) != 1 || len(other.C) != 0 {
		t.Fatal("Publish reached the wrong viewers")
	}
	h.Unsubscribe(a)
	h.Publish(store.Event{JobID: 1, Seq: 2})
	if len(a.C) != 1 || len(b.C) != 2 {
		t.Fatal("an unsubscribed viewer still receives")
	}
	h.Unsubscribe(b)
	h.Unsubscribe(other)
	if h.Viewers(1) != 0 || len(h.subs) != 0 {
		t.Fatalf("subscriptions left: %v", h.subs)
	}
	h.Publish(store.Event{JobID: 1}) // nobody watching: fine
}

func TestRecover(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	t0 := time.UnixMilli(1_700_000_000_000)
	mk := func(status string, steps ...string) int64 {
		var rows []store.Step
		for i := range steps {
			rows = append(rows, store.Step{Name: fmt.Sprintf("s%d", i+1), Status: Pending})
		}
		id, err := st.CreateJob(ctx, store.Job{Kind: "t", Status: Queued, Params: []byte(`{"p":1}`), CreatedBy: "x", Steps: rows})
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range steps {
			step := store.Step{Position: i + 1, Name: fmt.Sprintf("s%d", i+1), Status: s}
			if s != Pending {
				step.StartedAt = t0
			}
			if Finished(s) {
				step.FinishedAt = t0.Add(time.Second)
			}
			if _, err := st.UpdateStep(ctx, id, step, store.Event{JobID: id, Kind: "step"}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := st.UpdateJob(ctx, store.Job{ID: id, Status: status, StartedAt: t0}, store.Event{JobID: id, Kind: "job"}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	running := mk(Running, Succeeded, Running, Pending)
	queued := mk(Queued, Pending, Pending)
	done := mk(Succeeded, Succeeded)
	failed := mk(Failed, Failed, Skipped)

	r := newRunner(t, st, 1)
	r.Register(typeOf("t", ok, ok, ok))
	n, err := r.Recover(ctx)
	if err != nil || n != 2 {
		t.Fatalf("Recover = %d, %v; want 2", n, err)
	}
	tests := []struct {
		id    int64
		job   string
		steps []string
		err   string
	}{
		{running, Interrupted, []string{Succeeded, Interrupted, Interrupted}, "while this job was running"},
		{queued, Interrupted, []string{Interrupted, Interrupted}, "while this job was queued"},
		{done, Succeeded, []string{Succeeded}, ""},
		{failed, Failed, []string{Failed, Skipped}, ""},
	}
	for _, tt := range tests {
		j := job(t, st, tt.id)
		if j.Status != tt.job || !reflect.DeepEqual(stepStatuses(j), tt.steps) || !strings.Contains(j.Error, tt.err) {
			t.Errorf("job %d: %s %v %q; want %s %v %q", tt.id, j.Status, stepStatuses(j), j.Error, tt.job, tt.steps, tt.err)
		}
		if tt.job == Interrupted && j.FinishedAt.IsZero() {
			t.Errorf("job %d: interrupted without a finish time", tt.id)
		}
	}
	if j := job(t, st, running); j.Steps[1].FinishedAt.IsZero() || !j.Steps[2].FinishedAt.IsZero() || !j.Steps[0].FinishedAt.Equal(t0.Add(time.Second)) {
		t.Errorf("step times after Recover: %+v", j.Steps)
	}
	if n, err := r.Recover(ctx); err != nil || n != 0 {
		t.Errorf("second Recover = %d, %v", n, err)
	}

	// An interrupted job can be retried; it runs with the same params.
	id, err := r.Retry(ctx, queued, "bob")
	if err != nil {
		t.Fatal(err)
	}
	r.Wait()
	j := job(t, st, id)
	if j.Status != Succeeded || j.RetryOf != queued || string(j.Params) != `{"p":1}` || j.CreatedBy != "bob" {
		t.Errorf("retry %+v", j)
	}
	if evs := events(t, st, id); !strings.Contains(evs[0].Message, fmt.Sprintf("retrying job %d", queued)) {
		t.Errorf("first event of a retry: %q", evs[0].Message)
	}
}

func TestRetry(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	r := newRunner(t, st, 1)
	var mu sync.Mutex
	fail := true
	var seen []string
	r.Register(typeOf("t", func(_ context.Context, run *Run) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, string(run.Params)+" by "+run.By)
		if fail {
			return errors.New("first time")
		}
		return nil
	}))
	first, err := r.Start(ctx, Request{Kind: "t", Params: map[string]any{"answers": map[string]bool{"x": true}}, By: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	r.Wait()
	if j := job(t, st, first); j.Status != Failed {
		t.Fatalf("first run %s", j.Status)
	}
	mu.Lock()
	fail = false
	mu.Unlock()
	second, err := r.Retry(ctx, first, "bob")
	if err != nil {
		t.Fatal(err)
	}
	r.Wait()
	j := job(t, st, second)
	if second == first || j.Status != Succeeded || j.RetryOf != first || j.Kind != "t" {
		t.Fatalf("retry %+v", j)
	}
	want := []string{`{"answers":{"x":true}} by alice`, `{"answers":{"x":true}} by bob`}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("runs saw %v, want %v", seen, want)
	}
	if _, err := r.Retry(ctx, second, "bob"); err == nil || !strings.Contains(err.Error(), "succeeded") {
		t.Errorf("retrying a succeeded job: %v", err)
	}
	if _, err := r.Retry(ctx, 999, "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("retrying a missing job: %v", err)
	}
	// A job of a kind this build no longer knows.
	id, _ := st.CreateJob(ctx, store.Job{Kind: "gone", Status: Failed, Params: []byte(`{}`)})
	if _, err := r.Retry(ctx, id, "bob"); !errors.Is(err, ErrUnknownKind) {
		t.Errorf("retrying an unknown kind: %v", err)
	}
	var p map[string]any
	if err := json.Unmarshal(j.Params, &p); err != nil {
		t.Fatal(err)
	}
}

func TestShutdown(t *testing.T) {
	t.Run("cancelled context interrupts running and queued jobs", func(t *testing.T) {
		st := newStore(t)
		r := newRunner(t, st, 1)
		inStep := make(chan struct{})
		sawDone := make(chan error, 1)
		r.Register(typeOf("t", func(ctx context.Context, run *Run) error {
			close(inStep)
			<-ctx.Done()
			sawDone <- ctx.Err()
			return ctx.Err()
		}, ok))
		r.Register(typeOf("q", ok, ok))
		a, _ := r.Start(context.Background(), Request{Kind: "t", By: "x"})
		<-inStep
		b, _ := r.Start(context.Background(), Request{Kind: "q", By: "x"})

		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		start := time.Now()
		r.Shutdown(ctx)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Shutdown took %v", d)
		}
		select {
		case err := <-sawDone:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("step saw %v", err)
			}
		default:
			t.Fatal("the running step never saw ctx.Done()")
		}
		for _, id := range []int64{a, b} {
			j := job(t, st, id)
			if j.Status != Interrupted || j.FinishedAt.IsZero() {
				t.Errorf("job %d: %s", id, j.Status)
			}
			for _, s := range j.Steps {
				if !Finished(s.Status) {
					t.Errorf("job %d ended %s but step %d is still %s", id, j.Status, s.Position, s.Status)
				}
			}
		}
		if ja := job(t, st, a); ja.Steps[0].Status != Interrupted {
			t.Errorf("the running step ended %s, want interrupted", ja.Steps[0].Status)
		}
	})
	t.Run("a live context waits for jobs to finish", func(t *testing.T) {
		st := newStore(t)
		r := newRunner(t, st, 2)
		r.Register(typeOf("t", func(ctx context.Context, run *Run) error {
			select {
			case <-time.After(150 * time.Millisecond):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}))
		id, _ := r.Start(context.Background(), Request{Kind: "t", By: "x"})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r.Shutdown(ctx)
		if j := job(t, st, id); j.Status != Succeeded {
			t.Errorf("job %s; Shutdown should have let it finish", j.Status)
		}
	})
}

func TestFinished(t *testing.T) {
	for status, want := range map[string]bool{Queued: false, Running: false, Pending: false, Succeeded: true, Failed: true, Interrupted: true, Skipped: true} {
		if Finished(status) != want {
			t.Errorf("Finished(%s) = %v", status, !want)
		}
	}
}
