package cloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Delta queries read what changed in the tenant since the last read
// (learn.microsoft.com/graph/delta-query-overview): a round starts from
// /groups/delta or /devices/delta (a full read) or from the
// @odata.deltaLink the last round ended with, follows @odata.nextLink to the
// end, and ends with a new deltaLink to keep for the next round. The query
// options travel inside the links' tokens, so a stored link is used as is.
// A deltaLink holds a state token, not a credential; it is still kept out of
// logs and error messages (only its path is ever shown).

// ErrDeltaExpired reports that Graph refused a delta link: 410 Gone
// ("Synchronization reset": the application "must restart with a full
// synchronization"), a syncStateNotFound or resyncRequired error (an
// expired token: directory objects' tokens last seven days), or an expired
// page token. The caller starts again with a full read (link "").
var ErrDeltaExpired = errors.New("cloud: the delta link was refused; a full read is needed")

// Removal reasons of "@removed" (delta-query-overview).
const (
	// RemovedChanged: deleted, and can be restored from deletedItems.
	RemovedChanged = "changed"
	// RemovedDeleted: deleted and can't be restored.
	RemovedDeleted = "deleted"
)

// GroupSelectDelta is the $select of the groups delta: what group writeback
// reads (research B1.5) and the members, whose changes come as
// members@delta. With $select, a change to a property not selected doesn't
// bring a group back.
var GroupSelectDelta = []string{"id", "displayName", "description", "mail", "mailNickname", "proxyAddresses",
	"mailEnabled", "securityEnabled", "groupTypes", "onPremisesSyncEnabled", "members"}

// DeviceSelectDelta is the $select of the devices delta: what device
// writeback writes (research B2).
var DeviceSelectDelta = []string{"id", "deviceId", "displayName", "accountEnabled", "operatingSystem", "operatingSystemVersion",
	"trustType", "alternativeSecurityIds", "physicalIds", "isManaged", "isCompliant", "deviceVersion"}

// MemberChange is one entry of members@delta: a member added, or removed
// (Removed) either from the group or from the tenant.
type MemberChange struct {
	ID        string
	ODataType string // #microsoft.graph.user, .group, .orgContact, .device, ...
	Removed   bool
}

// GroupChange is a Microsoft 365 group a delta round reported: created or
// changed (Group, and Members as reported), or removed (RemovedReason set;
// Group holds only the ID).
type GroupChange struct {
	Group
	// RemovedReason is RemovedChanged or RemovedDeleted for a removed group.
	RemovedReason string
	// Members: in a full read, every member; in a round of changes, the
	// members added and removed since the last one.
	Members []MemberChange
}

// GroupsDelta is a round of the groups delta.
type GroupsDelta struct {
	// Full: the round started from scratch, so Groups are all the Microsoft
	// 365 groups there are, each with all its members; whatever the caller
	// holds beyond them is gone.
	Full bool
	// Groups are the Microsoft 365 groups (groupTypes Unified) created,
	// changed or removed, once each, in the order first reported.
	Groups []GroupChange
	// NotUnified are the ids of the other groups the round reported: not
	// Microsoft 365 groups (or no longer), so out of group writeback's scope.
	NotUnified []string
	// DeltaLink starts the next round.
	DeltaLink string
}

// DeviceOwner is a device's registered owner (a user) with what finds it
// on premises.
type DeviceOwner struct {
	ID                           string `json:"id"`
	ODataType                    string `json:"@odata.type"`
	UserPrincipalName            string `json:"userPrincipalName"`
	OnPremisesImmutableID        string `json:"onPremisesImmutableId"`
	OnPremisesSecurityIdentifier string `json:"onPremisesSecurityIdentifier"`
}

// DeviceState is the part of Graph's device resource device writeback reads.
type DeviceState struct {
	ID                     string                  `json:"id"`
	DeviceID               string                  `json:"deviceId"`
	DisplayName            string                  `json:"displayName"`
	AccountEnabled         *bool                   `json:"accountEnabled"`
	OperatingSystem        string                  `json:"operatingSystem"`
	OperatingSystemVersion string                  `json:"operatingSystemVersion"`
	TrustType              string                  `json:"trustType"` // Workplace (registered), AzureAd (joined), ServerAd (hybrid joined)
	AlternativeSecurityIDs []AlternativeSecurityID `json:"alternativeSecurityIds"`
	PhysicalIDs            []string                `json:"physicalIds"`
	IsManaged              *bool                   `json:"isManaged"`
	IsCompliant            *bool                   `json:"isCompliant"`
	DeviceVersion          *int                    `json:"deviceVersion"`
}

// DeviceChange is a device a delta round reported: created or changed, with
// its registered owners (read for it: devices/delta does not return them,
// and a change of owner alone does not bring a device back), or removed.
type DeviceChange struct {
	DeviceState
	RemovedReason string
	Owners        []DeviceOwner
}

// DevicesDelta is a round of the devices delta.
type DevicesDelta struct {
	Full      bool // see GroupsDelta.Full
	Devices   []DeviceChange
	DeltaLink string
}

