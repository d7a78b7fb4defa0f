package ui

import (
	"context"
	"time"
)

// TimeFormat is the one format of every time the console shows, in the
// browser's time zone.
const TimeFormat = "2006-01-02 15:04:05"

type zoneKey struct{}

// WithZone returns a context whose times are shown in loc: the browser's
// time zone, which the console learns from a cookie its script sets.
func WithZone(ctx context.Context, loc *time.Location) context.Context {
	return context.WithValue(ctx, zoneKey{}, loc)
}

// Zone is the time zone of the context's times, and whether the browser's
// is known (else UTC, which the page's script then converts).
func Zone(ctx context.Context) (*time.Location, bool) {
	if loc, ok := ctx.Value(zoneKey{}).(*time.Location); ok && loc != nil {
		return loc, true
	}
	return time.UTC, false
}

// FormatTime is a time in the console's one format and the context's time
// zone; "—" for the zero time.
func FormatTime(ctx context.Context, t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	loc, _ := Zone(ctx)
	return t.In(loc).Format(TimeFormat)
}
