package export

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/hybridsync/hybridsync/engine/cloud"
	"github.com/hybridsync/hybridsync/engine/metaverse"
	"github.com/hybridsync/hybridsync/engine/store"
)

// ---- quarantined values -----------------------------------------------------------
//
// A value the cloud refused because another object holds it — a
// userPrincipalName, or the mail that gives a user its SMTP proxy address —
// is quarantined (phases.go): the user keeps another value in the tenant (a
// placeholder UPN, its current UPN, no mail) and an open sync error names the
// value and its holder. The metaverse records the wanted value as exported
// (asExported), so it does not compute the refused change again at every
// sync; each export instead checks the open sync errors first, with reads
// only (GET /users/{upn}, or the holder searches of a proxy address, in
// $batch):
//
//   - while another object still holds the value, it is not sent: the sync
//     error stays open, seen again, and counts in the run's SyncErrors;
//   - once none does (the holder was deleted or changed its value), it is
//     sent once more, and the success resolves the sync error;
//   - a new value from the source is sent as any change is.

// quarantined maps the attribute of a sync error the export checks to the
// user property its value is sent in.
var quarantined = map[string]string{"userPrincipalName": "userPrincipalName", "proxyAddresses": "mail"}

// conflict is one open sync error this run checks.
type conflict struct {
	se    store.SyncError
	prop  string // the property the value is sent in
	value string // the value the object wants in it
	i     int    // the key's add or update in this run; -1: none
	self  string // the object's cloud id
	// held: another object still holds the value; holder is that object.
	// unsure: a check failed and none found a holder, so the value is held
	// back as if one did, and the error is left as it was.
	held, unsure bool
	holder       found
}

// checkConflicts checks the open sync errors of quarantined values before
// anything is sent: a value still held by another object is withheld from
// the key's change (r.withheld) and its error seen again; a value no object
// holds any more is added to the key's change, or to an update of its own.
func (r *run) checkConflicts(ctx context.Context) error {
	if len(r.open) == 0 {
		return nil
	}
	change, deleted := map[string]int{}, map[string]bool{}
	for i, c := range r.changes {
		if c.Op == metaverse.OpDelete {
			deleted[c.Key] = true // the delete resolves its errors
		} else {
			change[c.Key] = i
		}
	}
	var cs []*conflict
	for _, se := range r.open {
		prop, ok := quarantined[se.Attribute]
		st := r.state[se.Key]
		if !ok || se.Kind != metaverse.KindUser || deleted[se.Key] || st.CloudID == "" {
			continue
		}
		cf := &conflict{se: se, prop: prop, i: -1, self: st.CloudID}
		fromChange := false
		if i, ok := change[se.Key]; ok {
			cf.i = i
			if a, ok := attrOf(r.changes[i], prop); ok {
				cf.value, fromChange = first(a.New), true
			}
		}
		if !fromChange {
			cf.value = first(st.Attrs[prop])
		}
		// Another value (a new one from the source) is sent as any change
		// is; so is a cleared one. Without a change, an error that is not
		// about the exported value is left alone.
		if cf.value == "" || !cf.about(cf.value) {
			continue
		}
		cs = append(cs, cf)
	}
	if len(cs) == 0 {
		return nil
	}
	var ops []*op
	for _, cf := range cs {
		ops = append(ops, r.checkOps(ctx, cf)...)
	}
	if err := r.send(ctx, ops, false); err != nil {
		return err
	}
	var still, seen []store.SyncError
	for _, cf := range cs {
		if cf.held || cf.unsure {
			if cf.i >= 0 {
				r.withheld[cf.i] = append(r.withheld[cf.i], cf.prop)
			}
			se := cf.se
			if cf.held {
				se = cf.seenAgain()
				seen = append(seen, se)
			}
			still = append(still, se)
			continue
		}
		// No object holds it any more: sent once more.
		val := metaverse.AttrChange{Name: cf.prop, Old: []string{cf.value}, New: []string{cf.value}}
		if cf.i < 0 {
			// An update of its own; a second conflict of the key goes into
			// the same one.
			i, ok := change[cf.se.Key]
			if !ok {
				r.changes = append(r.changes, metaverse.Change{Key: cf.se.Key, Kind: metaverse.KindUser, Op: metaverse.OpUpdate,
					CloudID: cf.self, Source: cf.se.Source})
				i = len(r.changes) - 1
				change[cf.se.Key] = i
			}
			cf.i = i
		}
		c := &r.changes[cf.i]
		if _, ok := attrOf(*c, cf.prop); ok {
			continue // the change sends it
		}
		c.Attrs = append(slices.Clone(c.Attrs), val)
		slices.SortFunc(c.Attrs, func(a, b metaverse.AttrChange) int { return strings.Compare(a.Name, b.Name) })
	}
	if len(seen) > 0 {
		if err := r.e.st.RecordSyncErrors(ctx, seen); err != nil {
			return err
		}
	}
	r.mu.Lock()
	r.res.SyncErrors = append(r.res.SyncErrors, still...)
	r.res.StillHeld += len(still)
	r.mu.Unlock()
	return nil
}

