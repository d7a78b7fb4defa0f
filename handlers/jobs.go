package handlers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"

	"github.com/hybridsync/hybridsync/engine/audit"
	"github.com/hybridsync/hybridsync/engine/auth"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/store"
	jobsview "github.com/hybridsync/hybridsync/views/jobs"
)

func (h *Handler) jobsPage(w http.ResponseWriter, r *http.Request) {
	js, err := h.st.Jobs(r.Context(), 200)
	if err != nil {
		h.fail(w, r, "Unable to list jobs", err)
		return
	}
	h.render(w, r, http.StatusOK, jobsview.List(jobsview.ListProps{Layout: h.layoutProps(r, "Jobs", "jobs"), Jobs: h.jobRows(js)}))
}

func (h *Handler) jobRows(js []store.Job) []jobsview.Row {
	out := make([]jobsview.Row, len(js))
	for i, j := range js {
		out[i] = jobsview.Row{Job: j, Title: h.runner.Title(j.Kind)}
	}
	return out
}

func (h *Handler) loadJob(w http.ResponseWriter, r *http.Request) (store.Job, bool) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil || id < 1 {
		h.notFound(w, r)
		return store.Job{}, false
	}
	j, err := h.st.Job(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		h.notFound(w, r)
		return store.Job{}, false
	}
	if err != nil {
		h.fail(w, r, "Unable to read the job", err)
		return store.Job{}, false
	}
	return j, true
}

// maxEventsOnPage bounds the events rendered into a job page; the stream
// continues from the last one shown.
const maxEventsOnPage = 5000

func (h *Handler) jobPage(w http.ResponseWriter, r *http.Request) {
	j, ok := h.loadJob(w, r)
	if !ok {
		return
	}
	evs, err := h.st.Events(r.Context(), j.ID, 0, maxEventsOnPage)
	if err != nil {
		h.fail(w, r, "Unable to read the job's events", err)
		return
	}
	var last int64
	if n := len(evs); n > 0 {
		last = evs[n-1].Seq
	}
	problems, err := h.st.Problems(r.Context(), j.ID)
	if err != nil {
		h.fail(w, r, "Unable to read the job's problems", err)
		return
	}
	acct := accountFrom(r)
	server, scripts := configureFederation(j)
	h.render(w, r, http.StatusOK, jobsview.Detail(jobsview.DetailProps{
		Layout: h.layoutProps(r, h.runner.Title(j.Kind), "jobs"), Job: j, Title: h.runner.Title(j.Kind), Problems: problems[j.ID],
		Events: evs, LastSeq: last, CanRetry: acct != nil && auth.Satisfies(acct.Roles, auth.Admins),
		Scripts: jobScripts(j, scripts), Federation: server != "",
	}))
}

func (h *Handler) jobRetry(w http.ResponseWriter, r *http.Request) {
	j, ok := h.loadJob(w, r)
	if !ok {
		return
	}
	id, err := h.runner.Retry(r.Context(), j.ID, username(r))
	if err != nil {
		h.log.Warn("retry refused", "job", j.ID, "err", err)
		h.audit(r, audit.JobRetry, jobTarget(j), audit.Refused, "the job is "+j.Status)
		h.errorPage(w, r, http.StatusConflict, "Can't retry this job", fmt.Sprintf("Job %d is %s; only a failed, interrupted or cancelled job can be retried.", j.ID, j.Status))
		return
	}
	h.audit(r, audit.JobRetry, jobTarget(j), audit.Started, fmt.Sprintf("as job %d", id))
	redirect(w, r, fmt.Sprintf("/jobs/%d", id))
}

// jobTarget names a job for the audit trail.
func jobTarget(j store.Job) string { return fmt.Sprintf("job %d (%s)", j.ID, j.Kind) }

// jobCancel cancels a queued or running job; the job page shows it ending
// "Cancelled by <user>".
func (h *Handler) jobCancel(w http.ResponseWriter, r *http.Request) {
	j, ok := h.loadJob(w, r)
	if !ok {
		return
	}
	if err := h.runner.Cancel(r.Context(), j.ID, username(r)); err != nil {
		h.log.Warn("cancel refused", "job", j.ID, "err", err)
		h.audit(r, audit.JobCancel, jobTarget(j), audit.Refused, "the job is "+j.Status)
		h.errorPage(w, r, http.StatusConflict, "Can't cancel this job", fmt.Sprintf("Job %d is %s; only a queued or running job can be cancelled.", j.ID, j.Status))
		return
	}
	h.audit(r, audit.JobCancel, jobTarget(j), audit.Succeeded, "")
	redirect(w, r, fmt.Sprintf("/jobs/%d", j.ID))
}

