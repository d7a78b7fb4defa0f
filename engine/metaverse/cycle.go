package metaverse

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/maphash"
	"iter"

	"github.com/hybridsync/hybridsync/engine/connector"
	"github.com/hybridsync/hybridsync/engine/store"
)

// Store is what a sync cycle reads and writes; *store.Store implements it.
type Store interface {
	MetaverseJoinKeys(ctx context.Context) (map[store.MVSource]string, error)
	MetaverseExported(ctx context.Context, keys []string, all bool) (map[string]store.MVExported, error)
	EachMetaverseExported(ctx context.Context) iter.Seq2[store.MVExported, error]
	CountMetaverseExported(ctx context.Context) (int, error)
	SaveMetaverse(ctx context.Context, w store.MVWrite) error
}

// Result is what one sync cycle computed.
type Result struct {
	Full bool
	// Changes are the pending exports of the objects this cycle touched
	// (all of them after a full sync), in export order (Order) — unless
	// there are more than MaxResultChanges: then nil, and the store's
	// pending exports (store.PendingExports) are the only copy. The counts
	// below count them all.
	Changes []Change
	// Writebacks are every object whose objectGUID must still be written
	// into ms-DS-ConsistencyGuid.
	Writebacks []Writeback
	// Objects counts the metaverse; Evaluated the connector-space objects
	// this cycle re-evaluated; NotSynced those of them not synced.
	Objects, Evaluated, NotSynced       int
	Adds, Updates, Deletes, Memberships int
}

// MaxResultChanges bounds Result.Changes: a full sync of a million
// objects would hold a million changes (about 1.5 GB) that the store
// already has.
const MaxResultChanges = 100_000

// ErrNeedsFull is returned by a delta sync before any full sync ran.
var ErrNeedsFull = errors.New("metaverse: a delta sync needs a full sync first")

// Sync runs one sync cycle: full (objs is every connector-space object) or
// delta (objs are the objects whose connector-space rows changed), then
// diffs the touched objects against the exported state and saves the
// metaverse, the joins with their traces, and the pending exports.
func (e *Engine) Sync(ctx context.Context, st Store, full bool, objs []connector.Object) (*Result, error) {
	return e.SyncEach(ctx, st, full, Each(objs))
}

