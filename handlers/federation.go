package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/hybridsync/hybridsync/engine/auth"
	"github.com/hybridsync/hybridsync/engine/configure"
	"github.com/hybridsync/hybridsync/engine/entra"
	"github.com/hybridsync/hybridsync/engine/federation"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
	fedview "github.com/hybridsync/hybridsync/views/federation"
	jobsview "github.com/hybridsync/hybridsync/views/jobs"
)

// The Verify federation page (the seed's "Verify your federation
// configuration", and the Verify federated login additional task), the AD FS
// scripts of a Configure job, and the PingFederate settings export.

const fedLoginCallbackPath = "/federation/login/callback"

// fedLogins are federated login checks: on their way through the browser
// (by state), and done (by id, for the page that shows them). Memory only.
type fedLogins struct {
	mu      sync.Mutex
	pending map[string]entra.Pending
	done    map[string]entra.LoginCheck
}

func (f *fedLogins) put(p entra.Pending) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pending == nil {
		f.pending = map[string]entra.Pending{}
	}
	for k, v := range f.pending {
		if time.Since(v.Started) > entra.PendingTTL {
			delete(f.pending, k)
		}
	}
	f.pending[p.State] = p
}

func (f *fedLogins) take(state string) (entra.Pending, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pending[state]
	delete(f.pending, state)
	return p, ok
}

func (f *fedLogins) keep(l entra.LoginCheck) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.done == nil || len(f.done) > 100 {
		f.done = map[string]entra.LoginCheck{}
	}
	id := auth.Token(12)
	f.done[id] = l
	return id
}

func (f *fedLogins) result(id string) (entra.LoginCheck, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.done[id]
	return l, ok
}

// fedVerifier is what the Verify page needs of the checker.
type fedVerifier interface {
	EntraConfig() entra.Config
	VerifyFederationDNS(ctx context.Context, fqdn string) []setup.DNSCheck
}

// federationAnswers are the answers the Verify page works on: the active
// configuration's, else the wizard's draft (a Configure that is running).
func (h *Handler) federationAnswers(ctx context.Context) (setup.Answers, error) {
	cfg, err := h.st.ActiveConfiguration(ctx)
	if err == nil {
		var a setup.Answers
		if err := json.Unmarshal(cfg.Answers, &a); err != nil {
			return a, err
		}
		return a, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return setup.Answers{}, err
	}
	st, err := h.wiz.Load(ctx)
	if err != nil {
		return setup.Answers{}, err
	}
	return st.Answers, nil
}

