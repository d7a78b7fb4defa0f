// Package writeback writes Microsoft 365 groups and devices from the tenant
// into Active Directory, as Microsoft Entra Connect's group writeback (V1)
// and device writeback do, with public Microsoft Graph reads and LDAP writes
// only (research B1, B2; issue 14).
//
// Each cycle, per kind: Read follows Graph's delta from the link the last
// round ended with and keeps the tenant's side of every object in the store
// (writeback_objects, migration 015: a delta round tells only what changed);
// Plan compares what the tenant holds with what was written and gives the
// operations, one per object and one per member value; Apply makes them
// with the forest's connector account. Staging mode reads and plans, and
// writes nothing.
//
// A cloud object finds its AD object through the metaverse: its cloud id is
// in mv_exported (what the export put in the tenant, with its mv_key), the
// mv_key's join in the forest's connector space names the AD object (its DN
// and, in the connector space row, its objectSid). That is the record of
// what hybridsync itself exported, so it never guesses; a user synced by
// another tool before hybridsync (no mv_exported row) is found by its
// onPremisesImmutableId where Graph gives it (device owners), which is the
// sourceAnchor and so the mv_key.
//
// Restart safety: an add is recorded (create_started_at) before it is sent,
// and every add first looks the object up by its anchor (adminDescription
// Group_<id>, msDS-DeviceID): one found is taken over, never created again.
// Value writes are idempotent (a value already there, or already gone,
// counts as written).
package writeback

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/hybridsync/hybridsync/engine/cloud"
	"github.com/hybridsync/hybridsync/engine/directory"
	"github.com/hybridsync/hybridsync/engine/export"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
)

// Graph is what writeback reads of the tenant (*cloud.Client).
type Graph interface {
	ReadGroupsDelta(ctx context.Context, link string) (*cloud.GroupsDelta, error)
	ReadDevicesDelta(ctx context.Context, link string) (*cloud.DevicesDelta, error)
}

// Directory is what writeback does in the forest (*directory.Conn).
type Directory interface {
	FindObjects(ctx context.Context, base, filter string, attrs []string) ([]directory.Found, error)
	AddObject(ctx context.Context, dn string, attrs map[string][]string) error
	ReplaceValues(ctx context.Context, dn string, attrs map[string][]string) error
	AddValue(ctx context.Context, dn, attr, value string) error
	DeleteValue(ctx context.Context, dn, attr, value string) error
	RenameObject(ctx context.Context, dn, newRDN string) (string, error)
	DeleteObject(ctx context.Context, dn string) error
}

// Options are one writeback's settings, from the configuration.
type Options struct {
	// Kind is store.WritebackKindGroup or store.WritebackKindDevice.
	Kind            string
	ConfigurationID int64
	Forest          string
	// Connector is the forest's connector space (connector.Spec.Name).
	Connector string
	// GroupOU and GroupNaming (setup.NamingObjectID, NamingDisplayName):
	// where groups go and how they are named.
	GroupOU, GroupNaming string
	// DevicesDN is CN=RegisteredDevices of the forest root domain.
	DevicesDN string
	// ExternalID: the schema has msDS-ExternalDirectoryObjectId; Compliant:
	// msDS-IsCompliant. Unknown (staging reads no schema): false.
	ExternalID, Compliant bool
	// Full reads everything instead of the changes since the last round (a
	// full cycle): what Graph's delta does not tell, such as a device's
	// registered owners changing, is read again.
	Full bool
}

// Operations.
const (
	OpAdd          = "add"
	OpUpdate       = "update"
	OpRename       = "rename"
	OpMemberAdd    = "member-add"
	OpMemberRemove = "member-remove"
	OpDelete       = "delete"
)

// Op is one pending (or made) change in the forest.
type Op struct {
	Op      string `json:"op"`
	Kind    string `json:"kind"`
	CloudID string `json:"cloudId"`
	Name    string `json:"name"` // the cloud object's display name
	DN      string `json:"dn"`   // the AD object (its new DN for an add or a rename)
	// Value is the member DN of a membership change; Attrs the attributes
	// of an add or the changed ones of an update.
	Value string              `json:"value,omitempty"`
	Attrs map[string][]string `json:"attrs,omitempty"`
}

