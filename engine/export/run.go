package export

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hybridsync/hybridsync/engine/cloud"
	"github.com/hybridsync/hybridsync/engine/metaverse"
	"github.com/hybridsync/hybridsync/engine/store"
)

// run is one export's working state.
type run struct {
	e       *Exporter
	res     *Result
	changes []metaverse.Change
	initial string // the tenant's initial domain
	types   valueTypes

	// open are the sync errors open as the run starts (conflicts.go).
	open []store.SyncError
	// withheld are, by change, the properties whose value another object
	// still holds (conflicts.go): not sent, though the change sets them.
	withheld map[int][]string
	// prog writes the run's progress; lastProgress is when it was last
	// handed the counts (under mu).
	prog         *progress
	lastProgress time.Time

	mu          sync.Mutex
	state       map[string]store.ExportObject // by key: changes, members and open sync errors
	openErrs    map[string]bool               // keys with open sync errors
	outstanding map[int]int                   // change → ops left in this phase
	failed      map[int]bool
	confirmed   map[int]bool
	adopted     map[int]bool // adds matched to an existing cloud object
	created     map[int]bool // adds created by this run
	// held are the keys of the objects whose changes are held (contacts):
	// a membership of one is held too, not failed.
	held map[string]bool
}

func (e *Exporter) newRun(ctx context.Context, changes []metaverse.Change, res *Result) (*run, error) {
	r := &run{e: e, res: res, changes: changes, initial: e.opts.InitialDomain,
		outstanding: map[int]int{}, failed: map[int]bool{}, confirmed: map[int]bool{}, adopted: map[int]bool{}, created: map[int]bool{}, openErrs: map[string]bool{},
		held: map[string]bool{}, withheld: map[int][]string{}}
	for _, h := range res.Held {
		r.held[h.Key] = true
	}
	open, err := e.st.SyncErrors(ctx, true, 1_000_000)
	if err != nil {
		return nil, err
	}
	r.open = open
	keys := map[string]bool{}
	for _, se := range open {
		r.openErrs[se.Key] = true
		if _, ok := quarantined[se.Attribute]; ok {
			keys[se.Key] = true // its conflict is checked (conflicts.go)
		}
	}
	for _, c := range changes {
		keys[c.Key] = true
		for _, m := range c.AddMembers {
			keys[m] = true
		}
		for _, m := range c.RemoveMembers {
			keys[m] = true
		}
	}
	list := make([]string, 0, len(keys))
	for k := range keys {
		list = append(list, k)
	}
	slices.Sort(list)
	if r.state, err = e.st.ExportObjects(ctx, list); err != nil {
		return nil, err
	}
	if r.initial == "" {
		org, err := e.g.Organization(ctx)
		if err != nil {
			return nil, fmt.Errorf("export: unable to read the tenant's initial domain: %w", err)
		}
		r.initial = org.InitialDomain()
	}
	r.types = e.extensionTypes(ctx, changes)
	if e.opts.Match != nil {
		res.Match = *e.opts.Match
	} else {
		res.Match = e.matchSettings(ctx)
	}
	return r, nil
}

// matchSettings reads the tenant's blockSoftMatchEnabled and
// blockCloudObjectTakeoverThroughHardMatchEnabled, once per run.
func (e *Exporter) matchSettings(ctx context.Context) MatchSettings {
	s, err := e.g.OnPremisesSync(ctx)
	if err != nil {
		note := "The tenant's matching settings could not be read (" + err.Error() + "); soft and hard match were applied as by default (neither blocked)."
		if cloud.IsForbidden(err) {
			note = "The sync service account may not read the tenant's directory synchronization features, so soft and hard match were applied as by default (neither blocked)."
		}
		e.log.Warn("export: matching settings assumed", "err", err)
		return MatchSettings{Assumed: true, Note: note}
	}
	return MatchSettings{BlockSoftMatch: s.Features.BlockSoftMatchEnabled, BlockHardMatch: s.Features.BlockCloudObjectTakeoverThroughHardMatchEnabled}
}