// deltaItem is an object of a delta page: its properties, and the
// annotations the round adds.
type deltaItem struct {
	ID      string `json:"id"`
	Removed *struct {
		Reason string `json:"reason"`
	} `json:"@removed"`
	Members []struct {
		ID        string          `json:"id"`
		ODataType string          `json:"@odata.type"`
		Removed   json.RawMessage `json:"@removed"`
	} `json:"members@delta"`
	raw json.RawMessage
}

// deltaStart is the first URL of a round: link, or the collection's delta
// with sel when link is "". A link is checked to be the collection's own.
func (c *Client) deltaStart(collection, link string, sel []string) (string, error) {
	if link == "" {
		return withQuery(collection+"/delta", sel, "", 0), nil
	}
	u, err := url.Parse(link)
	if err != nil {
		return "", fmt.Errorf("cloud: %s delta: the stored link does not parse", collection)
	}
	if u.Scheme != c.base.Scheme || u.Host != c.base.Host {
		return "", fmt.Errorf("cloud: %s delta: refusing to follow the stored link %s off the Graph host", collection, redact(link))
	}
	p := strings.TrimPrefix(u.Path, c.base.Path)
	if !strings.HasPrefix(p, "/"+collection+"/") || !strings.Contains(p, "delta") {
		return "", fmt.Errorf("cloud: %s delta: the stored link %s is not a %s delta link", collection, redact(link), collection)
	}
	return link, nil
}

// deltaRound reads a round from first to its deltaLink, calling fn for every
// object of every page.
func (c *Client) deltaRound(ctx context.Context, collection, first string, fn func(deltaItem) error) (string, error) {
	next := first
	for {
		var page struct {
			Value     []json.RawMessage `json:"value"`
			NextLink  string            `json:"@odata.nextLink"`
			DeltaLink string            `json:"@odata.deltaLink"`
		}
		if err := c.do(ctx, http.MethodGet, next, nil, &page); err != nil {
			if isDeltaRefused(err) {
				return "", fmt.Errorf("cloud: %s delta: %w: %w", collection, ErrDeltaExpired, err)
			}
			return "", fmt.Errorf("cloud: %s delta: %w", collection, err)
		}
		for _, raw := range page.Value {
			var it deltaItem
			if err := json.Unmarshal(raw, &it); err != nil || it.ID == "" {
				return "", fmt.Errorf("cloud: %s delta: an object without an id", collection)
			}
			it.raw = raw
			if err := fn(it); err != nil {
				return "", err
			}
		}
		switch {
		case page.NextLink != "":
			next = page.NextLink
		case page.DeltaLink != "":
			return page.DeltaLink, nil
		default:
			return "", fmt.Errorf("cloud: %s delta: a page with neither @odata.nextLink nor @odata.deltaLink", collection)
		}
	}
}

// isDeltaRefused reports Graph's refusal of a delta or page token.
func isDeltaRefused(err error) bool {
	e, ok := asError(err)
	if !ok {
		return false
	}
	switch {
	case e.Status == http.StatusGone:
		return true
	case strings.EqualFold(e.Code, "syncStateNotFound"), strings.EqualFold(e.Code, "resyncRequired"),
		e.Code == "Directory_ExpiredPageToken":
		return true
	}
	return false
}

