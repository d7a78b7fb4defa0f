// Package schedule decides when the sync cycle runs: every 30 minutes by
// default (configurable, never below a floor), unless an administrator
// suspended it or the wizard is open, with a warning when no cycle has
// completed for seven days. The decision is a pure function of the settings
// and the cycle's state; Scheduler runs it on a ticker.
package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/hybridsync/hybridsync/engine/store"
)

// Defaults and bounds.
const (
	DefaultInterval = 30 * time.Minute
	// MinInterval is the floor: a shorter interval is refused. (Entra Connect's
	// is 30 minutes; hybridsync's cycles are cheaper, so it allows 5.)
	MinInterval = 5 * time.Minute
	// MaxInterval keeps a typo from stopping sync for weeks.
	MaxInterval = 7 * 24 * time.Hour
	// StaleAfter is how long without a completed cycle before the warning.
	StaleAfter = 7 * 24 * time.Hour
)

// SettingName is where the settings live in the store's settings.
const SettingName = "sync_schedule"

// Settings are what an administrator chooses.
type Settings struct {
	Interval    time.Duration `json:"interval"`
	Suspended   bool          `json:"suspended"`
	SuspendedBy string        `json:"suspendedBy,omitempty"`
	SuspendedAt time.Time     `json:"suspendedAt,omitzero"`
}

// Defaults are the settings nobody has changed.
func Defaults() Settings { return Settings{Interval: DefaultInterval} }

// Check says what is wrong with the settings, worded for the admin.
func (s Settings) Check() error {
	switch {
	case s.Interval < MinInterval:
		return fmt.Errorf("The interval can't be shorter than %s.", MinInterval)
	case s.Interval > MaxInterval:
		return fmt.Errorf("The interval can't be longer than %s (7 days).", MaxInterval)
	}
	return nil
}

// ParseMinutes reads an interval typed as a whole number of minutes. A
// number far out of range is refused as out of range, never multiplied into
// an overflowing duration that could wrap back into range.
func ParseMinutes(text string) (time.Duration, error) {
	text = strings.TrimSpace(text)
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		var ne *strconv.NumError
		// ParseInt reports the range as soon as the digits overflow, before
		// it reads on: "99999999999999999999x" is no number, not a long one.
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) && wholeNumber(text) {
			if n < 0 { // ParseInt gives the bound it hit: a hugely negative number
				return 0, fmt.Errorf("The interval can't be shorter than %s.", MinInterval)
			}
			return 0, fmt.Errorf("The interval can't be longer than %s (7 days).", MaxInterval)
		}
		return 0, errors.New("Enter the interval as a whole number of minutes.")
	}
	switch {
	case n < int64(MinInterval/time.Minute):
		return 0, fmt.Errorf("The interval can't be shorter than %s.", MinInterval)
	case n > int64(MaxInterval/time.Minute):
		return 0, fmt.Errorf("The interval can't be longer than %s (7 days).", MaxInterval)
	}
	return time.Duration(n) * time.Minute, nil
}

