package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hybridsync/hybridsync/engine/audit"
	"github.com/hybridsync/hybridsync/engine/auth"
	"github.com/hybridsync/hybridsync/engine/configure"
	"github.com/hybridsync/hybridsync/engine/cycle"
	"github.com/hybridsync/hybridsync/engine/export"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/metaverse"
	"github.com/hybridsync/hybridsync/engine/schedule"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
	"github.com/hybridsync/hybridsync/engine/writeback"
	"github.com/hybridsync/hybridsync/views/helpdesk"
)

// historyCycles is how many cycles the run history shows.
const historyCycles = 20

// GET /sync: the cycle's schedule and run history, the deletion guard, the
// pending exports, the exports and the sync errors.
func (h *Handler) syncPage(w http.ResponseWriter, r *http.Request) {
	// The run history reloads itself while a cycle runs: an htmx request
	// for it gets the panel alone.
	if isFragment(r) && r.URL.Query().Get("part") == "history" {
		hist, err := cycle.History(r.Context(), h.st, historyCycles)
		if err != nil {
			h.fail(w, r, "Unable to read the run history", err)
			return
		}
		h.render(w, r, http.StatusOK, helpdesk.RunHistory(hist))
		return
	}
	h.renderSync(w, r, http.StatusOK, "")
}

func (h *Handler) renderSync(w http.ResponseWriter, r *http.Request, status int, msg string) {
	ctx := r.Context()
	roles := accountFrom(r).Roles
	p := helpdesk.OverviewProps{Layout: h.layoutProps(r, "Synchronization", "sync"), Error: msg,
		CanRun: auth.Satisfies(roles, auth.Operators), CanAdmin: auth.Satisfies(roles, auth.Admins), SchedulerOn: h.cfg.Scheduler.On}
	var err error
	if p.Settings, err = schedule.Load(ctx, h.st); err != nil {
		h.fail(w, r, "Unable to read the schedule", err)
		return
	}
	state, err := cycle.ScheduleState(ctx, h.st, time.Now())
	if err != nil {
		h.fail(w, r, "Unable to read the sync history", err)
		return
	}
	p.Decision, p.Warning = schedule.Decide(p.Settings, state), schedule.Warning(state)
	if p.History, err = cycle.History(ctx, h.st, historyCycles); err != nil {
		h.fail(w, r, "Unable to read the run history", err)
		return
	}
	if p.Pending, err = h.st.PendingCounts(ctx); err != nil {
		h.fail(w, r, "Unable to count the pending exports", err)
		return
	}
	if p.Errors, p.ErrorCount, err = h.st.SyncErrorPage(ctx, store.SyncErrorFilter{Limit: 10}); err != nil {
		h.fail(w, r, "Unable to list the sync errors", err)
		return
	}
	if p.Holders, err = h.holders(ctx, p.Errors); err != nil {
		h.fail(w, r, "Unable to find the holders of the sync errors", err)
		return
	}
	if p.Runs, err = h.st.ExportRuns(ctx, 10); err != nil {
		h.fail(w, r, "Unable to list the exports", err)
		return
	}
	if p.Guard, err = h.st.DeletionGuard(ctx); err != nil {
		h.fail(w, r, "Unable to read the deletion guard", err)
		return
	}
	h.render(w, r, status, helpdesk.Overview(p))
}

// errorsPage is how many sync errors a page of /sync/errors lists.
const errorsPage = 50

