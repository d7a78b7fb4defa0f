package audit

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/engine/store"
)

// auditSeeds are events as the console records them, and the text a
// stranger can put into one (the user name typed at the sign-in page lands
// in Target, the client address in Client).
var auditSeeds = []store.AuditEvent{
	{ID: 1, At: time.Date(2026, 3, 1, 9, 30, 0, 123456789, time.UTC), Actor: "alice", Client: "192.0.2.10", Action: SignIn, Target: "alice", Outcome: Succeeded},
	{ID: 2, Actor: "", Client: "[2001:db8::1]:443", Action: SignIn, Target: "=HYPERLINK(\"http://x\",\"y\")", Outcome: Failed},
	{ID: 3, Actor: "cli:root", Client: "local", Action: AccountReset, Target: "+1+1", Outcome: Succeeded, Detail: "-2"},
	{ID: 4, Actor: "bob", Client: "@SUM(A1)", Action: ConfigureStart, Outcome: Started, Detail: `[{"page":"oufilter","what":"OU=Sales\\, EMEA"}]`},
	{ID: 5, Actor: "bob", Action: ConfigureEnd, Target: "job 7", Outcome: "succeeded-with-warnings", Detail: `{"job":7}`},
	{ID: 6, Actor: "a,b", Client: "\t=cmd", Action: Schedule, Target: "line\nbreak", Outcome: Refused, Detail: "\"quoted\", \r\nCRLF"},
	{ID: -1, Actor: "\xff\xfe", Target: "'already", Detail: "[not json"},
	{ID: 9, Detail: "{}  "},
}

// wantCell is what the CSV download must hold for a value: the value, with a
// leading ' when a spreadsheet would read it as a formula.
func wantCell(s string) string {
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// FuzzDownloads writes one event, twice, in both download formats.
func FuzzDownloads(f *testing.F) {
	for _, e := range auditSeeds {
		f.Add(e.ID, e.At.UnixNano(), e.Actor, e.Client, e.Action, e.Target, e.Outcome, e.Detail)
	}
	f.Fuzz(func(t *testing.T, id, at int64, actor, client, action, target, outcome, detail string) {
		e := store.AuditEvent{ID: id, At: time.Unix(0, at), Actor: actor, Client: client, Action: action, Target: target, Outcome: outcome, Detail: detail}
		checkCSV(t, e)
		checkJSON(t, e)
	})
}

// checkCSV: every event is one CSV record that encoding/csv reads back field
// for field (a CRLF inside a field reads back as LF, as CSV readers do), and
// no text field starts as a formula.
func checkCSV(t *testing.T, e store.AuditEvent) {
	t.Helper()
	id, actor, client, action, target, outcome, detail := e.ID, e.Actor, e.Client, e.Action, e.Target, e.Outcome, e.Detail
	var buf bytes.Buffer
	w, err := NewCSV(&buf)
	if err != nil {
		t.Fatal(err)
	}
	// Twice: a record must end where the next one starts.
	for range 2 {
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(bytes.NewReader(buf.Bytes()))
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not read back: %v\n%q", err, buf.String())
	}
	if len(recs) != 3 || !reflect.DeepEqual(recs[0], csvHeader) {
		t.Fatalf("%d records, header %q:\n%q", len(recs), recs[0], buf.String())
	}
	crlf := strings.NewReplacer("\r\n", "\n")
	want := []string{strconv.FormatInt(id, 10), e.At.UTC().Format(time.RFC3339Nano)}
	for _, s := range []string{actor, client, action, target, outcome, detail} {
		want = append(want, crlf.Replace(wantCell(s)))
	}
	for _, rec := range recs[1:] {
		if !reflect.DeepEqual(rec, want) {
			t.Fatalf("the CSV reads back as\n%q\nwant\n%q\n(written %q)", rec, want, buf.String())
		}
		for i, cell := range rec[2:] {
			if cell != "" && strings.IndexByte("=+-@\t\r", cell[0]) >= 0 {
				t.Fatalf("field %s starts as a formula: %q", csvHeader[i+2], cell)
			}
		}
		if back, err := time.Parse(time.RFC3339Nano, rec[1]); err == nil && !back.Equal(e.At) {
			t.Fatalf("time %q reads back as %v, want %v", rec[1], back, e.At)
		}
	}
}

// checkJSON: the JSON download is always one valid JSON array whose events
// read back as written: text as text (invalid UTF-8 as U+FFFD, as
// encoding/json writes it), a detail that is JSON as that JSON, any other
// detail as a string.
func checkJSON(t *testing.T, e store.AuditEvent) {
	t.Helper()
	id, actor, client, action, target, outcome, detail := e.ID, e.Actor, e.Client, e.Action, e.Target, e.Outcome, e.Detail
	var buf bytes.Buffer
	w, err := NewJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := w.Write(e); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(buf.Bytes()) {
		t.Fatalf("not valid JSON:\n%s", buf.Bytes())
	}
	var got []map[string]any
	if err := decode(buf.Bytes(), &got); err != nil || len(got) != 2 {
		t.Fatalf("%d events, %v:\n%s", len(got), err, buf.Bytes())
	}
	utf := func(s string) string { return string([]rune(s)) } // each invalid byte → U+FFFD
	for _, ev := range got {
		if n, ok := ev["id"].(json.Number); !ok || n.String() != strconv.FormatInt(id, 10) {
			t.Fatalf("id %v, want %d", ev["id"], id)
		}
		for k, v := range map[string]string{"time": e.At.UTC().Format(time.RFC3339Nano), "actor": actor, "client": client, "action": action, "outcome": outcome} {
			if ev[k] != utf(v) {
				t.Fatalf("%s reads back as %q, want %q", k, ev[k], utf(v))
			}
		}
		if target != "" && ev["target"] != utf(target) {
			t.Fatalf("target reads back as %q, want %q", ev["target"], utf(target))
		}
		d, has := ev["detail"]
		switch {
		case detail == "":
			if has {
				t.Fatalf("an empty detail reads back as %v", d)
			}
		case (detail[0] == '[' || detail[0] == '{') && json.Valid([]byte(detail)):
			var want any
			if err := decode([]byte(detail), &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(d, want) {
				t.Fatalf("JSON detail %q reads back as %v", detail, d)
			}
		default:
			if d != utf(detail) {
				t.Fatalf("detail %q reads back as %#v", detail, d)
			}
		}
	}
}

// decode reads JSON keeping numbers as written (an int64 id, a detail's
// numbers).
func decode(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}
