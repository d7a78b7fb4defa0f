package export

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hybridsync/hybridsync/e2e/tenant"
	"github.com/hybridsync/hybridsync/engine/cloud"
	"github.com/hybridsync/hybridsync/engine/connector"
	"github.com/hybridsync/hybridsync/engine/metaverse"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
)

// graphLog records the writes a Graph client sends: each request other than
// a GET, alone or inside a $batch, as "METHOD /path".
type graphLog struct {
	next   http.RoundTripper
	mu     sync.Mutex
	writes []string
}

func (l *graphLog) RoundTrip(req *http.Request) (*http.Response, error) {
	var sent []string
	switch {
	case strings.HasSuffix(req.URL.Path, "/$batch") && req.Body != nil:
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		var in struct {
			Requests []struct {
				Method string `json:"method"`
				URL    string `json:"url"`
			} `json:"requests"`
		}
		if err := json.Unmarshal(b, &in); err != nil {
			return nil, err
		}
		for _, r := range in.Requests {
			if r.Method != http.MethodGet {
				sent = append(sent, r.Method+" "+r.URL)
			}
		}
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
	case req.Method != http.MethodGet:
		sent = append(sent, req.Method+" "+req.URL.Path)
	}
	l.mu.Lock()
	l.writes = append(l.writes, sent...)
	l.mu.Unlock()
	return l.next.RoundTrip(req)
}

// take returns the writes sent since the last take.
func (l *graphLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.writes
	l.writes = nil
	return w
}

const corpForest = "corp.example.test"

// sourceUser is a user of the corp forest as its import left it in the
// connector space.
func sourceUser(n byte, cn, upn, mail string) connector.Object {
	o := connector.Object{Connector: corpForest, Anchor: "0000000" + string('0'+n) + "-0000-4000-8000-000000000000",
		DN: "CN=" + cn + ",OU=Users,DC=corp,DC=example,DC=test", Class: connector.ClassUser, InScope: true, Reason: "In scope: OU selected.",
		Attrs: map[string][]string{"samaccountname": {cn}, "useraccountcontrol": {"512"}, "displayname": {cn}, "userprincipalname": {upn}}}
	if mail != "" {
		o.Attrs["mail"] = []string{mail}
	}
	return o
}

// newMetaverse is the sync rules of one forest, no tenant suffix rules.
func newMetaverse() *metaverse.Engine {
	return metaverse.NewEngine(metaverse.Config{Forests: []string{corpForest}, Matching: setup.MatchOnce,
		AnchorAttribute: setup.AttrObjectGUID, SignInAttribute: setup.AttributeUPN})
}

// cycle stands for a sync cycle as engine/cycle runs one: a full sync of the
// source into the store, then an export of every pending export the store
// holds, which the metaverse is told of (RecordExported).
func (e *env) cycle(t *testing.T, mv *metaverse.Engine, users ...connector.Object) *Result {
	t.Helper()
	if _, err := mv.Sync(context.Background(), e.st, true, users); err != nil {
		t.Fatal(err)
	}
	return e.run(t, e.pending(t))
}