// GET /sync/errors: the open sync errors, a page at a time, filtered by
// attribute and text, each with the object that holds its value.
func (h *Handler) syncErrors(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	f := store.SyncErrorFilter{Attribute: q.Get("attribute"), Text: strings.TrimSpace(q.Get("text")), Limit: errorsPage}
	if f.Attribute != "" && f.Attribute != "userPrincipalName" && f.Attribute != "proxyAddresses" {
		f.Attribute = ""
	}
	if n, err := strconv.Atoi(q.Get("offset")); err == nil && n > 0 && n < 1<<30 {
		f.Offset = n - n%errorsPage
	}
	p := helpdesk.ErrorsProps{Layout: h.layoutProps(r, "Sync errors", "sync"), Filter: f}
	read, err := h.syncErrorPage(ctx, f)
	if err != nil {
		h.fail(w, r, "Unable to list the sync errors", err)
		return
	}
	p.Errors, p.Total, p.All = read.errs, read.total, read.all
	if p.Holders, err = h.holders(ctx, p.Errors); err != nil {
		h.fail(w, r, "Unable to find the holders of the sync errors", err)
		return
	}
	page := func(offset int) string {
		v := url.Values{}
		if f.Attribute != "" {
			v.Set("attribute", f.Attribute)
		}
		if f.Text != "" {
			v.Set("text", f.Text)
		}
		if offset > 0 {
			v.Set("offset", strconv.Itoa(offset))
		}
		if len(v) == 0 {
			return "/sync/errors"
		}
		return "/sync/errors?" + v.Encode()
	}
	if f.Offset > 0 {
		p.Prev = page(f.Offset - errorsPage)
	}
	if f.Offset+len(p.Errors) < p.Total {
		p.Next = page(f.Offset + errorsPage)
	}
	h.render(w, r, http.StatusOK, helpdesk.Errors(p))
}

// holders finds the objects hybridsync exported among the holders of the
// errors' values, by their cloud ids.
func (h *Handler) holders(ctx context.Context, errs []store.SyncError) (map[string]store.ExportedRef, error) {
	ids := make([]string, 0, len(errs))
	for _, e := range errs {
		ids = append(ids, e.HolderID)
	}
	return h.st.ExportedByCloudID(ctx, ids)
}

// POST /sync/run starts a cycle now (Operators).
func (h *Handler) syncRun(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	h.configureMu.Lock()
	defer h.configureMu.Unlock()
	if j, ok, err := h.runningJob(ctx, cycle.Kind, configure.Kind); err != nil {
		h.fail(w, r, "Unable to list jobs", err)
		return
	} else if ok {
		msg := fmt.Sprintf("A %s is already running (job %d). Wait for it to finish.", strings.ToLower(h.runner.Title(j.Kind)), j.ID)
		h.audit(r, audit.SyncRun, "", audit.Refused, msg)
		h.renderSync(w, r, http.StatusConflict, msg)
		return
	}
	full := r.PostFormValue("full") == "on"
	kind := "delta"
	if full {
		kind = "full"
	}
	id, err := h.runner.Start(ctx, jobs.Request{Kind: cycle.Kind, Params: cycle.Params{Full: full, Trigger: cycle.TriggerManual}, By: username(r)})
	if err != nil {
		h.audit(r, audit.SyncRun, "", audit.Failed, kind+" cycle: "+err.Error())
		h.renderSync(w, r, http.StatusUnprocessableEntity, err.Error())
		return
	}
	h.audit(r, audit.SyncRun, fmt.Sprintf("job %d", id), audit.Started, kind+" cycle")
	redirect(w, r, fmt.Sprintf("/jobs/%d", id))
}

// POST /sync/schedule changes the interval, or suspends or resumes the scheduler (Administrators).
func (h *Handler) syncSchedule(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	s, err := schedule.Load(ctx, h.st)
	if err != nil {
		h.fail(w, r, "Unable to read the schedule", err)
		return
	}
	was := scheduleWords(s)
	switch r.PostFormValue("action") {
	case "suspend":
		s.Suspended, s.SuspendedBy, s.SuspendedAt = true, username(r), time.Now().UTC()
	case "resume":
		s.Suspended, s.SuspendedBy, s.SuspendedAt = false, "", time.Time{}
	case "interval":
		d, err := schedule.ParseMinutes(r.PostFormValue("interval"))
		if err != nil {
			h.renderSync(w, r, http.StatusUnprocessableEntity, err.Error())
			return
		}
		s.Interval = d
	default:
		h.renderSync(w, r, http.StatusUnprocessableEntity, "This page has no such button. Reload the page and try again.")
		return
	}
	if err := s.Check(); err != nil {
		h.renderSync(w, r, http.StatusUnprocessableEntity, err.Error())
		return
	}
	if err := schedule.Save(ctx, h.st, s); err != nil {
		h.fail(w, r, "Unable to save the schedule", err)
		return
	}
	h.log.Info("sync schedule changed", "user", username(r), "interval", s.Interval, "suspended", s.Suspended)
	h.audit(r, audit.Schedule, "", audit.Succeeded, was+" → "+scheduleWords(s))
	redirect(w, r, "/sync")
}

