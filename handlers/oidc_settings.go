package handlers

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/hybridsync/hybridsync/engine/audit"
	"github.com/hybridsync/hybridsync/engine/auth"
	secretpkg "github.com/hybridsync/hybridsync/engine/secret"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
	"github.com/hybridsync/hybridsync/views/console"
)

// The settings page of sign-in with an OpenID Connect provider (Accounts →
// Sign-in with an identity provider). Saving tests discovery at the issuer
// first; nothing is saved unless it succeeds. The client secret is sealed and
// never rendered back.

func (h *Handler) oidcSettingsPage(w http.ResponseWriter, r *http.Request) {
	p, err := h.st.OIDCProvider(r.Context())
	switch {
	case errors.Is(err, store.ErrNotFound):
		p = store.OIDCProvider{GroupsClaim: "groups"}
	case err != nil:
		h.fail(w, r, "Unable to read the sign-in provider's settings", err)
		return
	}
	h.renderOIDCSettings(w, r, http.StatusOK, oidcFormOf(p), p.ClientSecret != "", setup.Errors{}, "")
}

// oidcForm is the settings form: what was saved, or what was typed.
type oidcForm struct {
	console.OIDCForm
	groups map[auth.Role][]string
}

func oidcFormOf(p store.OIDCProvider) oidcForm {
	f := oidcForm{OIDCForm: console.OIDCForm{Enabled: p.Enabled, Issuer: p.Issuer, ClientID: p.ClientID, DisplayName: p.DisplayName, GroupsClaim: p.GroupsClaim},
		groups: map[auth.Role][]string{}}
	for r, vs := range p.RoleGroups {
		f.groups[auth.Role(r)] = vs
	}
	return f
}

func (h *Handler) renderOIDCSettings(w http.ResponseWriter, r *http.Request, status int, f oidcForm, secretSaved bool, errs setup.Errors, flash string) {
	names := h.groupNames(r.Context())
	roles := make([]console.OIDCRole, len(auth.Roles))
	for i, role := range auth.Roles {
		roles[i] = console.OIDCRole{Role: string(role), Group: names[string(role)], Label: role.Label(), Values: strings.Join(f.groups[role], "\n")}
	}
	h.render(w, r, status, console.OIDCSettings(console.OIDCSettingsProps{
		Layout: h.layoutProps(r, "Sign-in with an identity provider", "accounts"),
		Form:   f.OIDCForm, Roles: roles, SecretSaved: secretSaved,
		RedirectURI: h.callbackURL(r, oidcCallbackPath), Errs: errs, Flash: flash,
	}))
}

var claimName = regexp.MustCompile(`^[A-Za-z0-9_.:/-]{1,64}$`)

// oidcFormFrom reads the posted form and says what is wrong with it.
func oidcFormFrom(r *http.Request) (oidcForm, string, setup.Errors) {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f := oidcForm{OIDCForm: console.OIDCForm{
		Enabled: r.PostFormValue("enabled") != "", Issuer: v("issuer"), ClientID: v("client_id"),
		DisplayName: v("display_name"), GroupsClaim: v("groups_claim"),
	}, groups: map[auth.Role][]string{}}
	for _, role := range auth.Roles {
		f.groups[role] = auth.GroupLines(r.PostFormValue("groups_" + string(role)))
	}
	errs := setup.Errors{}
	if msg := issuerProblem(f.Issuer); msg != "" {
		errs.Add("issuer", msg)
	}
	switch {
	case f.ClientID == "":
		errs.Add("client_id", "Enter the client id of hybridsync's app at the provider.")
	case len(f.ClientID) > 256:
		errs.Add("client_id", "Use at most 256 characters.")
	}
	switch {
	case f.DisplayName == "":
		errs.Add("display_name", "Enter the name for the button, such as Microsoft Entra ID or Contoso.")
	case len([]rune(f.DisplayName)) > 64:
		errs.Add("display_name", "Use at most 64 characters.")
	}
	if f.GroupsClaim == "" {
		f.GroupsClaim = "groups"
	} else if !claimName.MatchString(f.GroupsClaim) {
		errs.Add("groups_claim", "Enter the claim's name: letters, digits and . _ : / - only, such as groups.")
	}
	if f.Enabled && roleMap(toStrings(f.groups)).Empty() {
		errs.Add("groups", "Enter at least one group for a sync group: without one, nobody can sign in with the provider.")
	}
	for _, vs := range f.groups {
		for _, g := range vs {
			if len(g) > 256 {
				errs.Add("groups", "A group is at most 256 characters: enter one group id or name a line.")
			}
		}
	}
	return f, r.PostFormValue("client_secret"), errs
}

