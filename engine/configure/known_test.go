package configure

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hybridsync/hybridsync/engine/directory"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
)

// The recording against a real domain controller (paged, 2,000+ OUs) is
// directory.Conn.ContainerDNs, tested live in engine/directory; this package
// has no forests of its own, so its tests hand the recording a lister that
// answers from a map, as a domain controller would.

// fakeLister answers ContainerDNs from a map and records the bases asked for.
type fakeLister struct {
	dns   map[string][]string
	fail  map[string]error
	asked []string
}

func (f *fakeLister) ContainerDNs(_ context.Context, base string) ([]string, error) {
	f.asked = append(f.asked, base)
	if err := f.fail[base]; err != nil {
		return nil, err
	}
	return f.dns[base], nil
}

const (
	rootDN  = "DC=corp,DC=test"
	childDN = "DC=child,DC=corp,DC=test"
	goneDN  = "DC=gone,DC=corp,DC=test"
)

func TestKnownContainers(t *testing.T) {
	domains := []directory.Domain{{DNS: "corp.test", DN: rootDN}, {DNS: "child.corp.test", DN: childDN}, {DNS: "gone.corp.test", DN: goneDN}}
	dc := func() *fakeLister {
		return &fakeLister{dns: map[string][]string{
			rootDN:  {rootDN, "OU=Staff," + rootDN, "OU=Old," + rootDN, "CN=Users," + rootDN, "ou=staff,dc=corp,dc=test"},
			childDN: {childDN, "OU=Zürich," + childDN},
			goneDN:  {goneDN},
		}}
	}
	tests := []struct {
		name    string
		ff      setup.ForestFilter
		fail    map[string]error
		dialErr error
		want    []string
		asked   []string
		errHas  string
	}{
		{name: "every selected domain, excluded OUs included, lower case, sorted, once",
			ff:    setup.ForestFilter{Excluded: []string{goneDN, "OU=Old," + rootDN}},
			want:  []string{"cn=users,dc=corp,dc=test", "dc=child,dc=corp,dc=test", "dc=corp,dc=test", "ou=old,dc=corp,dc=test", "ou=staff,dc=corp,dc=test", "ou=zürich,dc=child,dc=corp,dc=test"},
			asked: []string{rootDN, childDN}},
		{name: "an unreachable domain is not read",
			ff:    setup.ForestFilter{Unreachable: []string{childDN}, Excluded: []string{goneDN}},
			want:  []string{"cn=users,dc=corp,dc=test", "dc=corp,dc=test", "ou=old,dc=corp,dc=test", "ou=staff,dc=corp,dc=test"},
			asked: []string{rootDN}},
		{name: "a failed read names its domain",
			fail:   map[string]error{childDN: errors.New("busy")},
			asked:  []string{rootDN, childDN},
			errHas: "unable to record the OUs of child.corp.test: busy"},
		{name: "a domain that can't be reached names it",
			dialErr: errors.New("refused"),
			errHas:  "unable to connect to the domain corp.test to record its OUs: refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := dc()
			f.fail = tt.fail
			got, err := knownContainers(context.Background(), domains, tt.ff, func(directory.Domain) (containerLister, error) {
				if tt.dialErr != nil {
					return nil, tt.dialErr
				}
				return f, nil
			})
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("error %v, want %q", err, tt.errHas)
				}
			} else if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("known %q, %v; want %q", got, err, tt.want)
			}
			if !slices.Equal(f.asked, tt.asked) {
				t.Errorf("asked for %q, want %q", f.asked, tt.asked)
			}
		})
	}
}