// POST /sync/guard sets the deletion threshold, or allows the pending
// deletes once (Administrators).
func (h *Handler) syncGuard(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	g, err := h.st.DeletionGuard(ctx)
	if err != nil {
		h.fail(w, r, "Unable to read the deletion guard", err)
		return
	}
	was := guardWords(g)
	action, detail := audit.Guard, ""
	num := func(field string) (int, bool) {
		n, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue(field)))
		return n, err == nil && n >= 0
	}
	switch r.PostFormValue("action") {
	case "save":
		t, ok1 := num("threshold")
		pc, ok2 := num("percent")
		if !ok1 || !ok2 || pc > 100 {
			h.renderSync(w, r, http.StatusUnprocessableEntity, "Enter the threshold as a number of deletes (0 turns the guard off) and the percentage as a number from 0 to 100.")
			return
		}
		g.Threshold, g.Percent, g.Enabled = t, pc, t > 0 || pc > 0
		err = h.st.SetDeletionGuard(ctx, g, username(r))
		detail = was + " → " + guardWords(g)
	case "allow":
		n, ok := num("allow")
		if !ok || n == 0 {
			h.renderSync(w, r, http.StatusUnprocessableEntity, "Enter how many deletes the next export may make, once.")
			return
		}
		err = h.st.AllowDeletesOnce(ctx, n, username(r))
		action, detail = audit.GuardAllowOnce, fmt.Sprintf("the next export may delete %d objects, once", n)
	default:
		h.renderSync(w, r, http.StatusUnprocessableEntity, "This page has no such button. Reload the page and try again.")
		return
	}
	if err != nil {
		h.fail(w, r, "Unable to save the deletion guard", err)
		return
	}
	h.log.Info("deletion guard changed", "user", username(r), "action", r.PostFormValue("action"))
	h.audit(r, action, "", audit.Succeeded, detail)
	redirect(w, r, "/sync")
}

// scheduleWords says what the schedule is, for the audit trail.
func scheduleWords(s schedule.Settings) string {
	w := "every " + s.Interval.String()
	if s.Suspended {
		w += ", suspended"
	}
	return w
}

// guardWords says what the deletion guard is, for the audit trail.
func guardWords(g store.DeletionGuard) string {
	if !g.Enabled {
		return "off"
	}
	return fmt.Sprintf("stop at %d deletes or %d%%", g.Threshold, g.Percent)
}

// pendingFilter reads the staging review's filter from the query.
func pendingFilter(r *http.Request) export.Filter {
	q := r.URL.Query()
	return export.Filter{Op: q.Get("op"), Kind: q.Get("kind"), Text: strings.TrimSpace(q.Get("text"))}
}

// pendingPage is how many objects a page of /sync/pending shows; the next
// page starts after the last (its cursor in the link), and the CSV has them
// all.
const pendingPage = 50

