// Package audit names what the audit trail records (engine/store keeps it):
// each state-changing action, how it can end, and the two download formats.
package audit

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/hybridsync/hybridsync/engine/export"
	"github.com/hybridsync/hybridsync/engine/store"
)

// The actions. A dot separates an action's kind from the action: filtering
// on the kind ("account") selects every action of it.
const (
	SignIn       = "signin.password" // password sign-in; target: the user name typed
	SignInOIDC   = "signin.oidc"     // sign-in with the identity provider
	SignOut      = "signout"         // a session ended by its user
	FirstRun     = "first-run"       // the first administrator created with the setup token
	AccountAdd   = "account.create"
	AccountRoles = "account.groups"
	AccountOff   = "account.disable"
	AccountOn    = "account.enable"
	AccountDrop  = "account.delete"
	// AccountPassword is a password changed by its owner in the console;
	// AccountReset one set by the command line.
	AccountPassword = "account.password"
	AccountReset    = "account.reset-password"
	AccountSessions = "account.end-sessions"
	OIDCSettings    = "account.oidc-settings"
	// ConfigureStart is Configure asked for, with the changes it makes
	// (detail: JSON of []setup.Change); ConfigureEnd is how its job ended.
	ConfigureStart = "configure.start"
	ConfigureEnd   = "configure.end"
	SetupDiscard   = "setup.discard"
	SettingsImport = "setup.import-settings"
	DomainVerify   = "setup.verify-domain"
	Schedule       = "sync.schedule"
	Guard          = "sync.guard"
	GuardAllowOnce = "sync.allow-once"
	SyncRun        = "sync.run"
	JobRetry       = "job.retry"
	JobCancel      = "job.cancel"
)

// Outcomes besides a job's own statuses (engine/outcome), which
// ConfigureEnd records.
const (
	Succeeded = "succeeded"
	Failed    = "failed"  // it was tried and did not work (a wrong password)
	Refused   = "refused" // a rule stopped it (the last administrator, a throttle)
	Started   = "started" // a job was started; its end is recorded apart or in its history
)

// Choice is one entry of the page's action filter.
type Choice struct{ Value, Label string }

// Choices are the action filter's entries: each kind, then its actions.
var Choices = []Choice{
	{"signin", "Sign-in (all)"},
	{SignIn, "Sign-in with a password"},
	{SignInOIDC, "Sign-in with the identity provider"},
	{SignOut, "Sign-out"},
	{FirstRun, "First run"},
	{"account", "Accounts (all)"},
	{AccountAdd, "Account added"},
	{AccountRoles, "Account's groups changed"},
	{AccountOff, "Account disabled"},
	{AccountOn, "Account enabled"},
	{AccountDrop, "Account deleted"},
	{AccountPassword, "Own password changed"},
	{AccountReset, "Password reset (command line)"},
	{AccountSessions, "Sessions ended"},
	{OIDCSettings, "Identity provider settings"},
	{"configure", "Configure (all)"},
	{ConfigureStart, "Configure started"},
	{ConfigureEnd, "Configure ended"},
	{"setup", "Wizard (all)"},
	{SetupDiscard, "Wizard changes discarded"},
	{SettingsImport, "Settings imported"},
	{DomainVerify, "Domain verification"},
	{"sync", "Sync (all)"},
	{Schedule, "Schedule changed"},
	{Guard, "Deletion guard changed"},
	{GuardAllowOnce, "Deletions allowed once"},
	{SyncRun, "Sync started by hand"},
	{"job", "Jobs (all)"},
	{JobRetry, "Job retried"},
	{JobCancel, "Job cancelled"},
}

// Known reports whether v is an entry of Choices.
func Known(v string) bool {
	for _, c := range Choices {
		if c.Value == v {
			return true
		}
	}
	return false
}

