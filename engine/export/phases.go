package export

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/hybridsync/hybridsync/engine/cloud"
	"github.com/hybridsync/hybridsync/engine/metaverse"
	"github.com/hybridsync/hybridsync/engine/store"
)

// ---- adds -------------------------------------------------------------------------

// lookup is what the tenant holds that an add may match.
type lookup struct {
	hard []found // users with the same onPremisesImmutableId; devices with the same deviceId
	soft []found // users with the same userPrincipalName or mail
	own  []found // groups a create of an earlier run may have made
}

// addPhase matches or creates the adds that have no cloud object yet.
func (r *run) addPhase(ctx context.Context, adds []int) error {
	looked := map[int]*lookup{}
	var lookups []*op
	var creates []int
	for _, i := range adds {
		c := r.changes[i]
		st, ok := r.object(c.Key)
		if ok && st.CloudID != "" {
			continue // created by an earlier run: the update phase converges it
		}
		intent := ok && !st.CreateStartedAt.IsZero()
		lr := &lookup{}
		switch c.Kind {
		case metaverse.KindUser:
			looked[i] = lr
			// Hard match, and the recovery of a create an earlier run sent
			// but did not record: the same onPremisesImmutableId.
			lookups = append(lookups, r.lookupOp(i, findRequest(c.Kind, "onPremisesImmutableId eq "+cloud.Quote(c.Key)), &lr.hard))
			vals := newValues(c)
			upn, smtp := first(vals["userPrincipalName"]), primarySMTP(vals)
			if !r.res.Match.BlockSoftMatch && (upn != "" || smtp != "") {
				var f []string
				if upn != "" {
					f = append(f, "userPrincipalName eq "+cloud.Quote(upn))
				}
				if smtp != "" {
					f = append(f, "mail eq "+cloud.Quote(smtp))
				}
				lookups = append(lookups, r.lookupOp(i, findRequest(c.Kind, strings.Join(f, " or ")), &lr.soft))
			}
		case metaverse.KindDevice:
			// A device is identified by its deviceId: the one the computer
			// registered with in the cloud, or a create of an earlier run
			// that was not recorded.
			id := first(newValues(c)["deviceId"])
			if id == "" {
				r.fail(i, "the device has no deviceId")
				continue
			}
			looked[i] = lr
			lookups = append(lookups, r.lookupOp(i, findRequest(c.Kind, "deviceId eq "+cloud.Quote(id)), &lr.hard))
		case metaverse.KindGroup:
			// Graph has no writable on-premises anchor for groups: a create
			// an earlier run sent but did not record is found by the
			// mailNickname it was sent with.
			if nick := st.Lookup["mailNickname"]; intent && nick != "" {
				looked[i] = lr
				lookups = append(lookups, r.lookupOp(i, findRequest(c.Kind, "mailNickname eq "+cloud.Quote(nick)), &lr.own))
			} else {
				creates = append(creates, i)
			}
		}
	}
	if err := r.send(ctx, lookups, false); err != nil {
		return err
	}
	out := &outcome{}
	for _, i := range adds {
		lr := looked[i]
		if lr == nil || r.failed[i] {
			continue
		}
		if r.decide(i, lr, out) {
			creates = append(creates, i)
		}
	}
	if err := r.record(ctx, out); err != nil {
		return err
	}
	slices.Sort(creates)
	creates = slices.Compact(creates)
	ops := make([]*op, 0, len(creates))
	for _, i := range creates {
		ops = append(ops, r.createOp(i))
	}
	return r.send(ctx, ops, false)
}

func (r *run) lookupOp(i int, req cloud.BatchRequest, into *[]found) *op {
	return &op{i: i, req: req, handle: func(_ context.Context, resp cloud.BatchResponse, _ *outcome) error {
		f, err := decodeFound(resp)
		if err != nil {
			r.fail(i, "looking the object up in the tenant failed: "+err.Error())
			return nil
		}
		r.mu.Lock()
		*into = f
		r.mu.Unlock()
		return nil
	}}
}