// GET /sync/pending: the staging review.
func (h *Handler) syncPending(w http.ResponseWriter, r *http.Request) {
	f := pendingFilter(r)
	var notice string
	after, err := cycle.ParseCursor(r.URL.Query().Get("after"))
	if err != nil {
		notice = "That page link is not one this page made: the first page is shown."
	}
	rev, err := h.reviewPending(r.Context(), f, after, pendingPage)
	if err != nil {
		h.fail(w, r, "Unable to read the pending exports", err)
		return
	}
	objs := rev.Objects
	held := make([]helpdesk.HeldCount, 0, len(rev.Held))
	for _, reason := range slices.Sorted(maps.Keys(rev.Held)) {
		held = append(held, helpdesk.HeldCount{Reason: reason, N: rev.Held[reason]})
	}
	wbs, chosen, err := h.pendingWritebacks(r, f)
	if err != nil {
		h.fail(w, r, "Unable to read the pending writebacks", err)
		return
	}
	filter := url.Values{"op": {f.Op}, "kind": {f.Kind}, "text": {f.Text}}
	p := helpdesk.PendingProps{Layout: h.layoutProps(r, "Pending exports", "sync"), Filter: f, Objects: objs, Matching: rev.Matching, Held: held, Total: rev.Total,
		CSV: "/sync/pending.csv?" + filter.Encode(), Writebacks: wbs, WritebackChosen: chosen, Notice: notice}
	if after != (cycle.Cursor{}) {
		p.First = "/sync/pending?" + filter.Encode()
	}
	if rev.Next != (cycle.Cursor{}) {
		filter.Set("after", rev.Next.String())
		p.Next = "/sync/pending?" + filter.Encode()
	}
	h.render(w, r, http.StatusOK, helpdesk.Pending(p))
}

