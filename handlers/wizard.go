package handlers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	neturl "net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/hybridsync/hybridsync/engine/audit"
	"github.com/hybridsync/hybridsync/engine/configure"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
	"github.com/hybridsync/hybridsync/views/wizard"
)

// GET /setup resumes where the admin stopped.
func (h *Handler) setupResume(w http.ResponseWriter, r *http.Request) {
	st, err := h.wiz.Load(r.Context())
	if err != nil {
		h.fail(w, r, "Unable to load the wizard's progress", err)
		return
	}
	redirect(w, r, "/setup/"+st.Page)
}

// GET /setup/{page} shows a page with the saved answers.
func (h *Handler) setupPage(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "page")
	if _, ok := setup.PageByID(id); !ok {
		h.notFound(w, r)
		return
	}
	// Only pages already reached can be opened; the rest wait their turn.
	st, ok := h.reachedPage(w, r, id)
	if !ok {
		return
	}
	h.renderWizard(w, r, http.StatusOK, &st, id, setup.Errors{})
}

// reachedPage loads the wizard's progress for a page that may be opened or
// submitted: one shown and reached. Otherwise it has answered (an error, or
// a redirect to the page the wizard stands on) and returns false.
func (h *Handler) reachedPage(w http.ResponseWriter, r *http.Request, id string) (setup.State, bool) {
	st, err := h.wiz.Load(r.Context())
	if err != nil {
		h.fail(w, r, "Unable to load the wizard's progress", err)
		return st, false
	}
	if !st.Reachable(id) {
		redirect(w, r, "/setup/"+st.Page)
		return st, false
	}
	return st, true
}

// POST /setup/{page}: Next or Back.
func (h *Handler) setupSubmit(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "page")
	// As with GET: only a page already reached takes a submission.
	st, ok := h.reachedPage(w, r, id)
	if !ok {
		return
	}
	form, err := readForm(r)
	if err != nil {
		h.renderWizard(w, r, http.StatusUnprocessableEntity, &st, id, setup.Errors{"": err.Error()})
		return
	}
	if errs := oversized(form); len(errs) > 0 {
		// Refused before anything is saved: a huge value would otherwise be
		// kept in the wizard's answers and read on every page.
		h.renderWizard(w, r, http.StatusUnprocessableEntity, &st, id, errs)
		return
	}
	imported := st.Answers.Components.Imported
	target, errs, err := h.wiz.Submit(r.Context(), &st, id, r.PostFormValue("action"), form, username(r))
	if err == nil {
		h.auditImport(r, imported, st.Answers.Components.Imported, form, errs)
		if r.PostFormValue("action") == setup.ActionFedVerifyDomain {
			// Asking Graph to verify a domain changes the tenant.
			outcome, detail := audit.Succeeded, "Microsoft Entra ID verified the domain"
			if msg := errs["fed_domain"]; msg != "" {
				outcome, detail = audit.Failed, msg
			}
			h.audit(r, audit.DomainVerify, st.Answers.Federation.Domain, outcome, detail)
		}
	}
	if errors.Is(err, setup.ErrPageHidden) {
		redirect(w, r, "/setup/"+st.Page)
		return
	}
	if errors.Is(err, setup.ErrUnknownAction) {
		h.renderWizard(w, r, http.StatusUnprocessableEntity, &st, id, setup.Errors{"": "This page has no such button. Reload the page and try again."})
		return
	}
	if err != nil {
		h.fail(w, r, "Unable to save the wizard's progress", err)
		return
	}
	if len(errs) > 0 {
		h.renderWizard(w, r, http.StatusUnprocessableEntity, &st, id, errs)
		return
	}
	redirect(w, r, "/setup/"+target)
}

// auditImport records a settings file imported on Install required
// components, or refused, in the audit trail.
func (h *Handler) auditImport(r *http.Request, was, is *setup.Imported, f setup.Form, errs setup.Errors) {
	switch {
	case f.File != nil && errs["settings_file"] != "":
		h.audit(r, audit.SettingsImport, f.File.Name, audit.Refused, errs["settings_file"])
	case is != nil && (was == nil || *was != *is):
		h.audit(r, audit.SettingsImport, is.FileName, audit.Succeeded,
			fmt.Sprintf("exported %s by %s from hybridsync %s; applied when Configure runs", is.ExportedAt, is.ExportedBy, is.Version))
	}
}

// Limits of a wizard form's values: the CA certificates pasted on Connect
// your directories may be long; every other field is a name, a DN, a URL or
// a short list.
const (
	maxFieldBytes = 8 << 10
	maxPEMBytes   = 64 << 10
)