// Label is an action's words, or the action itself when it has none.
func Label(action string) string {
	for _, c := range Choices {
		if c.Value == action && !strings.HasSuffix(c.Label, "(all)") {
			return c.Label
		}
	}
	return action
}

// Outcomes are the outcome filter's entries.
var Outcomes = []string{Succeeded, Failed, Refused, Started, "succeeded-with-warnings", "completed-with-errors", "stopped", "cancelled", "interrupted"}

// csvHeader is the first line of the CSV download.
var csvHeader = []string{"id", "time", "actor", "client", "action", "target", "outcome", "detail"}

// CSV writes events as CSV, one per line; each ends up in a spreadsheet as
// text, never as a formula (export.CSVSafe: a user name typed at the sign-in
// page lands here).
type CSV struct{ w *csv.Writer }

func NewCSV(w io.Writer) (*CSV, error) {
	c := &CSV{w: csv.NewWriter(w)}
	return c, c.w.Write(csvHeader)
}

func (c *CSV) Write(e store.AuditEvent) error {
	return c.w.Write([]string{strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339Nano), export.CSVSafe(e.Actor), export.CSVSafe(e.Client),
		export.CSVSafe(e.Action), export.CSVSafe(e.Target), export.CSVSafe(e.Outcome), export.CSVSafe(e.Detail)})
}

func (c *CSV) Close() error {
	c.w.Flush()
	return c.w.Error()
}

// Event is an event as the JSON download writes it.
type Event struct {
	ID      int64  `json:"id"`
	At      string `json:"time"`
	Actor   string `json:"actor"`
	Client  string `json:"client"`
	Action  string `json:"action"`
	Target  string `json:"target,omitempty"`
	Outcome string `json:"outcome"`
	// Detail is the detail's JSON where it is JSON (a Configure's changes),
	// and a JSON string otherwise.
	Detail json.RawMessage `json:"detail,omitempty"`
}

// JSON writes events as one JSON array, streamed.
type JSON struct {
	w     io.Writer
	first bool
	err   error
}

func NewJSON(w io.Writer) (*JSON, error) {
	_, err := io.WriteString(w, "[")
	return &JSON{w: w, first: true}, err
}

func (j *JSON) Write(e store.AuditEvent) error {
	if j.err != nil {
		return j.err
	}
	ev := Event{ID: e.ID, At: e.At.UTC().Format(time.RFC3339Nano), Actor: e.Actor, Client: e.Client, Action: e.Action, Target: e.Target, Outcome: e.Outcome}
	switch d := e.Detail; {
	case d == "":
	case (d[0] == '[' || d[0] == '{') && json.Valid([]byte(d)):
		ev.Detail = json.RawMessage(d)
	default:
		ev.Detail, _ = json.Marshal(d)
	}
	b, err := json.Marshal(ev)
	if err != nil {
		j.err = err
		return err
	}
	sep := ",\n"
	if j.first {
		sep, j.first = "\n", false
	}
	_, j.err = io.WriteString(j.w, sep+string(b))
	return j.err
}

func (j *JSON) Close() error {
	if j.err != nil {
		return j.err
	}
	_, err := io.WriteString(j.w, "\n]\n")
	return err
}

// ConfigureEnds returns the jobs.Runner OnFinish function that records the
// end of each job of the kind (Configure's) in the audit trail, as its
// asker's, with its status and error: with ConfigureStart's changes, it says
// whether they took.
func ConfigureEnds(st *store.Store, kind string, log *slog.Logger) func(store.Job) {
	return func(j store.Job) {
		if j.Kind != kind {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		e := store.AuditEvent{Actor: j.CreatedBy, Client: "server", Action: ConfigureEnd, Target: fmt.Sprintf("job %d", j.ID), Outcome: j.Status, Detail: j.Error}
		if err := st.AppendAudit(ctx, e); err != nil {
			log.Error("audit record not written", "action", ConfigureEnd, "job", j.ID, "err", err)
		}
	}
}