// jobEvents streams a job's events as Server-Sent Events. It starts after the
// Last-Event-ID the browser sends when it reconnects (or ?after= from the page),
// so a viewer that was away gets everything it missed, from the store. Each
// event is a "log" line; each step or job change also sends "status" with the
// steps re-rendered; a finished job ends with "done".
func (h *Handler) jobEvents(w http.ResponseWriter, r *http.Request) {
	j, ok := h.loadJob(w, r)
	if !ok {
		return
	}
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		if v, err := strconv.ParseInt(id, 10, 64); err == nil {
			after = v
		}
	}
	rc := http.NewResponseController(w)
	// The server's write timeout must not cut a long stream.
	_ = rc.SetWriteDeadline(time.Time{})
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	// Subscribe before reading the backlog, so nothing falls between the two.
	sub := h.runner.Hub().Subscribe(j.ID)
	defer h.runner.Hub().Unsubscribe(sub)

	canRetry := auth.Satisfies(accountFrom(r).Roles, auth.Admins)
	csrf, _ := sessionFrom(r).csrf()
	s := &sseStream{h: h, w: w, rc: rc, ctx: r.Context(), jobID: j.ID, last: after, canRetry: canRetry, csrf: csrf}
	if _, err := fmt.Fprint(w, "retry: 2000\n\n"); err != nil {
		return
	}
	if done, err := s.catchUp(); done || err != nil {
		return
	}
	// A job that had finished with every event already seen (after= at or past
	// its last one, as when the page was rendered just as the job ended) sends
	// nothing more: say where it stands and end, or the viewer waits forever.
	if done, err := s.endIfFinished(); done || err != nil {
		return
	}
	ping := time.NewTicker(h.cfg.SSEPing)
	defer ping.Stop()
	for {
		select {
		case ev := <-sub.C:
			if ev.Seq <= s.last {
				continue
			}
			if ev.Seq > s.last+1 { // a gap: fetch it from the store
				if done, err := s.catchUp(); done || err != nil {
					return
				}
				continue
			}
			if done, err := s.send(ev); done || err != nil {
				return
			}
		case <-sub.Lagged:
			if done, err := s.catchUp(); done || err != nil {
				return
			}
		case <-ping.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		case <-r.Context().Done():
			return
		case <-h.done:
			return
		}
	}
}

type sseStream struct {
	h        *Handler
	w        http.ResponseWriter
	rc       *http.ResponseController
	ctx      context.Context
	jobID    int64
	last     int64
	canRetry bool
	csrf     string
}

// catchUp sends every stored event after the last one sent.
func (s *sseStream) catchUp() (bool, error) {
	for {
		evs, err := s.h.st.Events(s.ctx, s.jobID, s.last, 500)
		if err != nil {
			s.h.log.Error("unable to read job events", "job", s.jobID, "err", err)
			return false, err
		}
		for _, ev := range evs {
			if done, err := s.send(ev); done || err != nil {
				return done, err
			}
		}
		if len(evs) < 500 {
			return false, nil
		}
	}
}

// endIfFinished sends the status and "done" when the job has finished and no
// event is left to send; it reports whether it did.
func (s *sseStream) endIfFinished() (bool, error) {
	j, err := s.h.st.Job(s.ctx, s.jobID)
	if err != nil || !jobs.Finished(j.Status) {
		return false, err
	}
	// The job's final event is written with its final status: none can follow.
	if more, err := s.h.st.Events(s.ctx, s.jobID, s.last, 1); err != nil || len(more) > 0 {
		return false, err
	}
	if err := s.writeStatus(j); err != nil {
		return false, err
	}
	if err := s.write("", "done", templ.Raw(j.Status)); err != nil {
		return false, err
	}
	return true, s.rc.Flush()
}

// writeStatus sends the job's outcome, problems and steps as they are now.
func (s *sseStream) writeStatus(j store.Job) error {
	ps, err := s.h.st.Problems(s.ctx, j.ID)
	if err != nil {
		return err
	}
	return s.write("", "status", jobsview.Status(j, ps[j.ID], s.canRetry, s.csrf))
}

// send writes one event; it reports true when the job has finished.
func (s *sseStream) send(ev store.Event) (bool, error) {
	if err := s.write(strconv.FormatInt(ev.Seq, 10), "log", jobsview.EventLine(ev)); err != nil {
		return false, err
	}
	s.last = ev.Seq
	// A log line at info level changes nothing above the log; a warning or
	// an error is a problem, listed above the steps: send them again.
	if ev.Kind == "log" && ev.Level != "warn" && ev.Level != "error" {
		return false, s.rc.Flush()
	}
	j, err := s.h.st.Job(s.ctx, s.jobID)
	if err != nil {
		return false, err
	}
	if err := s.writeStatus(j); err != nil {
		return false, err
	}
	// "done" only once the stream has delivered every event: the job's final
	// event is the last one it writes.
	if jobs.Finished(j.Status) && ev.Kind == "job" {
		if more, err := s.h.st.Events(s.ctx, s.jobID, s.last, 1); err != nil || len(more) == 0 {
			if err := s.write("", "done", templ.Raw(j.Status)); err != nil {
				return false, err
			}
			return true, s.rc.Flush()
		}
	}
	return false, s.rc.Flush()
}

func (s *sseStream) write(id, event string, c templ.Component) error {
	var buf bytes.Buffer
	if err := c.Render(s.ctx, &buf); err != nil {
		return err
	}
	var out strings.Builder
	if id != "" {
		out.WriteString("id: " + id + "\n")
	}
	out.WriteString("event: " + event + "\n")
	for _, line := range strings.Split(buf.String(), "\n") {
		out.WriteString("data: " + line + "\n")
	}
	out.WriteString("\n")
	_, err := fmt.Fprint(s.w, out.String())
	return err
}