// decide adopts a matching cloud object, or refuses a blocked hard match,
// and reports whether the add must be created.
func (r *run) decide(i int, lr *lookup, out *outcome) bool {
	c := r.changes[i]
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.state[c.Key]
	intent := !st.CreateStartedAt.IsZero()
	adopt := func(f found) {
		o := store.ExportObject{Key: c.Key, Kind: c.Kind, CloudID: f.ID, Attrs: map[string][]string{}}
		r.state[c.Key] = o
		r.adopted[i] = true
		r.res.Matched++
		out.saves = append(out.saves, o)
	}
	if c.Kind == metaverse.KindDevice {
		// The device already in the tenant (registered by the computer
		// itself, or created by an earlier run) becomes the synced one.
		for _, f := range lr.hard {
			if strings.EqualFold(f.DeviceID, first(newValues(c)["deviceId"])) {
				adopt(f)
				return false
			}
		}
		return true
	}
	if c.Kind == metaverse.KindGroup {
		// The group this key's earlier create made: the same mailNickname and
		// display name it was sent with.
		for _, f := range lr.own {
			if dn := st.Lookup["displayName"]; dn == "" || strings.EqualFold(dn, f.DisplayName) {
				adopt(f)
				return false
			}
		}
		return true
	}
	for _, f := range lr.hard {
		if !strings.EqualFold(f.OnPremisesImmutableID, c.Key) {
			continue
		}
		if intent || !r.res.Match.BlockHardMatch {
			adopt(f)
			return false
		}
		out.syncErrs = append(out.syncErrs, store.SyncError{Key: c.Key, Kind: c.Kind, Source: c.Source, Attribute: "onPremisesImmutableId", Value: c.Key,
			HolderID: f.ID, Holder: f.UserPrincipalName,
			Message: fmt.Sprintf("%s already has this sourceAnchor, and the tenant blocks taking cloud objects over through hard match (blockCloudObjectTakeoverThroughHardMatchEnabled).", f.UserPrincipalName)})
		r.failLocked(i, "hard match blocked by the tenant")
		return false
	}
	if r.res.Match.BlockSoftMatch {
		return true
	}
	vals := newValues(c)
	upn, smtp := first(vals["userPrincipalName"]), primarySMTP(vals)
	// Entra Connect soft-matches on the primary SMTP address first, then on
	// the userPrincipalName; only cloud-managed users (no sourceAnchor).
	for _, byMail := range []bool{true, false} {
		for _, f := range lr.soft {
			if f.OnPremisesImmutableID != "" {
				continue
			}
			if byMail && smtp != "" && strings.EqualFold(f.Mail, smtp) || !byMail && upn != "" && strings.EqualFold(f.UserPrincipalName, upn) {
				adopt(f)
				return false
			}
		}
	}
	return true
}

func (r *run) createOp(i int) *op {
	c := r.changes[i]
	body := createBody(c, r.types)
	intent := store.ExportObject{Key: c.Key, Kind: c.Kind, Lookup: map[string]string{}}
	switch c.Kind {
	case metaverse.KindGroup:
		intent.Lookup["mailNickname"], intent.Lookup["displayName"] = fmt.Sprint(body["mailNickname"]), fmt.Sprint(body["displayName"])
	case metaverse.KindDevice:
		intent.Lookup["deviceId"] = fmt.Sprint(body["deviceId"])
	default:
		intent.Lookup["onPremisesImmutableId"] = c.Key
	}
	req := cloud.BatchRequest{Method: http.MethodPost, URL: "/" + collection(c.Kind), Body: body}
	return &op{i: i, req: req, write: true, intent: &intent, handle: func(ctx context.Context, resp cloud.BatchResponse, out *outcome) error {
		err := resp.Err()
		if err != nil && c.Kind == metaverse.KindUser && (cloud.IsDuplicateUPN(err) || cloud.IsDuplicateProxyAddress(err)) {
			resp, err = r.quarantine(ctx, i, req, body, "", err, out)
			if err != nil {
				return err
			}
		}
		if err := resp.Err(); err != nil {
			r.fail(i, "create failed: "+err.Error())
			return nil
		}
		var f found
		if err := resp.Decode(&f); err != nil || f.ID == "" {
			r.fail(i, fmt.Sprintf("create answered without an id: %v", err))
			return nil
		}
		o := store.ExportObject{Key: c.Key, Kind: c.Kind, CloudID: f.ID, Attrs: mergeAttrs(nil, body)}
		r.mu.Lock()
		r.state[c.Key] = o
		r.created[i] = true
		r.res.Adds++
		r.mu.Unlock()
		out.saves = append(out.saves, o)
		out.resolveAttrs(c.Key, resolvedBy(c, body)...)
		return nil
	}}
}

