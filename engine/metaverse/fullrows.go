package metaverse

import (
	"github.com/hybridsync/hybridsync/engine/store"
)

// fullRows is what a full sync writes of the metaverse and its pending
// exports: each object with its own pending exports (store.MVObject.Pending),
// diffed from the attributes computed once for both, in key order; then the
// pending exports of the keys that have no object (Pending: deletes). The
// exported state is read beside the keys, one object at a time in key
// order (exportedCursor), never held whole. The
// store takes a full write's pending exports in any order (store.MVWrite):
// the export order is a column (orderOf), which the export reads sorted, so
// the attributes of a million objects need neither be held until they are
// written in that order nor computed a second time for it.
//
// Each object's attributes go into one map, cleared for the next (attrBuf):
// the store reads a row whole before it asks for the next. The changes are
// counted as they are written, and kept for Result.Changes, put in export
// order (Order) at the end, while they are at most MaxResultChanges; when
// none is kept, the attribute values and an add's change are made in the
// same memory for every object too.
type fullRows struct {
	e    *Engine
	keys []string // Touched.Keys, sorted
	cur  *exportedCursor
	res  *Result

	kept []Change
	keep bool
	// gone are the exported states of keys whose object is gone: deletes.
	gone []*Exported
	// objectsDone and pendingDone: the store read each sequence to its end.
	objectsDone, pendingDone bool

	buf  []byte // the JSON of the pending exports of one row
	rows []store.MVPending
	// chs and attrs are an add's change when none is kept (diff).
	chs   []Change
	attrs []AttrChange
}

func newFullRows(e *Engine, keys []string, cur *exportedCursor, exported int, res *Result) *fullRows {
	f := &fullRows{e: e, keys: keys, cur: cur, res: res}
	// Adds and deletes are known without the attributes, at least as many
	// as the metaverse and the exported state differ in size: when they
	// alone are more than MaxResultChanges (a first full sync of a million
	// objects), no change is kept for the result, not even for a while.
	certain := len(e.mv) - exported
	f.keep = max(certain, -certain) <= MaxResultChanges
	return f
}

// objects yields each object of keys with its pending exports.
func (f *fullRows) objects(yield func(store.MVObject, error) bool) {
	var d Object
	var buf attrBuf
	var srcs []store.MVSource
	for _, k := range f.keys {
		x, err := f.cur.at(k)
		if err != nil {
			yield(store.MVObject{}, err)
			return
		}
		o := f.e.mv[k]
		if o == nil {
			// No row; its delete, if any, is in pending, which needs none of
			// the attributes.
			if x != nil {
				x.Attrs, x.Members = nil, nil
				f.gone = append(f.gone, x)
			}
			continue
		}
		buf.reuse = !f.keep
		f.e.desiredInto(o, &d, &buf)
		row := storedObject(&d, srcs[:0])
		srcs = row.Sources
		row.Pending = f.pendingRows(f.diff(&d, x))
		if !yield(row, nil) {
			return
		}
	}
	f.objectsDone = true
}

// pending yields the pending exports of the keys that have no object: the
// keys of keys whose object is gone, and the exported keys the cycle did
// not touch, as Pending diffs them.
func (f *fullRows) pending(yield func(store.MVPending, error) bool) {
	each := func(chs []Change) bool {
		for _, p := range f.pendingRows(chs) {
			if !yield(p, nil) {
				return false
			}
		}
		return true
	}
	for _, x := range f.gone {
		if !each(Diff(nil, x)) {
			return
		}
	}
	rest, err := f.cur.rest()
	if err != nil {
		yield(store.MVPending{}, err)
		return
	}
	for _, x := range rest {
		if !each(Diff(f.e.desired(x.Key), x)) {
			return
		}
	}
	f.pendingDone = true
}

// diff is Diff(d, x). An add's change is made in the same memory as the
// one before when no change is kept: its attribute changes in one array,
// its members d's own — a first full sync of a million objects is a
// million adds, each let go once its row is written.
func (f *fullRows) diff(d *Object, x *Exported) []Change {
	if f.keep || x != nil {
		return Diff(d, x)
	}
	f.attrs = appendAttrChanges(f.attrs[:0], nil, d.Attrs)
	f.chs = append(f.chs[:0], Change{Key: d.Key, Kind: d.Kind, Op: OpAdd, Source: d.Source, Attrs: f.attrs, AddMembers: d.Members})
	return f.chs
}

// pendingRows counts and keeps chs and returns their rows, which hold
// f.buf and f.rows until the next call.
func (f *fullRows) pendingRows(chs []Change) []store.MVPending {
	f.buf, f.rows = f.buf[:0], f.rows[:0]
	for i := range chs {
		c := &chs[i]
		f.res.count(c)
		if f.keep {
			if f.kept = append(f.kept, *c); len(f.kept) > MaxResultChanges {
				f.kept, f.keep = nil, false
			}
		}
		// A part of buf stays valid when buf grows: append copies, and
		// leaves the old array as it was.
		start := len(f.buf)
		f.buf = c.appendJSON(f.buf)
		f.rows = append(f.rows, pendingRow(c, f.buf[start:]))
	}
	return f.rows
}

// changes is Result.Changes in export order, and whether the store read
// every row.
func (f *fullRows) changes() ([]Change, bool) {
	if !f.objectsDone || !f.pendingDone {
		return nil, false
	}
	Order(f.kept)
	return f.kept, true
}
