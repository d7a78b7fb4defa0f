package cycle

import (
	"context"
	"encoding/json"
	"fmt"
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
	return eachPending(ctx, st, op, kind, pendingPage, fn)
}

// eachPending is EachPending reading `page` pending exports at a time: a
// caller that wants the first few reads no more than those.
func eachPending(ctx context.Context, st *store.Store, op, kind string, page int, fn func(metaverse.Change) bool) error {
	f := store.PendingFilter{Op: op, Kind: kind, Limit: page}
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
			if !fn(c) {
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
	// Objects are the first objects the filter matches, in export order.
	Objects []export.ObjectReview
	// Matching counts the pending exports the filter matches; Total all of
	// them.
	Matching, Total int
	// Held counts the matching ones the export holds back, per reason
	// (export.HeldReason).
	Held map[string]int
}

// ReviewPending reads the first `most` objects of the staging review that f
// selects, with its counts. Without a text filter the counts come from the
// store's index and only the page's changes are read (and the group adds, the
// only changes held back for what they hold), so the page costs the same
// for a thousand pending exports or a million; a text filter reads every
// pending export of the operation and kind, a page at a time.
func ReviewPending(ctx context.Context, st *store.Store, f export.Filter, most int) (PendingReview, error) {
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
	if f.Text != "" {
		err := EachPending(ctx, st, f.Op, f.Kind, func(c metaverse.Change) bool {
			for _, r := range export.Review([]metaverse.Change{c}, f) {
				out.Matching++
				if r.Held != "" {
					out.Held[r.Held]++
				}
				if len(out.Objects) < most {
					out.Objects = append(out.Objects, r)
				}
			}
			return true
		})
		return out, err
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
	// A change is one object of the review: the page's changes are read
	// in one go.
	err = eachPending(ctx, st, f.Op, f.Kind, max(min(most, pendingPage), 1), func(c metaverse.Change) bool {
		out.Objects = append(out.Objects, export.Review([]metaverse.Change{c}, f)...)
		return len(out.Objects) < most
	})
	return out, err
}
