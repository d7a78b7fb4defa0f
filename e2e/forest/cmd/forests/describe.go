package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/hybridsync/hybridsync/e2e/forest"
	"github.com/hybridsync/hybridsync/e2e/tenant"
)

// block is `forests describe`: the one block make run prints once everything
// is up — where the console is and how to get in, the accounts to sign in to
// the tenant emulator with (read from its seed), what to type on Connect your
// directories for each forest, and what Ctrl-C stops.
type block struct {
	console, setupToken, dataDir string
	consolePID                   int
	tenantURL                    string // "" when a real tenant stands in for the emulator
	tenantCA                     string // the emulator's test CA file; "" when it serves plain http
	tenantPID                    int
	dnsServer                    string
	dnsUpstream                  string // what the -dns server forwards the names it doesn't know to
	forests                      bool
	started                      string // up -started's file
	logs                         string
}

func (b *block) register(fl *flag.FlagSet) {
	fl.StringVar(&b.console, "console", "http://127.0.0.1:8080", "the console's `URL`")
	fl.StringVar(&b.setupToken, "setup-token", "", "the first-run setup `token` the console logged; empty: an administrator exists")
	fl.StringVar(&b.dataDir, "data-dir", "", "the console's data `dir`")
	fl.IntVar(&b.consolePID, "console-pid", 0, "the console's `pid`")
	fl.StringVar(&b.tenantURL, "tenant", "", "the tenant emulator's `URL`; empty: the console signs in to a real tenant (HYBRIDSYNC_ENTRA_AUTHORITY)")
	fl.StringVar(&b.tenantCA, "tenant-ca", "", "the test CA `file` the tenant emulator's HTTPS certificate is from (its -tls-dir's ca.pem); empty: plain http")
	fl.IntVar(&b.tenantPID, "tenant-pid", 0, "the tenant emulator's `pid`")
	fl.StringVar(&b.dnsServer, "dns", "", "the DNS server (`host:port`) the console finds domain controllers with")
	fl.StringVar(&b.dnsUpstream, "dns-upstream", "", "the DNS server (`host:port`) the -dns server forwards the names it doesn't know to (make run's intranet test DNS)")
	fl.BoolVar(&b.forests, "forests", true, "describe the forests (false: make run FORESTS=0)")
	fl.StringVar(&b.started, "started", "", "up -started's `file`: the forests make run started (the others it leaves running)")
	fl.StringVar(&b.logs, "logs", "", "where the logs are (`text`)")
}

const rule = "================================================================================"