// export checks the quarantined values (conflicts.go), then runs the three
// phases: adds, then updates and memberships, then deletes.
func (r *run) export(ctx context.Context) error {
	if err := r.checkConflicts(ctx); err != nil {
		return err
	}
	var adds, updates, deletes []int
	for i, c := range r.changes {
		switch {
		case c.Op == metaverse.OpAdd:
			adds = append(adds, i)
		case c.Op == metaverse.OpUpdate:
			updates = append(updates, i)
		default:
			deletes = append(deletes, i)
		}
	}
	if err := r.addPhase(ctx, adds); err != nil {
		return err
	}
	if err := r.updatePhase(ctx, append(adds, updates...)); err != nil {
		return err
	}
	return r.deletePhase(ctx, deletes)
}

// ---- bookkeeping ------------------------------------------------------------------

func (r *run) fail(i int, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failLocked(i, msg)
}

func (r *run) failLocked(i int, msg string) {
	if r.failed[i] {
		return
	}
	r.failed[i] = true
	c := r.changes[i]
	r.res.Failed = append(r.res.Failed, ChangeError{Key: c.Key, Kind: c.Kind, Op: c.Op, Err: msg})
}

func (r *run) object(key string) (store.ExportObject, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	o, ok := r.state[key]
	return o, ok
}

// outcome is what one chunk of requests changed, recorded together.
type outcome struct {
	saves    []store.ExportObject
	deletes  []string
	syncErrs []store.SyncError
	// resolve are the sync errors to resolve, by key: of the attributes
	// listed, or all of them (nil: a delete).
	resolve map[string][]string
	writes  int
}

// resolveAttrs resolves the key's sync errors of attrs; none: nothing.
func (o *outcome) resolveAttrs(key string, attrs ...string) {
	if len(attrs) == 0 {
		return
	}
	if o.resolve == nil {
		o.resolve = map[string][]string{}
	}
	if all, ok := o.resolve[key]; ok && all == nil {
		return // all of them already
	}
	o.resolve[key] = append(o.resolve[key], attrs...)
}

// resolveAll resolves all of the key's sync errors (its object was deleted).
func (o *outcome) resolveAll(key string) {
	if o.resolve == nil {
		o.resolve = map[string][]string{}
	}
	o.resolve[key] = nil
}

// record writes a chunk's outcome to the store.
func (r *run) record(ctx context.Context, o *outcome) error {
	st := r.e.st
	if len(o.syncErrs) > 0 {
		if err := st.RecordSyncErrors(ctx, o.syncErrs); err != nil {
			return err
		}
	}
	if len(o.saves) > 0 {
		if err := st.SaveExportObjects(ctx, o.saves); err != nil {
			return err
		}
	}
	if len(o.deletes) > 0 {
		if err := st.DeleteExportObjects(ctx, o.deletes); err != nil {
			return err
		}
	}
	for key, attrs := range o.resolve {
		r.mu.Lock()
		open := r.openErrs[key]
		r.mu.Unlock()
		if !open {
			continue
		}
		if err := st.ResolveSyncErrors(ctx, key, attrs); err != nil {
			return err
		}
	}
	r.mu.Lock()
	r.res.SyncErrors = append(r.res.SyncErrors, o.syncErrs...)
	for _, se := range o.syncErrs {
		r.openErrs[se.Key] = true
	}
	r.res.Writes += o.writes
	r.mu.Unlock()
	return nil
}

// confirm reports changes done (after their outcome was recorded).
func (r *run) confirm(ctx context.Context, idx []int) error {
	var done []metaverse.Change
	r.mu.Lock()
	for _, i := range idx {
		if r.failed[i] || r.confirmed[i] {
			continue
		}
		r.confirmed[i] = true
		done = append(done, r.asExported(r.changes[i]))
	}
	r.res.Confirmed = append(r.res.Confirmed, done...)
	r.mu.Unlock()
	if len(done) == 0 || r.e.opts.OnConfirmed == nil {
		return nil
	}
	if err := r.e.opts.OnConfirmed(ctx, done); err != nil {
		return fmt.Errorf("export: unable to mark %d exports done: %w", len(done), err)
	}
	return nil
}