// GET /sync/pending.csv: the staging review as CSV, one row per attribute change.
func (h *Handler) syncPendingCSV(w http.ResponseWriter, r *http.Request) {
	f := pendingFilter(r)
	wbs, _, err := h.pendingWritebacks(r, f)
	if err != nil {
		h.fail(w, r, "Unable to read the pending writebacks", err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="hybridsync-pending-exports.csv"`)
	// The changes are read and written a page at a time. Past the headers a
	// failure can't be a status any more: the response is cut, so that the
	// browser says the download failed rather than keep a truncated file.
	if err := export.WriteCSV(w, cycle.EachPendingChange(r.Context(), h.st, f.Op, f.Kind), f); err != nil {
		h.log.Error("unable to write the pending exports", "err", err)
		panic(http.ErrAbortHandler)
	}
	if err := writeback.WriteCSV(w, wbs); err != nil {
		h.log.Error("unable to write the pending writebacks", "err", err)
		panic(http.ErrAbortHandler)
	}
}

// pendingWritebacks are the chosen writebacks' pending changes that the
// review's filter selects (its text, in the cloud object's name, id, DN or
// member; an operation or kind filter is about exports and selects none), and
// whether any writeback is chosen.
func (h *Handler) pendingWritebacks(r *http.Request, f export.Filter) ([]writeback.Op, bool, error) {
	cfg, a, err := h.activeAnswers(r)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if !setup.WritebackShown(&a) {
		return nil, false, nil
	}
	if f.Op != "" || f.Kind != "" {
		return nil, true, nil
	}
	ops, err := cycle.PendingWritebacks(r.Context(), h.st, a, cfg.ID)
	if err != nil {
		return nil, true, err
	}
	text := strings.ToLower(f.Text)
	var out []writeback.Op
	for _, op := range ops {
		if text == "" || strings.Contains(strings.ToLower(op.Name+" "+op.CloudID+" "+op.DN+" "+op.Value), text) {
			out = append(out, op)
		}
	}
	return out, true, nil
}

// GET /sync/lookup?q=: an object's path through import, sync and export.
func (h *Handler) syncLookup(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	p := helpdesk.LookupProps{Layout: h.layoutProps(r, "Find an object", "sync"), Query: q, Searched: q != ""}
	if q == "" {
		h.render(w, r, http.StatusOK, helpdesk.Lookup(p))
		return
	}
	found, err := h.st.FindCSObjects(ctx, q)
	if err != nil {
		h.fail(w, r, "Unable to search the connector spaces", err)
		return
	}
	// A metaverse key or cloud name finds its sources too.
	mvs, err := h.st.FindMetaverse(ctx, q)
	if err != nil {
		h.fail(w, r, "Unable to search the metaverse", err)
		return
	}
	seen := map[string]bool{}
	for _, cs := range found {
		seen[cs.Connector+"|"+cs.Anchor] = true
	}
	for _, mv := range mvs {
		for _, src := range mv.Sources {
			if seen[src.Connector+"|"+src.Anchor] {
				continue
			}
			objs, err := h.st.CSObjects(ctx, src.Connector, []string{src.Anchor})
			if err != nil {
				h.fail(w, r, "Unable to read the connector space", err)
				return
			}
			found = append(found, objs...)
			seen[src.Connector+"|"+src.Anchor] = true
		}
	}
	// The hits exported to the tenant are read from it (sync_tenant.go).
	targets := map[int]tenantTarget{}
	joined := map[int]string{} // the hits' metaverse keys, for their sync errors
	for _, cs := range found {
		hit := helpdesk.LookupHit{Connector: cs.Connector, DN: cs.DN, Class: cs.Class, InScope: cs.InScope && !cs.Deleted, Reason: cs.Reason}
		j, err := h.st.MetaverseJoin(ctx, cs.Connector, cs.Anchor)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			h.fail(w, r, "Unable to read the join", err)
			return
		default:
			var tr metaverse.Trace
			if json.Unmarshal(j.Trace, &tr) == nil {
				if j.Key != "" {
					if mv, err := h.st.MetaverseObject(ctx, j.Key); err == nil {
						tr.Cloud, hit.Kind = mv.Attrs, mv.Kind
					}
					if xs, err := h.st.ExportObjects(ctx, []string{j.Key}); err == nil {
						if x, ok := xs[j.Key]; ok && x.CloudID != "" {
							hit.CloudID, hit.ExportedAt = x.CloudID, x.ExportedAt
							if _, known := tenantCollections[x.Kind]; known {
								targets[len(p.Found)] = tenantTarget{Kind: x.Kind, CloudID: x.CloudID, Computed: tr.Cloud}
							}
						}
					}
					if hit.CloudID == "" && hit.Kind != "" {
						// Not exported: the export may hold its changes
						// back (a contact), by the export's own rule.
						hit.Held = export.HeldReason(metaverse.Change{Key: j.Key, Kind: hit.Kind})
					}
					joined[len(p.Found)] = j.Key
				}
				hit.Trace = &tr
			}
		}
		p.Found = append(p.Found, hit)
	}
	if err := h.hitErrors(ctx, p.Found, joined); err != nil {
		h.fail(w, r, "Unable to list the sync errors", err)
		return
	}
	h.readTenant(ctx, q, &p, targets)
	if p.Writebacks, err = h.writebackHits(r, q); err != nil {
		h.fail(w, r, "Unable to search the written-back objects", err)
		return
	}
	h.render(w, r, http.StatusOK, helpdesk.Lookup(p))
}

// hitErrors gives each joined hit its object's open sync errors.
func (h *Handler) hitErrors(ctx context.Context, hits []helpdesk.LookupHit, joined map[int]string) error {
	keys := slices.Collect(maps.Values(joined))
	open, err := h.st.OpenSyncErrorsOf(ctx, keys)
	if err != nil {
		return err
	}
	for i, key := range joined {
		for _, e := range open {
			if e.Key == key {
				hits[i].Errors = append(hits[i].Errors, e)
			}
		}
	}
	return nil
}

// writebackHits are the written-back groups and devices the lookup finds,
// each with its path from the tenant into the forest and what the chosen
// writebacks would still change in it.
func (h *Handler) writebackHits(r *http.Request, q string) ([]helpdesk.WritebackHit, error) {
	objs, err := h.st.FindWritebackObjects(r.Context(), q, 20)
	if err != nil || len(objs) == 0 {
		return nil, err
	}
	pending := map[string][]writeback.Op{}
	if cfg, a, err := h.activeAnswers(r); err == nil {
		ops, err := cycle.PendingWritebacks(r.Context(), h.st, a, cfg.ID)
		if err != nil {
			return nil, err
		}
		for _, op := range ops {
			pending[op.Kind+"|"+op.CloudID] = append(pending[op.Kind+"|"+op.CloudID], op)
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	out := make([]helpdesk.WritebackHit, len(objs))
	for i, o := range objs {
		var t struct {
			DisplayName string `json:"displayName"`
		}
		_ = json.Unmarshal(o.Tenant, &t) // a name is a nicety: the id says which
		out[i] = helpdesk.WritebackHit{Object: o, Name: t.DisplayName, Pending: pending[o.Kind+"|"+o.CloudID]}
	}
	return out, nil
}
