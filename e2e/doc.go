// Package e2e holds hybridsync's browser tests. They build the real binary,
// start it as a process on a loopback port with its own data directory, and
// drive it with playwright-go and Debian's chromium (see scripts/e2e-deps.sh).
//
// Run them with `make e2e`, or:
//
//	bash scripts/e2e-deps.sh
//	PLAYWRIGHT_DRIVER_PATH=$PWD/.cache/playwright-core-1.64.1 \
//	PLAYWRIGHT_NODEJS_PATH=$(command -v node) \
//	HYBRIDSYNC_E2E_REQUIRED=1 go test -count=1 -v ./e2e/...
//
// Without the driver or the browser the tests skip, unless
// HYBRIDSYNC_E2E_REQUIRED=1 (as under `make test`), where they fail.
// Each test writes full-page screenshots to e2e/screenshots/.
package e2e