// about reports whether the sync error is about v, the value of cf.prop.
func (cf *conflict) about(v string) bool {
	if cf.prop == "mail" {
		return strings.EqualFold(cf.se.Value, "smtp:"+v)
	}
	return strings.EqualFold(cf.se.Value, v)
}

// seenAgain is the sync error as this run saw it: the same, or held by
// another object now.
func (cf *conflict) seenAgain() store.SyncError {
	se := cf.se
	if h := cf.holder; h.ID != "" && !strings.EqualFold(h.ID, se.HolderID) {
		name := firstNonEmpty(h.UserPrincipalName, h.DisplayName, h.Mail)
		se.Message = strings.Replace(se.Message, "("+orUnknown(se.Holder)+")", "("+orUnknown(name)+")", 1)
		se.HolderID, se.Holder = h.ID, name
	}
	return se
}

// checkOps are the reads that say whether another object holds a
// conflict's value: the user with the userPrincipalName, or the users,
// groups and contacts with the address (by proxyAddresses and by mail, as
// the quarantine found them).
func (r *run) checkOps(ctx context.Context, cf *conflict) []*op {
	// A check is no change's: it confirms nothing (send's bookkeeping
	// counts it under -1).
	read := func(req cloud.BatchRequest, handle func(resp cloud.BatchResponse)) *op {
		return &op{i: -1, req: req, handle: func(_ context.Context, resp cloud.BatchResponse, _ *outcome) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			handle(resp)
			return nil
		}}
	}
	if cf.prop == "userPrincipalName" {
		req := cloud.BatchRequest{Method: http.MethodGet, URL: "/users/" + url.PathEscape(cf.value) + "?$select=id,userPrincipalName,displayName"}
		return []*op{read(req, func(resp cloud.BatchResponse) {
			var f found
			err := resp.Decode(&f)
			switch {
			case cloud.IsNotFound(err):
			case err != nil:
				cf.unsure = true
			case !strings.EqualFold(f.ID, cf.self):
				cf.held, cf.holder = true, f
			}
		})}
	}
	addr := cf.se.Value
	plain := strings.TrimPrefix(strings.ToLower(addr), "smtp:")
	filters := []string{r.e.proxyFilter(ctx, addr), "mail eq " + cloud.Quote(plain)}
	var ops []*op
	// Graph refuses a $select of a property the type lacks (a group's
	// userPrincipalName).
	for _, coll := range []struct{ path, sel string }{
		{"users", "id,userPrincipalName,displayName,mail"}, {"groups", "id,displayName,mail"}, {"contacts", "id,displayName,mail"},
	} {
		for _, f := range filters {
			req := cloud.BatchRequest{Method: http.MethodGet, URL: "/" + coll.path + "?$filter=" + escapeQuery(f) + "&$select=" + coll.sel}
			ops = append(ops, read(req, func(resp cloud.BatchResponse) {
				fs, err := decodeFound(resp)
				switch {
				case isBadRequest(err) || cloud.IsForbidden(err) || cloud.IsNotFound(err):
					// A filter the tenant does not take, or contacts the
					// account may not read: as the quarantine's search.
				case err != nil:
					cf.unsure = true
				}
				for _, o := range fs {
					if !cf.held && !strings.EqualFold(o.ID, cf.self) {
						cf.held, cf.holder = true, o
					}
				}
			}))
		}
	}
	return ops
}

// attrOf is a change's change of one attribute.
func attrOf(c metaverse.Change, name string) (metaverse.AttrChange, bool) {
	for _, a := range c.Attrs {
		if a.Name == name {
			return a, true
		}
	}
	return metaverse.AttrChange{}, false
}
