package metaverse

import (
	"strings"
	gosync "sync" // the package's tests have a helper named sync
	"sync/atomic"

	"github.com/hybridsync/hybridsync/engine/connector"
)

// csObject is one connector-space object as the engine keeps it between
// cycles (docs/adr/0010-scale.md): nothing of the caller's connector.Object
// but a few of its strings, and its attributes in one string (blob) that
// is one allocation without pointers for the collector to follow — first
// each attribute as a slot of an interned name's number and the end of its
// values, then where each value ends, then the values: no map, no slice
// and no string header per value. A group's members are the entry's, by
// lower-case DN.
type csObject struct {
	Connector, Anchor, DN string
	Class, Reason         string
	blob                  string
	nattr, nval           uint32 // blob's attribute slots, and values
	InScope, Deleted      bool
}

// A blob's slots are little-endian uint32s: an attribute's is its name's
// number (attrID) and the end of its values among the value slots (they
// start where the previous attribute's end); a value's is where it ends
// after the slots.
const (
	attrSlot  = 8
	valueSlot = 4
)

// compact is o as the engine keeps it. strs interns the strings many
// objects share (class, reason); nil interns nothing.
func compact(o *connector.Object, strs map[string]string) csObject {
	c := csObject{Connector: o.Connector, Anchor: o.Anchor, DN: o.DN, Class: intern(strs, o.Class),
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
	for name, v := range o.Attrs {
		attrs = append(attrs, attr{attrID(name), v})
		n += len(v)
		for _, s := range v {
			size += len(s)
		}
	}
	c.nattr, c.nval = uint32(len(attrs)), uint32(n)
	var blob strings.Builder
	blob.Grow(attrSlot*len(attrs) + valueSlot*n + size)
	end := 0
	for _, a := range attrs {
		end += len(a.v)
		putSlot(&blob, a.id)
		putSlot(&blob, uint32(end))
	}
	end = 0
	for _, a := range attrs {
		for _, s := range a.v {
			end += len(s)
			putSlot(&blob, uint32(end))
		}
	}
	for _, a := range attrs {
		for _, s := range a.v {
			blob.WriteString(s)
		}
	}
	c.blob = blob.String()
	return c
}

func putSlot(b *strings.Builder, v uint32) {
	b.WriteByte(byte(v))
	b.WriteByte(byte(v >> 8))
	b.WriteByte(byte(v >> 16))
	b.WriteByte(byte(v >> 24))
}

// slot is the uint32 at i in the blob.
func (o *csObject) slot(i uint32) uint32 {
	b := o.blob[i : i+4]
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

// find is where an attribute's values are among the value slots: [lo,
// hi), empty when it has none.
func (o *csObject) find(name string) (lo, hi uint32) {
	names := *attrNames.Load()
	var start uint32
	for i := range o.nattr {
		end := o.slot(attrSlot*i + 4)
		if names[o.slot(attrSlot*i)] == name {
			return start, end
		}
		start = end
	}
	return 0, 0
}

// value is the i-th value.
func (o *csObject) value(i uint32) string {
	at := attrSlot*o.nattr + valueSlot*o.nval // where the values start
	var start uint32
	if i > 0 {
		start = o.slot(attrSlot*o.nattr + valueSlot*(i-1))
	}
	return o.blob[at+start : at+o.slot(attrSlot*o.nattr+valueSlot*i)]
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
