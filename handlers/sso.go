package handlers

import (
	"net/http"

	"github.com/hybridsync/hybridsync/engine/setup"
)

// GET /setup/single-sign-on/intranet-zone.txt downloads the intranet-zone
// instructions of Enable single sign-on (the same text the page shows).
func (h *Handler) ssoIntranetZone(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="hybridsync-sso-intranet-zone.txt"`)
	_, _ = w.Write([]byte(setup.IntranetZoneText()))
}