// pending are the pending exports in the store, as the cycle reads them.
func (e *env) pending(t testing.TB) []metaverse.Change {
	t.Helper()
	rows, err := e.st.PendingExports(context.Background(), store.PendingFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []metaverse.Change
	for _, row := range rows {
		var c metaverse.Change
		if err := json.Unmarshal(row.Change, &c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// TestQuarantinedValueNotSentAgain: a user whose userPrincipalName or
// address another object holds is quarantined once; later cycles with an
// unchanged source send nothing for it and keep its sync error open, and
// nothing stays pending; once the holder lets the value go, or the source
// changes it, the next cycle writes it once and the error is resolved.
func TestQuarantinedValueNotSentAgain(t *testing.T) {
	tests := []struct {
		name      string
		holder    func(t *testing.T, e *env) *cloud.User
		user      connector.Object
		attribute string
		value     string
		// quarantined checks the user in the tenant while quarantined.
		quarantined func(t *testing.T, u cloud.User)
		// then lets the value go in the tenant, or changes the source.
		then func(t *testing.T, e *env, holder *cloud.User, src *connector.Object)
		// sent checks the user in the tenant once the value was sent.
		sent func(t *testing.T, u cloud.User)
	}{
		{
			name: "duplicate userPrincipalName: the holder is deleted",
			holder: func(t *testing.T, e *env) *cloud.User {
				return e.cloudUser(t, "carol@"+domain, "", "someone-else")
			},
			user:      sourceUser(1, "carol", "carol@"+domain, ""),
			attribute: "userPrincipalName", value: "carol@" + domain,
			quarantined: func(t *testing.T, u cloud.User) {
				if !placeholderRe.MatchString(u.UserPrincipalName) {
					t.Errorf("UPN %q is not a placeholder", u.UserPrincipalName)
				}
			},
			then: func(t *testing.T, e *env, holder *cloud.User, _ *connector.Object) {
				if err := e.admin.DeleteUser(context.Background(), holder.ID); err != nil {
					t.Fatal(err)
				}
			},
			sent: func(t *testing.T, u cloud.User) {
				if u.UserPrincipalName != "carol@"+domain {
					t.Errorf("UPN %q, want carol@%s", u.UserPrincipalName, domain)
				}
			},
		},
		{
			name: "duplicate userPrincipalName: the source changes it",
			holder: func(t *testing.T, e *env) *cloud.User {
				return e.cloudUser(t, "carol@"+domain, "", "someone-else")
			},
			user:      sourceUser(2, "carol", "carol@"+domain, ""),
			attribute: "userPrincipalName", value: "carol@" + domain,
			quarantined: func(t *testing.T, u cloud.User) {
				if !placeholderRe.MatchString(u.UserPrincipalName) {
					t.Errorf("UPN %q is not a placeholder", u.UserPrincipalName)
				}
			},
			then: func(t *testing.T, _ *env, _ *cloud.User, src *connector.Object) {
				src.Attrs["userprincipalname"] = []string{"carol.new@" + domain}
			},
			sent: func(t *testing.T, u cloud.User) {
				if u.UserPrincipalName != "carol.new@"+domain {
					t.Errorf("UPN %q, want carol.new@%s", u.UserPrincipalName, domain)
				}
			},
		},
		{
			name: "duplicate proxy address: the holder drops it",
			holder: func(t *testing.T, e *env) *cloud.User {
				return e.cloudUser(t, "dora@"+domain, "", "someone-else", "SMTP:dora@"+domain, "smtp:shared@"+domain)
			},
			user:      sourceUser(3, "dan", "dan@"+domain, "shared@"+domain),
			attribute: "proxyAddresses", value: "smtp:shared@" + domain,
			quarantined: func(t *testing.T, u cloud.User) {
				if u.Mail != "" || u.UserPrincipalName != "dan@"+domain {
					t.Errorf("quarantined user %+v: want its UPN and no mail", u)
				}
			},
			then: func(t *testing.T, e *env, holder *cloud.User, _ *connector.Object) {
				if err := e.tn.SetProxyAddresses(holder.ID, []string{"SMTP:dora@" + domain}); err != nil {
					t.Fatal(err)
				}
			},
			sent: func(t *testing.T, u cloud.User) {
				if u.Mail != "shared@"+domain || !slices.Contains(u.ProxyAddresses, "SMTP:shared@"+domain) {
					t.Errorf("user %+v: want mail shared@%s and its address", u, domain)
				}
			},
		},
		{
			name: "duplicate proxy address: the source changes the mail",
			holder: func(t *testing.T, e *env) *cloud.User {
				return e.cloudUser(t, "dora@"+domain, "", "someone-else", "SMTP:dora@"+domain, "smtp:shared@"+domain)
			},
			user:      sourceUser(4, "dan", "dan@"+domain, "shared@"+domain),
			attribute: "proxyAddresses", value: "smtp:shared@" + domain,
			quarantined: func(t *testing.T, u cloud.User) {
				if u.Mail != "" {
					t.Errorf("quarantined user %+v: want no mail", u)
				}
			},
			then: func(t *testing.T, _ *env, _ *cloud.User, src *connector.Object) {
				src.Attrs["mail"] = []string{"dan@" + domain}
			},
			sent: func(t *testing.T, u cloud.User) {
				if u.Mail != "dan@"+domain {
					t.Errorf("user %+v: want mail dan@%s", u, domain)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, tenant.Options{}, Options{})
			e.exp.opts.OnConfirmed = metaverse.RecordExported(e.st)
			mv := newMetaverse()
			holder := tt.holder(t, e)
			src := tt.user

			// Cycle 1: created, the value quarantined.
			res := e.cycle(t, mv, src)
			if res.Status != StatusCompletedWithErrors || res.Adds != 1 || len(res.SyncErrors) != 1 || res.StillHeld != 0 || len(res.Confirmed) != 1 {
				t.Fatalf("cycle 1: %+v", res)
			}
			key, id := res.Confirmed[0].Key, res.Confirmed[0].CloudID
			user := func() cloud.User {
				t.Helper()
				u, err := e.admin.GetUser(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				return *u
			}
			tt.quarantined(t, user())
			open, err := e.st.SyncErrors(ctx, true, 10)
			if err != nil || len(open) != 1 || open[0].Key != key || open[0].Attribute != tt.attribute || open[0].Value != tt.value || open[0].HolderID != holder.ID {
				t.Fatalf("sync errors after cycle 1: %+v, %v", open, err)
			}
			e.graph.take()

			// Cycles 2 and 3, the source unchanged: nothing sent, the error
			// open and seen again, nothing left pending for the review.
			for n := 2; n <= 3; n++ {
				res = e.cycle(t, mv, src)
				if w := e.graph.take(); len(w) != 0 || res.Writes != 0 {
					t.Errorf("cycle %d sent %d write(s): %q", n, res.Writes, w)
				}
				if res.Status != StatusCompletedWithErrors || len(res.SyncErrors) != 1 || res.StillHeld != 1 || res.SyncErrors[0].Value != tt.value {
					t.Errorf("cycle %d: %+v", n, res)
				}
				again, err := e.st.SyncErrors(ctx, true, 10)
				if err != nil || len(again) != 1 || again[0].ID != open[0].ID || again[0].LastSeen.Before(open[0].LastSeen) {
					t.Errorf("sync errors after cycle %d: %+v, %v", n, again, err)
				}
				if p := e.pending(t); len(p) != 0 {
					t.Errorf("pending after cycle %d: %+v", n, p)
				}
			}
			tt.quarantined(t, user())

			// Cycle 4: another attribute changes in the source: it is sent, the
			// quarantined value is not, and the error stays open.
			src.Attrs = maps.Clone(src.Attrs)
			src.Attrs["title"] = []string{"Manager"}
			res = e.cycle(t, mv, src)
			if w := e.graph.take(); len(w) != 1 || w[0] != "PATCH /users/"+id {
				t.Errorf("title change sent %q, want one PATCH /users/%s", w, id)
			}
			if res.Updates != 1 || res.StillHeld != 1 || len(res.SyncErrors) != 1 {
				t.Errorf("title change: %+v", res)
			}
			if u := user(); u.JobTitle != "Manager" {
				t.Errorf("title not sent: %+v", u)
			}
			tt.quarantined(t, user())
			if again, err := e.st.SyncErrors(ctx, true, 10); err != nil || len(again) != 1 || again[0].ID != open[0].ID {
				t.Errorf("sync errors after the title change: %+v, %v", again, err)
			}

			// The conflict ends: the next cycle writes the value once and
			// resolves the error; the one after sends nothing.
			tt.then(t, e, holder, &src)
			res = e.cycle(t, mv, src)
			if w := e.graph.take(); len(w) != 1 || w[0] != "PATCH /users/"+id || res.Writes != 1 {
				t.Errorf("cycle 5 sent %q (%d writes), want one PATCH /users/%s", w, res.Writes, id)
			}
			if res.Status != StatusSuccess || res.Updates != 1 || res.Errors() != 0 {
				t.Errorf("cycle 5: %+v", res)
			}
			tt.sent(t, user())
			if open, err := e.st.SyncErrors(ctx, true, 10); err != nil || len(open) != 0 {
				t.Errorf("open sync errors after cycle 5: %+v, %v", open, err)
			}
			if all, err := e.st.SyncErrors(ctx, false, 10); err != nil || len(all) != 1 || all[0].ResolvedAt.IsZero() {
				t.Errorf("sync errors after cycle 5: %+v, %v", all, err)
			}
			res = e.cycle(t, mv, src)
			if w := e.graph.take(); len(w) != 0 || res.Status != StatusSuccess {
				t.Errorf("cycle 6 sent %q: %+v", w, res)
			}
		})
	}
}

// TestTwoQuarantinedValuesOfOneUser: a user whose userPrincipalName and
// address are both held elsewhere; once both holders let go, one update
// sends both and resolves both errors.
func TestTwoQuarantinedValuesOfOneUser(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, tenant.Options{}, Options{})
	e.exp.opts.OnConfirmed = metaverse.RecordExported(e.st)
	mv := newMetaverse()
	erin := e.cloudUser(t, "erin@"+domain, "", "someone-else")
	dora := e.cloudUser(t, "dora@"+domain, "", "someone-else-too", "SMTP:dora@"+domain, "smtp:shared@"+domain)
	src := sourceUser(5, "erin", "erin@"+domain, "shared@"+domain)

	res := e.cycle(t, mv, src)
	if res.Adds != 1 || len(res.SyncErrors) != 2 || len(res.Confirmed) != 1 {
		t.Fatalf("cycle 1: %+v", res)
	}
	id := res.Confirmed[0].CloudID
	e.graph.take()
	res = e.cycle(t, mv, src)
	if w := e.graph.take(); len(w) != 0 || res.StillHeld != 2 {
		t.Fatalf("cycle 2 sent %q: %+v", w, res)
	}

	if err := e.admin.DeleteUser(ctx, erin.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.tn.SetProxyAddresses(dora.ID, []string{"SMTP:dora@" + domain}); err != nil {
		t.Fatal(err)
	}
	res = e.cycle(t, mv, src)
	if w := e.graph.take(); len(w) != 1 || w[0] != "PATCH /users/"+id || res.Status != StatusSuccess || res.Updates != 1 {
		t.Fatalf("cycle 3 sent %q: %+v", w, res)
	}
	u, err := e.admin.GetUser(ctx, id)
	if err != nil || u.UserPrincipalName != "erin@"+domain || u.Mail != "shared@"+domain {
		t.Fatalf("user %+v, %v", u, err)
	}
	if open, err := e.st.SyncErrors(ctx, true, 10); err != nil || len(open) != 0 {
		t.Fatalf("open sync errors %+v, %v", open, err)
	}
}
