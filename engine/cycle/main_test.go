package cycle_test

import (
	"context"
	"flag"
	"os"
	"testing"

	"github.com/hybridsync/hybridsync/e2e/forest"
)

// The live tests run whole cycles against the two seeded forests of
// e2e/forest, brought up here on loopback addresses of their own (127.0.0.52
// and 127.0.0.53) so that this package runs beside other packages' forests,
// and against a tenant emulator per test. Every run restores a fresh copy of
// the cached forests; each test creates the objects it needs in OUs of its
// own and scopes its cycles to them, so the tests may run in parallel.
var live forest.Pair

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(forest.RunWithPair(m, &live, "engine-cycle", "127.0.0.52", "127.0.0.53", func(ctx context.Context, fs []*forest.Forest, _ string) error {
		// Two matching rules join on Exchange's mailNickname and
		// msExchMasterAccountSid, so both forests get Exchange's schema.
		for _, f := range fs {
			if err := forest.PrepareExchangeSchema(ctx, f); err != nil {
				return err
			}
		}
		return nil
	}))
}

// forests returns corp and fabrikam, or skips (fails with
// HYBRIDSYNC_FORESTS_REQUIRED=1) when they could not be started.
func forests(t testing.TB) (*forest.Forest, *forest.Forest) { return live.Need(t) }
