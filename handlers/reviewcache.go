package handlers

import (
	"context"
	"sync"

	"github.com/hybridsync/hybridsync/engine/cycle"
	"github.com/hybridsync/hybridsync/engine/export"
)

// reviewCache keeps the staging review's pages read under the store's
// pending stamp: every viewer of a page between two writes of the pending
// exports shares one read. A write (a cycle, an export, in any process)
// changes the stamp, and the next view reads again.
type reviewCache struct {
	mu    sync.Mutex
	stamp string
	pages map[reviewKey]cycle.PendingReview
}

type reviewKey struct {
	filter export.Filter
	most   int
}

// reviewPages bounds what the cache holds: the filters' combinations, and a
// few texts.
const reviewPages = 64

// reviewPending is cycle.ReviewPending, from the cache when the pending
// exports have not changed since it was read. What it returns is shared:
// the caller only reads it.
func (h *Handler) reviewPending(ctx context.Context, f export.Filter, most int) (cycle.PendingReview, error) {
	// The stamp first, then the rows: a write between the two leaves a page
	// newer than its stamp, which only costs the next view a read.
	stamp, err := h.st.PendingStamp(ctx)
	if err != nil {
		return cycle.PendingReview{}, err
	}
	k := reviewKey{f, most}
	c := &h.reviews
	c.mu.Lock()
	rev, ok := c.pages[k]
	ok = ok && c.stamp == stamp
	c.mu.Unlock()
	if ok {
		return rev, nil
	}
	if rev, err = cycle.ReviewPending(ctx, h.st, f, most); err != nil {
		return rev, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stamp != stamp || c.pages == nil {
		c.stamp, c.pages = stamp, map[reviewKey]cycle.PendingReview{}
	}
	if len(c.pages) < reviewPages {
		c.pages[k] = rev
	}
	return rev, nil
}
