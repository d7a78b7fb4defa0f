package handlers

import (
	"context"
	"sync"

	"github.com/hybridsync/hybridsync/engine/cycle"
	"github.com/hybridsync/hybridsync/engine/export"
	"github.com/hybridsync/hybridsync/engine/store"
)

// stampCache keeps what pages read from the store under one of its stamps
// (store.PendingStamp, store.SyncErrorsStamp): every viewer of a page between
// two writes shares one read. A write, in any process, changes the stamp,
// and the next view reads again. What it holds is shared: callers only read
// it.
type stampCache[K comparable, V any] struct {
	mu      sync.Mutex
	stamp   string
	entries map[K]V
}

// stampCacheSize bounds what a cache holds: the filters' combinations, and
// a few texts.
const stampCacheSize = 64

func (c *stampCache[K, V]) get(stamp string, k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.entries[k]
	return v, ok && c.stamp == stamp
}

func (c *stampCache[K, V]) put(stamp string, k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stamp != stamp || c.entries == nil {
		c.stamp, c.entries = stamp, map[K]V{}
	}
	if len(c.entries) < stampCacheSize {
		c.entries[k] = v
	}
}

type reviewKey struct {
	filter export.Filter
	after  cycle.Cursor
	most   int
}

// reviewPending is cycle.ReviewPending, kept until the pending exports
// change.
func (h *Handler) reviewPending(ctx context.Context, f export.Filter, after cycle.Cursor, most int) (cycle.PendingReview, error) {
	// The stamp first, then the rows: a write between the two leaves a page
	// newer than its stamp, which only costs the next view a read.
	stamp, err := h.st.PendingStamp(ctx)
	if err != nil {
		return cycle.PendingReview{}, err
	}
	k := reviewKey{f, after, most}
	if rev, ok := h.reviews.get(stamp, k); ok {
		return rev, nil
	}
	rev, err := cycle.ReviewPending(ctx, h.st, f, after, most)
	if err != nil {
		return rev, err
	}
	h.reviews.put(stamp, k, rev)
	return rev, nil
}

// errorPage is a page of the open sync errors, how many the filter selects
// and how many are open, kept until the sync errors change.
type errorPage struct {
	errs       []store.SyncError
	total, all int
}

func (h *Handler) syncErrorPage(ctx context.Context, f store.SyncErrorFilter) (errorPage, error) {
	stamp, err := h.st.SyncErrorsStamp(ctx)
	if err != nil {
		return errorPage{}, err
	}
	if p, ok := h.errorPages.get(stamp, f); ok {
		return p, nil
	}
	var p errorPage
	if p.errs, p.total, err = h.st.SyncErrorPage(ctx, f); err != nil {
		return p, err
	}
	if p.all, err = h.st.CountSyncErrors(ctx); err != nil {
		return p, err
	}
	h.errorPages.put(stamp, f, p)
	return p, nil
}