// GET /federation/verify (and POST, which runs the DNS checks).
func (h *Handler) federationVerify(w http.ResponseWriter, r *http.Request) {
	a, err := h.federationAnswers(r.Context())
	if err != nil {
		h.fail(w, r, "Unable to read the configuration", err)
		return
	}
	p := fedview.VerifyProps{
		Layout: h.layoutProps(r, "Verify federation", "config"),
		Server: setup.Federates(&a), FQDN: setup.FederationFQDN(&a), Domain: a.Federation.Domain,
		RedirectURI: h.callbackURL(r, fedLoginCallbackPath),
	}
	if id := r.URL.Query().Get("login"); id != "" {
		if l, ok := h.fedLogins.result(id); ok {
			p.Login, p.LoginUser = &l, l.User
		}
	}
	if r.Method == http.MethodPost && p.Server != "" {
		fv, ok := h.wiz.Checker.(fedVerifier)
		if !ok {
			h.notFound(w, r)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		p.Checks = fv.VerifyFederationDNS(ctx, p.FQDN)
		for _, c := range p.Checks {
			h.log.Info("federation DNS check", "fqdn", p.FQDN, "where", c.Where, "check", c.Check, "ok", c.OK, "result", c.Result)
		}
	}
	h.render(w, r, http.StatusOK, fedview.Verify(p))
}

// POST /federation/login starts a federated login check: the browser goes
// to the tenant's sign-in page with the user as the login hint.
func (h *Handler) federationLogin(w http.ResponseWriter, r *http.Request) {
	a, err := h.federationAnswers(r.Context())
	if err != nil {
		h.fail(w, r, "Unable to read the configuration", err)
		return
	}
	user := strings.TrimSpace(r.PostFormValue("login_user"))
	fail := func(msg string) {
		h.render(w, r, http.StatusUnprocessableEntity, fedview.Verify(fedview.VerifyProps{
			Layout: h.layoutProps(r, "Verify federation", "config"),
			Server: setup.Federates(&a), FQDN: setup.FederationFQDN(&a), Domain: a.Federation.Domain,
			LoginUser: user, LoginErr: msg, RedirectURI: h.callbackURL(r, fedLoginCallbackPath),
		}))
	}
	_, dom, found := strings.Cut(strings.ToLower(user), "@")
	switch {
	case setup.Federates(&a) == "":
		fail("This configuration doesn't use federation.")
		return
	case !found || dom == "" || strings.ContainsAny(user, " \t"):
		fail("Enter the user's sign-in name, for example someone@" + a.Federation.Domain + ".")
		return
	case dom != strings.ToLower(a.Federation.Domain):
		fail("Enter a user of the federated domain " + a.Federation.Domain + ": only its users sign in through the federation server.")
		return
	}
	fv, ok := h.wiz.Checker.(fedVerifier)
	if !ok {
		h.notFound(w, r)
		return
	}
	to, pend, err := fv.EntraConfig().StartLoginCheck(r.Context(), h.callbackURL(r, fedLoginCallbackPath), user)
	if err != nil {
		fail(entra.StepStart + " failed: " + entra.Message(err))
		return
	}
	h.fedLogins.put(pend)
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", to)
		w.WriteHeader(http.StatusOK)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// GET /federation/login/callback: the tenant sends the browser back with a
// code, or with the error of the step that failed.
func (h *Handler) federationLoginCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pend, ok := h.fedLogins.take(q.Get("state"))
	if !ok {
		h.errorPage(w, r, http.StatusBadRequest, "Unknown sign-in", "This answer does not belong to a federated login check hybridsync started, or it was already used (or the server restarted). Start the check again on Verify federation.")
		return
	}
	fv, ok := h.wiz.Checker.(fedVerifier)
	if !ok {
		h.notFound(w, r)
		return
	}
	var cbErr *entra.CallbackError
	if q.Get("error") != "" {
		cbErr = &entra.CallbackError{Code: q.Get("error"), Description: q.Get("error_description")}
	}
	l := fv.EntraConfig().FinishLoginCheck(r.Context(), pend, q.Get("code"), cbErr)
	h.log.Info("federated login check", "user", l.User, "ok", l.OK, "step", l.Step, "error", l.Error)
	redirect(w, r, "/federation/verify?login="+h.fedLogins.keep(l))
}

// configureFederation reads a Configure job's answers once: the federation
// server it configures ("" for none, and for any other job) and, with AD FS,
// the deployment scripts, made again from the answers the job ran with.
func configureFederation(j store.Job) (server string, scripts []federation.Script) {
	if j.Kind != configure.Kind {
		return "", nil
	}
	var p configure.Params
	if err := json.Unmarshal(j.Params, &p); err != nil {
		return "", nil
	}
	server = setup.Federates(&p.Answers)
	if server == "AD FS" {
		scripts, _ = federation.Scripts(configure.Deployment(p.Answers))
	}
	return server, scripts
}

// jobScripts are a job's scripts as its page shows them.
func jobScripts(j store.Job, scripts []federation.Script) []jobsview.Script {
	var out []jobsview.Script
	for _, s := range scripts {
		out = append(out, jobsview.Script{Name: s.FileName, Server: s.Server, Role: s.Role, Text: s.Text,
			URL: fmt.Sprintf("/jobs/%d/scripts/%s", j.ID, url.PathEscape(s.FileName))})
	}
	return out
}

// GET /jobs/{id}/scripts/{file}: an AD FS deployment script of a Configure
// job.
func (h *Handler) jobScript(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil {
		h.notFound(w, r)
		return
	}
	j, err := h.st.Job(r.Context(), id)
	if err != nil {
		h.notFound(w, r)
		return
	}
	_, scripts := configureFederation(j)
	for _, s := range scripts {
		if s.FileName == chi.URLParam(r, "file") {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Content-Disposition", `attachment; filename="`+s.FileName+`"`)
			_, _ = w.Write([]byte(s.Text))
			return
		}
	}
	h.notFound(w, r)
}

// GET /setup/ping-settings/export: the settings for the PingFederate
// administrator.
func (h *Handler) pingExport(w http.ResponseWriter, r *http.Request) {
	st, ok := h.reachedPage(w, r, setup.PagePingSettings)
	if !ok {
		return
	}
	a := st.Answers
	ps := federation.PingSettings{Domain: a.Federation.Domain, SourceAnchor: configure.Deployment(a).SourceAnchor, UPNAttribute: configure.Deployment(a).UPNAttribute}
	if a.ConnectEntra.Tenant != nil {
		ps.TenantName = a.ConnectEntra.Tenant.DisplayName
	}
	name, body, err := federation.PingExport(ps)
	if err != nil {
		h.errorPage(w, r, http.StatusUnprocessableEntity, "Nothing to export yet", "Choose the domain to federate on Verify the domain first: "+err.Error())
		return
	}
	st.Answers.Federation.ExportedAt = time.Now().UTC().Format(time.RFC3339)
	if err := h.wiz.Save(r.Context(), &st, username(r)); err != nil {
		h.log.Warn("could not record the PingFederate export", "err", err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	_, _ = w.Write(body)
}
