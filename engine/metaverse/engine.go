package metaverse

import (
	"cmp"
	"hash/maphash"
	"iter"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hybridsync/hybridsync/engine/connector"
	"github.com/hybridsync/hybridsync/engine/setup"
)

// entry is one connector-space object as the engine holds it: a million
// are held between cycles, so that it is one allocation of 208 bytes (a
// size class) with its csObject, and what only some objects need (a
// group's members, a cluster of several) is elsewhere.
type entry struct {
	csObject        // its connector and anchor are its SourceID (id)
	dn       string // lower case
	key      string // the metaverse object it is part of; "" when none
	// upn is a user object's sign-in name as rebuild computed it, when the
	// entry is its primary.
	upn string
	// cl is the join cluster of several objects that the object is part
	// of; nil when it is a cluster of its own (own) or is not synced by
	// its own rules.
	cl  *cluster
	grp *group // a group's members; nil for other objects
	// tr is the object's trace while a cycle evaluates it, until it is
	// written; nil between cycles (docs/adr/0010-scale.md): rebuild and Why
	// compute it again from the object when they need it.
	tr *trace
	// joined hashes the join row (mv_joins) last written for the object
	// (joinHash); 0 when none is known.
	joined uint64
	rank   int32 // the forest's precedence
	kind   uint8 // that object's kind (kinds); 0 for none
	own    bool  // a cluster of its own (joinValue's "")
}

// group is what an entry holds of a group's members.
type group struct {
	members []string // member DNs, lower case
	// resolved is, for each of members, the key it resolved to when the
	// group's members were last resolved ("" for none); nil when they were
	// not, or the group lists fewer than minResolvedKept (resolveMembers).
	resolved []string
	// keys are the metaverse object's members by key, sorted, when the
	// entry is its primary.
	keys []string
}

// group is the entry's group, made when it has none.
func (en *entry) group() *group {
	if en.grp == nil {
		en.grp = &group{}
	}
	return en.grp
}

// members are a group's member DNs; nil for other objects.
func (en *entry) members() []string {
	if en.grp == nil {
		return nil
	}
	return en.grp.members
}

// memberKeys are a group object's members by key, when the entry is its
// primary.
func (en *entry) memberKeys() []string {
	if en.grp == nil {
		return nil
	}
	return en.grp.keys
}

// kinds are the kinds of metaverse objects an entry's kind names.
var kinds = [...]string{"", KindUser, KindGroup, KindContact, KindDevice}

// kindName is the kind an entry's kind names.
func (en *entry) kindName() string { return kinds[en.kind] }

func kindCode(kind string) uint8 {
	return uint8(max(slices.Index(kinds[:], kind), 0))
}

func (en *entry) id() SourceID { return SourceID{en.Connector, en.Anchor} }

// cs is the object's csObject, which the attribute flow reads.
func (en *entry) cs() *csObject { return &en.csObject }

// spaces are the connector spaces: connector → anchor → object, each key
// a string of 16 bytes rather than a SourceID of 32 (a million of them).
type spaces map[string]map[string]*entry

func (s spaces) get(id SourceID) *entry { return s[id.Connector][id.Anchor] }

func (s spaces) put(en *entry) {
	m := s[en.Connector]
	if m == nil {
		m = map[string]*entry{}
		s[en.Connector] = m
	}
	m[en.Anchor] = en
}

func (s spaces) drop(id SourceID) { delete(s[id.Connector], id.Anchor) }

func (s spaces) len() int {
	n := 0
	for _, m := range s {
		n += len(m)
	}
	return n
}

func (s spaces) entries() iter.Seq[*entry] {
	return func(yield func(*entry) bool) {
		for _, m := range s {
			for _, en := range m {
				if !yield(en) {
					return
				}
			}
		}
	}
}

func (s spaces) ids() iter.Seq[SourceID] {
	return func(yield func(SourceID) bool) {
		for en := range s.entries() {
			if !yield(en.id()) {
				return
			}
		}
	}
}

// cluster is the objects that the matching rule joins into one metaverse
// object (one object, unless users are matched across forests): its join
// value, the objects, the key of that object and its sources but the
// primary, in precedence order. An object whose join value no other object can share
// (joinValue's "") is a cluster of its own, which the engine holds nowhere
// but in its entry (own): most objects are.
type cluster struct {
	name   string
	ids    []SourceID
	key    string
	joined []SourceID
}

// clusterRef names a join cluster: by its join value, or an object's own
// by its entry (name ""). A later version of the object is a cluster of
// its own too, another: remove released the earlier one's key.
type clusterRef struct {
	name string
	own  *entry
}

// ref is the cluster the entry is part of; ok false when none.
func (en *entry) ref() (c clusterRef, ok bool) {
	if en.own {
		return clusterRef{own: en}, true
	}
	if en.cl == nil {
		return clusterRef{}, false
	}
	return clusterRef{name: en.cl.name}, true
}