// recordJob runs recordContainers for one single-domain forest (root answers
// as its DC does), then saves the configuration, in a job as Configure does.
func recordJob(t *testing.T, e *env, a setup.Answers, root containerLister) (store.Job, setup.Answers) {
	t.Helper()
	const kind = "test-record-containers"
	var c *run
	e.runner.Register(jobs.Type{Kind: kind, Title: "Record", Steps: func(raw []byte) ([]jobs.Step, error) {
		var p Params
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, err
		}
		c = &run{d: Deps{Store: e.st, Box: e.box, DataDir: e.dataDir, InstallID: installID}, p: p}
		fc := p.Answers.Directories.Forests[0]
		info := directory.ForestInfo{Name: fc.Forest, RootDomainNC: fc.RootDN, Domains: []directory.Domain{{DNS: fc.Forest, DN: fc.RootDN}}}
		return []jobs.Step{
			{Name: "Record", Run: func(ctx context.Context, r *jobs.Run) error {
				return c.recordContainers(ctx, r, fc, info, root, "svc", "pw")
			}},
			{Name: "Save", Run: c.saveConfiguration},
		}, nil
	}})
	id, err := e.runner.Start(context.Background(), jobs.Request{Kind: kind, Params: Params{Answers: a}, By: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	e.runner.Wait()
	j, err := e.st.Job(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var active setup.Answers
	if j.Status == jobs.Succeeded {
		cfg, err := e.st.ActiveConfiguration(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(cfg.Answers, &active); err != nil {
			t.Fatal(err)
		}
	}
	return j, active
}

func saveWizard(t *testing.T, st *store.Store, a setup.Answers) {
	t.Helper()
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SaveWizardState(context.Background(), store.WizardState{Page: setup.PageReady, Answers: b, DonePages: []byte("{}"), UpdatedBy: "test"}); err != nil {
		t.Fatal(err)
	}
}

func wizardAnswers(t *testing.T, st *store.Store) setup.Answers {
	t.Helper()
	ws, err := st.WizardState(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var a setup.Answers
	if err := json.Unmarshal(ws.Answers, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

// TestRecordContainers: with Sync all new OUs off, Configure records the
// forest's containers into the configuration it saves and into the wizard,
// keeping the rest of the filter; turned on again, it clears them.
func TestRecordContainers(t *testing.T) {
	e := newEnv(t)
	root := &fakeLister{dns: map[string][]string{rootDN: {rootDN, "OU=Staff," + rootDN, "CN=Users," + rootDN}}}
	a := plainAnswers()
	a.Directories.Forests = []setup.ForestConn{{Forest: "corp.test", RootDN: rootDN}}
	excluded := []string{"OU=Old," + rootDN}
	a.OUFiltering.Forests = map[string]setup.ForestFilter{"corp.test": {Excluded: excluded}}
	want := []string{"cn=users,dc=corp,dc=test", "dc=corp,dc=test", "ou=staff,dc=corp,dc=test"}

	steps := []struct {
		name      string
		syncNew   bool
		wantKnown []string
		log       string
	}{
		{"option off: recorded", false, want, "Recorded the 3 OUs and containers of corp.test"},
		{"option on again: cleared", true, nil, "Sync all new OUs is on"},
		{"option on, nothing recorded: stays empty", true, nil, ""},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			a.OUFiltering.SyncNewOUs = st.syncNew
			saveWizard(t, e.st, a)
			j, active := recordJob(t, e, a, root)
			if j.Status != jobs.Succeeded {
				t.Fatalf("job %s: %s\n%s", j.Status, j.Error, messages(t, e.st, j.ID))
			}
			if ff := active.OUFiltering.Forests["corp.test"]; !slices.Equal(ff.Known, st.wantKnown) || !slices.Equal(ff.Excluded, excluded) {
				t.Errorf("active configuration: known %q excluded %q; want %q %q", ff.Known, ff.Excluded, st.wantKnown, excluded)
			}
			if ff := wizardAnswers(t, e.st).OUFiltering.Forests["corp.test"]; !slices.Equal(ff.Known, st.wantKnown) || !slices.Equal(ff.Excluded, excluded) {
				t.Errorf("wizard: known %q excluded %q; want %q %q", ff.Known, ff.Excluded, st.wantKnown, excluded)
			}
			if log := messages(t, e.st, j.ID); st.log != "" && !strings.Contains(log, st.log) {
				t.Errorf("log lacks %q:\n%s", st.log, log)
			}
			// The answers handed to the next step keep what was recorded.
			a = active
		})
	}
	if n := len(root.asked); n != 1 {
		t.Errorf("the DC was read %d times, want once (only while the option was off)", n)
	}
}

// TestRecordContainersFailure: a forest whose containers can't be read fails
// its step, and nothing half-recorded is saved.
func TestRecordContainersFailure(t *testing.T) {
	e := newEnv(t)
	a := plainAnswers()
	a.OUFiltering.SyncNewOUs = false
	a.Directories.Forests = []setup.ForestConn{{Forest: "corp.test", RootDN: rootDN}}
	saveWizard(t, e.st, a)
	root := &fakeLister{fail: map[string]error{rootDN: errors.New("size limit")}}
	j, _ := recordJob(t, e, a, root)
	if j.Status != jobs.Failed || !strings.Contains(j.Error, "unable to record the OUs of corp.test") {
		t.Fatalf("job %s: %q", j.Status, j.Error)
	}
	if _, err := e.st.ActiveConfiguration(context.Background()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a configuration was saved: %v", err)
	}
	if ff := wizardAnswers(t, e.st).OUFiltering.Forests["corp.test"]; len(ff.Known) != 0 {
		t.Errorf("the wizard recorded %q", ff.Known)
	}
}
