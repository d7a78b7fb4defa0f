package metaverse

import (
	"cmp"
	"iter"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hybridsync/hybridsync/engine/connector"
	"github.com/hybridsync/hybridsync/engine/setup"
)

// entry is one connector-space object as the engine holds it.
type entry struct {
	id      SourceID
	obj     *csObject
	dn      string   // lower case
	members []string // a group's member DNs, lower case
	// resolved is, for each of members, the key it resolved to when the
	// group's members were last resolved ("" for none); nil when they were
	// not, or the group lists fewer than minResolvedKept (resolveMembers).
	resolved []string
	rank     int    // the forest's precedence
	cluster  string // join cluster; "" when not synced by the object's own rules
	key      string // the metaverse object it is part of; "" when none
	kind     string // that object's kind
	// tr is the object's trace while a cycle evaluates it, until it is
	// written; nil between cycles (docs/adr/0010-scale.md): rebuild and Why
	// compute it again from the object when they need it.
	tr *trace
}

// cluster is the objects that the matching rule joins into one metaverse
// object (one object, unless users are matched across forests).
type cluster struct {
	ids []SourceID
	key string
}

// Engine holds the connector spaces and the metaverse in memory between
// cycles, with the join indexes: a delta re-evaluates only what changed.
// It is not safe for concurrent use; run one cycle at a time.
type Engine struct {
	cfg      Config
	cs       map[SourceID]*entry
	dns      map[string]map[string]*entry     // connector → lower DN → object
	refs     map[string]map[string][]SourceID // connector → lower member DN → groups listing it
	clusters map[string]*cluster
	mv       map[string]*Object
	owner    map[string]string // key → cluster
	prior    map[SourceID]string
	wb       map[SourceID]Writeback
	strs     map[string]string // interned strings many objects share
	loaded   bool              // a full sync ran

	run *run
}

// run is one cycle's bookkeeping.
type run struct {
	clusters map[string]bool
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
	// oldKey and oldDN hold nothing — "" for all, as a lookup gives.
	full bool
}

// NewEngine returns an engine with empty connector spaces.
func NewEngine(cfg Config) *Engine {
	e := &Engine{cfg: cfg, prior: map[SourceID]string{}}
	e.reset()
	return e
}

