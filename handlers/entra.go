package handlers

import (
	"context"
	"net/http"

	"github.com/hybridsync/hybridsync/engine/entra"
	"github.com/hybridsync/hybridsync/engine/setup"
)

// interactiveSignIn is the interactive sign-in to Microsoft Entra ID (the
// /InteractiveAuth path): setup.StoreChecker has it.
type interactiveSignIn interface {
	EntraStart(ctx context.Context, redirectURI, loginHint string) (string, error)
	EntraFinish(ctx context.Context, state, code string, cbErr *entra.CallbackError) error
}

// entraCallbackPath is where the identity platform sends the browser back.
const entraCallbackPath = "/setup/connect-entra/callback"

// callbackURL is the console's own address for a path: its --public-url, or
// the address this request came to.
func (h *Handler) callbackURL(r *http.Request, path string) string {
	if h.cfg.PublicURL != "" {
		return h.cfg.PublicURL + path
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + path
}

// POST /setup/connect-entra/interactive keeps what was typed on the page and
// sends the browser to the identity platform's sign-in page (authorization
// code + PKCE); the PKCE verifier and nonce stay in memory.
func (h *Handler) entraInteractive(w http.ResponseWriter, r *http.Request) {
	st, ok := h.reachedPage(w, r, setup.PageConnectEntra)
	if !ok {
		return
	}
	form, err := readForm(r)
	if err != nil {
		h.renderWizard(w, r, http.StatusUnprocessableEntity, &st, setup.PageConnectEntra, setup.Errors{"": err.Error()})
		return
	}
	if _, _, err := h.wiz.Submit(r.Context(), &st, setup.PageConnectEntra, setup.ActionEntraInteractive, form, username(r)); err != nil {
		h.fail(w, r, "Unable to save the wizard's progress", err)
		return
	}
	is, ok := h.wiz.Checker.(interactiveSignIn)
	if !ok {
		h.renderWizard(w, r, http.StatusUnprocessableEntity, &st, setup.PageConnectEntra, setup.Errors{"entra": "hybridsync can't sign in interactively here."})
		return
	}
	to, err := is.EntraStart(r.Context(), h.callbackURL(r, entraCallbackPath), st.Answers.ConnectEntra.User)
	if err != nil {
		h.log.Warn("interactive sign-in could not start", "err", err)
		h.renderWizard(w, r, http.StatusUnprocessableEntity, &st, setup.PageConnectEntra, setup.Errors{"entra": entra.Message(err)})
		return
	}
	if r.Header.Get("HX-Request") == "true" {
		// A boosted form follows redirects inside XMLHttpRequest, which can't
		// leave the console's origin: ask htmx to navigate instead.
		w.Header().Set("HX-Redirect", to)
		w.WriteHeader(http.StatusOK)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// GET /setup/connect-entra/callback: the identity platform sends the browser
// back with a code (or an error). The code is redeemed and the session kept
// in memory; the wizard's answers record it on the page's next post, so this
// GET changes no stored state.
func (h *Handler) entraCallback(w http.ResponseWriter, r *http.Request) {
	st, ok := h.reachedPage(w, r, setup.PageConnectEntra)
	if !ok {
		return
	}
	is, ok := h.wiz.Checker.(interactiveSignIn)
	if !ok {
		h.notFound(w, r)
		return
	}
	q := r.URL.Query()
	var cbErr *entra.CallbackError
	if q.Get("error") != "" {
		cbErr = &entra.CallbackError{Code: q.Get("error"), Description: q.Get("error_description")}
	}
	if err := is.EntraFinish(r.Context(), q.Get("state"), q.Get("code"), cbErr); err != nil {
		h.log.Warn("interactive sign-in failed", "err", err)
		h.renderWizard(w, r, http.StatusUnprocessableEntity, &st, setup.PageConnectEntra, setup.Errors{"entra": entra.Message(err)})
		return
	}
	redirect(w, r, "/setup/"+setup.PageConnectEntra)
}