// asExported is a confirmed change as the metaverse records it: with the
// object's cloud id. A quarantined value (a placeholder UPN taken instead,
// a mail left out) is recorded as the change wanted it, not as the tenant
// took it: its open sync error says what the tenant holds, and each export
// checks it (conflicts.go) — so the metaverse does not compute the same
// refused change again at every sync, and nothing stays pending that no
// export sends. Caller holds r.mu.
func (r *run) asExported(c metaverse.Change) metaverse.Change {
	st, ok := r.state[c.Key]
	if !ok || c.Op == metaverse.OpDelete {
		return c
	}
	c.CloudID = st.CloudID
	// Memberships of held objects were not made: they stay pending.
	c.AddMembers = slices.DeleteFunc(slices.Clone(c.AddMembers), func(m string) bool { return r.held[m] })
	c.RemoveMembers = slices.DeleteFunc(slices.Clone(c.RemoveMembers), func(m string) bool { return r.held[m] })
	return c
}

// ---- sending ----------------------------------------------------------------------

// op is one Graph request on behalf of one change.
type op struct {
	i     int
	req   cloud.BatchRequest
	write bool
	// intent, for a create, is recorded before the request is sent.
	intent *store.ExportObject
	// handle reads the answer; it may make follow-up calls (quarantine) and
	// returns an error only when the run cannot go on.
	handle func(ctx context.Context, resp cloud.BatchResponse, o *outcome) error
}

// send runs ops as $batch calls of up to 20, Concurrency at a time, within
// the write budget. confirmOnDone: a change whose last op of this phase
// completed is confirmed after its chunk is recorded.
func (r *run) send(ctx context.Context, ops []*op, confirmOnDone bool) error {
	r.mu.Lock()
	for _, o := range ops {
		r.outstanding[o.i]++
	}
	r.mu.Unlock()
	// A $batch never holds more writes than the whole budget.
	size := min(cloud.MaxBatch, r.e.opts.WriteBudget)
	var chunks [][]*op
	for start := 0; start < len(ops); start += size {
		chunks = append(chunks, ops[start:min(start+size, len(ops))])
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan []*op)
	var wg sync.WaitGroup
	for range min(r.e.opts.Concurrency, len(chunks)) {
		wg.Go(func() {
			for ch := range work {
				if err := r.sendChunk(ctx, ch, confirmOnDone); err != nil {
					cancel(err)
				}
			}
		})
	}
	for _, ch := range chunks {
		if ctx.Err() != nil {
			break
		}
		work <- ch
	}
	close(work)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return nil
}

func (r *run) sendChunk(ctx context.Context, ops []*op, confirmOnDone bool) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	var intents []store.ExportObject
	writes := 0
	reqs := make([]cloud.BatchRequest, len(ops))
	for n, o := range ops {
		if o.intent != nil {
			intents = append(intents, *o.intent)
		}
		if o.write {
			writes++
		}
		reqs[n] = o.req
		reqs[n].ID = fmt.Sprint(n + 1)
	}
	if len(intents) > 0 {
		if err := r.e.st.BeginExportCreates(ctx, intents); err != nil {
			return err
		}
	}
	done, err := r.e.pacer.Wait(ctx, writes)
	if err != nil {
		return err
	}
	resps, err := r.e.g.Batch(ctx, reqs)
	done()
	if err != nil {
		return fmt.Errorf("export: $batch failed: %w", err)
	}
	if r.e.afterGraph != nil {
		if err := r.e.afterGraph(); err != nil {
			return err
		}
	}
	out := &outcome{writes: writes}
	for n, o := range ops {
		if err := o.handle(ctx, resps[n], out); err != nil {
			return err
		}
	}
	if err := r.record(ctx, out); err != nil {
		return err
	}
	var finished []int
	r.mu.Lock()
	for _, o := range ops {
		r.outstanding[o.i]--
		if r.outstanding[o.i] == 0 {
			finished = append(finished, o.i)
		}
	}
	r.mu.Unlock()
	if confirmOnDone {
		if err := r.confirm(ctx, finished); err != nil {
			return err
		}
	}
	r.tick()
	return nil
}

// single sends one write (a quarantine retry) within the budget.
func (r *run) single(ctx context.Context, req cloud.BatchRequest, o *outcome) (cloud.BatchResponse, error) {
	done, err := r.e.pacer.Wait(ctx, 1)
	if err != nil {
		return cloud.BatchResponse{}, err
	}
	o.writes++
	resps, err := r.e.g.Batch(ctx, []cloud.BatchRequest{req})
	done()
	if err != nil {
		return cloud.BatchResponse{}, fmt.Errorf("export: $batch failed: %w", err)
	}
	return resps[0], nil
}

// ---- graph shapes -----------------------------------------------------------------