// wholeNumber reports whether s is decimal digits with an optional sign.
func wholeNumber(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// State is what the decision needs to know about the cycles.
type State struct {
	Now time.Time
	// LastStart is when the last cycle started; LastCompleted when the last
	// one completed (succeeded, or stopped by the deletion guard). Zero: never.
	LastStart, LastCompleted time.Time
	// Running: a cycle is queued or running.
	Running bool
	// WizardOpen: an administrator is changing the configuration.
	WizardOpen bool
	// Configuring: a Configure job is queued or running (it changes the
	// configuration a cycle would read, and the forests' accounts).
	Configuring bool
	// Configured: a configuration has been applied (nothing to sync before).
	Configured bool
	// NotStarted: the configuration was applied without "Start
	// synchronization when configuration completes".
	NotStarted bool
}

// Decision says whether to start a cycle now, and why (not).
type Decision struct {
	Run  bool
	Why  string
	Next time.Time // when the next cycle is due (zero when none is)
}

// msgNotStarted is why no cycle runs after a configuration applied without
// "Start synchronization when configuration completes".
const msgNotStarted = "Synchronization was not set to start when the configuration completed. Run a cycle now, or configure again with it selected."

// Decide applies the schedule.
func Decide(s Settings, st State) Decision {
	if s.Interval < MinInterval {
		s.Interval = DefaultInterval
	}
	next := st.LastStart.Add(s.Interval)
	if st.LastStart.IsZero() {
		next = st.Now
	}
	switch {
	case !st.Configured:
		return Decision{Why: "No configuration has been applied yet."}
	case st.NotStarted:
		return Decision{Why: msgNotStarted}
	case s.Suspended:
		return Decision{Why: "The scheduler is suspended" + SuspendedBy(s) + "."}
	case st.WizardOpen:
		return Decision{Why: "The scheduler waits while the wizard is open.", Next: next}
	case st.Configuring:
		return Decision{Why: "The scheduler waits while Configure runs.", Next: next}
	case st.Running:
		return Decision{Why: "A cycle is running.", Next: next}
	case st.Now.Before(next):
		return Decision{Why: "Waiting for the next cycle.", Next: next}
	}
	return Decision{Run: true, Why: "A cycle is due.", Next: st.Now.Add(s.Interval)}
}

// SuspendedBy says who suspended the scheduler (" by admin"), or "".
func SuspendedBy(s Settings) string {
	if s.SuspendedBy == "" {
		return ""
	}
	return " by " + s.SuspendedBy
}

// Warning is the warning the console shows when no cycle completed for
// StaleAfter, or "".
func Warning(st State) string {
	if !st.Configured {
		return ""
	}
	if st.LastCompleted.IsZero() {
		if !st.LastStart.IsZero() && st.Now.Sub(st.LastStart) > StaleAfter {
			return "No synchronization cycle has completed since this server was configured, more than 7 days ago."
		}
		return ""
	}
	if age := st.Now.Sub(st.LastCompleted); age > StaleAfter {
		return fmt.Sprintf("No synchronization cycle has completed for %d days. Objects changed since then are not in Microsoft Entra ID.", int(age.Hours()/24))
	}
	return ""
}

// Load reads the settings from the store (the defaults when none are saved).
func Load(ctx context.Context, st *store.Store) (Settings, error) {
	v, err := st.Setting(ctx, SettingName)
	if errors.Is(err, store.ErrNotFound) {
		return Defaults(), nil
	}
	if err != nil {
		return Settings{}, err
	}
	s := Defaults()
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		return Settings{}, fmt.Errorf("schedule: saved settings are corrupt: %w", err)
	}
	return s, nil
}

// Save checks and writes the settings.
func Save(ctx context.Context, st *store.Store, s Settings) error {
	if err := s.Check(); err != nil {
		return err
	}
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("schedule: unable to encode settings: %w", err)
	}
	return st.SetSetting(ctx, SettingName, string(b))
}

// Scheduler ticks: it reads the settings and the cycles' state and starts a
// cycle when one is due.
type Scheduler struct {
	Store *store.Store
	Log   *slog.Logger
	// State reads the cycles' state (now included).
	State func(ctx context.Context) (State, error)
	// Start starts one cycle.
	Start func(ctx context.Context) error
	// Tick is how often the schedule is checked (default one minute).
	Tick time.Duration
}

// Run checks the schedule until ctx ends.
func (s *Scheduler) Run(ctx context.Context) {
	tick := s.Tick
	if tick <= 0 {
		tick = time.Minute
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		if err := s.Once(ctx); err != nil && ctx.Err() == nil {
			s.Log.Warn("scheduler: unable to start a cycle", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Once checks the schedule once and starts a cycle when one is due.
func (s *Scheduler) Once(ctx context.Context) error {
	set, err := Load(ctx, s.Store)
	if err != nil {
		return err
	}
	st, err := s.State(ctx)
	if err != nil {
		return err
	}
	if d := Decide(set, st); !d.Run {
		return nil
	}
	return s.Start(ctx)
}
