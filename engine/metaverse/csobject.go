package metaverse

import (
	"math"
	"strings"
	gosync "sync" // the package's tests have a helper named sync
	"sync/atomic"

	"github.com/hybridsync/hybridsync/engine/connector"
)

// csObject is one connector-space object as the engine keeps it between
// cycles (docs/adr/0010-scale.md): nothing of the caller's connector.Object
// but a few of its strings, and its attributes in one string (blob) that
// is one allocation without pointers for the collector to follow — first
// each attribute as two slots, an interned name's number and the end of
// its values, then a slot for each value, where it ends, then the values:
// no map, no slice and no string header per value. A group's members are
// the entry's, by lower-case DN.
type csObject struct {
	Connector, Anchor, DN string
	Class, Reason         string
	blob                  string
	nattr, nval           uint32 // blob's attributes, and values
	InScope, Deleted      bool
	// narrow: the slots are uint16s, not uint32s — every number fits, as
	// it nearly always does (a few hundred bytes of values).
	narrow bool
}

// compact is o as the engine keeps it, and its DN in lower case. strs
// interns the strings many objects share (connector, class, reason); nil
// interns nothing. The anchor, the DN and the lower-case DN are parts of
// the blob, after the values, not strings of their own: the collector
// marks every object the heap holds one at a time, and at a million
// entries each string of its own was a million more.
func compact(o *connector.Object, strs map[string]string) (csObject, string) {
	c := csObject{Connector: intern(strs, o.Connector), Class: intern(strs, o.Class),
		Reason: intern(strs, o.Reason), InScope: o.InScope, Deleted: o.Deleted}
	// The attributes in one order for the three parts: a map's ranges
	// may differ.
	type attr struct {
		id uint32
		v  []string
	}
	var buf [32]attr
	attrs := buf[:0]
	n, size := 0, 0
	var top uint32
	for name, v := range o.Attrs {
		id := attrID(name)
		attrs = append(attrs, attr{id, v})
		top = max(top, id)
		n += len(v)
		for _, s := range v {
			size += len(s)
		}
	}
	c.nattr, c.nval = uint32(len(attrs)), uint32(n)
	c.narrow = top <= math.MaxUint16 && n <= math.MaxUint16 && size <= math.MaxUint16
	lower := strings.ToLower(o.DN)
	extra := len(o.Anchor) + len(o.DN)
	if lower != o.DN {
		extra += len(lower)
	}
	var blob strings.Builder
	blob.Grow(c.slotSize()*(2*len(attrs)+n) + size + extra)
	end := 0
	for _, a := range attrs {
		end += len(a.v)
		c.putSlot(&blob, a.id)
		c.putSlot(&blob, uint32(end))
	}
	end = 0
	for _, a := range attrs {
		for _, s := range a.v {
			end += len(s)
			c.putSlot(&blob, uint32(end))
		}
	}
	for _, a := range attrs {
		for _, s := range a.v {
			blob.WriteString(s)
		}
	}
	at := blob.Len()
	blob.WriteString(o.Anchor)
	blob.WriteString(o.DN)
	if lower != o.DN {
		blob.WriteString(lower)
	}
	c.blob = blob.String()
	c.Anchor = c.blob[at : at+len(o.Anchor)]
	at += len(o.Anchor)
	c.DN = c.blob[at : at+len(o.DN)]
	at += len(o.DN)
	if lower == o.DN {
		return c, c.DN
	}
	return c, c.blob[at:]
}

// slotSize is a slot's bytes.
func (o *csObject) slotSize() int {
	if o.narrow {
		return 2
	}
	return 4
}

// putSlot appends a slot, little-endian.
func (o *csObject) putSlot(b *strings.Builder, v uint32) {
	b.WriteByte(byte(v))
	b.WriteByte(byte(v >> 8))
	if !o.narrow {
		b.WriteByte(byte(v >> 16))
		b.WriteByte(byte(v >> 24))
	}
}

// slot is the i-th slot.
func (o *csObject) slot(i uint32) uint32 {
	if o.narrow {
		b := o.blob[2*i : 2*i+2]
		return uint32(b[0]) | uint32(b[1])<<8
	}
	b := o.blob[4*i : 4*i+4]
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func intern(strs map[string]string, s string) string {
	if strs == nil {
		return s
	}
	if v, ok := strs[s]; ok {
		return v
	}
	strs[s] = s
	return s
}

// find is where an attribute's values are among the values: [lo, hi),
// empty when it has none.
func (o *csObject) find(name string) (lo, hi uint32) {
	names := *attrNames.Load()
	var start uint32
	for i := range o.nattr {
		end := o.slot(2*i + 1)
		if names[o.slot(2*i)] == name {
			return start, end
		}
		start = end
	}
	return 0, 0
}

// value is the i-th value.
func (o *csObject) value(i uint32) string {
	slots := 2*o.nattr + o.nval
	at := uint32(o.slotSize()) * slots // where the values start
	var start uint32
	if i > 0 {
		start = o.slot(2*o.nattr + i - 1)
	}
	return o.blob[at+start : at+o.slot(2*o.nattr+i)]
}

// count is how many values an attribute has.
func (o *csObject) count(name string) int {
	lo, hi := o.find(name)
	return int(hi - lo)
}

// values are an attribute's values (nil when it has none), in a new slice.
func (o *csObject) values(name string) []string {
	lo, hi := o.find(name)
	if lo == hi {
		return nil
	}
	out := make([]string, 0, hi-lo)
	for i := lo; i < hi; i++ {
		out = append(out, o.value(i))
	}
	return out
}

// Attr is an attribute's first value, or "".
func (o *csObject) Attr(name string) string {
	if lo, hi := o.find(name); lo < hi {
		return o.value(lo)
	}
	return ""
}

// The attribute names the engine has seen, numbered: every csObject of
// every engine shares one table. Names are few (a forest's schema), so the
// table only grows; a lookup reads an immutable snapshot without a lock.
var (
	attrMu    gosync.Mutex
	attrIDs   gosync.Map // name → uint32
	attrNames atomic.Pointer[[]string]
)

func init() { attrNames.Store(&[]string{}) }

// attrID is a name's number, given on first sight.
func attrID(name string) uint32 {
	if id, ok := attrIDs.Load(name); ok {
		return id.(uint32)
	}
	attrMu.Lock()
	defer attrMu.Unlock()
	if id, ok := attrIDs.Load(name); ok {
		return id.(uint32)
	}
	old := *attrNames.Load()
	names := append(old[:len(old):len(old)], strings.Clone(name))
	id := uint32(len(old))
	attrNames.Store(&names)
	attrIDs.Store(names[id], id)
	return id
}