// oversized finds the fields of a wizard form that are too long or not
// text (invalid UTF-8), each with its error.
func oversized(f setup.Form) setup.Errors {
	errs := setup.Errors{}
	for name, vs := range f.Values {
		limit := maxFieldBytes
		if name == "ca_pem" {
			limit = maxPEMBytes
		}
		for _, v := range vs {
			switch {
			case len(v) > limit:
				errs.Add(name, fmt.Sprintf("This value is too long (%d bytes; at most %d). Nothing of this submission was saved.", len(v), limit))
			case !utf8.ValidString(v):
				errs.Add(name, "This value is not valid text (UTF-8). Nothing of this submission was saved.")
			}
		}
	}
	if len(errs) > 0 {
		errs.Add("", "A value you submitted is too long or not text, so nothing of this submission was saved; see the field below.")
	}
	return errs
}

// readForm parses a urlencoded or multipart form; an uploaded settings file is
// read whole (the body is already bounded by maxBody).
func readForm(r *http.Request) (setup.Form, error) {
	f := setup.Form{}
	// ParseForm first: on a urlencoded body ParseMultipartForm reports
	// ErrNotMultipart and drops ParseForm's error, so a body cut at maxBody
	// would pass for an empty form.
	err := r.ParseForm()
	var tooBig *http.MaxBytesError
	if !errors.As(err, &tooBig) {
		err = r.ParseMultipartForm(maxBody)
	}
	if err != nil && !errors.Is(err, http.ErrNotMultipart) {
		if errors.As(err, &tooBig) {
			return f, errors.New(msgTooLarge)
		}
		return f, errors.New("The form could not be read. Reload the page and try again.")
	}
	f.Values = r.PostForm
	if r.MultipartForm != nil {
		fh := r.MultipartForm.File["settings_file"]
		if len(fh) == 0 {
			fh = r.MultipartForm.File["certificate_file"]
		}
		if len(fh) > 0 && fh[0].Size > 0 {
			file, err := fh[0].Open()
			if err != nil {
				return f, errors.New("The uploaded file could not be read.")
			}
			defer file.Close()
			data, err := io.ReadAll(io.LimitReader(file, setup.MaxExportSize+1))
			if err != nil {
				return f, errors.New("The uploaded file could not be read.")
			}
			f.File = &setup.Upload{Name: fh[0].Filename, Data: data}
		}
	}
	return f, nil
}

// POST /setup/configure saves Ready to configure, validates every page once
// more, and starts the configure job.
func (h *Handler) setupConfigure(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st, err := h.wiz.Load(ctx)
	if err != nil {
		h.fail(w, r, "Unable to load the wizard's progress", err)
		return
	}
	form, err := readForm(r)
	if err != nil {
		h.renderWizard(w, r, http.StatusUnprocessableEntity, &st, setup.PageReady, setup.Errors{"": err.Error()})
		return
	}
	if _, _, err := h.wiz.Submit(ctx, &st, setup.PageReady, setup.ActionNext, form, username(r)); err != nil {
		if errors.Is(err, setup.ErrPageHidden) {
			redirect(w, r, "/setup/"+st.Page)
			return
		}
		h.fail(w, r, "Unable to save the wizard's progress", err)
		return
	}
	if page, errs := h.wiz.ValidateAll(ctx, &st.Answers); page != "" {
		if err := h.wiz.Return(ctx, &st, page, username(r)); err != nil {
			h.fail(w, r, "Unable to save the wizard's progress", err)
			return
		}
		h.renderWizard(w, r, http.StatusUnprocessableEntity, &st, page, errs)
		return
	}
	h.configureMu.Lock()
	defer h.configureMu.Unlock()
	if j, ok, err := h.runningJob(ctx, configure.Kind); err != nil {
		h.fail(w, r, "Unable to list jobs", err)
		return
	} else if ok {
		msg := fmt.Sprintf("A configuration is already being applied (job %d). Wait for it to finish.", j.ID)
		h.audit(r, audit.ConfigureStart, "", audit.Refused, msg)
		h.renderWizard(w, r, http.StatusConflict, &st, setup.PageReady, setup.Errors{"": msg})
		return
	}
	changes := h.configChanges(r, st.Answers)
	id, err := h.runner.Start(ctx, jobs.Request{Kind: configure.Kind, Params: configure.Params{Answers: st.Answers}, By: username(r)})
	if err != nil {
		h.fail(w, r, "Unable to start the configure job", err)
		return
	}
	h.audit(r, audit.ConfigureStart, fmt.Sprintf("job %d", id), audit.Started, changes)
	redirect(w, r, fmt.Sprintf("/jobs/%d", id))
}

