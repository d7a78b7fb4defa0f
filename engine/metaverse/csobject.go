package metaverse

import (
	"strings"
	gosync "sync" // the package's tests have a helper named sync
	"sync/atomic"

	"github.com/hybridsync/hybridsync/engine/connector"
)

// csObject is one connector-space object as the engine keeps it between
// cycles (docs/adr/0010-scale.md): its values in one slice, each attribute
// a slot of an interned name's number and where its values end — no map
// per object, and nothing of the caller's connector.Object but its strings.
// A group's members are the entry's, by lower-case DN.
type csObject struct {
	Connector, Anchor, DN string
	Class, Reason         string
	InScope, Deleted      bool
	attrs                 []csAttr
	vals                  []string
}

// csAttr is one attribute of a csObject: its name's number (attrID) and
// the end of its values in csObject.vals (they start where the previous
// attribute's end).
type csAttr struct{ id, end uint32 }

// compact is o as the engine keeps it. strs interns the strings many
// objects share (class, reason); nil interns nothing.
func compact(o *connector.Object, strs map[string]string) *csObject {
	c := &csObject{Connector: o.Connector, Anchor: o.Anchor, DN: o.DN, Class: intern(strs, o.Class),
		Reason: intern(strs, o.Reason), InScope: o.InScope, Deleted: o.Deleted}
	n := 0
	for _, v := range o.Attrs {
		n += len(v)
	}
	c.attrs = make([]csAttr, 0, len(o.Attrs))
	c.vals = make([]string, 0, n)
	for name, v := range o.Attrs {
		c.vals = append(c.vals, v...)
		c.attrs = append(c.attrs, csAttr{id: attrID(name), end: uint32(len(c.vals))})
	}
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

// values are an attribute's values (nil when it has none); the caller must
// not change them.
func (o *csObject) values(name string) []string {
	names := *attrNames.Load()
	var start uint32
	for _, a := range o.attrs {
		if names[a.id] == name {
			return o.vals[start:a.end:a.end]
		}
		start = a.end
	}
	return nil
}

// Attr is an attribute's first value, or "".
func (o *csObject) Attr(name string) string {
	if v := o.values(name); len(v) > 0 {
		return v[0]
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