func collection(kind string) string {
	switch kind {
	case metaverse.KindGroup:
		return "groups"
	case metaverse.KindDevice:
		return "devices"
	}
	return "users"
}

func escapeQuery(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }

var lookupSelect = "id,userPrincipalName,onPremisesImmutableId,mail,displayName,proxyAddresses"

func findRequest(kind, filter string) cloud.BatchRequest {
	sel := lookupSelect
	switch kind {
	case metaverse.KindGroup:
		sel = "id,displayName,mailNickname,mail,proxyAddresses"
	case metaverse.KindDevice:
		sel = "id,deviceId,displayName"
	}
	return cloud.BatchRequest{Method: http.MethodGet, URL: "/" + collection(kind) + "?$filter=" + escapeQuery(filter) + "&$select=" + sel}
}

// found is a directory object a lookup returned.
type found struct {
	ID                    string   `json:"id"`
	UserPrincipalName     string   `json:"userPrincipalName"`
	OnPremisesImmutableID string   `json:"onPremisesImmutableId"`
	Mail                  string   `json:"mail"`
	DisplayName           string   `json:"displayName"`
	MailNickname          string   `json:"mailNickname"`
	ProxyAddresses        []string `json:"proxyAddresses"`
	DeviceID              string   `json:"deviceId"`
}

func decodeFound(resp cloud.BatchResponse) ([]found, error) {
	var page struct {
		Value []found `json:"value"`
	}
	if err := resp.Decode(&page); err != nil {
		return nil, err
	}
	return page.Value, nil
}

// newValues are a change's attributes as they should become.
func newValues(c metaverse.Change) map[string][]string {
	m := make(map[string][]string, len(c.Attrs))
	for _, a := range c.Attrs {
		m[a.Name] = a.New
	}
	return m
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

var (
	multiValued = map[string]bool{"proxyAddresses": true, "otherMails": true, "businessPhones": true, "imAddresses": true}
	boolValued  = map[string]bool{"accountEnabled": true, "securityEnabled": true, "mailEnabled": true}
	// groupWritable are the group properties Graph lets a client write
	// (mail, proxyAddresses and mailEnabled are read-only through Graph).
	groupWritable = map[string]bool{"displayName": true, "description": true, "mailNickname": true, "securityEnabled": true}
	// devicePatchable are the device properties an update may change
	// (device-update); deviceId and alternativeSecurityIds are set at
	// creation only.
	devicePatchable = map[string]bool{"displayName": true, "accountEnabled": true, "operatingSystem": true, "operatingSystemVersion": true}
)

// sent reports whether a change's attribute goes to Graph: not the
// properties Graph v1.0 keeps read-only (metaverse.GraphWritable: a user's
// proxyAddresses and on-premises properties; its mail sets the SMTP proxy
// address in the cloud), for groups only the writable ones and directory
// extensions.
func sent(kind, name string) bool {
	if !metaverse.GraphWritable(kind, name) {
		return false
	}
	switch {
	case kind == metaverse.KindGroup:
		return groupWritable[name] || isExtension(name)
	case isExtension(name):
		// The extensions are registered for users and groups.
		return kind == metaverse.KindUser
	}
	return true
}

// graphValue converts a metaverse value to Graph's JSON: a list for
// multi-valued properties, a bool for flags, else a string; nil clears.
func graphValue(name string, v []string) any {
	switch {
	case multiValued[name]:
		if v == nil {
			return []string{}
		}
		return v
	case len(v) == 0:
		return nil
	case boolValued[name]:
		return strings.EqualFold(v[0], "true")
	default:
		return v[0]
	}
}

// patchBody is the PATCH of a change's attributes (all of them for an
// adopted add); for groups only the writable ones.
func patchBody(c metaverse.Change, vt valueTypes) map[string]any {
	p := map[string]any{}
	for _, a := range c.Attrs {
		if !sent(c.Kind, a.Name) || c.Kind == metaverse.KindDevice && !devicePatchable[a.Name] {
			continue
		}
		if c.Op == metaverse.OpAdd && a.New == nil {
			continue
		}
		p[a.Name] = vt.value(a.Name, a.New)
	}
	return p
}

// createBody is the POST body of an add.
func createBody(c metaverse.Change, vt valueTypes) map[string]any {
	vals := newValues(c)
	body := map[string]any{}
	if c.Kind == metaverse.KindDevice {
		return deviceBody(vals)
	}
	if c.Kind == metaverse.KindGroup {
		for name, v := range vals {
			if sent(c.Kind, name) && v != nil {
				body[name] = vt.value(name, v)
			}
		}
		if first(vals["displayName"]) == "" {
			body["displayName"] = c.Key
		}
		if !validNickname(first(vals["mailNickname"])) {
			body["mailNickname"] = nickname(first(vals["displayName"]), c.Key)
		}
		body["mailEnabled"], body["securityEnabled"] = false, true
		return body
	}
	for name, v := range vals {
		if v != nil && sent(c.Kind, name) {
			body[name] = vt.value(name, v)
		}
	}
	upn := first(vals["userPrincipalName"])
	local, _, _ := strings.Cut(upn, "@")
	if first(vals["displayName"]) == "" {
		body["displayName"] = local
	}
	if first(vals["mailNickname"]) == "" {
		body["mailNickname"] = nickname(local, c.Key)
	}
	if _, ok := body["accountEnabled"]; !ok {
		body["accountEnabled"] = true
	}
	body["onPremisesImmutableId"] = c.Key
	body["passwordProfile"] = map[string]any{"password": randomPassword(), "forceChangePasswordNextSignIn": false}
	return body
}

// deviceBody is a device's POST body (device-post-devices): accountEnabled,
// alternativeSecurityIds (type 2: the certificate's key, Edm.Binary in
// Base64), deviceId, displayName, operatingSystem, operatingSystemVersion.
func deviceBody(vals map[string][]string) map[string]any {
	ids := make([]map[string]any, 0, len(vals["alternativeSecurityIds"]))
	for _, k := range vals["alternativeSecurityIds"] {
		ids = append(ids, map[string]any{"type": 2, "identityProvider": nil, "key": k})
	}
	body := map[string]any{
		"accountEnabled":         !strings.EqualFold(first(vals["accountEnabled"]), "false"),
		"alternativeSecurityIds": ids,
		"deviceId":               first(vals["deviceId"]),
		"displayName":            first(vals["displayName"]),
		"operatingSystem":        first(vals["operatingSystem"]),
		"operatingSystemVersion": first(vals["operatingSystemVersion"]),
	}
	return body
}

// validNickname follows Graph's rule for mailNickname: 1 to 64 ASCII
// characters without @ () \ [] " ; : <> , and space.
func validNickname(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if c > 126 || c < 33 || strings.ContainsRune(`@()\[]";:<>,`, c) {
			return false
		}
	}
	return true
}

