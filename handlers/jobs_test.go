package handlers

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/store"
)

// checkStream checks a job's stream from event seq first on: every stored
// event once, in order, with its seq as id; a "status" after each step or job
// event; and "done" last, once the job finished.
func checkStream(t *testing.T, evs []sseEvent, stored []store.Event, first int64, final string) {
	t.Helper()
	kind := map[int64]string{}
	for _, ev := range stored {
		kind[ev.Seq] = ev.Kind
	}
	want := first
	for i, ev := range evs {
		switch ev.event {
		case "log":
			seq, err := strconv.ParseInt(ev.id, 10, 64)
			if err != nil || seq != want {
				t.Fatalf("event %d: id %q, want %d", i, ev.id, want)
			}
			if !strings.Contains(ev.data, fmt.Sprintf(`data-seq="%d"`, seq)) || !strings.HasPrefix(ev.data, "<li") {
				t.Errorf("event %d: data is not the event's line: %q", i, ev.data)
			}
			want++
			if k := kind[seq]; k == "step" || k == "job" {
				if i+1 >= len(evs) || evs[i+1].event != "status" {
					t.Errorf("no status after %s event %d", k, seq)
				}
			}
		case "status":
			if ev.id != "" {
				t.Errorf("status event with id %q", ev.id)
			}
			if !strings.Contains(ev.data, `data-testid="job-steps"`) {
				t.Errorf("status event without the steps: %q", ev.data)
			}
		case "done":
			if i != len(evs)-1 {
				t.Errorf("events after done: %+v", evs[i+1:])
			}
		default:
			t.Errorf("unexpected event %q", ev.event)
		}
	}
	if last := stored[len(stored)-1].Seq; want != last+1 {
		t.Errorf("stream stopped before event %d; the job has %d", want, last)
	}
	if l := lastOf(evs); l.event != "done" || l.data != final {
		t.Errorf("the stream ends with %+v, want done %q", l, final)
	}
	if len(evs) < 2 || evs[len(evs)-2].event != "status" || !strings.Contains(evs[len(evs)-2].data, ">"+final+"<") {
		t.Errorf("no final status before done")
	}
}

func TestJobEventsReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.signedIn("helpdesk") // Browse is enough to watch
	id := e.startJob(kindSpam, spamParams{Lines: 5, Size: 10})
	if j := e.waitJob(id, 10*time.Second); j.Status != jobs.Succeeded {
		t.Fatalf("job %s", j.Status)
	}
	stored, err := e.st.Events(context.Background(), id, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	last := stored[len(stored)-1].Seq
	if last < 9 {
		t.Fatalf("only %d events", last)
	}
	base := fmt.Sprintf("/jobs/%d/events", id)
	cases := []struct {
		name  string
		path  string
		hdr   []string
		first int64
	}{
		{"from the start", base, nil, 1},
		{"after=3", base + "?after=3", nil, 4},
		{"Last-Event-ID: 5", base, []string{"Last-Event-ID", "5"}, 6},
		{"Last-Event-ID wins over after", base + "?after=2", []string{"Last-Event-ID", "7"}, 8},
		{"bad Last-Event-ID", base + "?after=2", []string{"Last-Event-ID", "x"}, 3},
		{"bad after", base + "?after=x", nil, 1},
		{"after the last event", base + "?after=" + strconv.FormatInt(last, 10), nil, last + 1},
		{"after the end", base + "?after=" + strconv.FormatInt(last+100, 10), nil, last + 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := c.openEvents(t, tc.path, tc.hdr...)
			if s.res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", s.res.StatusCode)
			}
			if ct := s.res.Header.Get("Content-Type"); ct != "text/event-stream" {
				t.Errorf("Content-Type %q", ct)
			}
			if cc := s.res.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
			evs := s.all(t, 10*time.Second)
			if tc.first > last {
				// Nothing left to replay: the current state, then done.
				if len(evs) != 2 || evs[0].event != "status" || evs[1].event != "done" {
					t.Fatalf("got %+v, want status and done", evs)
				}
				return
			}
			checkStream(t, evs, stored, tc.first, jobs.Succeeded)
		})
	}
	for _, p := range []string{"/jobs/999/events", "/jobs/abc/events", "/jobs/0/events"} {
		if r := c.get(p); r.status != http.StatusNotFound {
			t.Errorf("GET %s: %d", p, r.status)
		}
	}
}

