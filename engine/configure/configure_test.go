package configure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/outcome"
	"github.com/hybridsync/hybridsync/engine/schedule"
	"github.com/hybridsync/hybridsync/engine/secret"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
)

type env struct {
	dataDir string
	st      *store.Store
	box     *secret.Box
	runner  *jobs.Runner
}

const installID = "install-me"

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	dataDir := t.TempDir()
	st, err := store.Open(ctx, store.Options{Dialect: store.SQLite, DSN: store.SQLitePath(dataDir)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	box, err := secret.Load(dataDir, "")
	if err != nil {
		t.Fatal(err)
	}
	r := jobs.NewRunner(st, jobs.NewHub(), slog.New(slog.NewTextHandler(io.Discard, nil)), 1)
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r.Shutdown(ctx)
	})
	chk := &setup.StoreChecker{InstallID: installID, OwnDB: store.SQLitePath(dataDir), Box: box, Timeout: 3 * time.Second}
	r.Register(Type(Deps{Store: st, Box: box, DataDir: dataDir, InstallID: installID, Checker: chk}))
	return &env{dataDir: dataDir, st: st, box: box, runner: r}
}

// configure runs a configure job to its end and returns it.
func (e *env) configure(t *testing.T, a setup.Answers, by string) store.Job {
	t.Helper()
	id, err := e.runner.Start(context.Background(), jobs.Request{Kind: Kind, Params: Params{Answers: a}, By: by})
	if err != nil {
		t.Fatal(err)
	}
	e.runner.Wait()
	j, err := e.st.Job(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// plainAnswers are the wizard's defaults with no option hybridsync can't
// carry out (password hash sync is the default sign-in method): a Configure
// that meets no problem ends succeeded.
func plainAnswers() setup.Answers {
	a := setup.Defaults()
	a.SignIn.Method, a.Features.PasswordHashSync = setup.MethodNone, false
	return a
}

// wantProblems checks that a job met exactly the problems with these names.
func wantProblems(t *testing.T, st *store.Store, j store.Job, names ...string) {
	t.Helper()
	ps, err := st.Problems(context.Background(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range ps[j.ID] {
		got = append(got, p.Name)
	}
	slices.Sort(got)
	slices.Sort(names)
	if !slices.Equal(got, names) {
		t.Errorf("job %d met problems %q, want %q", j.ID, got, names)
	}
}

func customGroups() setup.Answers {
	a := plainAnswers()
	a.Components.CustomGroups = true
	a.Components.GroupNames = map[string]string{"admins": "HSAdmins", "operators": "HSOperators", "browse": "HSBrowse", "passwordset": "HSPasswordSet"}
	return a
}

func statuses(j store.Job) []string {
	var out []string
	for _, s := range j.Steps {
		out = append(out, s.Status)
	}
	return out
}

func messages(t *testing.T, st *store.Store, id int64) string {
	t.Helper()
	evs, err := st.Events(context.Background(), id, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Level+": "+e.Message)
	}
	return strings.Join(out, "\n")
}

func checkActive(t *testing.T, st *store.Store, j store.Job, by string, want setup.Answers) {
	t.Helper()
	c, err := st.ActiveConfiguration(context.Background())
	if err != nil {
		t.Fatalf("no active configuration: %v", err)
	}
	if c.AppliedBy != by || c.JobID != j.ID || c.InstallID != installID {
		t.Errorf("configuration by %q job %d install %q; want %q %d %q", c.AppliedBy, c.JobID, c.InstallID, by, j.ID, installID)
	}
	var got setup.Answers
	if err := json.Unmarshal(c.Answers, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("saved answers\n %+v\nwant\n %+v", got, want)
	}
}

func TestConfigureDefaultLocation(t *testing.T) {
	e := newEnv(t)
	a := customGroups()
	j := e.configure(t, a, "alice")
	if j.Status != jobs.Succeeded {
		t.Fatalf("job %s: %s\n%s", j.Status, j.Error, messages(t, e.st, j.ID))
	}
	wantSteps := []string{"Prepare the sync database", "Create the sync groups", "Save the active configuration"}
	for i, s := range j.Steps {
		if s.Name != wantSteps[i] || s.Status != jobs.Succeeded {
			t.Errorf("step %d: %s %s", i+1, s.Name, s.Status)
		}
	}
	groups, err := e.st.SyncGroups(context.Background())
	if err != nil || !reflect.DeepEqual(groups, a.Components.GroupNames) {
		t.Errorf("sync groups %v, %v; want %v", groups, err, a.Components.GroupNames)
	}
	checkActive(t, e.st, j, "alice", a)
	msgs := messages(t, e.st, j.ID)
	for _, want := range []string{"Schema is up to date", "Administrators: group HSAdmins (0 member(s))", "applied by alice",
		"info: Synchronization is set to start, but this server's scheduler is off"} {
		if !strings.Contains(msgs, want) {
			t.Errorf("events lack %q:\n%s", want, msgs)
		}
	}
	if es, _ := os.ReadDir(e.dataDir); len(es) > 4 {
		t.Errorf("files in the data directory: %d", len(es))
	}

	// Configuring again replaces the active configuration; default groups come back.
	b := plainAnswers()
	b.Ready.StartSync = false
	j2 := e.configure(t, b, "bob")
	if j2.Status != jobs.Succeeded {
		t.Fatalf("second job %s: %s", j2.Status, j2.Error)
	}
	checkActive(t, e.st, j2, "bob", b)
	if groups, _ := e.st.SyncGroups(context.Background()); groups["admins"] != "ADSyncAdmins" {
		t.Errorf("groups after reconfiguring with defaults: %v", groups)
	}
	if strings.Contains(messages(t, e.st, j2.ID), "Synchronization is set to start") {
		t.Error("start-sync warning without start sync")
	}
}

func TestConfigureCustomLocation(t *testing.T) {
	e := newEnv(t)
	loc := filepath.Join(t.TempDir(), "hybridsync", "data")
	a := customGroups()
	a.Components.CustomLocation, a.Components.Location = true, loc
	a.Ready.Staging = true
	j := e.configure(t, a, "alice")
	if j.Status != jobs.Succeeded {
		t.Fatalf("job %s: %s\n%s", j.Status, j.Error, messages(t, e.st, j.ID))
	}
	checkActive(t, e.st, j, "alice", a)

	ctx := context.Background()
	target, err := store.Open(ctx, store.Options{Dialect: store.SQLite, DSN: store.SQLitePath(loc)})
	if err != nil {
		t.Fatalf("no LocalDB at the custom location: %v", err)
	}
	defer target.Close()
	if err := target.CheckSchema(ctx); err != nil {
		t.Fatalf("the custom LocalDB is not migrated: %v", err)
	}
	checkActive(t, target, j, "alice", a)
	msgs := messages(t, e.st, j.ID)
	all, err := store.Migrations(store.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Opening the LocalDB at " + store.SQLitePath(loc), fmt.Sprintf("Applied %d schema migration(s)", len(all)),
		"Recorded the configuration in the sync database", "Staging mode is on"} {
		if !strings.Contains(msgs, want) {
			t.Errorf("events lack %q:\n%s", want, msgs)
		}
	}

	// Running it again (a retry, or reconfiguring) finds this install's own data: fine.
	j2 := e.configure(t, a, "bob")
	if j2.Status != jobs.Succeeded {
		t.Fatalf("re-run %s: %s", j2.Status, j2.Error)
	}
	if !strings.Contains(messages(t, e.st, j2.ID), "Applied 0 schema migration(s)") {
		t.Error("the second run migrated again")
	}
	checkActive(t, target, j2, "bob", a)
}

func TestConfigureCustomLocationIsTheDataDir(t *testing.T) {
	e := newEnv(t)
	a := plainAnswers()
	a.Components.CustomLocation, a.Components.Location = true, e.dataDir+"/."
	j := e.configure(t, a, "alice")
	if j.Status != jobs.Succeeded {
		t.Fatalf("job %s: %s", j.Status, j.Error)
	}
	if msgs := messages(t, e.st, j.ID); strings.Contains(msgs, "Opening the LocalDB") || !strings.Contains(msgs, "console's LocalDB") {
		t.Errorf("the data directory was treated as another location:\n%s", msgs)
	}
}

func TestConfigureRefusesAnotherInstallsDatabase(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	loc := t.TempDir()
	other, err := store.Open(ctx, store.Options{Dialect: store.SQLite, DSN: store.SQLitePath(loc)})
	if err != nil {
		t.Fatal(err)
	}
	other.Migrate(ctx)
	if _, err := other.SaveActiveConfiguration(ctx, store.Configuration{InstallID: "someone-else", Answers: []byte(`{}`), AppliedBy: "eve"}); err != nil {
		t.Fatal(err)
	}
	other.Close()
	before, _ := os.ReadFile(store.SQLitePath(loc))

	a := customGroups()
	a.Components.CustomLocation, a.Components.Location = true, loc
	j := e.configure(t, a, "alice")
	if j.Status != jobs.Failed {
		t.Fatalf("job %s, want failed", j.Status)
	}
	if !strings.Contains(j.Error, setup.MsgDatabaseHoldsData) {
		t.Errorf("job error %q, want the HybridSync message", j.Error)
	}
	if got := statuses(j); !reflect.DeepEqual(got, []string{jobs.Failed, jobs.Skipped, jobs.Skipped}) {
		t.Errorf("steps %v", got)
	}
	if _, err := e.st.ActiveConfiguration(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a failed configure saved a configuration: %v", err)
	}
	if g, _ := e.st.SyncGroups(ctx); len(g) != 0 {
		t.Errorf("a failed configure created groups: %v", g)
	}
	after, _ := os.ReadFile(store.SQLitePath(loc))
	if string(before) != string(after) {
		t.Error("the other install's database was changed")
	}
}

func TestConfigureSQLServerUnreachable(t *testing.T) {
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	sealed, err := e.box.Seal("pw")
	if err != nil {
		t.Fatal(err)
	}
	a := plainAnswers()
	c := &a.Components
	c.UseSQLServer, c.SQLServer, c.SQLInstance, c.SQLLogin, c.SQLPassword = true, "127.0.0.1", ","+strconv.Itoa(port), "sa", sealed
	start := time.Now()
	j := e.configure(t, a, "alice")
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
	if j.Status != jobs.Failed || !strings.Contains(j.Error, "Nothing accepts connections for SQL Server on 127.0.0.1") {
		t.Fatalf("job %s: %q", j.Status, j.Error)
	}
	if strings.Contains(messages(t, e.st, j.ID), "pw") && strings.Contains(messages(t, e.st, j.ID), ":pw@") {
		t.Error("the password reached the events")
	}
}

func TestConfigureBadParams(t *testing.T) {
	typ := Type(Deps{})
	if _, err := typ.Steps([]byte(`{"answers": 5}`)); err == nil {
		t.Error("bad params accepted")
	}
	steps, err := typ.Steps([]byte(`{}`))
	if err != nil || len(steps) != 3 {
		t.Errorf("steps %d, %v", len(steps), err)
	}
}

// Configure says when the first cycle runs as this server will run it: never
// "within a minute" when its scheduler is off or suspended.
func TestWhenSyncStarts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	tests := []struct {
		name      string
		start     bool
		scheduler Scheduler
		suspend   bool
		want      string
	}{
		{"not started", false, Scheduler{On: true}, false, "was not set to start"},
		{"scheduler off", true, Scheduler{}, false, "this server's scheduler is off (hybridsync serve --scheduler=false)"},
		{"suspended", true, Scheduler{On: true}, true, "the scheduler is suspended by bob: resume it on Sync"},
		{"on", true, Scheduler{On: true, Check: 2 * time.Second}, false, "the first cycle runs at the scheduler's next check (within 2s), then every 30m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := schedule.Defaults()
			set.Suspended, set.SuspendedBy = tt.suspend, "bob"
			if err := schedule.Save(ctx, e.st, set); err != nil {
				t.Fatal(err)
			}
			a := plainAnswers()
			a.Ready.StartSync = tt.start
			c := &run{d: Deps{Store: e.st, Scheduler: tt.scheduler}, p: Params{Answers: a}}
			if got := c.whenSyncStarts(ctx); !strings.Contains(got, tt.want) {
				t.Errorf("%q, want %q", got, tt.want)
			}
		})
	}
}

// Configure applies options whose effect hybridsync can't have, and ends
// succeeded with warnings naming each, with what to do.
func TestConfigureNamesWhatItCannotDo(t *testing.T) {
	e := newEnv(t)
	a := customGroups()
	a.SignIn.Method, a.Features.PasswordHashSync = setup.MethodPHS, true
	a.Features.PasswordWriteback, a.Features.GroupWriteback = true, true
	j := e.configure(t, a, "alice")
	if j.Status != jobs.Warnings {
		t.Fatalf("job %s, want succeeded with warnings\n%s", j.Status, messages(t, e.st, j.ID))
	}
	wantProblems(t, e.st, j, "limit/"+setup.LimitPHS, "limit/"+setup.LimitPasswordWriteback, "limit/"+setup.LimitGroupWriteback)
	ps, _ := e.st.Problems(context.Background(), j.ID)
	for _, p := range ps[j.ID] {
		l, _ := setup.LimitationOf(strings.TrimPrefix(p.Name, "limit/"))
		if !strings.Contains(p.Message, l.Feature) || p.Action != l.Action || p.Level != outcome.LevelWarn {
			t.Errorf("problem %+v does not name %s and what to do", p, l.Feature)
		}
	}
	if _, err := e.st.ActiveConfiguration(context.Background()); err != nil {
		t.Errorf("the configuration was not applied: %v", err)
	}
}