// compareClusters orders clusters as their join values would: an object's
// own is named "o:" + connector + "\x00" + anchor, the order of rebuilds
// (which decides who takes a key first) as it has always been.
func compareClusters(a, b clusterRef) int {
	switch {
	case a.name != "" && b.name != "":
		return strings.Compare(a.name, b.name)
	case a.name == "" && b.name == "" && a.own.Connector == b.own.Connector:
		return strings.Compare(a.own.Anchor, b.own.Anchor)
	}
	return compareParts(a.parts(), b.parts())
}

// parts are the cluster's name in parts, to be compared without making it.
func (c clusterRef) parts() [4]string {
	if c.name != "" {
		return [4]string{c.name}
	}
	return [4]string{"o:", c.own.Connector, "\x00", c.own.Anchor}
}

// compareParts compares the concatenations of a and b.
func compareParts(a, b [4]string) int {
	i, j := 0, 0
	x, y := a[0], b[0]
	for {
		for x == "" && i < len(a)-1 {
			i++
			x = a[i]
		}
		for y == "" && j < len(b)-1 {
			j++
			y = b[j]
		}
		if x == "" || y == "" {
			return cmp.Compare(len(x), len(y))
		}
		n := min(len(x), len(y))
		if c := strings.Compare(x[:n], y[:n]); c != 0 {
			return c
		}
		x, y = x[n:], y[n:]
	}
}

// Engine holds the connector spaces and the metaverse in memory between
// cycles, with the join indexes: a delta re-evaluates only what changed.
// It is not safe for concurrent use; run one cycle at a time.
type Engine struct {
	cfg      Config
	cs       spaces
	dns      map[string]map[string]*entry     // connector → lower DN → object
	refs     map[string]map[string][]SourceID // connector → lower member DN → groups listing it
	clusters map[string]*cluster              // the clusters of several objects, by join value
	// mv is the metaverse: each key's object, held by its primary entry,
	// whose cluster owns the key.
	mv     map[string]*entry
	prior  map[SourceID]string
	wb     map[SourceID]Writeback
	strs   map[string]string // interned strings many objects share
	loaded bool              // a full sync ran
	// stamp names the engine's last write of the store (MVWrite.Stamp);
	// seed keys the hashes of the join rows it wrote (entry.joined).
	stamp string
	seed  maphash.Seed

	run *run
}

// run is one cycle's bookkeeping.
type run struct {
	clusters map[clusterRef]bool
	groups   map[SourceID]bool
	keys     map[string]bool
	src      map[SourceID]bool
	oldKey   map[SourceID]string
	oldDN    map[SourceID]string
	// edits are the groups whose member lists changed in place, with what
	// changed (setRefs); moved the groups listing an object whose key or
	// DN changed; oldMembers the members of the group objects rebuilt,
	// by key. resolveMembers resolves only what changed when it can.
	edits      map[SourceID]*memberEdit
	moved      map[SourceID]bool
	oldMembers map[string]oldMembers
	// full: every object is new (a full sync reset the engine), so that
	// oldKey and oldDN hold nothing — "" for all, as a lookup gives — and
	// every object, cluster and key is touched: src, clusters and keys
	// hold nothing either (a million of each), finish takes them from the
	// connector spaces and the metaverse, with old, the keys the
	// metaverse had before.
	full bool
	old  []string
}

// touch notes a source the cycle re-evaluated.
func (r *run) touch(id SourceID) {
	if !r.full {
		r.src[id] = true
	}
}

// touchKey notes a key whose object may have changed.
func (r *run) touchKey(k string) {
	if !r.full {
		r.keys[k] = true
	}
}

// dirty notes a cluster to rebuild.
func (r *run) dirty(c clusterRef) {
	if !r.full {
		r.clusters[c] = true
	}
}

// NewEngine returns an engine with empty connector spaces.
func NewEngine(cfg Config) *Engine {
	e := &Engine{cfg: cfg, prior: map[SourceID]string{}, seed: maphash.MakeSeed()}
	e.reset()
	return e
}

func (e *Engine) reset() {
	e.cs = spaces{}
	e.dns = map[string]map[string]*entry{}
	e.refs = map[string]map[string][]SourceID{}
	e.clusters = map[string]*cluster{}
	e.mv = map[string]*entry{}
	e.wb = map[SourceID]Writeback{}
	e.strs = map[string]string{}
}

// Restore gives the engine the keys objects were joined to before (from the
// store), so that a sourceAnchor, once given, stays the object's key even
// when the join's primary changes.
func (e *Engine) Restore(prior map[SourceID]string) {
	for id, k := range prior {
		if k != "" {
			e.prior[id] = k
		}
	}
}

// Touched is what a cycle re-evaluated.
type Touched struct {
	// Keys are the metaverse keys whose object may have changed, appeared
	// or disappeared, sorted.
	Keys []string
	// Sources are the connector-space objects whose trace or join changed.
	Sources []SourceID
}

// Objects is a sequence of connector-space objects, each valid only until
// the next is asked for: the engine keeps what it needs of each (csObject),
// so that a caller can read a million objects one at a time. A sequence
// may yield an error, which ends the cycle.
type Objects = iter.Seq2[*connector.Object, error]

