package cycle

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"strconv"
	"strings"

	"github.com/hybridsync/hybridsync/engine/export"
	"github.com/hybridsync/hybridsync/engine/metaverse"
	"github.com/hybridsync/hybridsync/engine/store"
)

// pendingPage is how many pending exports EachPending reads at a time.
const pendingPage = 1000

// EachPending hands fn the pending exports of an operation and kind ("" for
// any), in export order, a page at a time, until fn returns false: memory
// follows the page, not the number of pending exports.
func EachPending(ctx context.Context, st *store.Store, op, kind string, fn func(metaverse.Change) bool) error {
	return eachPending(ctx, st, op, kind, Cursor{}, pendingPage, func(_ Cursor, c metaverse.Change) bool { return fn(c) })
}

// EachPendingChange is EachPending as a sequence, which ends with the
// store's error if reading fails.
func EachPendingChange(ctx context.Context, st *store.Store, op, kind string) iter.Seq2[metaverse.Change, error] {
	return func(yield func(metaverse.Change, error) bool) {
		stopped := false
		err := EachPending(ctx, st, op, kind, func(c metaverse.Change) bool {
			stopped = !yield(c, nil)
			return !stopped
		})
		if err != nil && !stopped {
			yield(metaverse.Change{}, err)
		}
	}
}

// Cursor is where a pending export stands in export order: a page of the
// staging review starts after one. The zero Cursor is before the first.
type Cursor struct {
	Order int
	Key   string
}

// String is the cursor as a page link carries it; ParseCursor reads it.
func (c Cursor) String() string {
	if c == (Cursor{}) {
		return ""
	}
	return strconv.Itoa(c.Order) + "." + c.Key
}

// ParseCursor reads a Cursor.String ("" is the zero Cursor).
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	ord, key, ok := strings.Cut(s, ".")
	n, err := strconv.Atoi(ord)
	if !ok || err != nil || n < 0 || key == "" {
		return Cursor{}, fmt.Errorf("cycle: %q is not a place in the pending exports", s)
	}
	return Cursor{Order: n, Key: key}, nil
}

// eachPending is EachPending from after a cursor, reading `page` pending
// exports at a time (a caller that wants the first few reads no more than
// those), handing fn each one's cursor too.
func eachPending(ctx context.Context, st *store.Store, op, kind string, after Cursor, page int, fn func(Cursor, metaverse.Change) bool) error {
	f := store.PendingFilter{Op: op, Kind: kind, Limit: page, AfterOrder: after.Order, AfterKey: after.Key}
	for {
		rows, err := st.PendingExports(ctx, f)
		if err != nil {
			return err
		}
		for _, row := range rows {
			var c metaverse.Change
			if err := json.Unmarshal(row.Change, &c); err != nil {
				return fmt.Errorf("cycle: the pending export of %s is corrupt: %w", row.Key, err)
			}
			if !fn(Cursor{row.Order, row.Key}, c) {
				return nil
			}
		}
		if len(rows) < f.Limit {
			return nil
		}
		last := rows[len(rows)-1]
		f.AfterOrder, f.AfterKey = last.Order, last.Key
	}
}

// PendingReview is one page of the staging review.
type PendingReview struct {
	// Objects are the page's objects: the first the filter matches after
	// the page's cursor, in export order.
	Objects []export.ObjectReview
	// Next is where the next page starts; zero when this one is the last.
	Next Cursor
	// Matching counts the pending exports the filter matches; Total all of
	// them.
	Matching, Total int
	// Held counts the matching ones the export holds back, per reason
	// (export.HeldReason).
	Held map[string]int
}

// ReviewPending reads a page of the staging review that f selects: the
// first `most` objects after the cursor, with the review's counts. Without
// a text filter the counts come from the store's index and only the page's
// changes are read (and the group adds, the only changes held back for what
// they hold), so a page costs the same for a thousand pending exports or a
// million; a text filter reads every pending export of the operation and
// kind, a page at a time.
func ReviewPending(ctx context.Context, st *store.Store, f export.Filter, after Cursor, most int) (PendingReview, error) {
	out := PendingReview{Held: map[string]int{}}
	tally, err := st.PendingTally(ctx)
	if err != nil {
		return out, err
	}
	selected := func(op, kind string) bool {
		return (f.Op == "" || strings.EqualFold(f.Op, op)) && (f.Kind == "" || strings.EqualFold(f.Kind, kind))
	}
	for _, n := range tally {
		out.Total += n
	}
	// page takes the objects read after the cursor (in the store's order,
	// whatever its collation), and one more to know whether there is a
	// next page.
	var last Cursor
	page := func(at Cursor, r export.ObjectReview) bool {
		if len(out.Objects) == most {
			out.Next = last
			return false
		}
		out.Objects, last = append(out.Objects, r), at
		return true
	}
	paged := func(at Cursor, c metaverse.Change) bool {
		for _, r := range export.Review([]metaverse.Change{c}, f) {
			if !page(at, r) {
				return false
			}
		}
		return true
	}
	if f.Text != "" {
		// Every change is read for the counts; the first page is taken on
		// the way, a later one read again from its cursor.
		first, full := after == (Cursor{}), false
		err := eachPending(ctx, st, f.Op, f.Kind, Cursor{}, pendingPage, func(at Cursor, c metaverse.Change) bool {
			for _, r := range export.Review([]metaverse.Change{c}, f) {
				out.Matching++
				if r.Held != "" {
					out.Held[r.Held]++
				}
				if first && !full {
					full = !page(at, r)
				}
			}
			return true
		})
		if err != nil || first {
			return out, err
		}
		return out, eachPending(ctx, st, f.Op, f.Kind, after, pendingPage, paged)
	}
	for k, n := range tally {
		if !selected(k.Op, k.Kind) {
			continue
		}
		out.Matching += n
		if k.Kind == metaverse.KindContact {
			out.Held[export.MsgContactHeld] += n
		}
	}
	if selected(metaverse.OpAdd, metaverse.KindGroup) {
		err := EachPending(ctx, st, metaverse.OpAdd, metaverse.KindGroup, func(c metaverse.Change) bool {
			if r := export.HeldReason(c); r != "" {
				out.Held[r]++
			}
			return true
		})
		if err != nil {
			return out, err
		}
	}
	// A change is one object of the review: the page's changes (and one
	// more) are read in one go.
	return out, eachPending(ctx, st, f.Op, f.Kind, after, max(min(most+1, pendingPage), 1), paged)
}
