package schedule

import (
	"math/big"
	"strings"
	"testing"
	"time"
)

// FuzzParseMinutes: the interval an admin types on the Sync page. Whatever
// the text, an accepted interval is within [MinInterval, MaxInterval], whole
// minutes, and exactly the number typed (no overflow wrapped into range); a
// number is refused only when out of range, with the side it is out on.
func FuzzParseMinutes(f *testing.F) {
	for _, s := range []string{"30", " 5 ", "10080", "4", "-30", "10081", "153722867280912930", "9007199254741022",
		"99999999999999999999999", "-99999999999999999999999", "+30", "0x1e", "1_0", "30.0", "３０", "\u00a030\u2003", "half an hour", ""} {
		f.Add(s)
	}
	min, max := big.NewInt(int64(MinInterval/time.Minute)), big.NewInt(int64(MaxInterval/time.Minute))
	f.Fuzz(func(t *testing.T, text string) {
		d, err := ParseMinutes(text)
		n, isNumber := new(big.Int).SetString(strings.TrimSpace(text), 10)
		if err != nil {
			msg := err.Error()
			switch {
			case d != 0:
				t.Fatalf("ParseMinutes(%q) = %v with the error %q", text, d, msg)
			case !isNumber:
				if !strings.Contains(msg, "whole number") {
					t.Fatalf("ParseMinutes(%q): %q, not asking for a whole number", text, msg)
				}
			case n.Cmp(min) < 0:
				if !strings.Contains(msg, "shorter") {
					t.Fatalf("ParseMinutes(%q): %q, for a number below %v minutes", text, msg, min)
				}
			case n.Cmp(max) > 0:
				if !strings.Contains(msg, "longer") {
					t.Fatalf("ParseMinutes(%q): %q, for a number above %v minutes", text, msg, max)
				}
			default:
				t.Fatalf("ParseMinutes(%q) refuses %v minutes, which is in range: %q", text, n, msg)
			}
			return
		}
		if d < MinInterval || d > MaxInterval || d%time.Minute != 0 {
			t.Fatalf("ParseMinutes(%q) = %v", text, d)
		}
		if !isNumber || n.Cmp(big.NewInt(int64(d/time.Minute))) != 0 {
			t.Fatalf("ParseMinutes(%q) = %v, not the number typed", text, d)
		}
		if err := (Settings{Interval: d}).Check(); err != nil {
			t.Fatalf("ParseMinutes(%q) = %v, which the settings refuse: %v", text, d, err)
		}
	})
}