// Each is objs as a sequence.
func Each(objs []connector.Object) Objects {
	return func(yield func(*connector.Object, error) bool) {
		for i := range objs {
			if !yield(&objs[i], nil) {
				return
			}
		}
	}
}

// Full replaces the connector spaces with objs and evaluates everything.
// The engine copies what it keeps of each object (csObject): objs may change
// afterwards.
func (e *Engine) Full(objs []connector.Object) Touched {
	t, _ := e.full(Each(objs))
	return t
}

func (e *Engine) full(objs Objects) (Touched, error) {
	for en := range e.cs.entries() {
		// An unchanged key is not written again: writing would make the
		// map's key the entry's id, whose anchor is a part of the entry's
		// blob, and keep every blob of this generation alive after the
		// sync replaces them. A new one gets an anchor of its own.
		if id := en.id(); en.key != "" && e.prior[id] != en.key {
			id.Anchor = strings.Clone(id.Anchor)
			e.prior[id] = en.key
		}
	}
	old := slices.Collect(maps.Keys(e.mv))
	e.reset()
	e.begin()
	e.run.full = true
	for o, err := range objs {
		if err != nil {
			e.abandon()
			return Touched{}, err
		}
		e.add(o, nil)
	}
	e.run.old = old
	e.loaded = true
	return e.finish(), nil
}

// Delta applies the changed connector-space objects (new, changed, or
// Deleted) and re-evaluates them, their joins and the groups that
// reference them.
func (e *Engine) Delta(changed []connector.Object) Touched {
	t, _ := e.delta(Each(changed))
	return t
}

func (e *Engine) delta(changed Objects) (Touched, error) {
	e.begin()
	for o, err := range changed {
		if err != nil {
			e.abandon()
			return Touched{}, err
		}
		id := SourceID{o.Connector, o.Anchor}
		// A group changed in place keeps the member references its old and
		// new member lists share (setRefs): one member added to a group of
		// 250,000 changes one reference, not all of them.
		var was *entry
		if old := e.cs.get(id); old != nil {
			was = old
			e.remove(old, !o.Deleted)
		} else {
			e.note(id, nil)
		}
		if !o.Deleted {
			e.add(o, was)
		}
	}
	return e.finish(), nil
}

// abandon leaves a cycle whose input failed half-way: the engine holds a
// part of it, so the next cycle must be a full one.
func (e *Engine) abandon() {
	e.run = nil
	e.loaded = false
	e.reset()
}

func (e *Engine) begin() {
	e.run = &run{clusters: map[clusterRef]bool{}, groups: map[SourceID]bool{}, keys: map[string]bool{},
		src: map[SourceID]bool{}, oldKey: map[SourceID]string{}, oldDN: map[SourceID]string{},
		edits: map[SourceID]*memberEdit{}, moved: map[SourceID]bool{}, oldMembers: map[string]oldMembers{}}
}

// note remembers an object's key and DN before the cycle changed it.
func (e *Engine) note(id SourceID, old *entry) {
	e.run.touch(id)
	if e.run.full {
		return
	}
	if _, ok := e.run.oldKey[id]; ok {
		return
	}
	if old == nil {
		e.run.oldKey[id], e.run.oldDN[id] = "", ""
		return
	}
	e.run.oldKey[id], e.run.oldDN[id] = old.key, old.dn
}

// add puts an object into its connector space. was is the object's
// previous version, whose member references remove left in place
// (keepRefs), nil when none: add keeps those the new member list shares and
// drops the rest.
func (e *Engine) add(in *connector.Object, was *entry) {
	c, dn := compact(in, e.strs)
	en := &entry{csObject: c, dn: dn}
	if was != nil {
		en.joined = was.joined
	}
	o := en.cs()
	id := en.id()
	en.rank = int32(e.cfg.rank(o.Connector))
	en.tr = newTrace()
	e.cs.put(en)
	if _, seen := e.run.oldKey[id]; !seen {
		e.note(id, nil)
	}
	e.run.touch(id)
	idx := e.dns[o.Connector]
	if idx == nil {
		idx = map[string]*entry{}
		e.dns[o.Connector] = idx
	}
	idx[en.dn] = en
	if eligible(o, en.tr) {
		if cv, ok := e.cfg.joinValue(o, en.tr); ok {
			if cv == "" {
				en.own = true
			} else {
				cl := e.clusters[cv]
				if cl == nil {
					cl = &cluster{name: cv}
					e.clusters[cv] = cl
				}
				cl.ids = append(cl.ids, id)
				en.cl = cl
			}
			c, _ := en.ref()
			e.run.dirty(c)
			if o.Class == connector.ClassGroup {
				e.setRefs(en, in.Members, was)
				was = nil
			}
		}
	}
	if was != nil {
		e.dropRefs(id, was.members())
	}
	en.tr.base = len(en.tr.steps)
}

// held is an entry's trace, computed again from the object's own rules
// when it is no longer held: the steps add kept (a rebuild adds the rest).
func (e *Engine) held(en *entry) *trace {
	if en.tr == nil {
		t := newTrace()
		if eligible(en.cs(), t) {
			e.cfg.joinValue(en.cs(), t)
		}
		t.base = len(t.steps)
		en.tr = t
	}
	return en.tr
}