func (h *Handler) renderWizard(w http.ResponseWriter, r *http.Request, status int, st *setup.State, id string, errs setup.Errors) {
	page, ok := setup.PageByID(id)
	if !ok {
		h.notFound(w, r)
		return
	}
	a := &st.Answers
	var data any
	if page.View != nil { // first: it may fill in answers from what it read
		data = page.View(r.Context(), a, h.wiz.Checker)
	}
	p := wizard.Props{
		Layout:  h.layoutProps(r, page.Title, "setup"),
		Page:    page,
		A:       *a,
		Errs:    errs,
		DataDir: h.cfg.DataDir,
		Data:    data,
	}
	if page.Notices != nil && id != setup.PageReady {
		p.Notices = page.Notices(a)
	}
	prev, _ := setup.Neighbours(a, id)
	p.HasPrev = prev != ""
	section := ""
	for _, vp := range setup.Visible(a) {
		state := "todo"
		switch {
		case vp.ID == id:
			state = "current"
		case st.Done[vp.ID]:
			state = "done"
		case vp.ID == st.Page:
			state = "next" // where the wizard stopped, not passed yet
		}
		p.Nav = append(p.Nav, wizard.NavItem{ID: vp.ID, Title: vp.Title, Section: vp.Section, State: state, NewSection: vp.Section != section})
		section = vp.Section
	}
	if id == setup.PageReady {
		p.Notices = setup.ReadyNotices(a)
		p.Summary = setup.Summary(*a, h.cfg.DataDir)
		p.Notes = setup.NotesByGroup(a)
	}
	if cfg, err := h.st.ActiveConfiguration(r.Context()); err == nil {
		p.Active = &cfg
	} else if !errors.Is(err, store.ErrNotFound) {
		h.fail(w, r, "Unable to read the active configuration", err)
		return
	}
	wizardHistory(w, r, "/setup/"+id)
	h.render(w, r, status, wizard.Page(p))
}

// wizardHistory tells htmx how its answer, the wizard page at url, goes into
// the browser's history (a plain browser ignores the headers). htmx pushes an
// entry for every boosted request, so each submit that shows the same page
// again (its errors, its own buttons: Add directory, Remove, Refresh, which
// redirect to the page) would add one, and Back would need as many presses to
// leave it: the page shown where the browser already is (HX-Current-URL)
// replaces its entry instead. Another page (after Next, or Configure sending
// the admin to a page with errors) pushes one, at that page's own address
// rather than the one posted to.
func wizardHistory(w http.ResponseWriter, r *http.Request, url string) {
	if current, err := neturl.Parse(r.Header.Get("HX-Current-URL")); err == nil && current.Path == url {
		w.Header().Set("HX-Replace-Url", url)
		return
	}
	w.Header().Set("HX-Push-Url", url)
}

// GET /setup/ou-filtering/children: one level of a forest's OU tree, as the
// fragment an expanded node loads: with the checkboxes of Domain and OU
// filtering, or with pick=group_ou the radio buttons of Writeback.
func (h *Handler) ouChildren(w http.ResponseWriter, r *http.Request) {
	st, err := h.wiz.Load(r.Context())
	if err != nil {
		h.fail(w, r, "Unable to load the wizard's progress", err)
		return
	}
	forest, dn := r.URL.Query().Get("forest"), r.URL.Query().Get("dn")
	var fc *setup.ForestConn
	for i := range st.Answers.Directories.Forests {
		if st.Answers.Directories.Forests[i].Forest == forest {
			fc = &st.Answers.Directories.Forests[i]
		}
	}
	if fc == nil || dn == "" || !strings.HasSuffix(strings.ToLower(dn), strings.ToLower(fc.RootDN)) {
		h.errorPage(w, r, http.StatusNotFound, "Not found", "That forest or OU is not part of this configuration.")
		return
	}
	nodes, err := h.wiz.Checker.Children(r.Context(), *fc, dn)
	if err != nil {
		h.log.Warn("unable to list OUs", "forest", forest, "dn", dn, "err", err)
		h.render(w, r, http.StatusOK, wizard.TreeError(setup.CheckMessage(err)))
		return
	}
	if r.URL.Query().Get("pick") == "group_ou" {
		// The Writeback page's tree: a radio button per OU.
		chosen := r.URL.Query().Get("chosen")
		picks := make([]setup.TreeNode, len(nodes))
		for i, n := range nodes {
			picks[i] = setup.TreeNode{Node: n, Selected: strings.EqualFold(n.DN, chosen)}
		}
		h.render(w, r, http.StatusOK, wizard.PickLevel(forest, picks, chosen))
		return
	}
	h.render(w, r, http.StatusOK, wizard.TreeLevel(forest, st.Answers.OUFiltering.Forests[forest].Mark(nodes)))
}

// runningJob is a queued or running job of one of the kinds, if any.
func (h *Handler) runningJob(ctx context.Context, kinds ...string) (store.Job, bool, error) {
	running, err := h.st.JobsWithStatus(ctx, jobs.Queued, jobs.Running)
	if err != nil {
		return store.Job{}, false, err
	}
	for _, j := range running {
		if slices.Contains(kinds, j.Kind) {
			return j, true, nil
		}
	}
	return store.Job{}, false, nil
}
