package metaverse

import (
	"strings"
	gosync "sync" // the package's tests have a helper named sync
	"sync/atomic"

	"github.com/hybridsync/hybridsync/engine/connector"
)

// csObject is one connector-space object as the engine keeps it between
// cycles (docs/adr/0010-scale.md): its values in one string, each value
// where it ends in it, each attribute a slot of an interned name's number
// and where its values end — no map and no string header per value, and
// nothing of the caller's connector.Object but a few of its strings. A
// group's members are the entry's, by lower-case DN.
type csObject struct {
	Connector, Anchor, DN string
	Class, Reason         string
	InScope, Deleted      bool
	attrs                 []csAttr
	ends                  []uint32 // where each value ends in blob
	blob                  string
}

// csAttr is one attribute of a csObject: its name's number (attrID) and
// the end of its values in csObject.ends (they start where the previous
// attribute's end).
type csAttr struct{ id, end uint32 }

// compact is o as the engine keeps it. strs interns the strings many
// objects share (class, reason); nil interns nothing.
func compact(o *connector.Object, strs map[string]string) *csObject {
	c := &csObject{Connector: o.Connector, Anchor: o.Anchor, DN: o.DN, Class: intern(strs, o.Class),
		Reason: intern(strs, o.Reason), InScope: o.InScope, Deleted: o.Deleted}
	n, size := 0, 0
	for _, v := range o.Attrs {
		n += len(v)
		for _, s := range v {
			size += len(s)
		}
	}
	c.attrs = make([]csAttr, 0, len(o.Attrs))
	c.ends = make([]uint32, 0, n)
	var blob strings.Builder
	blob.Grow(size)
	for name, v := range o.Attrs {
		for _, s := range v {
			blob.WriteString(s)
			c.ends = append(c.ends, uint32(blob.Len()))
		}
		c.attrs = append(c.attrs, csAttr{id: attrID(name), end: uint32(len(c.ends))})
	}
	c.blob = blob.String()
	return c
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

// find is where an attribute's values are in ends: [lo, hi), empty when
// it has none.
func (o *csObject) find(name string) (lo, hi uint32) {
	names := *attrNames.Load()
	var start uint32
	for _, a := range o.attrs {
		if names[a.id] == name {
			return start, a.end
		}
		start = a.end
	}
	return 0, 0
}

// value is the i-th value.
func (o *csObject) value(i uint32) string {
	var start uint32
	if i > 0 {
		start = o.ends[i-1]
	}
	return o.blob[start:o.ends[i]]
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