func (e *Engine) reset() {
	e.cs = map[SourceID]*entry{}
	e.dns = map[string]map[string]*entry{}
	e.refs = map[string]map[string][]SourceID{}
	e.clusters = map[string]*cluster{}
	e.mv = map[string]*Object{}
	e.owner = map[string]string{}
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
	for id, en := range e.cs {
		if en.key != "" {
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
	for _, k := range old {
		e.run.keys[k] = true
	}
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
		if old := e.cs[id]; old != nil {
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
	e.run = &run{clusters: map[string]bool{}, groups: map[SourceID]bool{}, keys: map[string]bool{},
		src: map[SourceID]bool{}, oldKey: map[SourceID]string{}, oldDN: map[SourceID]string{},
		edits: map[SourceID]*memberEdit{}, moved: map[SourceID]bool{}, oldMembers: map[string]oldMembers{}}
}

// note remembers an object's key and DN before the cycle changed it.
func (e *Engine) note(id SourceID, old *entry) {
	e.run.src[id] = true
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
	o := compact(in, e.strs)
	id := SourceID{o.Connector, o.Anchor}
	en := &entry{id: id, obj: o, dn: strings.ToLower(o.DN), rank: e.cfg.rank(o.Connector)}
	en.tr = &trace{steps: make([]tstep, 0, 6)} // a user's steps, without growing
	e.cs[id] = en
	if _, seen := e.run.oldKey[id]; !seen {
		e.note(id, nil)
	}
	e.run.src[id] = true
	idx := e.dns[o.Connector]
	if idx == nil {
		idx = map[string]*entry{}
		e.dns[o.Connector] = idx
	}
	idx[en.dn] = en
	if eligible(o, en.tr) {
		if cv, ok := e.cfg.joinValue(id, o, en.tr); ok {
			en.cluster = cv
			cl := e.clusters[cv]
			if cl == nil {
				cl = &cluster{}
				e.clusters[cv] = cl
			}
			cl.ids = append(cl.ids, id)
			e.run.clusters[cv] = true
			if o.Class == connector.ClassGroup {
				e.setRefs(en, in.Members, was)
				was = nil
			}
		}
	}
	if was != nil {
		e.dropRefs(id, was.members)
	}
	en.tr.base = len(en.tr.steps)
}

// held is an entry's trace, computed again from the object's own rules
// when it is no longer held: the steps add kept (a rebuild adds the rest).
func (e *Engine) held(en *entry) *trace {
	if en.tr == nil {
		t := &trace{steps: make([]tstep, 0, 6)}
		if eligible(en.obj, t) {
			e.cfg.joinValue(en.id, en.obj, t)
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
	var was, wasKeys []string
	if prev != nil {
		was = prev.members
		if len(prev.resolved) == len(was) {
			wasKeys = prev.resolved
		}
	}
	var ed *memberEdit
	if prev != nil {
		// Changed twice in one cycle: resolve them all (nil).
		if _, again := e.run.edits[en.id]; !again && wasKeys != nil {
			ed = &memberEdit{}
		}
		e.run.edits[en.id] = ed
	}
	r := e.refs[en.id.Connector]
	if r == nil {
		r = map[string][]SourceID{}
		e.refs[en.id.Connector] = r
	}
	idx := e.dns[en.id.Connector]
	lower := func(m string) string {
		dn := strings.ToLower(m)
		// The member's own entry holds the same lower-case DN: share it.
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
		en.members, prev.members = was[:len(was):cap(was)], nil
		if ed != nil {
			en.resolved, prev.resolved = wasKeys[:len(was):cap(wasKeys)], nil
		}
		for i, m := range members[head:] {
			dn := lower(m)
			en.members = append(en.members, dn)
			if ed != nil {
				en.resolved = append(en.resolved, "")
				ed.added = append(ed.added, head+i)
			}
			r[dn] = append(r[dn], en.id)
		}
		return
	}
	en.members = make([]string, len(members))
	if ed != nil {
		en.resolved = make([]string, len(members))
	}
	keep := func(i, j int) { // the new list's i-th is the old one's j-th
		en.members[i] = was[j]
		if ed != nil {
			en.resolved[i] = wasKeys[j]
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
		en.members[head+i] = dn
		if ed != nil {
			ed.added = append(ed.added, head+i)
		}
		r[dn] = append(r[dn], en.id)
	}
	for dn, l := range left {
		for range l.n {
			dropRef(r, dn, en.id)
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
	id := en.id
	e.note(id, en)
	if idx := e.dns[id.Connector]; idx != nil && idx[en.dn] == en {
		delete(idx, en.dn)
	}
	if !keepRefs {
		e.dropRefs(id, en.members)
	}
	if cl := e.clusters[en.cluster]; cl != nil {
		cl.ids = slices.DeleteFunc(cl.ids, func(x SourceID) bool { return x == id })
		e.run.clusters[en.cluster] = true
	}
	if en.key != "" {
		e.run.keys[en.key] = true
	}
	delete(e.wb, id)
	delete(e.cs, id)
}

// finish rebuilds the dirty clusters, then the memberships that changed.
func (e *Engine) finish() Touched {
	r := e.run
	ids := slices.Sorted(maps.Keys(r.clusters))
	// Release the keys of every dirty cluster first, so that a key moving
	// between two of them is never seen as taken.
	for _, cid := range ids {
		if cl := e.clusters[cid]; cl != nil && cl.key != "" {
			if e.owner[cl.key] == cid {
				if o := e.mv[cl.key]; o != nil && o.Kind == KindGroup {
					r.oldMembers[cl.key] = oldMembers{o.Sources[0], o.Members}
				}
				delete(e.owner, cl.key)
				delete(e.mv, cl.key)
			}
			r.keys[cl.key] = true
			cl.key = ""
		}
	}
	for _, cid := range ids {
		e.rebuild(cid)
	}
	// A member whose key or DN changed changes the groups that list it.
	for id := range r.src {
		en := e.cs[id]
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
		if en := e.cs[g]; en != nil && en.tr == nil && en.cluster != "" {
			e.rebuild(en.cluster)
		}
	}
	for g := range r.groups {
		e.resolveMembers(g)
	}
	t := Touched{Keys: slices.Sorted(maps.Keys(r.keys)), Sources: slices.SortedFunc(maps.Keys(r.src), compareSource)}
	e.run = nil
	return t
}

func compareSource(a, b SourceID) int {
	return cmp.Or(strings.Compare(a.Connector, b.Connector), strings.Compare(a.Anchor, b.Anchor))
}

// rebuild makes a cluster's metaverse object again.
func (e *Engine) rebuild(cid string) {
	cl := e.clusters[cid]
	if cl == nil {
		return
	}
	if len(cl.ids) == 0 {
		delete(e.clusters, cid)
		return
	}
	ens := make([]*entry, 0, len(cl.ids))
	for _, id := range cl.ids {
		en := e.cs[id]
		e.run.src[id] = true
		if _, seen := e.run.oldKey[id]; !seen {
			e.note(id, en)
		}
		tr := e.held(en)
		tr.steps = tr.steps[:tr.base]
		tr.synced, tr.reason, tr.primary, tr.joinedWith = false, tstep{}, false, nil
		en.key, en.kind = "", ""
		delete(e.wb, id)
		ens = append(ens, en)
	}
	slices.SortFunc(ens, func(a, b *entry) int { return cmp.Or(cmp.Compare(a.rank, b.rank), strings.Compare(a.dn, b.dn)) })

	kind := kindOf(ens[0].obj.Class)
	for _, en := range ens {
		if en.obj.Class == connector.ClassUser {
			kind = KindUser
		}
	}
	// One object per forest: users before contacts, then precedence.
	slices.SortStableFunc(ens, func(a, b *entry) int {
		return cmp.Compare(classOrder(a.obj.Class), classOrder(b.obj.Class))
	})
	var chosen []*entry
	byForest := map[string]*entry{}
	for _, en := range ens {
		if first, dup := byForest[en.id.Connector]; dup {
			en.tr.drop(rJoin, "Another object of "+en.id.Connector+" ("+first.obj.DN+") matches the same way, and a metaverse object joins at most one object of each forest.")
			continue
		}
		byForest[en.id.Connector] = en
		chosen = append(chosen, en)
	}
	slices.SortStableFunc(chosen, func(a, b *entry) int {
		return cmp.Or(cmp.Compare(classOrder(a.obj.Class), classOrder(b.obj.Class)), cmp.Compare(a.rank, b.rank))
	})
	primary := chosen[0]
	var mailbox *csObject
	if kind == KindUser && e.cfg.Matching == setup.MatchSIDs {
		// The enabled account-forest user is the primary; the disabled
		// resource-forest user holds the mailbox.
		for _, en := range chosen {
			if en.obj.Class == connector.ClassUser && !disabled(en.obj) {
				primary = en
				break
			}
		}
		for _, en := range chosen {
			if en != primary && en.obj.Class == connector.ClassUser && disabled(en.obj) {
				mailbox = en.obj
				break
			}
		}
	}
	if primary != chosen[0] {
		chosen = append([]*entry{primary}, slices.DeleteFunc(slices.Clone(chosen), func(x *entry) bool { return x == primary })...)
	}

	value, why, writeback := e.cfg.anchor(kind, primary.obj)
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
	if other, taken := e.owner[key]; taken && other != cid {
		msg := "The sourceAnchor " + key + " is already the key of another object (" + e.sourceOf(e.mv[key]) + "): not synchronized."
		for _, en := range chosen {
			en.tr.drop(rSourceAnchor, msg)
		}
		return
	}

	all := make([]*csObject, len(chosen))
	srcIDs := make([]SourceID, len(chosen))
	for i, en := range chosen {
		all[i], srcIDs[i] = en.obj, en.id
	}
	primary.tr.add(tstep{rule: rSourceAnchor, outcome: oKept, msg: msgAnchorKept, a: key, b: why})
	upn := ""
	if kind == KindUser {
		upn = e.cfg.signIn(primary.obj, primary.tr)
	}
	// The attributes are not kept: desired computes them from the sources
	// when they are written or diffed. Only the steps they add to the
	// trace are recorded now.
	obj := &Object{Key: key, Kind: kind, Sources: srcIDs, upn: upn}
	e.cfg.flowExtensions(sources{all: all, mailbox: mailbox}, nil, primary.tr)
	e.mv[key], e.owner[key], cl.key = obj, cid, key
	e.run.keys[key] = true
	if writeback {
		e.wb[primary.id] = Writeback{Connector: primary.id.Connector, Anchor: primary.id.Anchor, DN: primary.obj.DN, Value: key}
	}
	source := primary.id.Connector + ": " + primary.obj.DN
	for _, en := range chosen {
		en.key, en.kind = key, kind
		t := en.tr
		t.synced, t.primary = true, en == primary
		for _, o := range chosen {
			if o != en {
				t.joinedWith = append(t.joinedWith, o.id)
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
			t.reason = tstep{a: "Joined to " + source + ", which is synchronized as a " + kind + " (sourceAnchor " + key + ")."}
			t.step(rJoin, oKept, t.reason.a)
		}
	}
	if kind == KindGroup {
		e.run.groups[primary.id] = true
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
		if k := e.run.oldKey[en.id]; k != "" && e.kindWas(en, kind) {
			return k
		}
		if k := e.prior[en.id]; k != "" && kindOf(en.obj.Class) == kind {
			return k
		}
	}
	return ""
}

func (e *Engine) takenByOther(key, cid string) bool {
	other, taken := e.owner[key]
	return taken && other != cid
}

// kindWas: the object was part of a metaverse object of that kind (a
// contact joined to a user does not give the user its key).
func (e *Engine) kindWas(en *entry, kind string) bool { return kindOf(en.obj.Class) == kind }

// resolveMembers sets a group's members: its member DNs that are objects of
// its forest synchronized to the cloud, by key. When only some listings
// changed (run.edits) and no listed object's key or DN did, it resolves
// those alone against the members the group's object had.
func (e *Engine) resolveMembers(g SourceID) {
	en := e.cs[g]
	if en == nil || en.key == "" {
		return
	}
	obj := e.mv[en.key]
	if obj == nil || obj.Kind != KindGroup {
		return
	}
	idx := e.dns[g.Connector]
	resolve := func(dn string) string {
		if m := idx[dn]; m != nil && m.key != "" && m.key != en.key {
			return m.key
		}
		return ""
	}
	var keys []string
	if old, ok := e.run.oldMembers[en.key]; ok && old.group == g && !e.run.moved[g] && len(en.resolved) == len(en.members) {
		ed := e.run.edits[g]
		_, edited := e.run.edits[g]
		if !edited || ed != nil && len(ed.added)+len(ed.gone) <= maxMemberEdits {
			keys = old.members
			if ed != nil {
				keys = e.editMembers(en, old.members, ed, resolve)
			}
		}
	}
	if keys == nil {
		en.resolved = nil
		if len(en.members) >= minResolvedKept {
			en.resolved = make([]string, len(en.members))
		}
		keys = make([]string, 0, len(en.members))
		for i, dn := range en.members {
			if k := resolve(dn); k != "" {
				if en.resolved != nil {
					en.resolved[i] = k
				}
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		keys = slices.Compact(keys)
	}
	obj.Members = keys
	e.run.keys[en.key] = true
	e.run.src[g] = true
	detail := strconv.Itoa(len(keys)) + " of " + strconv.Itoa(len(en.members)) + " direct members are synchronized (members by reference; nested groups stay groups)."
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
func (e *Engine) editMembers(en *entry, old []string, ed *memberEdit, resolve func(string) string) []string {
	var add, drop []string
	for _, i := range ed.added {
		k := resolve(en.members[i])
		en.resolved[i] = k
		if k != "" {
			add = append(add, k)
		}
	}
	for _, k := range ed.gone {
		if !slices.Contains(en.resolved, k) {
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
	o := e.mv[key]
	if o == nil {
		return nil
	}
	d := new(Object)
	e.desiredInto(o, d, nil)
	return d
}

// attrBuf is what desiredInto computes an object's attributes in: the
// map, the array of its single values, the object's sources. A full sync's
// write computes a million objects' attributes, each let go once its rows
// are written: it keeps the map (emptied) and the sources from one object
// to the next, and the array of values too when nothing keeps them
// (reuse); otherwise each object's values get an array of their own. A nil
// attrBuf makes a new map, and a slice for each value.
type attrBuf struct {
	attrs  map[string][]string
	single []string
	all    []*csObject
	reuse  bool // the single values too
}

// desiredInto is desired of o, computed into d and buf (nil: new ones).
func (e *Engine) desiredInto(o *Object, d *Object, buf *attrBuf) {
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
		if !buf.reuse || single == nil {
			single = make([]string, 0, 24)
		}
	}
	for _, id := range o.Sources {
		all = append(all, e.cs[id].obj)
	}
	var mailbox *csObject
	if o.Kind == KindUser && e.cfg.Matching == setup.MatchSIDs {
		// As rebuild chose it: the first disabled user after the primary.
		for _, c := range all[1:] {
			if c.Class == connector.ClassUser && disabled(c) {
				mailbox = c
				break
			}
		}
	}
	*d = *o
	d.Source = e.sourceOf(o)
	d.Attrs, single = e.cfg.flowAttrs(o.Kind, o.Key, o.upn, sources{all: all, mailbox: mailbox}, nil, attrs, single)
	if buf != nil {
		buf.all, buf.single = all, single
	}
}

// sourceOf is a metaverse object's Source: its primary's connector and DN.
func (e *Engine) sourceOf(o *Object) string {
	p := o.Sources[0]
	return p.Connector + ": " + e.cs[p].obj.DN
}

// Len is the number of metaverse objects.
func (e *Engine) Len() int { return len(e.mv) }

// Keys are the metaverse keys, sorted.
func (e *Engine) Keys() []string { return slices.Sorted(maps.Keys(e.mv)) }

// Why is a connector-space object's path through the rules, with the cloud
// attributes it contributes to. When the trace is no longer held (a cycle
// wrote it), Why evaluates the object's join cluster again, as a delta
// would: the same rules over the same objects give the same trace.
func (e *Engine) Why(id SourceID) (Trace, bool) {
	en := e.cs[id]
	if en == nil {
		return Trace{}, false
	}
	if en.tr == nil && en.cluster != "" {
		e.begin()
		e.run.clusters[en.cluster] = true
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
	out := make([]Trace, 0, len(o.Sources))
	for _, id := range o.Sources {
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
