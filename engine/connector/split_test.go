package connector

import (
	"slices"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// usnParts must give every object exactly one part: the bounds increase, the
// first range starts at 0 and the last part takes everything above usn.
func TestUSNParts(t *testing.T) {
	tests := []struct {
		name      string
		usn       int64
		parts     int
		wantParts int
	}{
		{"a fresh forest", 9741, 8, 8},
		{"two parts", 100, 2, 2},
		{"uneven", 1_000_003, 7, 7},
		{"too small to split", 5, 8, 1},
		{"one part asked", 10000, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			filters := usnParts(ObjectFilter, tt.usn, tt.parts)
			if len(filters) != tt.wantParts {
				t.Fatalf("%d filters, want %d: %q", len(filters), tt.wantParts, filters)
			}
			for _, f := range filters {
				if _, err := ldap.CompileFilter(f); err != nil {
					t.Errorf("%s: %v", f, err)
				}
			}
			bounds := usnBounds(tt.usn, tt.parts)
			if len(filters) == 1 {
				if filters[0] != ObjectFilter || bounds != nil {
					t.Fatalf("unsplit: %q, bounds %v", filters, bounds)
				}
				return
			}
			if !slices.IsSorted(bounds) || bounds[len(bounds)-1] != tt.usn || bounds[0] < 0 {
				t.Fatalf("bounds %v", bounds)
			}
			// Each USN falls in exactly one part, evaluated as the filters
			// say: <= b0; > b(i-1) and <= bi; > the last bound.
			for _, v := range []int64{0, 1, bounds[0], bounds[0] + 1, tt.usn / 2, tt.usn - 1, tt.usn, tt.usn + 1, tt.usn * 3} {
				n := 0
				for i := range filters {
					in := false
					switch {
					case i == 0:
						in = v <= bounds[0]
					case i == len(filters)-1:
						in = v > bounds[len(bounds)-1]
					default:
						in = v > bounds[i-1] && v <= bounds[i]
					}
					if in {
						n++
					}
				}
				if n != 1 {
					t.Errorf("uSNCreated %d falls in %d parts (bounds %v)", v, n, bounds)
				}
			}
		})
	}
}