// Plan is what one writeback would do.
type Plan struct {
	Kind string
	Ops  []Op
	// NotWritten are cloud objects left out, worded for the run history: a
	// group's cloud-only members, devices without an owner synced from the
	// forest.
	NotWritten []string
	// rows by cloud id, with the desired state per object.
	rows    map[string]*store.WritebackObject
	desired map[string]desired
}

// desired is an object as it should be in the forest.
type desired struct {
	dn      string
	attrs   map[string][]string
	members []string // groups: member DNs
}

// Counts counts a plan's (or a result's) operations as the run history
// does: adds, updates (renames too), deletes, memberships.
func Counts(ops []Op) (adds, updates, deletes, memberships int) {
	for _, o := range ops {
		switch o.Op {
		case OpAdd:
			adds++
		case OpUpdate, OpRename:
			updates++
		case OpDelete:
			deletes++
		case OpMemberAdd, OpMemberRemove:
			memberships++
		}
	}
	return
}

// Deletes counts a plan's deletes.
func (p *Plan) Deletes() int {
	_, _, d, _ := Counts(p.Ops)
	return d
}

// ---- reading the tenant ------------------------------------------------------

// Read follows a round of the kind's delta from the kept link (a full read
// when there is none, or Graph refused it) and keeps the tenant's side of
// every object in the store; the round's link is kept after, so a stop
// between the two reads the same round again, harmlessly. It returns how
// many objects the round reported and whether it was a full read.
func Read(ctx context.Context, st *store.Store, g Graph, o Options) (int, bool, error) {
	deltaKind := store.WritebackGroups
	if o.Kind == store.WritebackKindDevice {
		deltaKind = store.WritebackDevices
	}
	link, err := st.WritebackDelta(ctx, o.ConfigurationID, deltaKind)
	if err != nil {
		return 0, false, err
	}
	if o.Full {
		link = ""
	}
	rows, err := st.WritebackObjects(ctx, o.Kind)
	if err != nil {
		return 0, false, err
	}
	byID := map[string]*store.WritebackObject{}
	for i := range rows {
		byID[rows[i].CloudID] = &rows[i]
	}
	changed := map[string]bool{}
	row := func(id string) *store.WritebackObject {
		r, ok := byID[id]
		if !ok {
			r = &store.WritebackObject{Kind: o.Kind, CloudID: id, Forest: o.Forest, Members: map[string]string{}}
			byID[id] = r
		}
		changed[id] = true
		return r
	}
	remove := func(id string) {
		if r, ok := byID[id]; ok && !r.Removed {
			r.Removed = true
			changed[id] = true
		}
	}
	var n int
	var full bool
	var next string
	switch o.Kind {
	case store.WritebackKindGroup:
		d, err := g.ReadGroupsDelta(ctx, link)
		if errors.Is(err, cloud.ErrDeltaExpired) {
			d, err = g.ReadGroupsDelta(ctx, "")
		}
		if err != nil {
			return 0, false, err
		}
		n, full, next = len(d.Groups)+len(d.NotUnified), d.Full, d.DeltaLink
		seen := map[string]bool{}
		for _, gc := range d.Groups {
			if gc.RemovedReason != "" {
				remove(gc.ID)
				continue
			}
			seen[gc.ID] = true
			r := row(gc.ID)
			r.Removed = false
			r.Tenant, _ = json.Marshal(groupState{ID: gc.ID, DisplayName: gc.DisplayName, Description: gc.Description})
			if d.Full || r.Members == nil {
				r.Members = map[string]string{}
			}
			for _, m := range gc.Members {
				if m.Removed {
					delete(r.Members, m.ID)
				} else {
					r.Members[m.ID] = m.ODataType
				}
			}
		}
		for _, id := range d.NotUnified {
			remove(id)
		}
		if d.Full {
			for id := range byID {
				if !seen[id] {
					remove(id)
				}
			}
		}
	case store.WritebackKindDevice:
		d, err := g.ReadDevicesDelta(ctx, link)
		if errors.Is(err, cloud.ErrDeltaExpired) {
			d, err = g.ReadDevicesDelta(ctx, "")
		}
		if err != nil {
			return 0, false, err
		}
		n, full, next = len(d.Devices), d.Full, d.DeltaLink
		seen := map[string]bool{}
		for _, dc := range d.Devices {
			if dc.RemovedReason != "" {
				remove(dc.ID)
				continue
			}
			seen[dc.ID] = true
			r := row(dc.ID)
			r.Removed = false
			r.Tenant, _ = json.Marshal(deviceState{DeviceState: dc.DeviceState, Owners: dc.Owners})
		}
		if d.Full {
			for id := range byID {
				if !seen[id] {
					remove(id)
				}
			}
		}
	default:
		return 0, false, fmt.Errorf("writeback: unknown kind %q", o.Kind)
	}
	var save []store.WritebackObject
	for id := range changed {
		r := byID[id]
		if r.Removed && r.DN == "" && r.CreateStartedAt.IsZero() {
			// Never written: nothing to delete in the forest.
			if err := st.DeleteWritebackObject(ctx, o.Kind, id); err != nil {
				return 0, false, err
			}
			continue
		}
		save = append(save, *r)
	}
	if err := st.SaveWritebackObjects(ctx, save); err != nil {
		return 0, false, err
	}
	if err := st.SetWritebackDelta(ctx, o.ConfigurationID, deltaKind, next); err != nil {
		return 0, false, err
	}
	return n, full, nil
}

