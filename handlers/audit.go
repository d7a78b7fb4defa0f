package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hybridsync/hybridsync/engine/audit"
	"github.com/hybridsync/hybridsync/engine/store"
	auditview "github.com/hybridsync/hybridsync/views/audit"
	"github.com/hybridsync/hybridsync/views/ui"
)

// audit records a state-changing action of this request in the audit trail:
// the signed-in account (or nobody), the client's address as the connection
// shows it, and what was done to what, with its outcome. detail is words or
// JSON, never a secret. The record is written after the change, on its own:
// a record that can't be written is logged as an error and does not undo the
// change.
func (h *Handler) audit(r *http.Request, action, target, outcome, detail string) {
	h.auditAs(r, username(r), action, target, outcome, detail)
}

// auditAs is audit for a request whose actor is not (yet) the session's
// account: a sign-in records who signed in.
func (h *Handler) auditAs(r *http.Request, actor, action, target, outcome, detail string) {
	e := store.AuditEvent{Actor: actor, Client: clientIP(r), Action: action, Target: target, Outcome: outcome, Detail: detail}
	// The request may be ending (a client gone away); the record must not.
	if err := h.st.AppendAudit(context.WithoutCancel(r.Context()), e); err != nil {
		h.log.Error("audit record not written", "action", action, "target", target, "outcome", outcome, "user", actor, "err", err)
	}
}

// auditPageSize is how many events a page of the audit trail shows.
const auditPageSize = 100

// auditFilter reads the audit page's filter from the query: the store's
// filter, the form as typed, and what is wrong with it ("" when nothing).
func auditFilter(r *http.Request) (store.AuditFilter, auditview.Filter, string) {
	q := r.URL.Query()
	form := auditview.Filter{Action: q.Get("action"), Actor: q.Get("actor"), Outcome: q.Get("outcome"), From: q.Get("from"), To: q.Get("to")}
	f := store.AuditFilter{Actor: form.Actor, Outcome: form.Outcome}
	var problems []string
	if form.Action != "" {
		if audit.Known(form.Action) {
			f.Action = form.Action
		} else {
			problems = append(problems, "There is no action "+strconv.Quote(form.Action)+": choose one from the list.")
		}
	}
	if form.Outcome != "" && !slices.Contains(audit.Outcomes, form.Outcome) {
		problems = append(problems, "There is no outcome "+strconv.Quote(form.Outcome)+": choose one from the list.")
		f.Outcome = ""
	}
	loc, _ := ui.Zone(r.Context())
	day := func(field, v string) time.Time {
		if v == "" {
			return time.Time{}
		}
		t, err := time.ParseInLocation("2006-01-02", v, loc)
		if err != nil {
			problems = append(problems, "Enter the "+field+" day as YYYY-MM-DD.")
		}
		return t
	}
	f.From = day("first", form.From)
	if to := day("last", form.To); !to.IsZero() {
		f.To = to.AddDate(0, 0, 1) // the last day is included
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		problems = append(problems, "The first day is after the last.")
	}
	if b, err := strconv.ParseInt(q.Get("before"), 10, 64); err == nil && b > 0 {
		f.Before = b
	}
	return f, form, strings.Join(problems, " ")
}

// auditQuery is the filter as a query string, with before when > 0.
func auditQuery(form auditview.Filter, before int64) string {
	v := url.Values{}
	for k, s := range map[string]string{"action": form.Action, "actor": form.Actor, "outcome": form.Outcome, "from": form.From, "to": form.To} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if before > 0 {
		v.Set("before", strconv.FormatInt(before, 10))
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// GET /audit: the audit trail, newest first, a page at a time (Administrators).
func (h *Handler) auditPage(w http.ResponseWriter, r *http.Request) {
	f, form, problem := auditFilter(r)
	status := http.StatusOK
	p := auditview.Props{Layout: h.layoutProps(r, "Audit trail", "audit"), Filter: form, Error: problem}
	if problem != "" {
		// Shown with the filter as typed; nothing is listed for a filter
		// that can't be read, rather than everything.
		status = http.StatusUnprocessableEntity
	} else {
		f.Limit = auditPageSize + 1
		evs, err := h.st.AuditEvents(r.Context(), f)
		if err != nil {
			h.fail(w, r, "Unable to read the audit trail", err)
			return
		}
		if len(evs) > auditPageSize {
			evs = evs[:auditPageSize]
			p.Older = "/audit" + auditQuery(form, evs[len(evs)-1].ID)
		}
		if f.Before > 0 {
			p.Newest = "/audit" + auditQuery(form, 0)
		}
		for _, e := range evs {
			p.Events = append(p.Events, auditRow(e))
		}
	}
	actors, err := h.st.AuditActors(r.Context())
	if err != nil {
		h.fail(w, r, "Unable to read the audit trail", err)
		return
	}
	p.Actors = actors
	p.CSV = "/audit.csv" + auditQuery(form, 0)
	p.JSON = "/audit.json" + auditQuery(form, 0)
	h.render(w, r, status, auditview.Page(p))
}

// auditRow is an event as the page shows it: a Configure's changes listed.
func auditRow(e store.AuditEvent) auditview.Row {
	row := auditview.Row{AuditEvent: e, Label: audit.Label(e.Action)}
	var job int64
	if n, _ := fmt.Sscanf(e.Target, "job %d", &job); n == 1 && job > 0 {
		row.Link = fmt.Sprintf("/jobs/%d", job)
	}
	if e.Action == audit.ConfigureStart && strings.HasPrefix(e.Detail, "[") {
		if err := json.Unmarshal([]byte(e.Detail), &row.Changes); err == nil {
			row.HasChanges = true
		}
	}
	return row
}

// auditWriter is a download format of the audit trail.
type auditWriter interface {
	Write(store.AuditEvent) error
	Close() error
}

// GET /audit.csv and /audit.json: everything the filter selects (no page),
// streamed (Administrators).
func (h *Handler) auditCSV(w http.ResponseWriter, r *http.Request) {
	h.auditDownload(w, r, "text/csv; charset=utf-8", "csv", func() (auditWriter, error) { return audit.NewCSV(w) })
}

func (h *Handler) auditJSON(w http.ResponseWriter, r *http.Request) {
	h.auditDownload(w, r, "application/json", "json", func() (auditWriter, error) { return audit.NewJSON(w) })
}

func (h *Handler) auditDownload(w http.ResponseWriter, r *http.Request, ctype, ext string, open func() (auditWriter, error)) {
	f, _, problem := auditFilter(r)
	if problem != "" {
		h.errorPage(w, r, http.StatusUnprocessableEntity, "Can't read this filter", problem)
		return
	}
	f.Before = 0
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="hybridsync-audit-%s.%s"`, time.Now().UTC().Format("20060102-150405"), ext))
	aw, err := open()
	if err == nil {
		err = h.st.EachAuditEvent(r.Context(), f, aw.Write)
	}
	if err == nil {
		err = aw.Close()
	}
	if err != nil {
		// The status is sent: all that is left is to stop, and say so in the log.
		h.log.Error("audit download cut short", "user", username(r), "format", ext, "err", err)
		return
	}
	h.log.Info("audit trail downloaded", "user", username(r), "format", ext, "filter", auditQuery(auditview.Filter{Action: f.Action, Actor: f.Actor, Outcome: f.Outcome}, 0))
}