// ReadGroupsDelta reads a round of the groups delta from link (the
// DeltaLink of the last round, or "" for a full read) and returns the
// Microsoft 365 groups it reported, merged: an object reported more than once
// (large groups' members come over several pages; replays happen) is one
// GroupChange with the latest properties and every member change, the
// latest for a member winning. A refused link is ErrDeltaExpired.
func (c *Client) ReadGroupsDelta(ctx context.Context, link string) (*GroupsDelta, error) {
	first, err := c.deltaStart("groups", link, GroupSelectDelta)
	if err != nil {
		return nil, err
	}
	out := &GroupsDelta{Full: link == ""}
	index := map[string]int{}
	type state struct {
		change  GroupChange
		unified bool
		seen    bool // reported with its properties (not only removed)
	}
	var all []*state
	out.DeltaLink, err = c.deltaRound(ctx, "groups", first, func(it deltaItem) error {
		i, ok := index[it.ID]
		if !ok {
			i = len(all)
			index[it.ID] = i
			all = append(all, &state{change: GroupChange{Group: Group{ID: it.ID}}})
		}
		s := all[i]
		if it.Removed != nil {
			s.change.RemovedReason = it.Removed.Reason
			if s.change.RemovedReason == "" {
				s.change.RemovedReason = RemovedChanged
			}
			return nil
		}
		s.change.RemovedReason = ""
		var g Group
		if err := json.Unmarshal(it.raw, &g); err != nil {
			return fmt.Errorf("cloud: groups delta: unable to decode group %s: %w", it.ID, err)
		}
		if _, hasTypes := rawHas(it.raw, "groupTypes"); hasTypes {
			s.unified = slices.Contains(g.GroupTypes, "Unified")
			s.seen = true
		}
		s.change.Group = g
		for _, m := range it.Members {
			mc := MemberChange{ID: m.ID, ODataType: m.ODataType, Removed: len(m.Removed) > 0 && string(m.Removed) != "null"}
			j := slices.IndexFunc(s.change.Members, func(x MemberChange) bool { return x.ID == m.ID })
			if j >= 0 {
				s.change.Members[j] = mc
			} else {
				s.change.Members = append(s.change.Members, mc)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, s := range all {
		switch {
		case s.change.RemovedReason != "":
			// A removed group comes without its groupTypes: the caller
			// knows whether it wrote it back.
			out.Groups = append(out.Groups, s.change)
		case s.seen && s.unified:
			out.Groups = append(out.Groups, s.change)
		default:
			out.NotUnified = append(out.NotUnified, s.change.ID)
		}
	}
	return out, nil
}

// rawHas reports whether a JSON object has a property.
func rawHas(raw json.RawMessage, name string) (json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil, false
	}
	v, ok := m[name]
	return v, ok
}

// ReadDevicesDelta reads a round of the devices delta from link ("" for a
// full read), merged as ReadGroupsDelta merges, and reads the registered
// owners of every device created or changed ($batch, 20 at a time). A
// refused link is ErrDeltaExpired.
func (c *Client) ReadDevicesDelta(ctx context.Context, link string) (*DevicesDelta, error) {
	first, err := c.deltaStart("devices", link, DeviceSelectDelta)
	if err != nil {
		return nil, err
	}
	out := &DevicesDelta{Full: link == ""}
	index := map[string]int{}
	out.DeltaLink, err = c.deltaRound(ctx, "devices", first, func(it deltaItem) error {
		i, ok := index[it.ID]
		if !ok {
			i = len(out.Devices)
			index[it.ID] = i
			out.Devices = append(out.Devices, DeviceChange{DeviceState: DeviceState{ID: it.ID}})
		}
		d := &out.Devices[i]
		if it.Removed != nil {
			d.RemovedReason = it.Removed.Reason
			if d.RemovedReason == "" {
				d.RemovedReason = RemovedDeleted
			}
			return nil
		}
		d.RemovedReason = ""
		if err := json.Unmarshal(it.raw, &d.DeviceState); err != nil {
			return fmt.Errorf("cloud: devices delta: unable to decode device %s: %w", it.ID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var reqs []BatchRequest
	var which []int
	for i, d := range out.Devices {
		if d.RemovedReason == "" {
			reqs = append(reqs, BatchRequest{Method: http.MethodGet, URL: "/devices/" + url.PathEscape(d.ID) + "/registeredOwners?$select=" + strings.Join(ownerSelect, ",")})
			which = append(which, i)
		}
	}
	if len(reqs) == 0 {
		return out, nil
	}
	res, err := c.Batch(ctx, reqs)
	if err != nil {
		return nil, fmt.Errorf("cloud: devices delta: unable to read registered owners: %w", err)
	}
	for k, r := range res {
		d := &out.Devices[which[k]]
		var page struct {
			Value    []DeviceOwner `json:"value"`
			NextLink string        `json:"@odata.nextLink"`
		}
		if err := r.Decode(&page); err != nil {
			if IsNotFound(err) {
				// Deleted since the round read it: the next round reports it.
				continue
			}
			return nil, fmt.Errorf("cloud: devices delta: unable to read the registered owners of %s: %w", d.ID, err)
		}
		d.Owners = page.Value
		if page.NextLink != "" {
			more, err := getAll[DeviceOwner](ctx, c, page.NextLink)
			if err != nil {
				return nil, fmt.Errorf("cloud: devices delta: unable to read the registered owners of %s: %w", d.ID, err)
			}
			d.Owners = append(d.Owners, more...)
		}
	}
	return out, nil
}

// ownerSelect is what device writeback needs of an owner: the SID it
// writes as msDS-RegisteredOwner and the anchor that finds the user in AD.
var ownerSelect = []string{"id", "userPrincipalName", "onPremisesImmutableId", "onPremisesSecurityIdentifier"}

// RegisteredOwners lists a device's registered owners (GET
// /devices/{id}/registeredOwners).
func (c *Client) RegisteredOwners(ctx context.Context, deviceObjectID string) ([]DeviceOwner, error) {
	return getAll[DeviceOwner](ctx, c, withQuery("devices/"+url.PathEscape(deviceObjectID)+"/registeredOwners", ownerSelect, "", 0))
}

// AddRegisteredOwner makes a user a device's registered owner (POST
// /devices/{id}/registeredOwners/$ref; delegated permissions only).
func (c *Client) AddRegisteredOwner(ctx context.Context, deviceObjectID, userID string) error {
	return c.do(ctx, http.MethodPost, "devices/"+url.PathEscape(deviceObjectID)+"/registeredOwners/$ref",
		map[string]string{"@odata.id": c.directoryObjectURL(userID)}, nil)
}