// groupState is what the store keeps of a Microsoft 365 group.
type groupState struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Description string `json:"description,omitempty"`
}

// deviceState is what the store keeps of a device.
type deviceState struct {
	cloud.DeviceState
	Owners []cloud.DeviceOwner `json:"owners,omitempty"`
}

// ---- planning ------------------------------------------------------------------

// Resolver finds the AD object of a cloud object through the metaverse.
type Resolver struct {
	st        *store.Store
	connector string
	// byCloud: cloud id → mv_key (what hybridsync exported).
	byCloud map[string]string
	cache   map[string]*adObject // mv_key → its object in the forest (nil: none)
}

// adObject is a synced object's AD side.
type adObject struct {
	DN  string
	SID []byte
}

// NewResolver reads the mv_keys of the cloud ids.
func NewResolver(ctx context.Context, st *store.Store, connector string, cloudIDs []string) (*Resolver, error) {
	refs, err := st.ExportedByCloudID(ctx, cloudIDs)
	if err != nil {
		return nil, err
	}
	r := &Resolver{st: st, connector: connector, byCloud: map[string]string{}, cache: map[string]*adObject{}}
	for id, ref := range refs {
		r.byCloud[id] = ref.Key
	}
	return r, nil
}

// ByCloudID is the AD object of an exported cloud object in the forest, or nil.
func (r *Resolver) ByCloudID(ctx context.Context, id string) (*adObject, error) {
	key, ok := r.byCloud[id]
	if !ok {
		return nil, nil
	}
	return r.ByKey(ctx, key)
}

// ByKey is the AD object a metaverse key joins in the forest, or nil.
func (r *Resolver) ByKey(ctx context.Context, key string) (*adObject, error) {
	if key == "" {
		return nil, nil
	}
	if o, ok := r.cache[key]; ok {
		return o, nil
	}
	joins, err := r.st.MetaverseJoinsOf(ctx, key)
	if err != nil {
		return nil, err
	}
	var found *adObject
	for _, j := range joins {
		if !j.Synced || j.Connector != r.connector {
			continue
		}
		rows, err := r.st.CSObjects(ctx, j.Connector, []string{j.Anchor})
		if err != nil {
			return nil, err
		}
		for _, row := range rows {
			if row.Deleted {
				continue
			}
			found = &adObject{DN: row.DN}
			if v := row.Attrs["objectsid"]; len(v) > 0 {
				found.SID, _ = decodeB64(v[0])
			}
		}
		if found != nil {
			break
		}
	}
	r.cache[key] = found
	return found, nil
}

