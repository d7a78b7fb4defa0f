package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/engine/jobs"
)

func TestJobCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.signedIn("admin")
	helpdesk := e.signedIn("helpdesk")
	id := e.startJob(kindGate, nil)
	e.waitEvent(id, "waiting")
	page := fmt.Sprintf("/jobs/%d", id)

	// The Cancel button: for admins, while the job runs.
	if n := admin.get(page).find(t, `[data-testid="job-cancel"]`).Length(); n != 1 {
		t.Fatalf("admin sees %d cancel buttons on a running job", n)
	}
	form := admin.get(page).find(t, `form:has([data-testid="job-cancel"])`)
	if got := form.AttrOr("action", ""); got != page+"/cancel" {
		t.Errorf("the cancel form posts to %q", got)
	}
	if form.Find(`input[name="csrf_token"]`).Length() != 1 {
		t.Error("the cancel form has no CSRF token")
	}
	if n := helpdesk.get(page).find(t, `[data-testid="job-cancel"]`).Length(); n != 0 {
		t.Errorf("a Browse user sees %d cancel buttons", n)
	}
	if r := helpdesk.post(page+"/cancel", url.Values{}); r.status != http.StatusForbidden {
		t.Errorf("a Browse user cancels: %d, want 403", r.status)
	}

	r := admin.post(page+"/cancel", url.Values{})
	wantRedirect(t, r, page, "cancel")
	j := e.waitJob(id, 10*time.Second)
	if j.Status != jobs.Cancelled || j.Error != "Cancelled by admin" {
		t.Fatalf("job = %s %q, want cancelled by admin", j.Status, j.Error)
	}

	done := admin.get(page)
	if got := done.find(t, `[data-testid="job-status"]`).AttrOr("data-status", ""); got != jobs.Cancelled {
		t.Errorf("status shown = %q", got)
	}
	if got := done.testid(t, "job-error"); got != "Cancelled by admin" {
		t.Errorf("job-error = %q", got)
	}
	if n := done.find(t, `[data-testid="job-cancel"]`).Length(); n != 0 {
		t.Errorf("%d cancel buttons on a finished job", n)
	}
	if n := done.find(t, `[data-testid="configured"], [data-testid="no-problems"]`).Length(); n != 0 {
		t.Error("a cancelled job reads as a clean run")
	}
	if got := done.find(t, `[data-testid="job-log"]`).Text(); !strings.Contains(got, "Cancel requested by admin") || !strings.Contains(got, "Job cancelled by admin") {
		t.Errorf("the log does not say who cancelled:\n%s", got)
	}

	// A finished job can't be cancelled; an unknown one is not found.
	if r := admin.post(page+"/cancel", url.Values{}); r.status != http.StatusConflict {
		t.Errorf("cancel a finished job: %d, want 409", r.status)
	}
	if r := admin.post("/jobs/9999/cancel", url.Values{}); r.status != http.StatusNotFound {
		t.Errorf("cancel an unknown job: %d, want 404", r.status)
	}
}