// setRefs sets a group's member DNs (lower case) and the references from
// each to the group, one per time it is listed. prev is the group's
// previous version (nil for none), whose references remain: those the new
// list shares are kept as they are — a common start and end compared in
// place, the rest as multisets — and only the others are dropped or added.
// What the shared ones resolved to is kept too, and what changed noted
// for resolveMembers (run.edits).
func (e *Engine) setRefs(en *entry, members []string, prev *entry) {
	g := en.group()
	var pg *group // prev's
	var was, wasKeys []string
	if prev != nil {
		pg = prev.group()
		was = pg.members
		if len(pg.resolved) == len(was) {
			wasKeys = pg.resolved
		}
	}
	var ed *memberEdit
	if prev != nil {
		// Changed twice in one cycle: resolve them all (nil).
		if _, again := e.run.edits[en.id()]; !again && wasKeys != nil {
			ed = &memberEdit{}
		}
		e.run.edits[en.id()] = ed
	}
	r := e.refs[en.Connector]
	if r == nil {
		r = map[string][]SourceID{}
		e.refs[en.Connector] = r
	}
	idx := e.dns[en.Connector]
	var buf []byte
	lower := func(m string) string {
		// The member's own entry holds the same lower-case DN: share it,
		// without making a copy first when the DN is ASCII (a DN nearly
		// always is: the lookup of string(buf) makes none).
		if isASCII(m) {
			buf = buf[:0]
			for i := 0; i < len(m); i++ {
				c := m[i]
				if 'A' <= c && c <= 'Z' {
					c += 'a' - 'A'
				}
				buf = append(buf, c)
			}
			if m := idx[string(buf)]; m != nil {
				return m.dn
			}
			if string(buf) == m {
				return m
			}
			return string(buf)
		}
		dn := strings.ToLower(m)
		if m := idx[dn]; m != nil {
			dn = m.dn
		}
		return dn
	}
	head := 0
	for head < len(members) && head < len(was) && lowerIs(was[head], members[head]) {
		head++
	}
	if head == len(was) && prev != nil {
		// The old list, then new listings (members added at the end): the
		// group takes the old lists over and appends to them.
		g.members, pg.members = was[:len(was):cap(was)], nil
		if ed != nil {
			g.resolved, pg.resolved = wasKeys[:len(was):cap(wasKeys)], nil
		}
		for i, m := range members[head:] {
			dn := lower(m)
			g.members = append(g.members, dn)
			if ed != nil {
				g.resolved = append(g.resolved, "")
				ed.added = append(ed.added, head+i)
			}
			r[dn] = append(r[dn], en.id())
		}
		return
	}
	g.members = make([]string, len(members))
	if ed != nil {
		g.resolved = make([]string, len(members))
	}
	keep := func(i, j int) { // the new list's i-th is the old one's j-th
		g.members[i] = was[j]
		if ed != nil {
			g.resolved[i] = wasKeys[j]
		}
	}
	for i := range head {
		keep(i, i)
	}
	tail := 0
	for tail < len(members)-head && tail < len(was)-head && lowerIs(was[len(was)-1-tail], members[len(members)-1-tail]) {
		keep(len(members)-1-tail, len(was)-1-tail)
		tail++
	}
	gone, added := was[head:len(was)-tail], members[head:len(members)-tail]
	// The old listings between, by DN: how many, and where the next is.
	type listed struct{ n, at int32 }
	left := make(map[string]listed, len(gone))
	for j, dn := range gone {
		l, ok := left[dn]
		if !ok {
			l.at = int32(head + j)
		}
		l.n++
		left[dn] = l
	}
	for i, m := range added {
		dn := lower(m)
		if l := left[dn]; l.n > 0 {
			l.n--
			left[dn] = l
			keep(head+i, int(l.at)) // every listing of a DN resolved alike
			continue
		}
		g.members[head+i] = dn
		if ed != nil {
			ed.added = append(ed.added, head+i)
		}
		r[dn] = append(r[dn], en.id())
	}
	for dn, l := range left {
		for range l.n {
			dropRef(r, dn, en.id())
			if ed != nil && wasKeys[l.at] != "" {
				ed.gone = append(ed.gone, wasKeys[l.at])
			}
		}
	}
}

// memberEdit is what changed in a group's member list (setRefs): the
// listings added, by index into its members, and the keys the listings
// removed resolved to.
type memberEdit struct {
	added []int
	gone  []string
}

// oldMembers are a group object's members before a rebuild, and its
// primary source.
type oldMembers struct {
	group   SourceID
	members []string
}

// dropRefs drops a group's references from each of its member DNs.
func (e *Engine) dropRefs(g SourceID, members []string) {
	r := e.refs[g.Connector]
	if r == nil {
		return
	}
	for _, dn := range members {
		dropRef(r, dn, g)
	}
}

// dropRef drops one reference from dn to the group g.
func dropRef(r map[string][]SourceID, dn string, g SourceID) {
	gs := r[dn]
	i := slices.Index(gs, g)
	if i < 0 {
		return
	}
	if len(gs) == 1 {
		delete(r, dn)
		return
	}
	r[dn] = slices.Delete(gs, i, i+1)
}