// MakePlan compares the tenant's side of every object of the kind with what
// was written, and gives the operations.
func MakePlan(ctx context.Context, st *store.Store, o Options) (*Plan, error) {
	rows, err := st.WritebackObjects(ctx, o.Kind)
	if err != nil {
		return nil, err
	}
	p := &Plan{Kind: o.Kind, rows: map[string]*store.WritebackObject{}, desired: map[string]desired{}}
	var ids []string
	for i := range rows {
		p.rows[rows[i].CloudID] = &rows[i]
		switch o.Kind {
		case store.WritebackKindGroup:
			for id := range rows[i].Members {
				ids = append(ids, id)
			}
		case store.WritebackKindDevice:
			var d deviceState
			_ = json.Unmarshal(rows[i].Tenant, &d)
			for _, ow := range d.Owners {
				ids = append(ids, ow.ID)
			}
		}
	}
	res, err := NewResolver(ctx, st, o.Connector, ids)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		r := &rows[i]
		if !strings.EqualFold(r.Forest, o.Forest) {
			// Written into a forest that is no longer the one chosen: left
			// there (this writeback connects to the chosen forest only).
			if r.DN != "" {
				p.NotWritten = append(p.NotWritten, fmt.Sprintf("%s: written into %s, which no longer receives writeback; left there (%s)", nameOf(r), r.Forest, r.DN))
			}
			continue
		}
		if r.Removed {
			if r.DN != "" || !r.CreateStartedAt.IsZero() {
				p.Ops = append(p.Ops, Op{Op: OpDelete, Kind: o.Kind, CloudID: r.CloudID, Name: nameOf(r), DN: r.DN})
			}
			continue
		}
		var want *desired
		switch o.Kind {
		case store.WritebackKindGroup:
			want, err = p.desiredGroup(ctx, o, r, res)
		case store.WritebackKindDevice:
			want, err = p.desiredDevice(ctx, o, r, res)
		}
		if err != nil {
			return nil, err
		}
		if want == nil {
			if r.DN != "" || !r.CreateStartedAt.IsZero() {
				p.Ops = append(p.Ops, Op{Op: OpDelete, Kind: o.Kind, CloudID: r.CloudID, Name: nameOf(r), DN: r.DN})
			}
			continue
		}
		p.desired[r.CloudID] = *want
		p.Ops = append(p.Ops, diff(o.Kind, r, *want)...)
	}
	// Adds first, then changes, then deletes (each in cloud id order).
	rank := map[string]int{OpAdd: 0, OpRename: 1, OpUpdate: 2, OpMemberAdd: 3, OpMemberRemove: 4, OpDelete: 5}
	slices.SortStableFunc(p.Ops, func(a, b Op) int { return rank[a.Op] - rank[b.Op] })
	return p, nil
}

// diff is the operations that take what was written of r to want.
func diff(kind string, r *store.WritebackObject, want desired) []Op {
	name := nameOf(r)
	if r.DN == "" {
		return []Op{{Op: OpAdd, Kind: kind, CloudID: r.CloudID, Name: name, DN: want.dn, Attrs: want.attrs}}
	}
	var ops []Op
	if !strings.EqualFold(r.DN, want.dn) && kind == store.WritebackKindGroup {
		ops = append(ops, Op{Op: OpRename, Kind: kind, CloudID: r.CloudID, Name: name, DN: want.dn})
	}
	changed := changedAttrs(r.Written, want.attrs)
	if len(changed) > 0 {
		ops = append(ops, Op{Op: OpUpdate, Kind: kind, CloudID: r.CloudID, Name: name, DN: want.dn, Attrs: changed})
	}
	had := map[string]bool{}
	for _, m := range r.WrittenMembers {
		had[strings.ToLower(m)] = true
	}
	wants := map[string]bool{}
	for _, m := range want.members {
		wants[strings.ToLower(m)] = true
		if !had[strings.ToLower(m)] {
			ops = append(ops, Op{Op: OpMemberAdd, Kind: kind, CloudID: r.CloudID, Name: name, DN: want.dn, Value: m})
		}
	}
	for _, m := range r.WrittenMembers {
		if !wants[strings.ToLower(m)] {
			ops = append(ops, Op{Op: OpMemberRemove, Kind: kind, CloudID: r.CloudID, Name: name, DN: want.dn, Value: m})
		}
	}
	return ops
}

