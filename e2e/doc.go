// Package e2e holds hybridsync's browser tests. They build the real binary,
// start it as a process on a loopback port with its own data directory, and
// drive it with playwright-go and Debian's chromium (see scripts/e2e-deps.sh).
//
// Run them with `make e2e`, or:
//
//	bash scripts/e2e-deps.sh
//	PLAYWRIGHT_DRIVER_PATH=$PWD/.cache/playwright-core-1.64.1 \
//	PLAYWRIGHT_NODEJS_PATH=$(command -v node) \
//	HYBRIDSYNC_E2E_REQUIRED=1 HYBRIDSYNC_FORESTS_REQUIRED=1 go test -count=1 -v ./e2e/
//
// Without the driver or the browser the tests skip, unless
// HYBRIDSYNC_E2E_REQUIRED=1 (as under `make test`), where they fail.
// Each test writes full-page screenshots to e2e/screenshots/.
//
// The wizard needs an Active Directory forest: TestMain brings up the two
// seeded Samba forests of e2e/forest on this package's own loopback
// addresses, corp.example.test on 127.0.0.32 and fabrikam.example.test on
// 127.0.0.33 (cached in .cache/forests/e2e; the first run provisions them,
// about a minute), and stops them at the end. Every hybridsync the tests
// start finds domain controllers through corp's DNS (--dns-server
// 127.0.0.32:53); fabrikam is reached through its explicit DC. Without samba
// (or with -short) the tests that need a forest skip, unless
// HYBRIDSYNC_FORESTS_REQUIRED=1, where they fail.
package e2e