func (b *block) print(w io.Writer, where *where) error {
	var p strings.Builder
	line := func(format string, a ...any) {
		p.WriteString(strings.TrimRight(fmt.Sprintf(format, a...), " ") + "\n")
	}
	line(rule)
	line("hybridsync is ready: %s", b.console)
	line("")
	if b.setupToken != "" {
		line("1. Create the first administrator: open %s/first-run", b.console)
		line("     setup token   %s", b.setupToken)
		line("     (one-time; each start prints a new one until the first administrator exists)")
	} else {
		line("1. Sign in at %s: an administrator account exists in %s already.", b.console, b.dataDir)
		line("     (To start from scratch, stop make run and delete %s.)", b.dataDir)
	}
	line("")
	if b.tenantURL != "" {
		seed, err := tenantSeed()
		if err != nil {
			return err
		}
		line("2. Connect to Microsoft Entra ID: sign in to the tenant emulator on %s", b.tenantURL)
		line("   (tenant %s, %s) with one of", seed.DisplayName, seed.InitialDomain)
		for _, a := range seed.Admins {
			if a.Locked || a.Disabled {
				continue
			}
			role, note := "Hybrid Identity Administrator", ""
			if slices.Contains(a.Roles, tenant.RoleGlobalAdministrator) {
				role, note = "Global Administrator", " (lets Configure switch the tenant's sync features on)"
			}
			if a.MFA {
				code := a.MFACode
				if code == "" {
					code = tenant.DefaultMFACode
				}
				role += ", MFA"
				note = " code " + code
			}
			line("     %-36s %-38s %-16s%s", role, a.UserPrincipalName, a.Password, note)
		}
		var domains []string
		for _, d := range seed.Domains {
			state := "verified"
			switch {
			case !d.Verified && d.Verifiable:
				state = "not verified; Verify succeeds"
			case !d.Verified:
				state = "not verified"
			}
			domains = append(domains, d.Name+" ("+state+")")
		}
		line("   Its domains: %s,", strings.Join(domains[:len(domains)/2], ", "))
		line("   %s.", strings.Join(domains[len(domains)/2:], ", "))
		if b.tenantCA != "" {
			line("   Its certificate is from the test CA %s, which the console trusts (HYBRIDSYNC_ENTRA_CA).", b.tenantCA)
			line("   Your browser warns on its sign-in page (MFA, interactive) unless you import that CA:")
			line("     Chromium chrome://certificate-manager, Installed by you; Firefox about:preferences#privacy, View Certificates.")
		}
	} else {
		line("2. Connect to Microsoft Entra ID: your own tenant (HYBRIDSYNC_ENTRA_AUTHORITY); sign in with")
		line("   a Hybrid Identity Administrator or Global Administrator of it. No tenant emulator runs.")
	}
	line("")
	var stops, left []string
	if b.consolePID > 0 {
		stops = append(stops, fmt.Sprintf("the console (pid %d)", b.consolePID))
	}
	if b.tenantPID > 0 {
		stops = append(stops, fmt.Sprintf("the tenant emulator (pid %d)", b.tenantPID))
	}
	if b.forests {
		started, err := readStarted(b.started)
		if err != nil {
			return err
		}
		line("3. Connect your directories: Add a directory once per forest, Connection LDAPS, and paste the")
		line("   CA file's contents (cat FILE) into CA certificate. Either account works.")
		for _, spec := range forest.Standard() {
			f := where.running(spec)
			if f == nil {
				line("   %s: NOT RUNNING (see the forests' log above)", spec.Name)
				continue
			}
			pid, _ := f.PID()
			if slices.ContainsFunc(started, func(s startedForest) bool { return s.name == f.Name && s.pid == pid }) {
				stops = append(stops, fmt.Sprintf("%s (samba pid %d)", f.Name, pid))
			} else {
				left = append(left, fmt.Sprintf("%s (samba pid %d, it was running before; %s stops it)", f.Name, pid, stopHint(where, f)))
			}
			l := forest.LayoutOf(f)
			dc := f.IP + ":636   (the console's DNS does not serve this forest)"
			switch {
			case b.dnsServer == f.IP+":53":
				dc = "leave empty: found through DNS (the console asks " + b.dnsServer + ")"
			case b.dnsUpstream == f.IP+":53":
				dc = "leave empty: found through DNS (the console asks " + b.dnsServer + ", which asks " + b.dnsUpstream + ")"
			}
			line("")
			line("   %s (%s): DC %s on %s", f.Name, f.NetBIOS, f.DCHostName, f.IP)
			line("     Forest                 %s", f.Name)
			line("     Domain controller      %s", dc)
			line("     CA certificate         %s", f.CACertPEM)
			line("     Create new account     %-37s %-18s (enterprise admin)", f.AdminUPN, f.AdminPassword)
			line("     Use existing account   %-37s %-18s (plain user)", l.SvcSyncUPN, forest.SvcSyncPassword)
			line("     UPN suffixes           %s (routable), %s (non-routable)", f.Spec.RoutableSuffix, f.Spec.NonRoutableSuffix)
		}
	} else {
		line("3. Connect your directories: no demo forests (FORESTS=0); `make run` alone starts them.")
	}
	line("")
	if len(stops) > 0 {
		line("Ctrl-C stops %s.", and(stops))
	}
	for _, l := range left {
		line("Left running: %s.", l)
	}
	if b.logs != "" {
		line("Logs: %s", b.logs)
	}
	line(rule)
	_, err := io.WriteString(w, p.String())
	return err
}

// tenantSeed is the seed the emulator starts from: HYBRIDSYNC_TENANT_SEED's
// file (the emulator reads that variable too), or the built-in one.
func tenantSeed() (tenant.Seed, error) {
	if path := os.Getenv("HYBRIDSYNC_TENANT_SEED"); path != "" {
		return tenant.LoadSeed(path)
	}
	return tenant.DefaultSeed(), nil
}

// and joins "a", "b" and "c" as "a, b and c".
func and(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