// issuerProblem says what is wrong with an issuer URL, or "". OpenID Connect
// issuers are https URLs without query or fragment; plain http is accepted
// only for a provider on this machine (a test provider).
func issuerProblem(s string) string {
	if s == "" {
		return "Enter the provider's issuer URL."
	}
	if len(s) > 512 {
		return "Use at most 512 characters."
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "Enter a URL such as https://login.microsoftonline.com/<tenant id>/v2.0."
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "An issuer URL has no query, fragment or user name: enter it as the provider's discovery document gives it."
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return "Use https: the provider's answers carry the tokens that sign people in. Plain http is only for a provider on this machine."
	}
	return ""
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func toStrings(m map[auth.Role][]string) map[string][]string {
	out := map[string][]string{}
	for r, vs := range m {
		if len(vs) > 0 {
			out[string(r)] = vs
		}
	}
	return out
}

func (h *Handler) oidcSettingsSave(w http.ResponseWriter, r *http.Request) {
	old, err := h.st.OIDCProvider(r.Context())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		h.fail(w, r, "Unable to read the sign-in provider's settings", err)
		return
	}
	saved := old.ClientSecret != ""
	if err := r.ParseForm(); err != nil {
		h.renderOIDCSettings(w, r, http.StatusBadRequest, oidcFormOf(old), saved, setup.Errors{"": "The form could not be read. Reload the page and try again."}, "")
		return
	}
	f, secret, errs := oidcFormFrom(r)
	// A saved secret belongs to a client id at an issuer: a new client or
	// provider needs its own.
	keep := saved && secret == "" && f.ClientID == old.ClientID && f.Issuer == old.Issuer
	switch {
	case secret == "" && !keep && saved:
		errs.Add("client_secret", "Enter the client secret: the saved one belongs to another client id or issuer.")
	case secret == "" && !keep:
		errs.Add("client_secret", "Enter the client secret of hybridsync's app at the provider.")
	case len(secret) > 1024:
		errs.Add("client_secret", "Use at most 1,024 characters.")
	}
	// Test discovery before anything is saved. Turning sign-in off skips it,
	// so that an unreachable provider can always be switched off.
	if len(errs) == 0 && f.Enabled {
		if _, err := h.oidc.discover(r.Context(), f.Issuer); err != nil {
			h.log.Warn("OIDC discovery failed", "user", username(r), "issuer", f.Issuer, "err", err)
			errs.Add("issuer", discoveryMessage(f.Issuer, err))
		}
	}
	if len(errs) > 0 {
		h.renderOIDCSettings(w, r, http.StatusUnprocessableEntity, f, saved, errs, "")
		return
	}
	sealed := old.ClientSecret
	if !keep {
		if sealed, err = h.box.SealFor(secretpkg.PurposeOIDCClientSecret, secret); err != nil {
			h.fail(w, r, "Unable to seal the client secret", err)
			return
		}
	}
	p := store.OIDCProvider{Enabled: f.Enabled, Issuer: f.Issuer, ClientID: f.ClientID, ClientSecret: sealed,
		DisplayName: f.DisplayName, GroupsClaim: f.GroupsClaim, RoleGroups: toStrings(f.groups), UpdatedBy: username(r)}
	if err := h.st.SaveOIDCProvider(r.Context(), p); err != nil {
		h.fail(w, r, "Unable to save the sign-in provider's settings", err)
		return
	}
	h.oidc.forget()
	h.log.Info("OIDC provider saved", "user", username(r), "issuer", f.Issuer, "client_id", f.ClientID, "enabled", f.Enabled)
	h.audit(r, audit.OIDCSettings, f.Issuer, audit.Succeeded, oidcChanges(old, p, !keep))
	flash := "Saved. Sign-in with " + f.DisplayName + " is off."
	if f.Enabled {
		flash = "Saved. The provider's discovery document checked out; the sign-in page offers “Sign in with " + f.DisplayName + "”."
	}
	h.renderOIDCSettings(w, r, http.StatusOK, oidcFormOf(p), true, setup.Errors{}, flash)
}