// resolvedBy lists the attributes whose open sync errors a successful write
// resolves: the quarantinable ones it applied with the object's own values,
// and for an add, its sourceAnchor (the object is in the tenant with it now).
// The others stay open: a value still held elsewhere was left out.
func resolvedBy(c metaverse.Change, body map[string]any) []string {
	vals := newValues(c)
	var out []string
	if c.Op == metaverse.OpAdd {
		out = append(out, "onPremisesImmutableId")
	}
	if v, ok := body["userPrincipalName"]; ok && v == first(vals["userPrincipalName"]) {
		out = append(out, "userPrincipalName")
	}
	// The user's SMTP address reaches the cloud through mail: once it is
	// taken — or cleared, so that the object claims no address — the
	// address's conflict is over.
	if v, ok := body["mail"]; ok && (v == nil || v == first(vals["mail"])) {
		out = append(out, "proxyAddresses")
	}
	return out
}

// ---- quarantine -------------------------------------------------------------------

// maxQuarantineTries bounds the resends of one object.
const maxQuarantineTries = 6

// quarantine resends a create (selfID "") or an update of a user that the
// cloud refused for a duplicate userPrincipalName or proxy address, the way
// the cloud's duplicate attribute resiliency does: a create takes the
// placeholder UPN <prefix>+NNNN@<initial domain> and an update keeps the
// current one; a conflicting proxy address is left out. Each conflict is a
// sync error naming the object that holds the value.
func (r *run) quarantine(ctx context.Context, i int, req cloud.BatchRequest, body map[string]any, selfID string, err error, out *outcome) (cloud.BatchResponse, error) {
	c := r.changes[i]
	origUPN, _ := body["userPrincipalName"].(string)
	upnRecorded := false
	for try := 0; try < maxQuarantineTries; try++ {
		switch {
		case cloud.IsDuplicateUPN(err):
			if !upnRecorded {
				upnRecorded = true
				holder := found{}
				if u, gerr := r.e.g.GetUser(ctx, origUPN); gerr == nil {
					holder = found{ID: u.ID, UserPrincipalName: u.UserPrincipalName}
				}
				msg := fmt.Sprintf("Another object (%s) already has userPrincipalName %s.", orUnknown(holder.UserPrincipalName), origUPN)
				if selfID == "" {
					msg += " The user was created with a placeholder userPrincipalName until the conflict is resolved."
				} else {
					msg += " The user keeps its current userPrincipalName until the conflict is resolved."
				}
				out.syncErrs = append(out.syncErrs, store.SyncError{Key: c.Key, Kind: c.Kind, Source: c.Source, Attribute: "userPrincipalName", Value: origUPN,
					HolderID: holder.ID, Holder: holder.UserPrincipalName, Message: msg})
			}
			if selfID != "" {
				delete(body, "userPrincipalName")
			} else {
				body["userPrincipalName"] = placeholderUPN(origUPN, r.initial)
			}
		case cloud.IsDuplicateProxyAddress(err):
			held, herr := r.holders(ctx, addressesOf(body), selfID)
			if herr != nil {
				return cloud.BatchResponse{}, herr
			}
			if len(held) == 0 {
				r.fail(i, "the cloud reports a duplicate proxy address, but no object holding one of them was found: "+err.Error())
				return cloud.BatchResponse{Status: http.StatusConflict}, nil
			}
			for _, a := range slices.Sorted(maps.Keys(held)) {
				h := held[a]
				out.syncErrs = append(out.syncErrs, store.SyncError{Key: c.Key, Kind: c.Kind, Source: c.Source, Attribute: "proxyAddresses", Value: a,
					HolderID: h.ID, Holder: orUnknown(firstNonEmpty(h.UserPrincipalName, h.DisplayName, h.Mail)),
					Message: fmt.Sprintf("Another object (%s) already has proxy address %s: the user's mail, which gives it that address in the cloud, was left out until the conflict is resolved.", orUnknown(firstNonEmpty(h.UserPrincipalName, h.DisplayName, h.Mail)), a)})
			}
			dropAddresses(body, held)
		default:
			return cloud.BatchResponse{}, nil // not a conflict: the caller reports err
		}
		next := req
		next.Body = body
		resp, serr := r.single(ctx, next, out)
		if serr != nil {
			return resp, serr
		}
		if err = resp.Err(); err == nil || !(cloud.IsDuplicateUPN(err) || cloud.IsDuplicateProxyAddress(err)) {
			return resp, nil
		}
	}
	r.fail(i, "still conflicting after "+fmt.Sprint(maxQuarantineTries)+" quarantine attempts: "+err.Error())
	return cloud.BatchResponse{Status: http.StatusConflict}, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// placeholderUPN is the cloud's quarantine UPN: the local part, "+", four
// random digits, @ the initial onmicrosoft.com domain.
func placeholderUPN(upn, initial string) string {
	local, _, _ := strings.Cut(upn, "@")
	if local == "" {
		local = "user"
	}
	return fmt.Sprintf("%s+%04d@%s", local, rand.IntN(10000), initial)
}

// addressesOf are the proxy namespace values a user body claims: its mail,
// which Graph adds to the user's proxyAddresses as an SMTP address
// (proxyAddresses itself is read-only and never sent).
func addressesOf(body map[string]any) []string {
	if m, ok := body["mail"].(string); ok && m != "" {
		return []string{"smtp:" + strings.ToLower(m)}
	}
	return nil
}

// dropAddresses leaves the held addresses out of a body.
func dropAddresses(body map[string]any, held map[string]found) {
	if m, ok := body["mail"].(string); ok {
		if _, h := held["smtp:"+strings.ToLower(m)]; h {
			delete(body, "mail")
		}
	}
}

// holders finds, for each address, an object other than self that holds it:
// users, groups and contacts, by proxyAddresses and by mail.
func (r *run) holders(ctx context.Context, addrs []string, self string) (map[string]found, error) {
	out := map[string]found{}
	for _, a := range addrs {
		var filters []string
		filters = append(filters, r.e.proxyFilter(ctx, a))
		if plain, ok := strings.CutPrefix(a, "smtp:"); ok {
			filters = append(filters, "mail eq "+cloud.Quote(plain))
		}
	search:
		for _, f := range filters {
			users, err := r.e.g.FindUsers(ctx, f)
			if err != nil && !cloud.IsConflict(err) && !isBadRequest(err) {
				return nil, fmt.Errorf("export: unable to look up the holder of %s: %w", a, err)
			}
			for _, u := range users {
				if !strings.EqualFold(u.ID, self) {
					out[a] = found{ID: u.ID, UserPrincipalName: u.UserPrincipalName, DisplayName: u.DisplayName}
					break search
				}
			}
			groups, err := r.e.g.FindGroups(ctx, f)
			if err != nil && !isBadRequest(err) {
				return nil, fmt.Errorf("export: unable to look up the holder of %s: %w", a, err)
			}
			for _, g := range groups {
				if !strings.EqualFold(g.ID, self) {
					out[a] = found{ID: g.ID, DisplayName: g.DisplayName, Mail: g.Mail}
					break search
				}
			}
			contacts, err := r.e.g.FindContacts(ctx, f)
			if err != nil && !isBadRequest(err) && !cloud.IsForbidden(err) {
				return nil, fmt.Errorf("export: unable to look up the holder of %s: %w", a, err)
			}
			for _, ct := range contacts {
				out[a] = found{ID: ct.ID, DisplayName: ct.DisplayName, Mail: ct.Mail}
				break search
			}
		}
	}
	return out, nil
}

func isBadRequest(err error) bool {
	var e *cloud.Error
	return errors.As(err, &e) && e.Status == http.StatusBadRequest
}

// proxyFilter is the filter for objects holding a proxy address. Graph takes
// the lambda form proxyAddresses/any(x:x eq '…'); the tenant emulator does
// not, and takes proxyAddresses eq '…' (matching any value) instead. The
// first call probes which one the tenant answers.
func (e *Exporter) proxyFilter(ctx context.Context, addr string) string {
	e.filterOnce.Do(func() {
		probe := "proxyAddresses/any(x:x eq " + cloud.Quote("smtp:probe@hybridsync.invalid") + ")"
		_, err := e.g.FindUsers(ctx, probe)
		e.lambdaFilters = err == nil
	})
	if e.lambdaFilters {
		return "proxyAddresses/any(x:x eq " + cloud.Quote(addr) + ")"
	}
	return "proxyAddresses eq " + cloud.Quote(addr)
}

// ---- updates and memberships ------------------------------------------------------

// updatePhase patches attributes and changes memberships: the updates, and
// the adds that matched an object (or were created by an earlier run).
func (r *run) updatePhase(ctx context.Context, idx []int) error {
	var ops []*op
	var nothing []int
	for _, i := range idx {
		r.mu.Lock()
		failed, adopted, created := r.failed[i], r.adopted[i], r.created[i]
		r.mu.Unlock()
		if failed {
			continue
		}
		c := r.changes[i]
		st, _ := r.object(c.Key)
		id := firstNonEmpty(st.CloudID, c.CloudID)
		if id == "" {
			r.fail(i, "the object is not in the tenant (no cloud id)")
			continue
		}
		n := 0
		body := patchBody(c, r.types)
		if c.Op == metaverse.OpAdd && c.Kind == metaverse.KindUser {
			body["onPremisesImmutableId"] = c.Key
		}
		// A value another object still holds is not sent again (conflicts.go).
		for _, name := range r.withheld[i] {
			delete(body, name)
		}
		send := len(body) > 0
		switch {
		case created:
			send = false // created with these values just now (or quarantined)
		case c.Op == metaverse.OpAdd && !adopted && sameAttrs(mergeAttrs(st.Attrs, body), st.Attrs):
			send = false // created by an earlier run with these values
		}
		if send {
			ops = append(ops, r.patchOp(i, id, body, st))
			n++
		}
		for _, m := range c.AddMembers {
			mo, _ := r.object(m)
			if mo.CloudID == "" && r.held[m] {
				continue // a contact: held with it
			}
			if mo.CloudID == "" {
				r.fail(i, "member "+m+" is not in the tenant")
				continue
			}
			req := r.e.g.AddGroupMemberRequest(id, mo.CloudID)
			ops = append(ops, r.memberOp(i, req, true))
			n++
		}
		for _, m := range c.RemoveMembers {
			mo, _ := r.object(m)
			if mo.CloudID == "" {
				continue // never exported, or deleted: not a member in the tenant
			}
			req := r.e.g.RemoveGroupMemberRequest(id, mo.CloudID)
			ops = append(ops, r.memberOp(i, req, false))
			n++
		}
		if n == 0 {
			nothing = append(nothing, i)
		}
	}
	if err := r.confirm(ctx, nothing); err != nil {
		return err
	}
	return r.send(ctx, ops, true)
}

func sameAttrs(a, b map[string][]string) bool {
	return maps.EqualFunc(a, b, func(x, y []string) bool { return slices.Equal(x, y) })
}

func (r *run) patchOp(i int, id string, body map[string]any, st store.ExportObject) *op {
	c := r.changes[i]
	req := cloud.BatchRequest{Method: http.MethodPatch, URL: "/" + collection(c.Kind) + "/" + url.PathEscape(id), Body: body}
	return &op{i: i, req: req, write: true, handle: func(ctx context.Context, resp cloud.BatchResponse, out *outcome) error {
		err := resp.Err()
		if err != nil && c.Kind == metaverse.KindUser && (cloud.IsDuplicateUPN(err) || cloud.IsDuplicateProxyAddress(err)) {
			if resp, err = r.quarantine(ctx, i, req, body, id, err, out); err != nil {
				return err
			}
			err = resp.Err()
		}
		switch {
		case cloud.IsNotFound(err):
			r.fail(i, "the object no longer exists in the tenant")
			return nil
		case err != nil:
			r.fail(i, "update failed: "+err.Error())
			return nil
		}
		o := store.ExportObject{Key: c.Key, Kind: c.Kind, CloudID: id, Attrs: mergeAttrs(st.Attrs, body)}
		r.mu.Lock()
		r.state[c.Key] = o
		if c.Op == metaverse.OpUpdate {
			r.res.Updates++
		}
		r.mu.Unlock()
		out.saves = append(out.saves, o)
		out.resolveAttrs(c.Key, resolvedBy(c, body)...)
		return nil
	}}
}

func (r *run) memberOp(i int, req cloud.BatchRequest, add bool) *op {
	return &op{i: i, req: req, write: true, handle: func(_ context.Context, resp cloud.BatchResponse, _ *outcome) error {
		err := resp.Err()
		// Idempotent: a member already there (added by an earlier run that
		// did not record it) or already gone counts as done.
		if err == nil || add && cloud.IsAlreadyMember(err) || !add && (cloud.IsNotMember(err) || cloud.IsNotFound(err)) {
			r.mu.Lock()
			r.res.Memberships++
			r.mu.Unlock()
			return nil
		}
		r.fail(i, "membership change failed: "+err.Error())
		return nil
	}}
}

// ---- deletes ----------------------------------------------------------------------

// deletePhase deletes objects, last. An object without a known cloud id that
// an earlier run began to create is looked up first.
func (r *run) deletePhase(ctx context.Context, idx []int) error {
	var ops, lookups []*op
	var gone []int
	looked := map[int]*[]found{}
	for _, i := range idx {
		c := r.changes[i]
		st, ok := r.object(c.Key)
		id := firstNonEmpty(st.CloudID, c.CloudID)
		switch {
		case id != "":
			ops = append(ops, r.deleteOp(i, id))
		case ok && !st.CreateStartedAt.IsZero():
			var into []found
			looked[i] = &into
			filter := "onPremisesImmutableId eq " + cloud.Quote(c.Key)
			switch c.Kind {
			case metaverse.KindGroup:
				filter = "mailNickname eq " + cloud.Quote(st.Lookup["mailNickname"])
			case metaverse.KindDevice:
				filter = "deviceId eq " + cloud.Quote(st.Lookup["deviceId"])
			}
			lookups = append(lookups, r.lookupOp(i, findRequest(c.Kind, filter), &into))
		default:
			gone = append(gone, i)
		}
	}
	if err := r.send(ctx, lookups, false); err != nil {
		return err
	}
	for i, fs := range looked {
		c := r.changes[i]
		st, _ := r.object(c.Key)
		id := ""
		for _, f := range *fs {
			if c.Kind == metaverse.KindUser && strings.EqualFold(f.OnPremisesImmutableID, c.Key) ||
				c.Kind == metaverse.KindGroup && strings.EqualFold(f.DisplayName, st.Lookup["displayName"]) ||
				c.Kind == metaverse.KindDevice && f.DeviceID != "" && strings.EqualFold(f.DeviceID, st.Lookup["deviceId"]) {
				id = f.ID
			}
		}
		if id != "" {
			ops = append(ops, r.deleteOp(i, id))
		} else if !r.failed[i] {
			gone = append(gone, i)
		}
	}
	if len(gone) > 0 {
		var keys []string
		for _, i := range gone {
			keys = append(keys, r.changes[i].Key)
		}
		if err := r.e.st.DeleteExportObjects(ctx, keys); err != nil {
			return err
		}
		if err := r.confirm(ctx, gone); err != nil {
			return err
		}
	}
	return r.send(ctx, ops, true)
}

func (r *run) deleteOp(i int, id string) *op {
	c := r.changes[i]
	req := cloud.BatchRequest{Method: http.MethodDelete, URL: "/" + collection(c.Kind) + "/" + url.PathEscape(id)}
	return &op{i: i, req: req, write: true, handle: func(_ context.Context, resp cloud.BatchResponse, out *outcome) error {
		if err := resp.Err(); err != nil && !cloud.IsNotFound(err) {
			r.fail(i, "delete failed: "+err.Error())
			return nil
		}
		r.mu.Lock()
		delete(r.state, c.Key)
		r.res.Deletes++
		r.mu.Unlock()
		out.deletes = append(out.deletes, c.Key)
		out.resolveAll(c.Key)
		return nil
	}}
}