// lowerIs reports whether strings.ToLower(s) is lower, without making the
// lower-case copy when s is ASCII (a DN nearly always is).
func lowerIs(lower, s string) bool {
	if len(lower) != len(s) {
		return !isASCII(s) && strings.ToLower(s) == lower
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return strings.ToLower(s) == lower
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// remove takes an object out of its connector space. With keepRefs its
// member references stay for add to replace (a group changed in place).
func (e *Engine) remove(en *entry, keepRefs bool) {
	id := en.id()
	e.note(id, en)
	if idx := e.dns[id.Connector]; idx != nil && idx[en.dn] == en {
		delete(idx, en.dn)
	}
	if !keepRefs {
		e.dropRefs(id, en.members())
	}
	if cl := en.cl; cl != nil {
		cl.ids = slices.DeleteFunc(cl.ids, func(x SourceID) bool { return x == id })
		e.run.dirty(clusterRef{name: cl.name})
	}
	if en.own {
		// Its own cluster's key is its own: released now, as finish
		// releases every dirty cluster's before any rebuild, for the entry
		// that replaces it (or none) has none.
		if en.key != "" {
			e.release(en.key, en)
		}
		e.run.dirty(clusterRef{own: en})
	}
	if en.key != "" {
		e.run.touchKey(en.key)
	}
	delete(e.wb, id)
	e.cs.drop(id)
}

// finish rebuilds the dirty clusters, then the memberships that changed.
func (e *Engine) finish() Touched {
	r := e.run
	var ids []clusterRef
	if r.full {
		ids = make([]clusterRef, 0, e.cs.len())
		for name := range e.clusters {
			ids = append(ids, clusterRef{name: name})
		}
		for en := range e.cs.entries() {
			if en.own {
				ids = append(ids, clusterRef{own: en})
			}
		}
		slices.SortFunc(ids, compareClusters)
	} else {
		ids = slices.SortedFunc(maps.Keys(r.clusters), compareClusters)
	}
	// Release the keys of every dirty cluster first, so that a key moving
	// between two of them is never seen as taken.
	for _, cid := range ids {
		if cid.name == "" {
			if en := cid.own; e.cs.get(en.id()) == en && en.key != "" {
				e.release(en.key, en)
			}
		} else if cl := e.clusters[cid.name]; cl != nil && cl.key != "" {
			if p := e.mv[cl.key]; p != nil && e.owns(cid, p) {
				e.release(cl.key, p)
			}
			r.touchKey(cl.key)
			cl.key = ""
		}
	}
	for _, cid := range ids {
		e.rebuild(cid)
	}
	// A member whose key or DN changed changes the groups that list it.
	src := maps.Keys(r.src)
	if r.full {
		src = e.cs.ids()
	}
	for id := range src {
		en := e.cs.get(id)
		newKey, newDN := "", ""
		if en != nil {
			newKey, newDN = en.key, en.dn
		}
		if newKey == r.oldKey[id] && newDN == r.oldDN[id] {
			continue
		}
		for _, dn := range []string{r.oldDN[id], newDN} {
			for _, g := range e.refs[id.Connector][dn] {
				r.groups[g] = true
				r.moved[g] = true
			}
		}
	}
	for g := range r.groups {
		// A group whose members changed but whose own object did not has no
		// trace held: its rebuild makes it again (and the same object).
		if en := e.cs.get(g); en != nil && en.tr == nil {
			if c, ok := en.ref(); ok {
				e.rebuild(c)
			}
		}
	}
	for g := range r.groups {
		e.resolveMembers(g)
	}
	var t Touched
	if r.full {
		// Made at their size: a million each.
		keys := slices.AppendSeq(slices.Grow(r.old, len(e.mv)), maps.Keys(e.mv))
		slices.Sort(keys)
		t.Keys = slices.Compact(keys)
		t.Sources = slices.AppendSeq(make([]SourceID, 0, e.cs.len()), src)
		slices.SortFunc(t.Sources, compareSource)
	} else {
		t.Keys = slices.Sorted(maps.Keys(r.keys))
		t.Sources = slices.SortedFunc(src, compareSource)
	}
	e.run = nil
	return t
}

// release takes the metaverse object of key, whose primary is p, out of
// the metaverse, keeping a group's members for resolveMembers.
func (e *Engine) release(key string, p *entry) {
	if p.kindName() == KindGroup {
		e.run.oldMembers[key] = oldMembers{p.id(), p.memberKeys()}
	}
	delete(e.mv, key)
	e.run.touchKey(key)
}

// owns reports whether the metaverse object whose primary is p is the
// cluster's.
func (e *Engine) owns(c clusterRef, p *entry) bool {
	if c.name == "" {
		return p == c.own
	}
	return p.cl != nil && p.cl.name == c.name
}

func compareSource(a, b SourceID) int {
	return cmp.Or(strings.Compare(a.Connector, b.Connector), strings.Compare(a.Anchor, b.Anchor))
}

// rebuild makes a cluster's metaverse object again.
func (e *Engine) rebuild(cid clusterRef) {
	var cl *cluster
	var ids []SourceID
	if cid.name != "" {
		if cl = e.clusters[cid.name]; cl == nil {
			return
		}
		if len(cl.ids) == 0 {
			delete(e.clusters, cid.name)
			return
		}
		ids = cl.ids
	} else if en := cid.own; e.cs.get(en.id()) == en {
		ids = []SourceID{en.id()}
	} else {
		return // removed
	}
	ens := make([]*entry, 0, len(ids))
	for _, id := range ids {
		en := e.cs.get(id)
		e.run.touch(id)
		if _, seen := e.run.oldKey[id]; !seen {
			e.note(id, en)
		}
		tr := e.held(en)
		tr.steps = tr.steps[:tr.base]
		tr.synced, tr.reason, tr.primary, tr.joinedWith = false, tstep{}, false, nil
		en.key, en.kind, en.upn = "", 0, ""
		if en.grp != nil {
			en.grp.keys = nil
		}
		delete(e.wb, id)
		ens = append(ens, en)
	}
	slices.SortFunc(ens, func(a, b *entry) int { return cmp.Or(cmp.Compare(a.rank, b.rank), strings.Compare(a.dn, b.dn)) })

	kind := kindOf(ens[0].Class)
	for _, en := range ens {
		if en.Class == connector.ClassUser {
			kind = KindUser
		}
	}
	// One object per forest: users before contacts, then precedence.
	slices.SortStableFunc(ens, func(a, b *entry) int {
		return cmp.Compare(classOrder(a.Class), classOrder(b.Class))
	})
	var chosen []*entry
	byForest := map[string]*entry{}
	for _, en := range ens {
		if first, dup := byForest[en.Connector]; dup {
			en.tr.drop(rJoin, "Another object of "+en.Connector+" ("+first.DN+") matches the same way, and a metaverse object joins at most one object of each forest.")
			continue
		}
		byForest[en.Connector] = en
		chosen = append(chosen, en)
	}
	slices.SortStableFunc(chosen, func(a, b *entry) int {
		return cmp.Or(cmp.Compare(classOrder(a.Class), classOrder(b.Class)), cmp.Compare(a.rank, b.rank))
	})
	primary := chosen[0]
	var mailbox *csObject
	if kind == KindUser && e.cfg.Matching == setup.MatchSIDs {
		// The enabled account-forest user is the primary; the disabled
		// resource-forest user holds the mailbox.
		for _, en := range chosen {
			if en.Class == connector.ClassUser && !disabled(en.cs()) {
				primary = en
				break
			}
		}
		for _, en := range chosen {
			if en != primary && en.Class == connector.ClassUser && disabled(en.cs()) {
				mailbox = en.cs()
				break
			}
		}
	}
	if primary != chosen[0] {
		chosen = append([]*entry{primary}, slices.DeleteFunc(slices.Clone(chosen), func(x *entry) bool { return x == primary })...)
	}

	value, why, writeback := e.cfg.anchor(kind, primary.cs())
	key := value
	if prior := e.priorKey(chosen, kind); prior != "" && prior != value && !e.takenByOther(prior, cid) {
		key = prior
		why += " The object was first synchronized with the sourceAnchor " + prior + ", which never changes: it is kept."
		writeback = false
	}
	if key == "" {
		for _, en := range chosen {
			en.tr.drop(rSourceAnchor, why)
		}
		return
	}
	if other := e.mv[key]; other != nil && !e.owns(cid, other) {
		msg := "The sourceAnchor " + key + " is already the key of another object (" + other.source() + "): not synchronized."
		for _, en := range chosen {
			en.tr.drop(rSourceAnchor, msg)
		}
		return
	}

	all := make([]*csObject, len(chosen))
	for i, en := range chosen {
		all[i] = en.cs()
	}
	if cl != nil {
		cl.joined = cl.joined[:0]
		for _, en := range chosen[1:] {
			cl.joined = append(cl.joined, en.id())
		}
	}
	primary.tr.add(tstep{rule: rSourceAnchor, outcome: oKept, msg: msgAnchorKept, a: key, b: why})
	upn := ""
	if kind == KindUser {
		upn = e.cfg.signIn(primary.cs(), primary.tr)
	}
	// The attributes are not kept: desired computes them from the sources
	// when they are written or diffed. Only the steps they add to the
	// trace are recorded now.
	primary.upn = upn
	e.cfg.flowExtensions(sources{all: all, mailbox: mailbox}, nil, primary.tr)
	e.mv[key] = primary
	if cl != nil {
		cl.key = key
	}
	e.run.touchKey(key)
	if writeback {
		e.wb[primary.id()] = Writeback{Connector: primary.Connector, Anchor: primary.Anchor, DN: primary.DN, Value: key}
	}
	for _, en := range chosen {
		en.key, en.kind = key, kindCode(kind)
		t := en.tr
		t.synced, t.primary = true, en == primary
		for _, o := range chosen {
			if o != en {
				t.joinedWith = append(t.joinedWith, o.id())
			}
		}
		if en == primary {
			t.reason = tstep{msg: msgSynced, a: kind, b: key}
			if len(chosen) > 1 {
				t.step(rJoin, oKept, "Projected into the metaverse; "+strconv.Itoa(len(chosen)-1)+" object(s) of other forests joined it, and this object's values take precedence.")
			} else {
				t.add(tstep{rule: rJoin, outcome: oKept, msg: msgProjected, a: kind})
			}
		} else {
			t.reason = tstep{a: "Joined to " + primary.source() + ", which is synchronized as a " + kind + " (sourceAnchor " + key + ")."}
			t.step(rJoin, oKept, t.reason.a)
		}
	}
	if kind == KindGroup {
		e.run.groups[primary.id()] = true
	}
}

func classOrder(class string) int {
	if class == connector.ClassUser {
		return 0
	}
	return 1
}

// priorKey is the key the cluster's objects had: the primary's first.
func (e *Engine) priorKey(chosen []*entry, kind string) string {
	for _, en := range chosen {
		if k := e.run.oldKey[en.id()]; k != "" && e.kindWas(en, kind) {
			return k
		}
		if k := e.prior[en.id()]; k != "" && kindOf(en.Class) == kind {
			return k
		}
	}
	return ""
}

func (e *Engine) takenByOther(key string, cid clusterRef) bool {
	other := e.mv[key]
	return other != nil && !e.owns(cid, other)
}

// kindWas: the object was part of a metaverse object of that kind (a
// contact joined to a user does not give the user its key).
func (e *Engine) kindWas(en *entry, kind string) bool { return kindOf(en.Class) == kind }

// resolveMembers sets a group's members: its member DNs that are objects of
// its forest synchronized to the cloud, by key. When only some listings
// changed (run.edits) and no listed object's key or DN did, it resolves
// those alone against the members the group's object had.
func (e *Engine) resolveMembers(g SourceID) {
	en := e.cs.get(g)
	if en == nil || en.key == "" {
		return
	}
	obj := e.mv[en.key]
	if obj == nil || obj.kindName() != KindGroup {
		return
	}
	grp := en.group()
	idx := e.dns[g.Connector]
	resolve := func(dn string) string {
		if m := idx[dn]; m != nil && m.key != "" && m.key != en.key {
			return m.key
		}
		return ""
	}
	var keys []string
	if old, ok := e.run.oldMembers[en.key]; ok && old.group == g && !e.run.moved[g] && len(grp.resolved) == len(grp.members) {
		ed := e.run.edits[g]
		_, edited := e.run.edits[g]
		if !edited || ed != nil && len(ed.added)+len(ed.gone) <= maxMemberEdits {
			keys = old.members
			if ed != nil {
				keys = e.editMembers(grp, old.members, ed, resolve)
			}
		}
	}
	if keys == nil {
		grp.resolved = nil
		if len(grp.members) >= minResolvedKept {
			grp.resolved = make([]string, len(grp.members))
		}
		keys = make([]string, 0, len(grp.members))
		for i, dn := range grp.members {
			if k := resolve(dn); k != "" {
				if grp.resolved != nil {
					grp.resolved[i] = k
				}
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		keys = slices.Compact(keys)
	}
	obj.group().keys = keys
	e.run.touchKey(en.key)
	e.run.touch(g)
	detail := strconv.Itoa(len(keys)) + " of " + strconv.Itoa(len(grp.members)) + " direct members are synchronized (members by reference; nested groups stay groups)."
	en.tr.steps = slices.DeleteFunc(en.tr.steps, func(s tstep) bool { return s.rule == rMembers })
	en.tr.step(rMembers, oInfo, detail)
}

// minResolvedKept is the fewest listings of a group whose resolved keys
// are kept between cycles: a small group is resolved again whole, for
// less than the 16 bytes a listing its keys would hold. A variable for
// TestGroupChangedInPlace.
var minResolvedKept = 1_000

// maxMemberEdits bounds the listings resolveMembers resolves alone: each
// removed key is looked for among all the listings (a DN may be listed
// twice), so that many more cost more than resolving them all.
const maxMemberEdits = 64

// editMembers is old (a group's members, sorted) with ed's changes: the
// added listings resolved, the removed listings' keys taken out unless
// another listing still resolves to them. It is a new slice: old may be
// shared (desired's copies).
func (e *Engine) editMembers(grp *group, old []string, ed *memberEdit, resolve func(string) string) []string {
	var add, drop []string
	for _, i := range ed.added {
		k := resolve(grp.members[i])
		grp.resolved[i] = k
		if k != "" {
			add = append(add, k)
		}
	}
	for _, k := range ed.gone {
		if !slices.Contains(grp.resolved, k) {
			drop = append(drop, k)
		}
	}
	slices.Sort(add)
	add = slices.Compact(add)
	slices.Sort(drop)
	keys := make([]string, 0, len(old)+len(add))
	i, j := 0, 0
	for i < len(old) || j < len(add) {
		switch {
		case j == len(add) || i < len(old) && old[i] < add[j]:
			if _, found := slices.BinarySearch(drop, old[i]); !found {
				keys = append(keys, old[i])
			}
			i++
		case i == len(old) || add[j] < old[i]:
			keys = append(keys, add[j])
			j++
		default: // in both: kept
			keys = append(keys, old[i])
			i++
			j++
		}
	}
	return keys
}

// Object returns the metaverse object of a key.
func (e *Engine) Object(key string) (*Object, bool) {
	o := e.desired(key)
	return o, o != nil
}

// desired is the metaverse object of a key with its attributes, computed
// from its sources (nil when there is none). The engine keeps each object
// without them (docs/adr/0010-scale.md): they are a function of the
// sources, which a change of any source rebuilds.
func (e *Engine) desired(key string) *Object {
	p := e.mv[key]
	if p == nil {
		return nil
	}
	d := new(Object)
	e.desiredInto(p, d, nil)
	return d
}

// attrBuf is what desiredInto computes an object's attributes in: the
// map, the array of its single values, the object's sources. A sync's
// write computes each object's attributes and lets them go once its rows
// are written: it keeps the map (emptied) and the sources from one object
// to the next, and the array of values too when nothing keeps them
// (reuse); otherwise each object's values get an array of their own, or,
// apart, a slice each (a delta holds its changes, and a change's one value
// would hold the object's array). A nil attrBuf makes a new map, and a
// slice for each value.
type attrBuf struct {
	attrs  map[string][]string
	single []string
	all    []*csObject
	reuse  bool // the single values too
	apart  bool // each single value a slice of its own
}

// desiredInto is desired of the object whose primary entry is p, computed
// into d and buf (nil: new ones).
func (e *Engine) desiredInto(p *entry, d *Object, buf *attrBuf) {
	var all []*csObject
	var attrs map[string][]string
	var single []string
	if buf != nil {
		all = buf.all[:0]
		if buf.attrs == nil {
			buf.attrs = make(map[string][]string, 24)
		}
		clear(buf.attrs)
		attrs = buf.attrs
		single = buf.single[:0]
		switch {
		case buf.apart:
			single = nil
		case !buf.reuse || single == nil:
			single = make([]string, 0, 24)
		}
	}
	*d = Object{Key: p.key, Kind: p.kindName(), Members: p.memberKeys(), Sources: p.sources(), Source: p.source()}
	for _, id := range d.Sources {
		all = append(all, e.cs.get(id).cs())
	}
	var mailbox *csObject
	if d.Kind == KindUser && e.cfg.Matching == setup.MatchSIDs {
		// As rebuild chose it: the first disabled user after the primary.
		for _, c := range all[1:] {
			if c.Class == connector.ClassUser && disabled(c) {
				mailbox = c
				break
			}
		}
	}
	d.Attrs, single = e.cfg.flowAttrs(d.Kind, d.Key, p.upn, sources{all: all, mailbox: mailbox}, nil, attrs, single)
	if buf != nil {
		buf.all, buf.single = all, single
	}
}

// sources are the metaverse object's sources, when the entry is its
// primary: the entry first.
func (p *entry) sources() []SourceID {
	if p.cl == nil {
		return []SourceID{p.id()}
	}
	return append([]SourceID{p.id()}, p.cl.joined...)
}

// source is a metaverse object's Source, when the entry is its primary:
// its connector and DN.
func (p *entry) source() string { return p.Connector + ": " + p.DN }

// Len is the number of metaverse objects.
func (e *Engine) Len() int { return len(e.mv) }

// Keys are the metaverse keys, sorted.
func (e *Engine) Keys() []string { return slices.Sorted(maps.Keys(e.mv)) }

// Why is a connector-space object's path through the rules, with the cloud
// attributes it contributes to. When the trace is no longer held (a cycle
// wrote it), Why evaluates the object's join cluster again, as a delta
// would: the same rules over the same objects give the same trace.
func (e *Engine) Why(id SourceID) (Trace, bool) {
	en := e.cs.get(id)
	if en == nil {
		return Trace{}, false
	}
	if c, ok := en.ref(); ok && en.tr == nil {
		e.begin()
		e.run.clusters[c] = true
		e.finish()
	}
	e.held(en)
	t := en.render()
	if o := e.desired(t.Key); o != nil {
		t.Cloud = o.Attrs
	}
	return t, true
}

// WhyKey is the traces of a metaverse object's sources, the primary first.
func (e *Engine) WhyKey(key string) []Trace {
	o := e.mv[key]
	if o == nil {
		return nil
	}
	ids := o.sources()
	out := make([]Trace, 0, len(ids))
	for _, id := range ids {
		if t, ok := e.Why(id); ok {
			out = append(out, t)
		}
	}
	return out
}

// Writebacks lists the objects whose objectGUID must be written into
// ms-DS-ConsistencyGuid, sorted by connector and DN.
func (e *Engine) Writebacks() []Writeback {
	out := slices.Collect(maps.Values(e.wb))
	slices.SortFunc(out, func(a, b Writeback) int {
		return cmp.Or(strings.Compare(a.Connector, b.Connector), strings.Compare(a.DN, b.DN))
	})
	return out
}