// changedAttrs are the attributes of want whose values differ from had
// (objectClass aside: it never changes), with the values wanted; an
// attribute written before and no longer wanted is cleared.
func changedAttrs(had, want map[string][]string) map[string][]string {
	out := map[string][]string{}
	for k, v := range want {
		if strings.EqualFold(k, "objectClass") {
			continue
		}
		if !slices.Equal(had[k], v) {
			out[k] = v
		}
	}
	for k := range had {
		if _, ok := want[k]; !ok && !strings.EqualFold(k, "objectClass") {
			out[k] = []string{}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// nameOf is a row's display name, for the run history and the review.
func nameOf(r *store.WritebackObject) string {
	var v struct {
		DisplayName string `json:"displayName"`
	}
	_ = json.Unmarshal(r.Tenant, &v)
	if v.DisplayName == "" {
		return r.CloudID
	}
	return v.DisplayName
}

// desiredGroup is a Microsoft 365 group as a universal distribution group
// (groupType 8, research B1.2: M365 groups are written back as universal
// distribution groups) in the chosen OU.
func (p *Plan) desiredGroup(ctx context.Context, o Options, r *store.WritebackObject, res *Resolver) (*desired, error) {
	var g groupState
	if err := json.Unmarshal(r.Tenant, &g); err != nil {
		return nil, fmt.Errorf("writeback: the kept state of group %s is unreadable: %w", r.CloudID, err)
	}
	cn := setup.GroupCN(o.GroupNaming, r.CloudID, g.DisplayName)
	attrs := map[string][]string{
		"objectClass":      {"group"},
		"groupType":        {"8"},
		"displayName":      {g.DisplayName},
		"adminDescription": {GroupAnchor(r.CloudID)},
	}
	if d := description(g.Description); d != "" {
		attrs["description"] = []string{d}
	}
	if o.ExternalID {
		attrs[directory.AttrExternalDirectoryObjectID] = []string{GroupAnchor(r.CloudID)}
	}
	want := &desired{dn: directory.RDNValue("CN", cn) + "," + o.GroupOU, attrs: attrs}
	var cloudOnly []string
	ids := make([]string, 0, len(r.Members))
	for id := range r.Members {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		typ := r.Members[id]
		// A member group that is written back itself: its written DN.
		if other, ok := p.rows[id]; ok && strings.HasSuffix(typ, ".group") {
			if other.DN != "" && !other.Removed {
				want.members = append(want.members, other.DN)
			} else {
				cloudOnly = append(cloudOnly, id)
			}
			continue
		}
		ad, err := res.ByCloudID(ctx, id)
		if err != nil {
			return nil, err
		}
		if ad == nil {
			cloudOnly = append(cloudOnly, id)
			continue
		}
		want.members = append(want.members, ad.DN)
	}
	if len(cloudOnly) > 0 {
		p.NotWritten = append(p.NotWritten, fmt.Sprintf("%s: %d member(s) without an object in %s (cloud-only, or not synchronized from it): %s",
			g.DisplayName, len(cloudOnly), o.Forest, strings.Join(firstN(cloudOnly, 5), ", ")))
	}
	return want, nil
}

// desiredDevice is a registered or joined device as an msDS-Device in
// CN=RegisteredDevices, when a registered owner is a user synchronized from
// the forest; nil otherwise (and for hybrid-joined devices, which are the
// forest's own computers).
func (p *Plan) desiredDevice(ctx context.Context, o Options, r *store.WritebackObject, res *Resolver) (*desired, error) {
	var d deviceState
	if err := json.Unmarshal(r.Tenant, &d); err != nil {
		return nil, fmt.Errorf("writeback: the kept state of device %s is unreadable: %w", r.CloudID, err)
	}
	if strings.EqualFold(d.TrustType, "ServerAd") {
		return nil, nil
	}
	var owner *adObject
	for _, ow := range d.Owners {
		ad, err := res.ByCloudID(ctx, ow.ID)
		if err == nil && ad == nil && ow.OnPremisesImmutableID != "" {
			ad, err = res.ByKey(ctx, ow.OnPremisesImmutableID)
		}
		if err != nil {
			return nil, err
		}
		if ad != nil {
			if len(ad.SID) == 0 && ow.OnPremisesSecurityIdentifier != "" {
				if sid, err := directory.ParseSID(ow.OnPremisesSecurityIdentifier); err == nil {
					ad.SID = sid
				}
			}
			if len(ad.SID) > 0 {
				owner = ad
				break
			}
		}
	}
	if owner == nil {
		p.NotWritten = append(p.NotWritten, fmt.Sprintf("%s: no registered owner is a user synchronized from %s", orID(d.DisplayName, r.CloudID), o.Forest))
		return nil, nil
	}
	devID, err := DeviceIDBytes(d.DeviceID)
	if err != nil {
		p.NotWritten = append(p.NotWritten, fmt.Sprintf("%s: %v", orID(d.DisplayName, r.CloudID), err))
		return nil, nil
	}
	alt := AltSecurityIdentities(d.AlternativeSecurityIDs)
	if len(alt) == 0 {
		// altSecurityIdentities is a must of msDS-Device.
		p.NotWritten = append(p.NotWritten, fmt.Sprintf("%s: no alternativeSecurityIds key of the X509 shape, which altSecurityIdentities (required) is written from", orID(d.DisplayName, r.CloudID)))
		return nil, nil
	}
	enabled := d.AccountEnabled == nil || *d.AccountEnabled
	attrs := map[string][]string{
		"objectClass":           {"msDS-Device"},
		"displayName":           {orID(d.DisplayName, d.DeviceID)},
		"msDS-DeviceID":         {string(devID)},
		"msDS-IsEnabled":        {ldapBool(enabled)},
		"altSecurityIdentities": alt,
		"msDS-RegisteredOwner":  {string(owner.SID)},
		"msDS-CloudAnchor":      {CloudAnchor(r.CloudID)},
	}
	if d.OperatingSystem != "" {
		attrs["msDS-DeviceOSType"] = []string{d.OperatingSystem}
	}
	if d.OperatingSystemVersion != "" {
		attrs["msDS-DeviceOSVersion"] = []string{d.OperatingSystemVersion}
	}
	if len(d.PhysicalIDs) > 0 {
		attrs["msDS-DevicePhysicalIDs"] = slices.Clone(d.PhysicalIDs)
	}
	if d.IsManaged != nil {
		attrs["msDS-IsManaged"] = []string{ldapBool(*d.IsManaged)}
	}
	if d.IsCompliant != nil && o.Compliant {
		attrs["msDS-IsCompliant"] = []string{ldapBool(*d.IsCompliant)}
	}
	if d.DeviceVersion != nil {
		attrs["msDS-DeviceObjectVersion"] = []string{fmt.Sprint(*d.DeviceVersion)}
	}
	return &desired{dn: directory.RDNValue("CN", strings.ToLower(d.DeviceID)) + "," + o.DevicesDN, attrs: attrs}, nil
}

func decodeB64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

func orID(name, id string) string {
	if name == "" {
		return id
	}
	return name
}

func firstN(v []string, n int) []string {
	if len(v) <= n {
		return v
	}
	return append(slices.Clone(v[:n]), fmt.Sprintf("and %d more", len(v)-n))
}

// ---- applying ----------------------------------------------------------------

// Failure is an operation the forest refused.
type Failure struct {
	Op  Op
	Err error
}

// Result is what Apply did.
type Result struct {
	Done   []Op
	Failed []Failure
	// TakenOver counts adds that found their object already in the forest
	// (an earlier add that was not recorded): taken over, not created again.
	TakenOver int
}

// GuardCheck is the deletion guard's verdict on a plan: deletes in the
// forest count as the export's do, against the number of objects written.
func GuardCheck(g store.DeletionGuard, p *Plan) export.GuardDecision {
	written := 0
	for _, r := range p.rows {
		if r.DN != "" {
			written++
		}
	}
	return export.CheckDeletions(g, p.Deletes(), written)
}

// Apply makes a plan's operations in the forest, recording each object as
// it goes. An object whose operation fails keeps its record and is tried
// again by the next cycle.
func Apply(ctx context.Context, st *store.Store, dir Directory, o Options, p *Plan) (*Result, error) {
	res := &Result{}
	dirty := map[string]bool{}
	save := func(id string) error {
		if !dirty[id] {
			return nil
		}
		dirty[id] = false
		return st.SaveWritebackObjects(ctx, []store.WritebackObject{*p.rows[id]})
	}
	failed := map[string]bool{}
	fail := func(op Op, err error) {
		res.Failed = append(res.Failed, Failure{Op: op, Err: err})
		failed[op.CloudID] = true
	}
	for i := 0; i < len(p.Ops); i++ {
		op := p.Ops[i]
		if err := ctx.Err(); err != nil {
			return res, err
		}
		r := p.rows[op.CloudID]
		if failed[op.CloudID] && op.Op != OpDelete {
			continue // its add or rename failed: the rest waits for the next cycle
		}
		switch op.Op {
		case OpAdd:
			took, err := add(ctx, st, dir, o, r, p.desired[op.CloudID])
			if err != nil {
				fail(op, err)
				continue
			}
			if took {
				res.TakenOver++
				// Found there: what differs from the wanted is written next.
				more := diff(o.Kind, r, p.desired[op.CloudID])
				p.Ops = slices.Insert(p.Ops, i+1, more...)
			}
			res.Done = append(res.Done, op)
		case OpRename:
			rdn := op.DN
			if c := indexComma(op.DN); c >= 0 {
				rdn = op.DN[:c]
			}
			dn, err := dir.RenameObject(ctx, r.DN, rdn)
			if err != nil {
				fail(op, lost(r, err))
				dirty[op.CloudID] = true
				continue
			}
			r.DN, dirty[op.CloudID] = dn, true
			res.Done = append(res.Done, op)
		case OpUpdate:
			if err := dir.ReplaceValues(ctx, r.DN, op.Attrs); err != nil {
				fail(op, lost(r, err))
				dirty[op.CloudID] = true
				continue
			}
			if r.Written == nil {
				r.Written = map[string][]string{}
			}
			for k, v := range op.Attrs {
				if len(v) == 0 {
					delete(r.Written, k)
				} else {
					r.Written[k] = v
				}
			}
			r.WrittenAt, dirty[op.CloudID] = time.Now(), true
			res.Done = append(res.Done, op)
		case OpMemberAdd, OpMemberRemove:
			var err error
			if op.Op == OpMemberAdd {
				err = dir.AddValue(ctx, r.DN, "member", op.Value)
			} else {
				err = dir.DeleteValue(ctx, r.DN, "member", op.Value)
			}
			if err != nil {
				fail(op, lost(r, err))
				dirty[op.CloudID] = true
				continue
			}
			if op.Op == OpMemberAdd {
				r.WrittenMembers = append(r.WrittenMembers, op.Value)
			} else {
				r.WrittenMembers = slices.DeleteFunc(r.WrittenMembers, func(m string) bool { return strings.EqualFold(m, op.Value) })
			}
			dirty[op.CloudID] = true
			res.Done = append(res.Done, op)
		case OpDelete:
			if err := remove(ctx, st, dir, o, r); err != nil {
				fail(op, err)
				continue
			}
			res.Done = append(res.Done, op)
		}
		// An object's record is saved once its last operation is made.
		if i+1 >= len(p.Ops) || p.Ops[i+1].CloudID != op.CloudID {
			if err := save(op.CloudID); err != nil {
				return res, err
			}
		}
	}
	for id := range dirty {
		if err := save(id); err != nil {
			return res, err
		}
	}
	return res, nil
}

func indexComma(dn string) int {
	for i := 0; i < len(dn); i++ {
		switch dn[i] {
		case '\\':
			i++
		case ',':
			return i
		}
	}
	return -1
}

// lost: an object deleted in the forest behind writeback's back is added
// again by the next cycle (its record forgets the DN).
func lost(r *store.WritebackObject, err error) error {
	if errors.Is(err, directory.ErrNoSuchObject) {
		r.DN, r.Written, r.WrittenMembers = "", nil, nil
		return fmt.Errorf("%s is no longer in the forest; the next cycle writes it again", orID(nameOf(r), r.CloudID))
	}
	return err
}

// anchorFilter finds a written-back object by its anchor.
func anchorFilter(o Options, r *store.WritebackObject) (base, filter string, err error) {
	if o.Kind == store.WritebackKindGroup {
		return o.GroupOU, "(&(objectClass=group)(adminDescription=" + ldap.EscapeFilter(GroupAnchor(r.CloudID)) + "))", nil
	}
	var d deviceState
	if err := json.Unmarshal(r.Tenant, &d); err != nil {
		return "", "", err
	}
	id, err := DeviceIDBytes(d.DeviceID)
	if err != nil {
		return "", "", err
	}
	return o.DevicesDN, "(&(objectClass=msDS-Device)(msDS-DeviceID=" + ldap.EscapeFilter(string(id)) + "))", nil
}

// managedAttrs are the attributes writeback reads back from an object it
// finds by its anchor.
func managedAttrs(want desired) []string {
	var out []string
	for k := range want.attrs {
		if !strings.EqualFold(k, "objectClass") {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return append(out, "member")
}

// add creates an object, unless it is there already (found by its anchor:
// an add sent by a run that stopped before recording it), which it takes
// over (took). The intent is recorded before the add is sent.
func add(ctx context.Context, st *store.Store, dir Directory, o Options, r *store.WritebackObject, want desired) (took bool, err error) {
	base, filter, err := anchorFilter(o, r)
	if err != nil {
		return false, err
	}
	found, err := dir.FindObjects(ctx, base, filter, managedAttrs(want))
	if err != nil {
		return false, err
	}
	if len(found) > 0 {
		f := found[0]
		r.DN, r.CreateStartedAt = f.DN, time.Time{}
		r.Written = map[string][]string{}
		for k := range want.attrs {
			for name, v := range f.Attrs {
				if strings.EqualFold(name, k) && !strings.EqualFold(k, "objectClass") {
					r.Written[k] = v
				}
			}
		}
		r.WrittenMembers = nil
		for name, v := range f.Attrs {
			if strings.EqualFold(name, "member") {
				r.WrittenMembers = v
			}
		}
		return true, st.SaveWritebackObjects(ctx, []store.WritebackObject{*r})
	}
	r.CreateStartedAt = time.Now()
	if err := st.SaveWritebackObjects(ctx, []store.WritebackObject{*r}); err != nil {
		return false, err
	}
	attrs := map[string][]string{}
	for k, v := range want.attrs {
		attrs[k] = v
	}
	if len(want.members) > 0 {
		attrs["member"] = want.members
	}
	if err := dir.AddObject(ctx, want.dn, attrs); err != nil {
		if directory.IsAlreadyExists(err) {
			return false, fmt.Errorf("another object is already at %s (not one hybridsync wrote back: its anchor differs); rename or remove it", want.dn)
		}
		return false, err
	}
	r.DN, r.CreateStartedAt, r.WrittenAt = want.dn, time.Time{}, time.Now()
	r.Written = map[string][]string{}
	for k, v := range want.attrs {
		if !strings.EqualFold(k, "objectClass") {
			r.Written[k] = v
		}
	}
	r.WrittenMembers = slices.Clone(want.members)
	return false, st.SaveWritebackObjects(ctx, []store.WritebackObject{*r})
}

// remove deletes an object from the forest and forgets it. An add that was
// sent without its answer recorded is looked up by its anchor first.
func remove(ctx context.Context, st *store.Store, dir Directory, o Options, r *store.WritebackObject) error {
	dn := r.DN
	if dn == "" {
		base, filter, err := anchorFilter(o, r)
		if err == nil {
			found, err := dir.FindObjects(ctx, base, filter, []string{"1.1"})
			if err != nil {
				return err
			}
			if len(found) > 0 {
				dn = found[0].DN
			}
		}
	}
	if dn != "" {
		if err := dir.DeleteObject(ctx, dn); err != nil {
			return err
		}
	}
	return st.DeleteWritebackObject(ctx, r.Kind, r.CloudID)
}