// waitEvent polls the store until a job has an event with that message.
func (e *env) waitEvent(id int64, msg string) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		evs, err := e.st.Events(context.Background(), id, 0, 1000)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, ev := range evs {
			if ev.Message == msg {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatalf("job %d never logged %q", id, msg)
}

// until reads events until one whose data contains s.
func (s *sse) until(t *testing.T, text string) []sseEvent {
	t.Helper()
	var out []sseEvent
	for {
		ev, ok := s.next(t, 10*time.Second)
		if !ok {
			t.Fatalf("the stream ended before %q; got %+v", text, out)
		}
		out = append(out, ev)
		if strings.Contains(ev.data, text) {
			return out
		}
	}
}

func TestJobEventsLive(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, envOptions{cfg: Config{SSEPing: 20 * time.Millisecond}})
	c := e.signedIn("admin")
	id := e.startJob(kindGate, nil)
	e.waitEvent(id, "waiting")

	// The page of a running job connects its stream after the last event shown.
	page := c.get(fmt.Sprintf("/jobs/%d", id))
	lastShown := page.find(t, `[data-testid="job-log"] li`).Last().AttrOr("data-seq", "")
	if got := page.find(t, `[sse-connect]`).AttrOr("sse-connect", ""); got != fmt.Sprintf("/jobs/%d/events?after=%s", id, lastShown) {
		t.Errorf("sse-connect=%q, last event shown %s", got, lastShown)
	}

	s := c.openEvents(t, fmt.Sprintf("/jobs/%d/events", id))
	evs := s.until(t, "waiting")
	// Idle: keep-alives every 20 ms. Waited for rather than slept on: under
	// the race detector beside the whole suite, 100 ms was once not enough.
	for deadline := time.Now().Add(5 * time.Second); s.pings.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if s.pings.Load() == 0 {
		t.Error("no keep-alive on an idle stream")
	}
	e.release() // events published while connected
	evs = append(evs, s.all(t, 10*time.Second)...)
	stored, err := e.st.Events(context.Background(), id, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	checkStream(t, evs, stored, 1, jobs.Succeeded)
	joined := ""
	for _, ev := range evs {
		joined += ev.data
	}
	if !strings.Contains(joined, "released") {
		t.Error("the line logged while connected did not arrive")
	}
	if n := e.runner.Hub().Viewers(id); n != 0 {
		t.Errorf("%d subscriptions left after the stream ended", n)
	}
}

// TestJobEventsSlowClient: a viewer that does not read does not slow the job.
func TestJobEventsSlowClient(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.signedIn("admin")
	// About 8 MB of events: more than loopback socket buffers hold.
	id := e.startJob(kindSpam, spamParams{Lines: 800, Size: 10000})
	start := time.Now()

	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /jobs/%d/events HTTP/1.1\r\nHost: %s\r\nCookie: %s=%s\r\n\r\n", id, e.srv.Listener.Addr(), cookieName, c.cookie())
	br := bufio.NewReader(conn)
	status, err := br.ReadString('\n')
	if err != nil || !strings.Contains(status, " 200 ") {
		t.Fatalf("stream: %q %v", status, err)
	}
	// From here on the client reads nothing.

	j := e.waitJob(id, 60*time.Second)
	took := time.Since(start)
	if j.Status != jobs.Succeeded {
		t.Fatalf("job %s", j.Status)
	}
	t.Logf("800 lines of 10 KB in %s with a viewer that does not read", took)
	if n := e.runner.Hub().Viewers(id); n != 1 {
		t.Fatalf("%d viewers when the job finished, want the stalled one", n)
	}
	// The job's own page is not held up either.
	if r := c.get(fmt.Sprintf("/jobs/%d", id)); r.testid(t, "job-status") != jobs.Succeeded {
		t.Errorf("job page: %d", r.status)
	}
	conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	for e.runner.Hub().Viewers(id) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stalled stream's handler never ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestJobEventsEndOnClose(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.signedIn("admin")
	id := e.startJob(kindGate, nil)
	e.waitEvent(id, "waiting")
	streams := []*sse{c.openEvents(t, fmt.Sprintf("/jobs/%d/events", id)), c.openEvents(t, fmt.Sprintf("/jobs/%d/events?after=1", id))}
	for _, s := range streams {
		s.until(t, "waiting")
	}
	e.h.Close()
	e.h.Close() // twice is fine
	for i, s := range streams {
		rest := s.all(t, 5*time.Second)
		if l := lastOf(rest); l.event == "done" {
			t.Errorf("stream %d said done for a running job", i)
		}
	}
	if j, _ := e.st.Job(context.Background(), id); j.Status != jobs.Running {
		t.Errorf("closing the streams changed the job: %s", j.Status)
	}
}
