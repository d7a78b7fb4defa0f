package schedule

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/engine/store"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	base := State{Now: now, Configured: true, LastStart: now.Add(-31 * time.Minute), LastCompleted: now.Add(-29 * time.Minute)}
	tests := []struct {
		name string
		set  Settings
		st   func(State) State
		run  bool
		why  string
		next time.Time // the next cycle, when one is due later
	}{
		{"due after the interval", Defaults(), nil, true, "due", time.Time{}},
		{"not yet due", Defaults(), func(s State) State { s.LastStart = now.Add(-10 * time.Minute); return s }, false, "Waiting for the next cycle", now.Add(20 * time.Minute)},
		{"never ran", Defaults(), func(s State) State { s.LastStart = time.Time{}; return s }, true, "due", time.Time{}},
		{"not configured", Defaults(), func(s State) State { s.Configured = false; return s }, false, "No configuration", time.Time{}},
		{"not set to start", Defaults(), func(s State) State { s.NotStarted = true; return s }, false, "not set to start", time.Time{}},
		{"suspended", Settings{Interval: DefaultInterval, Suspended: true, SuspendedBy: "alice", SuspendedAt: now}, nil, false, "suspended by alice", time.Time{}},
		{"wizard open", Defaults(), func(s State) State { s.WizardOpen = true; return s }, false, "wizard is open", time.Time{}},
		{"Configure running", Defaults(), func(s State) State { s.Configuring = true; return s }, false, "while Configure runs", time.Time{}},
		{"running", Defaults(), func(s State) State { s.Running = true; return s }, false, "A cycle is running", time.Time{}},
		{"a longer interval", Settings{Interval: time.Hour}, nil, false, "Waiting", now.Add(29 * time.Minute)},
		{"an interval below the floor counts as the default", Settings{Interval: time.Minute}, nil, true, "due", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := base
			if tt.st != nil {
				st = tt.st(st)
			}
			d := Decide(tt.set, st)
			if d.Run != tt.run || !strings.Contains(d.Why, tt.why) || (!tt.next.IsZero() && !d.Next.Equal(tt.next)) {
				t.Errorf("Decide = %+v, want run %v and %q", d, tt.run, tt.why)
			}
		})
	}
}

func TestWarning(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		st   State
		want string
	}{
		{"recent", State{Now: now, Configured: true, LastStart: now.Add(-time.Hour), LastCompleted: now.Add(-time.Hour)}, ""},
		{"eight days", State{Now: now, Configured: true, LastStart: now.Add(-time.Hour), LastCompleted: now.Add(-8 * 24 * time.Hour)}, "for 8 days"},
		{"never completed, started long ago", State{Now: now, Configured: true, LastStart: now.Add(-8 * 24 * time.Hour)}, "since this server was configured"},
		{"never started", State{Now: now, Configured: true}, ""},
		{"not configured", State{Now: now, LastCompleted: now.Add(-30 * 24 * time.Hour)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Warning(tt.st)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("Warning = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSettingsInTheStore(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	if s, err := Load(ctx, st); err != nil || s != Defaults() {
		t.Fatalf("fresh: %+v %v", s, err)
	}
	for _, bad := range []time.Duration{time.Minute, 8 * 24 * time.Hour} {
		if err := Save(ctx, st, Settings{Interval: bad}); err == nil {
			t.Errorf("interval %s accepted", bad)
		}
	}
	want := Settings{Interval: time.Hour, Suspended: true, SuspendedBy: "alice", SuspendedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	if err := Save(ctx, st, want); err != nil {
		t.Fatal(err)
	}
	if got, err := Load(ctx, st); err != nil || got != want {
		t.Errorf("Load = %+v %v, want %+v", got, err, want)
	}
}

func TestSchedulerStartsWhenDue(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	now := time.Now()
	state := State{Now: now, Configured: true, LastStart: now.Add(-time.Hour)}
	starts := 0
	s := &Scheduler{Store: st, State: func(context.Context) (State, error) { return state, nil }, Start: func(context.Context) error { starts++; state.LastStart = state.Now; return nil }}
	for range 3 {
		if err := s.Once(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if starts != 1 {
		t.Errorf("%d cycles started, want 1 (the second and third check come before the next is due)", starts)
	}
}

func newStore(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Dialect: store.SQLite, DSN: store.SQLitePath(t.TempDir())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestParseMinutes: what an admin types as the interval; huge numbers are
// out of range, never wrapped into range by an overflowing multiplication.
func TestParseMinutes(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"30", 30 * time.Minute, ""},
		{" 5 ", 5 * time.Minute, ""},
		{"10080", 7 * 24 * time.Hour, ""},
		{"4", 0, "shorter"},
		{"-30", 0, "shorter"},
		{"10081", 0, "longer"},
		{"153722867280912930", 0, "longer"}, // ×1 minute overflows int64 nanoseconds
		{"9007199254741022", 0, "longer"},   // 30 + 2^53: ×1 minute wraps to exactly 30 minutes
		{"99999999999999999999999", 0, "longer"},
		{"-99999999999999999999999", 0, "shorter"}, // out of int64 range, but below the floor
		{"half an hour", 0, "whole number"},
		{"18700000000000000000A", 0, "whole number"}, // overflows before the letter
		{"+-99999999999999999999", 0, "whole number"},
		{"", 0, "whole number"},
	} {
		got, err := ParseMinutes(tt.in)
		if tt.err == "" {
			if err != nil || got != tt.want {
				t.Errorf("%q: %v, %v; want %v", tt.in, got, err, tt.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%q: %v, %v; want an error saying %q", tt.in, got, err, tt.err)
		}
	}
}
