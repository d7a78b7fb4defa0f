package store

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestAuditFilters(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	events := []AuditEvent{
		{At: base, Actor: "alice", Client: "127.0.0.1", Action: "signin", Outcome: "succeeded"},
		{At: base.Add(time.Hour), Actor: "", Client: "127.0.0.9", Action: "signin", Target: "alice", Outcome: "failed", Detail: "wrong password"},
		{At: base.Add(2 * time.Hour), Actor: "Alice", Client: "127.0.0.1", Action: "account.create", Target: "bob", Outcome: "succeeded"},
		{At: base.Add(3 * time.Hour), Actor: "bob", Client: "127.0.0.2", Action: "account.disable", Target: "alice", Outcome: "refused"},
		{At: base.Add(4 * time.Hour), Actor: "cli:root", Client: "local", Action: "accountx", Outcome: "succeeded"},
	}
	for _, e := range events {
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		f    AuditFilter
		want []string // targets+actions, newest first
	}{
		{"all", AuditFilter{}, []string{"accountx", "account.disable", "account.create", "signin", "signin"}},
		{"actor ignores case", AuditFilter{Actor: "alice"}, []string{"account.create", "signin"}},
		{"kind of action", AuditFilter{Action: "account"}, []string{"account.disable", "account.create"}},
		{"one action", AuditFilter{Action: "account.create"}, []string{"account.create"}},
		{"wildcards are literal", AuditFilter{Action: "account_"}, nil},
		{"outcome", AuditFilter{Outcome: "failed"}, []string{"signin"}},
		{"window", AuditFilter{From: base.Add(time.Hour), To: base.Add(3 * time.Hour)}, []string{"account.create", "signin"}},
		{"limit", AuditFilter{Limit: 2}, []string{"accountx", "account.disable"}},
		{"before", AuditFilter{Before: 3, Limit: 1}, []string{"signin"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.AuditEvents(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var acts []string
			for _, e := range got {
				acts = append(acts, e.Action)
			}
			if strings.Join(acts, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %v, want %v", acts, tt.want)
			}
		})
	}
	got, _ := s.AuditEvents(ctx, AuditFilter{Outcome: "failed"})
	if len(got) != 1 || got[0].Target != "alice" || got[0].Client != "127.0.0.9" || !got[0].At.Equal(base.Add(time.Hour)) || got[0].Detail != "wrong password" {
		t.Errorf("read back %+v", got)
	}
	actors, err := s.AuditActors(ctx)
	if err != nil || strings.Join(actors, ",") != "Alice,alice,bob,cli:root" {
		t.Errorf("actors = %v, %v", actors, err)
	}
}

// The trail is append-only in the database itself: UPDATE and DELETE fail
// and change nothing.
func TestAuditAppendOnly(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	if err := s.AppendAudit(ctx, AuditEvent{Actor: "alice", Action: "configure", Outcome: "started"}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`UPDATE audit_events SET actor = 'mallory'`, `DELETE FROM audit_events`} {
		if _, err := s.exec(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want the append-only refusal", q, err)
		}
	}
	got, _ := s.AuditEvents(ctx, AuditFilter{})
	if len(got) != 1 || got[0].Actor != "alice" {
		t.Errorf("after the refused changes: %+v", got)
	}
}

// A stranger's 1 MB user name is kept to a bounded, valid prefix.
func TestAuditClips(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	long := strings.Repeat("é", 1<<19) + "\xff"
	if err := s.AppendAudit(ctx, AuditEvent{Actor: long, Target: long, Detail: long, Action: "signin", Outcome: "failed"}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.AuditEvents(ctx, AuditFilter{})
	e := got[0]
	for name, v := range map[string]string{"actor": e.Actor, "target": e.Target, "detail": e.Detail} {
		if !utf8.ValidString(v) || !strings.HasSuffix(v, "…") {
			t.Errorf("%s not clipped to valid text: %d bytes", name, len(v))
		}
	}
	if len(e.Actor) > maxAuditShort || len(e.Target) > maxAuditTarget || len(e.Detail) > maxAuditDetail {
		t.Errorf("sizes %d %d %d", len(e.Actor), len(e.Target), len(e.Detail))
	}
}
