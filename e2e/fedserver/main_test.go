package fedserver

import (
	"flag"
	"os"
	"testing"

	"github.com/hybridsync/hybridsync/e2e/forest"
)

// The forest tests run against the seeded corp forest of e2e/forest, on
// loopback addresses of this package's own (127.0.0.62 and .63), so that
// it runs beside other packages' forests. Run them under
// `flock /tmp/hybridsync-forests.lock`; with -short they are skipped.
var live forest.Pair

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(forest.RunWithPair(m, &live, "e2e-fedserver", "127.0.0.62", "127.0.0.63", nil))
}
