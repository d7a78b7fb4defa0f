package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hybridsync/hybridsync/engine/store"
)

// Cancelled is how a job ends when an administrator cancelled it, and how
// its step that was running ends; the steps after it are skipped. It is not
// one of the outcomes of engine/outcome: a cancelled job did not run to its
// end, and it is never "succeeded".
const Cancelled = "cancelled"

// ErrNotRunning is returned by Cancel for a job that has finished (or that
// this server is not running).
var ErrNotRunning = errors.New("jobs: the job is not running")

// CancelError is the cause of a cancelled job's context: who cancelled it.
// A step that waits can tell it from a shutdown with CancelledBy.
type CancelError struct{ By string }

func (e *CancelError) Error() string { return "cancelled by " + e.By }

// CancelledBy reports who cancelled the job whose context is ctx, when an
// administrator did (not a server stop).
func CancelledBy(ctx context.Context) (string, bool) {
	var ce *CancelError
	if errors.As(context.Cause(ctx), &ce) {
		return ce.By, true
	}
	return "", false
}

// CancelledText is what a cancelled job says: "Cancelled by <user>".
func CancelledText(by string) string { return "Cancelled by " + by }

// Cancel cancels a queued or running job: its context ends with a
// *CancelError naming by, the running step sees ctx.Done() and ends
// cancelled, the steps after it are skipped and the job ends cancelled. The
// request itself is recorded at once as an event. A finished job is
// ErrNotRunning; an unknown one the store's not-found error.
func (r *Runner) Cancel(ctx context.Context, id int64, by string) error {
	by = strings.TrimSpace(by)
	if by == "" {
		return errors.New("jobs: cancel needs the name of who cancels")
	}
	r.mu.Lock()
	cancel, ok := r.active[id]
	r.mu.Unlock()
	j, err := r.st.Job(ctx, id)
	if err != nil {
		return err
	}
	// A job leaves the active set a moment after its end is stored (the
	// OnFinish function runs in between): what the store says decides.
	if !ok || Finished(j.Status) {
		return fmt.Errorf("%w: job %d", ErrNotRunning, id)
	}
	r.emit(store.Event{JobID: id, Kind: "job", Level: "warn", Message: fmt.Sprintf("Cancel requested by %s", by)})
	r.log.Info("job cancelled", "job", id, "by", by)
	cancel(&CancelError{By: by})
	return nil
}

func isCancelled(ctx context.Context) bool {
	_, ok := CancelledBy(ctx)
	return ok
}