// SyncEach is Sync reading its objects one at a time: a caller that reads
// them from the store need not hold the connector spaces at once.
func (e *Engine) SyncEach(ctx context.Context, st Store, full bool, objs Objects) (*Result, error) {
	if !full && !e.loaded {
		return nil, ErrNeedsFull
	}
	if full && !e.loaded {
		prior, err := st.MetaverseJoinKeys(ctx)
		if err != nil {
			return nil, fmt.Errorf("metaverse: unable to read the joins: %w", err)
		}
		m := make(map[SourceID]string, len(prior))
		for src, k := range prior {
			m[SourceID(src)] = k
		}
		e.Restore(m)
	}
	var t Touched
	var err error
	if full {
		t, err = e.full(objs)
	} else {
		t, err = e.delta(objs)
	}
	if err != nil {
		return nil, fmt.Errorf("metaverse: unable to read the connector spaces: %w", err)
	}
	// A full sync reads the exported state beside its keys, one object at
	// a time (fullRows); a delta reads that of its keys (chunks, below).
	var exported map[string]*Exported
	res := &Result{Full: full, Writebacks: e.Writebacks(), Objects: len(e.mv), Evaluated: len(t.Sources)}

	// A delta leaves the join rows it would write unchanged as the store
	// holds them (Kept: their hash is the row's the engine last wrote, and
	// nobody else wrote since its last write — Since): most objects of a
	// delta keep their trace, and seeking, reading and comparing 50,000
	// such rows cost a delta of 80,000 objects at a million 1–2 s.
	w := store.MVWrite{Full: full, Stamp: rand.Text()}
	if !full {
		w.Since = e.stamp
		w.ObjectKeys, w.PendingKeys = t.Keys, t.Keys
		w.JoinSources = make([]store.MVSource, len(t.Sources))
		for i, id := range t.Sources {
			w.JoinSources[i] = store.MVSource(id)
		}
	}
	for _, id := range t.Sources {
		if en := e.cs.get(id); en != nil && !en.tr.synced {
			res.NotSynced++
		}
	}
	// Each object's cloud attributes are computed once (desired), as its
	// row is written, and diffed there against the exported state. A full
	// sync hands each object's pending exports to the store with its row
	// (fullRows). A delta of at most MaxResultChanges keys holds its
	// pending exports until they are written (held), as Result.Changes
	// would; a larger delta holds only where each is in the export order
	// (planned), and computes the attributes of those that changed again
	// as it writes them, so that it never holds them all at once.
	var fr *fullRows
	held := !full && len(t.Keys) <= MaxResultChanges
	// A held delta reads the exported state a chunk of keys at a time as it
	// writes their objects (exportedChunks); a larger one, whose pending
	// exports are computed again in the export order, reads all of it
	// first, as does a diff the store's writes did not drive.
	var chunks *exportedChunks
	readAll := func() error {
		if exported != nil || full {
			return nil
		}
		exported, err = e.readExported(ctx, st, t.Keys, false)
		return err
	}
	if held {
		chunks = newExportedChunks(ctx, e, st, t.Keys)
	} else if err := readAll(); err != nil {
		return nil, err
	}
	var changes []Change
	var plan []planned
	diffed := false
	diff := func() error {
		// The store did not write the objects first: diff without them.
		if err := readAll(); err != nil {
			return err
		}
		if held {
			changes = e.Pending(t.Keys, exported, full)
		} else {
			plan = e.plan(t.Keys, exported, full)
		}
		diffed = true
		return nil
	}
	if full {
		n, err := st.CountMetaverseExported(ctx)
		if err != nil {
			return nil, fmt.Errorf("metaverse: unable to read the exported state: %w", err)
		}
		cur := newExportedCursor(st.EachMetaverseExported(ctx), func(k string) bool { return e.mv[k] != nil })
		defer cur.close()
		fr = newFullRows(e, t.Keys, cur, n, res)
		w.Objects, w.Pending = fr.objects, fr.pending
	} else {
		w.Objects = func(yield func(store.MVObject, error) bool) {
			var p planner
			// One map for every object's attributes: each is diffed and
			// written before the next (a map each allocated about 100 MB in
			// the delta of 80,000 objects at a million, and with the exported
			// state's maps brought on a second collection). The values stay
			// the objects' own: changes hold them.
			buf := attrBuf{apart: true}
			var obj Object
			var xattrs map[string][]string // the exported attributes
			if held {
				changes = make([]Change, 0, len(t.Keys))
			}
			for i, k := range t.Keys {
				var d *Object
				if mp := e.mv[k]; mp != nil {
					d = &obj
					e.desiredInto(mp, d, &buf)
				}
				if held {
					x, err := chunks.at(i)
					if err == nil && x != nil {
						// Read into the one map, which the next object's
						// reading empties: Diff copies what it keeps.
						xattrs, err = parseExported(x.Key, x.stored, xattrs)
						x.Attrs = xattrs
					}
					if err != nil {
						yield(store.MVObject{}, err)
						return
					}
					changes = append(changes, Diff(d, x)...)
					if x != nil {
						x.Attrs = nil
					}
				} else {
					p.one(k, d, exported[k])
				}
				if d != nil && !yield(storedObject(d, nil), nil) {
					return
				}
			}
			if held {
				Order(changes)
			} else {
				plan = p.sorted()
			}
			diffed = true
		}
	}
	// One encoding buffer for every row (encoded by hand, as json.Marshal
	// encodes): the store copies a row's JSON before it asks for the next.
	var tb []byte
	w.Joins = func(yield func(store.MVJoin, error) bool) {
		for _, id := range t.Sources {
			en := e.cs.get(id)
			if en == nil {
				continue
			}
			reason := en.tr.reason.text()
			tb = en.appendJSON(tb[:0], reason)
			j := store.MVJoin{Connector: id.Connector, Anchor: id.Anchor, DN: en.DN, Key: en.key,
				Synced: en.tr.synced, Reason: reason, Trace: tb}
			h := e.joinHash(&j)
			j.Kept = !full && h == en.joined
			en.joined = h
			if !yield(j, nil) {
				return
			}
			// Written: the store has it, and the next cycle that needs it
			// computes it again.
			en.tr = nil
		}
	}
	written, total := 0, 0
	var kept []Change // nil when there are none, as Pending's
	if !full {
		w.Pending = func(yield func(store.MVPending, error) bool) {
			if !diffed {
				if err := diff(); err != nil {
					yield(store.MVPending{}, err)
					return
				}
			}
			total = len(plan)
			if held {
				total = len(changes)
			}
			keep := total <= MaxResultChanges
			if held && keep {
				kept = changes
			} else if total > 0 && keep {
				kept = make([]Change, 0, total)
			}
			for i := range total {
				var c Change
				if held {
					c = changes[i]
				} else {
					p := plan[i]
					chs := Diff(e.desired(p.key), exported[p.key])
					if p.sub >= len(chs) {
						yield(store.MVPending{}, fmt.Errorf("metaverse: the pending export of %s changed while it was written", p.key))
						return
					}
					c = chs[p.sub]
					if keep {
						kept = append(kept, c)
					}
				}
				res.count(&c)
				written++
				tb = c.appendJSON(tb[:0])
				if !yield(pendingRow(&c, tb), nil) {
					return
				}
			}
		}
	}
	if err := st.SaveMetaverse(ctx, w); err != nil {
		// Rolled back: the rows hashed above were not written.
		e.stamp = ""
		for _, id := range t.Sources {
			if en := e.cs.get(id); en != nil {
				en.joined = 0
			}
		}
		return nil, fmt.Errorf("metaverse: unable to save the sync: %w", err)
	}
	e.stamp = w.Stamp
	res.Changes = kept
	complete := false
	if full {
		res.Changes, complete = fr.changes()
	} else {
		if !diffed {
			if err := diff(); err != nil {
				return nil, err
			}
		}
		if total = len(plan); held {
			total = len(changes)
		}
		complete = written == total
	}
	if !complete {
		// A store that did not ask for every pending export.
		if full {
			if exported, err = e.readExported(ctx, st, nil, true); err != nil {
				return nil, err
			}
		} else if err := readAll(); err != nil {
			return nil, err
		}
		all := e.Pending(t.Keys, exported, full)
		res.Adds, res.Updates, res.Deletes, res.Memberships = 0, 0, 0, 0
		for i := range all {
			res.count(&all[i])
		}
		res.Changes = nil
		if len(all) <= MaxResultChanges {
			res.Changes = all
		}
	}
	return res, nil
}

