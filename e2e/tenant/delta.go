package tenant

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Delta queries (GET /groups/delta, GET /devices/delta), as Graph v1.0
// answers them (learn.microsoft.com/graph/delta-query-overview,
// /graph/api/group-delta, /graph/api/device-delta, /graph/delta-query-groups):
//
//   - The first round returns every object that exists, a page at a time
//     (@odata.nextLink with $skiptoken), the last page carrying
//     @odata.deltaLink with $deltatoken. Groups carry members@delta with the
//     ids of their members when members are tracked (no $select, or
//     $select naming members).
//   - A round started from a deltaLink returns only what changed since:
//     created and changed objects with the tracked properties (only the
//     changed ones with Prefer: return=minimal), membership changes in
//     members@delta (a removed member with "@removed": {"reason": "deleted"}),
//     and removed objects as {"id", "@removed": {"reason"}}: "changed" for a
//     group (it goes to deletedItems and can be restored), "deleted" for a
//     device (deletedItems holds only applications, groups and users:
//     resources/directory).
//   - With $select, a change to a property not selected does not bring the
//     object back (delta-query-overview, "user and group resources").
//   - $filter takes only id eq '…' joined by or (at most 50 ids for groups);
//     $deltatoken=latest returns a deltaLink and no objects.
//   - The query options travel inside the tokens; the links carry nothing else.
//   - A token that is unknown, older than seven days (the limit for
//     directory objects), or from before the journal's floor is refused
//     with 410 Gone and a Location header naming the same query with an
//     empty $deltatoken (delta-query-overview, "Synchronization reset" and
//     "Token duration").
//
// Every change to a group or a device is written to the journal below with a
// version number; a token names versions.

// change is one entry of the change journal.
type change struct {
	Ver  int64  `json:"v"`
	Kind string `json:"k"` // "group" or "device"
	ID   string `json:"id"`
	// Props are the properties changed, as the metadata spells them.
	Props   []string `json:"p,omitempty"`
	Created bool     `json:"c,omitempty"`
	Deleted bool     `json:"d,omitempty"`
	// Member is a member added (or, with Removed, removed).
	Member     string `json:"m,omitempty"`
	MemberType string `json:"mt,omitempty"` // its @odata.type
	Removed    bool   `json:"r,omitempty"`
}

// journal is the emulator's change log, under t.mu; kept in the state file.
type journal struct {
	Changes []change `json:"changes,omitempty"`
	Ver     int64    `json:"ver"`
	// Floor: the versions up to it are no longer kept, so a token from
	// before it can't be answered.
	Floor int64 `json:"floor"`
	// Epoch changes when every token is invalidated (ExpireDeltaTokens).
	Epoch string `json:"epoch"`
	// memberTypes remembers each member's @odata.type, for a removal
	// reported after the member itself is gone; rebuilt at load.
	memberTypes map[string]string
}

// maxJournal is how many changes the journal keeps; older ones are dropped
// and tokens from before them are refused.
const maxJournal = 20000

// deltaTokenLifetime: "For directory objects, the limit is seven days."
// (delta-query-overview, "Token duration").
const deltaTokenLifetime = 7 * 24 * time.Hour

// DefaultDeltaPageSize is how many objects a delta page holds unless
// Options.DeltaPageSize says otherwise ("The number of objects in each page
// can vary": delta-query-overview).
const DefaultDeltaPageSize = 100

// recordLocked appends a change. Caller holds t.mu.
func (t *Tenant) recordLocked(c change) {
	j := &t.journal
	j.Ver++
	c.Ver = j.Ver
	if c.Member != "" && c.MemberType == "" {
		c.MemberType = j.memberTypes[c.Member]
	}
	j.rememberType(c.Member, c.MemberType)
	j.Changes = append(j.Changes, c)
	if len(j.Changes) > maxJournal {
		drop := len(j.Changes) - maxJournal/2
		j.Floor = j.Changes[drop-1].Ver
		j.Changes = slices.Clone(j.Changes[drop:])
	}
}

// rememberType keeps a member's @odata.type for after it is gone.
func (j *journal) rememberType(id, typ string) {
	if id == "" || typ == "" {
		return
	}
	if j.memberTypes == nil {
		j.memberTypes = map[string]string{}
	}
	j.memberTypes[id] = typ
}