// nickname makes a valid mailNickname from a name, else from the key.
func nickname(name, key string) string {
	var b strings.Builder
	for _, c := range name {
		if c <= 126 && c >= 33 && !strings.ContainsRune(`@()\[]";:<>,`, c) && b.Len() < 64 {
			b.WriteRune(c)
		}
	}
	if b.Len() == 0 {
		for _, c := range key {
			if c < 128 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') && b.Len() < 64 {
				b.WriteRune(c)
			}
		}
	}
	if b.Len() == 0 {
		return "object"
	}
	return b.String()
}

// primarySMTP is the address a user's soft match looks for: the SMTP:
// proxy address, else mail.
func primarySMTP(vals map[string][]string) string {
	for _, p := range vals["proxyAddresses"] {
		if strings.HasPrefix(p, "SMTP:") {
			return p[len("SMTP:"):]
		}
	}
	return first(vals["mail"])
}

// mergeAttrs is the exported attributes after a change was applied.
func mergeAttrs(old map[string][]string, body map[string]any) map[string][]string {
	out := make(map[string][]string, len(old)+len(body))
	for k, v := range old {
		out[k] = v
	}
	for k, v := range body {
		switch k {
		case "passwordProfile", "onPremisesImmutableId":
			continue
		}
		switch x := v.(type) {
		case nil:
			delete(out, k)
		case string:
			out[k] = []string{x}
		case bool, int64:
			out[k] = []string{fmt.Sprint(x)}
		case []any: // a multi-valued number extension
			vals := make([]string, len(x))
			for i, e := range x {
				vals[i] = fmt.Sprint(e)
			}
			out[k] = vals
		case []string:
			out[k] = slices.Clone(x)
		}
	}
	return out
}