// joinHash hashes a join row's values (entry.joined); never 0, which
// stands for none known.
func (e *Engine) joinHash(j *store.MVJoin) uint64 {
	var h maphash.Hash
	h.SetSeed(e.seed)
	for _, s := range []string{j.Connector, j.Anchor, j.DN, j.Key, j.Reason} {
		h.WriteString(s)
		h.WriteByte(0)
	}
	synced := byte(0)
	if j.Synced {
		synced = 1
	}
	h.WriteByte(synced)
	h.Write(j.Trace)
	return max(h.Sum64(), 1)
}

// readExported reads the exported state of keys (all: of every key) as
// Diff takes it. An object the export created but the metaverse was not
// told of (a stop between the two): while the metaverse holds it, an add
// again, which the export finishes; once it doesn't, a delete, so that it
// is not left in the tenant (exportedCursor reads the same).
func (e *Engine) readExported(ctx context.Context, st Store, keys []string, all bool) (map[string]*Exported, error) {
	return e.readExportedAs(ctx, st, keys, all, false)
}

// readExportedAs is readExported; stored leaves each object's attributes
// as the store keeps them (Exported.stored), for parseExported.
func (e *Engine) readExportedAs(ctx context.Context, st Store, keys []string, all, stored bool) (map[string]*Exported, error) {
	rows, err := st.MetaverseExported(ctx, keys, all)
	if err != nil {
		return nil, fmt.Errorf("metaverse: unable to read the exported state: %w", err)
	}
	exported := make(map[string]*Exported, len(rows))
	for k, x := range rows {
		if !x.Recorded && e.mv[k] != nil {
			continue
		}
		o := &Exported{Key: x.Key, Kind: x.Kind, CloudID: x.CloudID, Source: x.Source, Members: x.Members}
		if stored {
			o.stored = x.Attrs
		} else if o.Attrs, err = parseExported(x.Key, x.Attrs, nil); err != nil {
			return nil, err
		}
		exported[k] = o
	}
	return exported, nil
}