// memberTypeLocked is the @odata.type of a directory object that exists.
// Caller holds t.mu.
func (t *Tenant) memberTypeLocked(id string) string {
	if m, _, ok := t.objectJSONLocked(id, []string{"id"}); ok {
		s, _ := m["@odata.type"].(string)
		return s
	}
	return t.journal.memberTypes[id]
}

// recordMemberLocked records a membership change of group gid. Caller holds t.mu.
func (t *Tenant) recordMemberLocked(gid, member string, removed bool) {
	t.recordLocked(change{Kind: "group", ID: gid, Props: []string{"members"}, Member: member, MemberType: t.memberTypeLocked(member), Removed: removed})
}

// changedProps are the properties a write body names, as the route's type
// spells them (directory extensions as written).
func changedProps(r *http.Request, raw map[string]json.RawMessage) []string {
	s := servedOf(r)
	var out []string
	for name := range raw {
		if strings.Contains(name, "@") {
			continue
		}
		if s != nil {
			if p, ok := s.typ.Property(name); ok {
				name = p.Name
			}
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// ExpireDeltaTokens makes every delta token handed out so far unknown, as a
// tenant's maintenance can (delta-query-overview, "Synchronization reset"):
// the next call with one is answered 410 Gone.
func (t *Tenant) ExpireDeltaTokens() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.journal.Epoch = newGUID()
	t.changedLocked()
}

// deltaState is what a $skiptoken or $deltatoken carries (base64url JSON):
// the round's query, where it is and when it was handed out.
type deltaState struct {
	Epoch      string   `json:"e"`
	Collection string   `json:"c"`
	Select     []string `json:"s,omitempty"`
	IDs        []string `json:"f,omitempty"`
	// Since: changes after this version. Initial: the first round (every
	// object, by creation order); Upto: the version the round reads to;
	// After: the last position served (seq or version).
	Since   int64 `json:"v"`
	Initial bool  `json:"i,omitempty"`
	Upto    int64 `json:"u,omitempty"`
	After   int64 `json:"a,omitempty"`
	Issued  int64 `json:"t"`
}

func (s deltaState) encode() string {
	b, _ := json.Marshal(s)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeDeltaState(tok string) (deltaState, bool) {
	var s deltaState
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || json.Unmarshal(b, &s) != nil || s.Epoch == "" {
		return deltaState{}, false
	}
	return s, true
}

// deltaCollection is what a delta route needs of its collection.
type deltaCollection struct {
	name     string // groups, devices
	kind     string // the journal's kind
	resource string // for messages: Group, Device
	maxIDs   int    // the most ids $filter may name (0: no limit)
	members  bool   // members@delta can be tracked
	// removed is the @removed reason of a deleted object.
	removed string
}

var (
	groupsDelta  = deltaCollection{name: "groups", kind: "group", resource: "Group", maxIDs: 50, members: true, removed: "changed"}
	devicesDelta = deltaCollection{name: "devices", kind: "device", resource: "Device", removed: "deleted"}
)

func (t *Tenant) handleGroupsDelta(w http.ResponseWriter, r *http.Request) {
	t.serveDelta(w, r, groupsDelta)
}

func (t *Tenant) handleDevicesDelta(w http.ResponseWriter, r *http.Request) {
	t.serveDelta(w, r, devicesDelta)
}

// deltaOptions are the query options a delta call takes; any other is
// refused as not implemented ($top, $orderby and $expand are not supported
// for users and groups: delta-query-overview).
var deltaOptions = []string{"$select", "$filter", "$deltatoken", "$skiptoken"}

// syncReset is the answer to a token the emulator can't continue: 410 Gone,
// and a Location with the same query and an empty $deltatoken
// (delta-query-overview, "Synchronization reset"). The body's code and
// message are the errors page's syncStateNotFound ("The sync state
// generation is not found. The delta token is expired and data must be
// synchronized again.": learn.microsoft.com/graph/errors); Outlook's
// resources answer 410 SyncStateNotFound (public issue threads).
// Guess: an expired or unknown directory delta token gets 410 Gone with Location and code syncStateNotFound.
func syncReset(w http.ResponseWriter, r *http.Request, s *deltaState) {
	q := url.Values{}
	if s != nil {
		if len(s.Select) > 0 {
			q.Set("$select", strings.Join(s.Select, ","))
		}
		if len(s.IDs) > 0 {
			q.Set("$filter", idFilter(s.IDs))
		}
	}
	loc := baseURL(r) + r.URL.Path + "?" + linkQuery(q)
	if len(q) > 0 {
		loc += "&"
	}
	w.Header().Set("Location", loc+"$deltatoken=")
	writeGraphError(w, r, http.StatusGone, "syncStateNotFound", "The sync state generation is not found. The delta token is expired and data must be synchronized again.", nil)
}

func idFilter(ids []string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = "id eq '" + id + "'"
	}
	return strings.Join(parts, " or ")
}

// linkQuery encodes a query as Graph writes it in links ($, commas, quotes
// and parentheses left as they are).
func linkQuery(q url.Values) string {
	return strings.NewReplacer("%24", "$", "%2C", ",", "%27", "'", "%28", "(", "%29", ")").Replace(q.Encode())
}

// deltaIDs reads a delta $filter: id eq '…' joined by or, nothing else.
func deltaIDs(r *http.Request, c deltaCollection) ([]string, *graphError) {
	f := r.URL.Query().Get("$filter")
	if f == "" {
		return nil, nil
	}
	expr, err := parseFilter(f)
	if err != nil {
		return nil, newGraphError(r, http.StatusBadRequest, "BadRequest", "Invalid filter clause: "+f, nil)
	}
	var ids []string
	for _, conj := range expr {
		if len(conj) != 1 || conj[0].prefix || !strings.EqualFold(conj[0].prop, "id") {
			prop := conj[0].prop
			for _, cond := range conj {
				if !strings.EqualFold(cond.prop, "id") {
					prop = cond.prop
				}
			}
			// The list's answer to a filter it doesn't support (query.go).
			return nil, newGraphError(r, http.StatusBadRequest, "Request_UnsupportedQuery",
				"Unsupported or invalid query filter clause specified for property '"+prop+"' of resource '"+c.resource+"'.", nil)
		}
		ids = append(ids, strings.ToLower(conj[0].value))
	}
	if c.maxIDs > 0 && len(ids) > c.maxIDs {
		// group-delta: "There is a limit of 50 filtered objects."
		// Guess: more than 50 ids in a groups delta $filter is refused with 400 Request_UnsupportedQuery.
		return nil, newGraphError(r, http.StatusBadRequest, "Request_UnsupportedQuery", "The number of ids in the filter exceeds the limit of 50.", nil)
	}
	return ids, nil
}

// deltaSelect splits a checked $select into the properties rendered and
// whether members are tracked; a relationship other than members is not
// implemented.
func deltaSelect(r *http.Request, c deltaCollection, sel []string) ([]string, bool, *graphError) {
	if len(sel) == 0 {
		return nil, c.members, nil
	}
	s := servedOf(r)
	var props []string
	members := false
	for _, name := range sel {
		if p, ok := s.typ.Property(name); ok && p.Navigation {
			if c.members && p.Name == "members" {
				members = true
				continue
			}
			return nil, false, notImplemented(r, "tracking "+p.Name+" in a delta query")
		}
		props = append(props, name)
	}
	if len(props) == 0 {
		props = []string{"id"}
	}
	return props, members, nil
}

// serveDelta answers GET /{collection}/delta.
func (t *Tenant) serveDelta(w http.ResponseWriter, r *http.Request, c deltaCollection) {
	q := r.URL.Query()
	var skip, dtok string
	var hasDelta bool
	for k, v := range q {
		lk := strings.ToLower(k)
		switch {
		case !slices.Contains(deltaOptions, lk):
			writeGErr(w, notImplemented(r, "the query option "+k+" in a delta query"))
			return
		case lk == "$skiptoken":
			skip = v[0]
		case lk == "$deltatoken":
			dtok, hasDelta = v[0], true
		}
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	var st deltaState
	switch {
	case skip != "" || (hasDelta && dtok != "" && !strings.EqualFold(dtok, "latest")):
		tok := skip
		if tok == "" {
			tok = dtok
		}
		if q.Get("$select") != "" || q.Get("$filter") != "" {
			// "Delta queries with both $select and $skipToken will not be
			// supported"; with a deltaLink it is announced, not yet there.
			writeGErr(w, notImplemented(r, "query options beside a delta token"))
			return
		}
		s, ok := decodeDeltaState(tok)
		switch {
		case !ok:
			syncReset(w, r, nil)
			return
		case s.Epoch != t.journal.Epoch || s.Collection != c.name || s.Since < t.journal.Floor ||
			now.Sub(time.Unix(s.Issued, 0)) > deltaTokenLifetime || (skip != "" && s.Upto == 0 && !s.Initial):
			syncReset(w, r, &s)
			return
		}
		st = s
		if skip == "" {
			// A new round of changes from a deltaLink: read up to now.
			st.Upto, st.After, st.Initial = t.journal.Ver, 0, false
		}
	default:
		sel := servedOf(r).sel
		if len(servedOf(r).expand) > 0 {
			writeGErr(w, notImplemented(r, "$expand in a delta query"))
			return
		}
		ids, e := deltaIDs(r, c)
		if e != nil {
			writeGErr(w, e)
			return
		}
		st = deltaState{Epoch: t.journal.Epoch, Collection: c.name, Select: sel, IDs: ids, Initial: true, Upto: t.journal.Ver}
		if hasDelta && strings.EqualFold(dtok, "latest") {
			// "sync from now": a deltaLink and no objects.
			t.writeDeltaPage(w, r, c, nil, deltaState{Epoch: st.Epoch, Collection: c.name, Select: sel, IDs: ids, Since: t.journal.Ver}, false, now)
			return
		}
	}
	props, members, e := deltaSelect(r, c, st.Select)
	if e != nil {
		writeGErr(w, e)
		return
	}
	size := t.deltaPage
	var items []map[string]any
	var more bool
	if st.Initial {
		items, st.After, more = t.initialPageLocked(c, st, props, members, size)
	} else {
		minimal := strings.Contains(strings.ToLower(r.Header.Get("Prefer")), "return=minimal")
		items, st.After, more = t.changesPageLocked(c, st, props, members, minimal, size)
	}
	if !more {
		st = deltaState{Epoch: st.Epoch, Collection: c.name, Select: st.Select, IDs: st.IDs, Since: st.Upto}
	}
	t.writeDeltaPage(w, r, c, items, st, more, now)
}

// writeDeltaPage writes a page with its nextLink (more) or deltaLink.
// Caller holds t.mu.
func (t *Tenant) writeDeltaPage(w http.ResponseWriter, r *http.Request, c deltaCollection, items []map[string]any, st deltaState, more bool, now time.Time) {
	st.Issued = now.Unix()
	if items == nil {
		items = []map[string]any{}
	}
	body := map[string]any{"@odata.context": baseURL(r) + "/v1.0/$metadata#" + c.name, "value": items}
	link := baseURL(r) + r.URL.Path
	if more {
		body["@odata.nextLink"] = link + "?$skiptoken=" + st.encode()
	} else {
		body["@odata.deltaLink"] = link + "?$deltatoken=" + st.encode()
	}
	writeJSON(w, http.StatusOK, body)
}

// deltaObjectLocked renders an object of the collection that exists, and
// its creation order. Caller holds t.mu.
func (t *Tenant) deltaObjectLocked(c deltaCollection, id string, props []string) (map[string]any, int64, bool) {
	switch c.kind {
	case "group":
		if g := t.groups[id]; g != nil {
			return g.json(props), g.Seq, true
		}
	case "device":
		if d := t.devices[id]; d != nil {
			return d.json(props), d.Seq, true
		}
	}
	return nil, 0, false
}

// allMembersLocked is members@delta for a group's whole membership (nil
// when it has none: the property is then left out). Caller holds t.mu.
func (t *Tenant) allMembersLocked(id string) []map[string]any {
	g := t.groups[id]
	if g == nil {
		return nil
	}
	var out []map[string]any
	for _, m := range g.Members {
		out = append(out, map[string]any{"@odata.type": t.memberTypeLocked(m), "id": m})
	}
	return out
}

// initialPageLocked is a page of the first round: the objects that exist,
// in creation order after st.After. Caller holds t.mu.
func (t *Tenant) initialPageLocked(c deltaCollection, st deltaState, props []string, members bool, size int) ([]map[string]any, int64, bool) {
	type obj struct {
		seq int64
		m   map[string]any
	}
	var all []obj
	var ids []string
	switch c.kind {
	case "group":
		for id := range t.groups {
			ids = append(ids, id)
		}
	case "device":
		for id := range t.devices {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		if len(st.IDs) > 0 && !slices.Contains(st.IDs, id) {
			continue
		}
		m, seq, _ := t.deltaObjectLocked(c, id, props)
		if seq <= st.After {
			continue
		}
		if members {
			if ms := t.allMembersLocked(id); ms != nil {
				m["members@delta"] = ms
			}
		}
		all = append(all, obj{seq, m})
	}
	slices.SortFunc(all, func(a, b obj) int { return cmpInt64(a.seq, b.seq) })
	more := len(all) > size
	all = all[:min(size, len(all))]
	out := make([]map[string]any, 0, len(all))
	after := st.After
	for _, o := range all {
		out = append(out, o.m)
		after = o.seq
	}
	return out, after, more
}

// touched is what a round of changes knows of one object.
type touched struct {
	id      string
	last    int64 // the latest version in the window: the page order
	created bool
	props   map[string]bool
	members []string          // in the order first touched
	types   map[string]string // their @odata.type as recorded
}

// changesPageLocked is a page of a round of changes: the objects changed
// in (st.Since, st.Upto], by their latest change, after st.After. Caller
// holds t.mu.
func (t *Tenant) changesPageLocked(c deltaCollection, st deltaState, props []string, members, minimal bool, size int) ([]map[string]any, int64, bool) {
	byID := map[string]*touched{}
	var order []*touched
	for _, ch := range t.journal.Changes {
		if ch.Ver <= st.Since || ch.Ver > st.Upto || ch.Kind != c.kind {
			continue
		}
		if len(st.IDs) > 0 && !slices.Contains(st.IDs, ch.ID) {
			continue
		}
		o := byID[ch.ID]
		if o == nil {
			o = &touched{id: ch.ID, props: map[string]bool{}, types: map[string]string{}}
			byID[ch.ID] = o
			order = append(order, o)
		}
		o.last = ch.Ver
		o.created = o.created || ch.Created
		for _, p := range ch.Props {
			o.props[p] = true
		}
		if ch.Member != "" && !slices.Contains(o.members, ch.Member) {
			o.members = append(o.members, ch.Member)
		}
		if ch.MemberType != "" {
			o.types[ch.Member] = ch.MemberType
		}
	}
	var list []*touched
	for _, o := range order {
		if o.last <= st.After {
			continue
		}
		_, _, exists := t.deltaObjectLocked(c, o.id, nil)
		if exists && !o.created && !t.tracked(o, props, members) {
			continue
		}
		list = append(list, o)
	}
	slices.SortFunc(list, func(a, b *touched) int { return cmpInt64(a.last, b.last) })
	more := len(list) > size
	list = list[:min(size, len(list))]
	out := make([]map[string]any, 0, len(list))
	after := st.After
	for _, o := range list {
		after = o.last
		m, _, exists := t.deltaObjectLocked(c, o.id, props)
		if !exists {
			out = append(out, map[string]any{"id": o.id, "@removed": map[string]any{"reason": c.removed}})
			continue
		}
		if minimal && !o.created {
			for k := range m {
				if k != "id" && !o.props[k] {
					delete(m, k)
				}
			}
		}
		if members {
			var ms []map[string]any
			if o.created {
				ms = t.allMembersLocked(o.id)
			} else {
				g := t.groups[o.id]
				for _, mid := range o.members {
					typ := t.memberTypeLocked(mid)
					if typ == "" {
						typ = o.types[mid]
					}
					item := map[string]any{"@odata.type": typ, "id": mid}
					if !slices.Contains(g.Members, mid) {
						item["@removed"] = map[string]any{"reason": "deleted"}
					}
					ms = append(ms, item)
				}
			}
			if ms != nil {
				m["members@delta"] = ms
			}
		}
		out = append(out, m)
	}
	return out, after, more
}

// tracked reports whether a change to o is one the round tracks: with
// $select, only the selected properties (and members when selected);
// without, any. Caller holds t.mu.
func (t *Tenant) tracked(o *touched, props []string, members bool) bool {
	if members && len(o.members) > 0 {
		return true
	}
	if props == nil {
		for p := range o.props {
			if p != "members" {
				return true
			}
		}
		return false
	}
	for _, p := range props {
		if o.props[p] {
			return true
		}
	}
	return false
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
