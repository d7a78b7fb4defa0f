package audit

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/engine/store"
)

func TestCSVKeepsFormulasText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"alice", "alice"},
		{"=1+1", "'=1+1"},
		{"+SUM(A1)", "'+SUM(A1)"},
		{"-2", "'-2"},
		{"@cmd", "'@cmd"},
		{"\tx", "'\tx"},
		{"a=b", "a=b"},
		{"", ""},
	}
	var buf bytes.Buffer
	c, err := NewCSV(&buf)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	for i, tt := range tests {
		if err := c.Write(store.AuditEvent{ID: int64(i + 1), At: at, Target: tt.in, Action: SignIn, Outcome: Failed, Detail: "line one\nline two"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(tests)+1 {
		t.Fatalf("%d records", len(recs))
	}
	for i, tt := range tests {
		rec := recs[i+1]
		if rec[5] != tt.want || rec[1] != "2026-12-06T10:00:00Z" || rec[7] != "line one\nline two" {
			t.Errorf("%q written as %q (time %s, detail %q)", tt.in, rec[5], rec[1], rec[7])
		}
	}
}

func TestJSONDetail(t *testing.T) {
	var buf bytes.Buffer
	j, err := NewJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{`[{"group":"Configure","label":"Staging mode","old":"No","new":"Yes"}]`, "wrong password", `[not json`, ""} {
		if err := j.Write(store.AuditEvent{Action: ConfigureStart, Detail: d}); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	var evs []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &evs); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if _, ok := evs[0]["detail"].([]any); !ok {
		t.Errorf("changes written as %T", evs[0]["detail"])
	}
	if evs[1]["detail"] != "wrong password" || evs[2]["detail"] != "[not json" {
		t.Errorf("words written as %v, %v", evs[1]["detail"], evs[2]["detail"])
	}
	if _, ok := evs[3]["detail"]; ok {
		t.Error("an empty detail is written")
	}

	// Nothing written still makes an array.
	buf.Reset()
	j, _ = NewJSON(&buf)
	_ = j.Close()
	if strings.TrimSpace(buf.String()) != "[\n]" {
		t.Errorf("empty download %q", buf.String())
	}
}

func TestChoices(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Choices {
		if seen[c.Value] {
			t.Errorf("%s twice", c.Value)
		}
		seen[c.Value] = true
		if kind, _, ok := strings.Cut(c.Value, "."); ok && !seen[kind] && kind != c.Value {
			// An action with a kind comes after its kind's entry, except a
			// kind that is itself an action (signin).
			t.Errorf("%s listed before its kind %s", c.Value, kind)
		}
	}
	for _, a := range []string{SignIn, SignInOIDC, SignOut, FirstRun, AccountAdd, AccountRoles, AccountOff, AccountOn, AccountDrop,
		AccountPassword, AccountReset, AccountSessions, OIDCSettings, ConfigureStart, ConfigureEnd, SetupDiscard, SettingsImport,
		DomainVerify, Schedule, Guard, GuardAllowOnce, SyncRun, JobRetry, JobCancel} {
		if !Known(a) || Label(a) == a {
			t.Errorf("%s has no entry or no words", a)
		}
	}
}
