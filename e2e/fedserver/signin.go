package fedserver

import (
	"errors"
	"net/http"
	"strings"
)

// signIn shows the sign-in form (with hidden carrying the protocol's
// request), or, when the form was submitted, checks the credentials. It
// reports true with the identity once they are right; otherwise it has
// answered the request. The password is never logged or kept.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, rl role, hidden []field, submitted bool) (Identity, bool) {
	page := signInPage{Product: rl.String(), Service: s.serviceName(rl), Action: r.URL.Path, Hidden: hidden}
	if !submitted {
		page.Username = r.FormValue("username") // WS-Fed's pre-fill; Entra sends it as username=
		s.render(w, http.StatusOK, signInTmpl, page)
		return Identity{}, false
	}
	upn := strings.TrimSpace(r.PostForm.Get("UserName"))
	password := r.PostForm.Get("Password")
	page.Username = upn
	id, err := s.auth(r.Context(), upn, password)
	switch {
	case errors.Is(err, ErrBadCredentials):
		s.log.Info("sign-in refused", "role", rl.String(), "upn", upn, "reason", err)
		page.Error = rl.badCredentials()
		s.render(w, http.StatusOK, signInTmpl, page)
		return Identity{}, false
	case err != nil:
		s.log.Error("sign-in failed", "role", rl.String(), "upn", upn, "err", err)
		// AD FS's wording when it cannot reach a domain controller.
		page.Error = "An error occurred. Contact your administrator for more information."
		s.render(w, http.StatusServiceUnavailable, signInTmpl, page)
		return Identity{}, false
	}
	s.log.Info("signed in", "role", rl.String(), "upn", id.UPN, "immutableID", id.ImmutableID)
	return id, true
}

func (s *Server) serviceName(rl role) string {
	if rl == rolePing {
		return s.cfg.PingHost
	}
	return s.cfg.ADFSName
}
