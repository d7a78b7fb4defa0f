package metaverse

import (
	"iter"

	"github.com/hybridsync/hybridsync/engine/store"
)

// exportedCursor reads the exported state (store.EachMetaverseExported) in
// key order beside a full sync's sorted keys, so that the sync diffs each
// object against its exported state without holding the tenant's state of
// a million objects (about 1.5 KB an object: a second full sync of a
// million read 1.5 GB before its first row). What no key asked for — an
// exported object the metaverse does not have, whose delete is pending —
// is kept for the end (rest), without its attributes and members, which a
// delete does not carry.
type exportedCursor struct {
	next func() (store.MVExported, error, bool)
	stop func()
	has  func(key string) bool // whether the metaverse has an object of key
	cur  *Exported             // read ahead; nil at the end
	err  error
	// untouched are the rows read past: keys before one asked for.
	untouched []*Exported
}

func newExportedCursor(seq iter.Seq2[store.MVExported, error], has func(key string) bool) *exportedCursor {
	c := &exportedCursor{has: has}
	c.next, c.stop = iter.Pull2(seq)
	c.read()
	return c
}

// read reads the next row. A row the export created but the metaverse was
// not told of (a stop between the two) is, while the metaverse holds its
// object, no exported state (an add again, which the export finishes);
// once it does not, a delete, so that it is not left in the tenant — as
// SyncEach's exported map has it.
func (c *exportedCursor) read() {
	for c.cur = nil; c.err == nil; {
		x, err, ok := c.next()
		switch {
		case !ok:
			return
		case err != nil:
			c.err = err
			return
		case !x.Recorded && c.has(x.Key):
			continue
		}
		attrs, err := parseExported(x.Key, x.Attrs, nil)
		if err != nil {
			c.err = err
			return
		}
		c.cur = &Exported{Key: x.Key, Kind: x.Kind, CloudID: x.CloudID, Source: x.Source, Attrs: attrs, Members: x.Members}
		return
	}
}

// at returns the exported state of key (nil when none); keys must be
// asked for in ascending order. The rows before key are kept as untouched.
func (c *exportedCursor) at(key string) (*Exported, error) {
	for c.cur != nil && c.cur.Key < key {
		c.pass()
	}
	if c.cur == nil || c.cur.Key != key {
		return nil, c.err
	}
	x := c.cur
	c.read()
	return x, c.err
}

// pass keeps the current row as untouched and reads the next: what a
// delete needs of it when the metaverse has no object of its key.
func (c *exportedCursor) pass() {
	x := c.cur
	if !c.has(x.Key) {
		x.Attrs, x.Members = nil, nil
	}
	c.untouched = append(c.untouched, x)
	c.read()
}

// rest reads to the end and returns every row no key asked for, in key
// order; the cursor is closed.
func (c *exportedCursor) rest() ([]*Exported, error) {
	for c.cur != nil {
		c.pass()
	}
	c.stop()
	return c.untouched, c.err
}

// close ends the read early.
func (c *exportedCursor) close() { c.stop() }