// oidcChanges words what a save changed of the provider's settings; a new
// client secret is said to be new, never shown.
func oidcChanges(old, p store.OIDCProvider, newSecret bool) string {
	var out []string
	add := func(what, was, is string) {
		if was != is {
			out = append(out, fmt.Sprintf("%s: %q → %q", what, was, is))
		}
	}
	add("enabled", strconv.FormatBool(old.Enabled), strconv.FormatBool(p.Enabled))
	add("issuer", old.Issuer, p.Issuer)
	add("client id", old.ClientID, p.ClientID)
	add("button", old.DisplayName, p.DisplayName)
	add("groups claim", old.GroupsClaim, p.GroupsClaim)
	for _, role := range auth.Roles {
		add("groups for "+role.Label(), strings.Join(old.RoleGroups[string(role)], ", "), strings.Join(p.RoleGroups[string(role)], ", "))
	}
	if newSecret {
		out = append(out, "a new client secret")
	}
	if len(out) == 0 {
		return "no change"
	}
	return strings.Join(out, "; ")
}

// discoveryMessage words a failed discovery for the administrator.
func discoveryMessage(issuer string, err error) string {
	host := issuer
	if u, perr := url.Parse(issuer); perr == nil && u.Host != "" {
		host = u.Host
	}
	wellKnown := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	var mismatch *oidc.IssuerMismatchError
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var invalid x509.CertificateInvalidError
	var tlsVerify *tls.CertificateVerificationError
	var recordErr tls.RecordHeaderError
	switch {
	case errors.As(err, &mismatch):
		return "The provider at this address calls itself " + mismatch.Discovered + ", not " + mismatch.Provided +
			". Enter the issuer exactly as its discovery document gives it (mind a trailing slash, and for Microsoft Entra ID use the tenant's id, not “organizations” or “common”)."
	case errors.Is(err, errNoEndpoints):
		return "The discovery document at " + wellKnown + " names no authorization or token endpoint, so it can't be used to sign in."
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return host + " did not answer within 10 seconds. Check the address, and that this server may reach it (proxy, firewall)."
	case errors.As(err, &dnsErr):
		return "There is no host " + dnsErr.Name + " (DNS lookup failed). Check the address."
	case errors.As(err, &unknownCA), errors.As(err, &tlsVerify) && errors.As(tlsVerify.Err, &unknownCA):
		return "The TLS certificate of " + host + " is not signed by an authority this server trusts. Add the authority to the system's trusted certificates or start hybridsync with --entra-ca FILE, or check the address."
	case errors.As(err, &badHost):
		return "The TLS certificate of " + host + " is for another name (" + badHost.Error() + ")."
	case errors.As(err, &invalid), errors.As(err, &tlsVerify):
		return "The TLS certificate of " + host + " is not valid: " + err.Error() + "."
	case errors.As(err, &recordErr):
		return host + " did not answer with TLS: is it an http address?"
	case errors.As(err, &opErr):
		return "hybridsync couldn't connect to " + host + " (" + opErr.Err.Error() + "). Check the address and that the provider is running."
	}
	msg := err.Error()
	if st := statusPrefix.FindString(msg); st != "" {
		return "There is no OpenID Connect discovery document at " + wellKnown + " (the server answered " + strings.TrimSuffix(st, ":") + "). Check the issuer URL."
	}
	if strings.Contains(msg, "failed to decode provider discovery object") {
		return "The answer at " + wellKnown + " is not an OpenID Connect discovery document. Check the issuer URL."
	}
	return "The discovery of " + issuer + " failed: " + msg
}

// statusPrefix matches go-oidc's error for a discovery answer other than 200.
var statusPrefix = regexp.MustCompile(`^\d{3} [^:]*:`)

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
