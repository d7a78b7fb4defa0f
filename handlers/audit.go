package handlers

import (
	"context"
	"net/http"

	"github.com/hybridsync/hybridsync/engine/store"
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