// parseExported reads the stored attributes of exported object key into m
// (store.ParseAttrs).
func parseExported(key, stored string, m map[string][]string) (map[string][]string, error) {
	m, err := store.ParseAttrs(stored, m)
	if err != nil {
		return nil, fmt.Errorf("metaverse: exported object %s is unreadable: %w", key, err)
	}
	return m, nil
}

// count adds a pending export to the result's counts.
func (r *Result) count(c *Change) {
	switch c.Op {
	case OpAdd:
		r.Adds++
	case OpUpdate:
		r.Updates++
	case OpDelete:
		r.Deletes++
	}
	r.Memberships += len(c.AddMembers) + len(c.RemoveMembers)
}

// storedObject is o's row; its Sources are appended to srcs (nil: a new
// slice, never nil itself).
func storedObject(o *Object, srcs []store.MVSource) store.MVObject {
	if srcs == nil {
		srcs = make([]store.MVSource, 0, len(o.Sources))
	}
	for _, s := range o.Sources {
		srcs = append(srcs, store.MVSource(s))
	}
	return store.MVObject{Key: o.Key, Kind: o.Kind, UPN: o.Attr("userPrincipalName"), Mail: o.Attr("mail"),
		DisplayName: o.Attr("displayName"), Source: o.Source, Attrs: o.Attrs, Members: o.Members, Sources: srcs}
}

// pendingRow is c's row; js is its JSON.
func pendingRow(c *Change, js []byte) store.MVPending {
	return store.MVPending{Key: c.Key, Op: c.Op, Kind: c.Kind, Source: c.Source, Order: orderOf(*c),
		AttrCount: len(c.Attrs), MemberCount: len(c.AddMembers) + len(c.RemoveMembers), Change: js}
}

// Confirmed converts changes the export confirmed for store.RecordExported.
// An add's CloudID must be set to the id the tenant gave the object. A part
// of a change (some attributes, some memberships) may be confirmed alone.
func Confirmed(done []Change) []store.MVConfirmed {
	out := make([]store.MVConfirmed, len(done))
	for i, c := range done {
		attrs := make([]store.MVAttrChange, len(c.Attrs))
		for j, a := range c.Attrs {
			attrs[j] = store.MVAttrChange(a)
		}
		out[i] = store.MVConfirmed{Key: c.Key, Kind: c.Kind, Op: c.Op, CloudID: c.CloudID, Attrs: attrs,
			AddMembers: c.AddMembers, RemoveMembers: c.RemoveMembers, Source: c.Source}
	}
	return out
}

// RecordExported records changes the export confirmed (the exported state
// the next sync diffs against) and takes them off the pending exports:
// usable as export.Options.OnConfirmed.
func RecordExported(st *store.Store) func(ctx context.Context, done []Change) error {
	return func(ctx context.Context, done []Change) error {
		return st.RecordExported(ctx, Confirmed(done))
	}
}
