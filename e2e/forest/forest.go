// Package forest provisions, starts, seeds and stops Samba 4 AD DC forests for
// hybridsync's tests and for developers (following the shared recipe
// recipes/samba-ad.md, tested on this Debian 12 machine).
//
// Each forest is one domain controller in its own directory, listening only on
// its own loopback address, with its internal DNS serving the forest's zone and
// no DNS forwarder, NetBIOS, WINS replication or dynamic DNS updates, so nothing
// leaves the machine. A test CA and a server certificate (SAN: the DC's DNS name,
// the domain name and the IP) are written before the first start, so LDAPS and
// StartTLS verify against Forest.CACertPEM.
//
// The two standard forests are Corp (corp.example.test, CORP, 127.0.0.2) and
// Fabrikam (fabrikam.example.test, FABRIKAM, 127.0.0.3). Both have the
// Windows Server 2012 R2 schema (objectVersion 69, with msDS-Device, which
// device writeback needs); only fabrikam's is prepared for Exchange, which the
// Exchange features and group writeback need. What device and group writeback
// create in a forest (CN=RegisteredDevices, the Device Registration Service
// objects, the connector account's rights) is left to hybridsync's Configure,
// as a real forest would get it. Up restores a forest
// from a tarball cache (<module>/.cache/forests/<name>-<SeedVersion>.tar) when
// one exists, and otherwise provisions, seeds (see Seed and Layout), saves the
// tarball and starts it; Options.Rebuild forces the slow path.
//
// A typical test:
//
//	if _, err := forest.Install(ctx); err != nil { t.Skip(err) }
//	release, err := forest.Lock(ctx) // the loopback addresses are machine-wide
//	defer release()
//	forests, err := forest.UpAll(ctx, forest.Standard(), t.TempDir(), forest.Options{Logf: t.Logf})
//	defer forest.StopAll(forests)
//	conn, err := forests[0].Dial(ctx) // LDAPS, bound as Administrator
//	l := forest.LayoutOf(forests[0])  // the seeded names and DNs
//
// Forests use fixed addresses, so two test binaries (go test ./... runs
// packages in parallel) cannot run them at once: hold Lock while they are up.
package forest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// SeedVersion names the provisioning options and the seed data. Cached tarballs
// carry it in their file name; bump it whenever Provision or Seed changes what
// ends up in a forest, so stale caches are not restored.
const SeedVersion = "s2"

// AdminPassword is the Administrator password of every forest this package
// provisions (a test secret, never used outside loopback).
const AdminPassword = "Hybr1dSync-Admin!"

// Spec describes a forest to provision: one domain, one DC.
type Spec struct {
	Name              string // DNS name of the forest root domain, e.g. corp.example.test
	NetBIOS           string // NetBIOS domain name, e.g. CORP
	IP                string // loopback address the DC listens on, e.g. 127.0.0.2
	HostName          string // the DC's host name, e.g. dc-corp
	RoutableSuffix    string // extra UPN suffix that is routable, e.g. corp.example.com
	NonRoutableSuffix string // extra UPN suffix that is not, e.g. contoso.local
	// Exchange: the seed prepares the schema for Exchange
	// (PrepareExchangeSchema), as in a forest where Exchange was installed.
	Exchange bool
}

// The two standard forests.
var (
	Corp = Spec{
		Name: "corp.example.test", NetBIOS: "CORP", IP: "127.0.0.2", HostName: "dc-corp",
		RoutableSuffix: "corp.example.com", NonRoutableSuffix: "contoso.local",
	}
	Fabrikam = Spec{
		Name: "fabrikam.example.test", NetBIOS: "FABRIKAM", IP: "127.0.0.3", HostName: "dc-fabrikam",
		RoutableSuffix: "fabrikam.example.com", NonRoutableSuffix: "fabrikam.local",
		Exchange: true,
	}
)

// Standard returns the two standard forests, Corp then Fabrikam.
func Standard() []Spec { return []Spec{Corp, Fabrikam} }

// BaseDN is the domain's naming context, e.g. DC=corp,DC=example,DC=test.
func (s Spec) BaseDN() string {
	parts := strings.Split(s.Name, ".")
	for i, p := range parts {
		parts[i] = "DC=" + p
	}
	return strings.Join(parts, ",")
}

// DirName is the short directory name used for the forest under a base dir.
func (s Spec) DirName() string { return strings.ToLower(s.NetBIOS) }

// CacheFile is the tarball name of the forest in the cache dir.
func (s Spec) CacheFile() string { return s.Name + "-" + SeedVersion + ".tar" }

// Forest is a provisioned forest in Dir; it may or may not be running.
type Forest struct {
	Name          string // DNS name, e.g. corp.example.test
	NetBIOS       string // e.g. CORP
	IP            string // e.g. 127.0.0.2
	BaseDN        string // e.g. DC=corp,DC=example,DC=test
	AdminUPN      string // e.g. Administrator@corp.example.test
	AdminPassword string
	CACertPEM     string // path of the test CA certificate (PEM)
	Dir           string // where the DC's files live
	DCHostName    string // the DC's DNS name, e.g. dc-corp.corp.example.test

	Spec    Spec
	Timings Timings // what Up spent on this forest
}

// Timings are the durations of the steps Up ran (zero when skipped).
type Timings struct {
	Provision time.Duration // samba-tool domain provision + smb.conf + TLS
	Seed      time.Duration
	Save      time.Duration // stop + write the tarball
	Restore   time.Duration // unpack the tarball
	Start     time.Duration // samba start until an authenticated LDAPS bind works
}

func (t Timings) String() string {
	var parts []string
	add := func(name string, d time.Duration) {
		if d > 0 {
			parts = append(parts, name+"="+d.Round(10*time.Millisecond).String())
		}
	}
	add("provision", t.Provision)
	add("seed", t.Seed)
	add("save", t.Save)
	add("restore", t.Restore)
	add("start", t.Start)
	return strings.Join(parts, " ")
}

// New describes the forest of spec in dir without touching the disk.
func New(spec Spec, dir string) *Forest {
	return &Forest{
		Name:          spec.Name,
		NetBIOS:       spec.NetBIOS,
		IP:            spec.IP,
		BaseDN:        spec.BaseDN(),
		AdminUPN:      "Administrator@" + spec.Name,
		AdminPassword: AdminPassword,
		CACertPEM:     filepath.Join(dir, "private", "tls", "ca.pem"),
		Dir:           dir,
		DCHostName:    spec.HostName + "." + spec.Name,
		Spec:          spec,
	}
}

// LDAPSURL is ldaps://IP:636; LDAPURL is ldap://IP:389 (use StartTLS on it).
func (f *Forest) LDAPSURL() string { return "ldaps://" + net.JoinHostPort(f.IP, "636") }

// LDAPURL is ldap://IP:389.
func (f *Forest) LDAPURL() string { return "ldap://" + net.JoinHostPort(f.IP, "389") }

// ConfPath is the forest's smb.conf.
func (f *Forest) ConfPath() string { return filepath.Join(f.Dir, "etc", "smb.conf") }

// PIDFile is where samba writes its PID (pid directory = DIR/run).
func (f *Forest) PIDFile() string { return filepath.Join(f.Dir, "run", "samba.pid") }

// LogFile is samba's log.
func (f *Forest) LogFile() string { return filepath.Join(f.Dir, "log", "samba.log") }

func (f *Forest) metaPath() string { return filepath.Join(f.Dir, "hybridsync-forest.json") }

// TLSConfig verifies the DC against the test CA (ServerName: the IP, which is in
// the certificate's SAN; the DC's DNS name is too).
func (f *Forest) TLSConfig() (*tls.Config, error) {
	pem, err := os.ReadFile(f.CACertPEM)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("forest %s: no certificate in %s", f.Name, f.CACertPEM)
	}
	return &tls.Config{RootCAs: pool, ServerName: f.IP, MinVersion: tls.VersionTLS12}, nil
}

// Dial opens an LDAPS connection bound as Administrator.
func (f *Forest) Dial(ctx context.Context) (*ldap.Conn, error) {
	return f.DialAs(ctx, f.AdminUPN, f.AdminPassword)
}

// DialAs opens an LDAPS connection bound as user (a UPN or DN).
func (f *Forest) DialAs(ctx context.Context, user, password string) (*ldap.Conn, error) {
	cfg, err := f.TLSConfig()
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	if dl, ok := ctx.Deadline(); ok {
		d.Deadline = dl
	}
	conn, err := ldap.DialURL(f.LDAPSURL(), ldap.DialWithDialer(d), ldap.DialWithTLSConfig(cfg))
	if err != nil {
		return nil, err
	}
	conn.SetTimeout(60 * time.Second)
	if err := conn.Bind(user, password); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// Install installs Samba from Debian when samba-tool is missing. It reports
// whether it ran apt-get.
func Install(ctx context.Context) (bool, error) {
	if haveTools() == nil {
		return false, nil
	}
	if os.Geteuid() != 0 {
		return false, fmt.Errorf("samba is not installed and installing it needs root: %w", haveTools())
	}
	run := func(args ...string) error {
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, tail(out, 2000))
		}
		return nil
	}
	if err := run("apt-get", "update"); err != nil {
		return true, err
	}
	if err := run("apt-get", "install", "-y", "--no-install-recommends",
		"samba", "samba-ad-dc", "samba-ad-provision", "ldb-tools", "openssl"); err != nil {
		return true, err
	}
	return true, haveTools()
}

func haveTools() error {
	for _, tool := range []string{"samba-tool", "samba"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found: %w", tool, err)
		}
	}
	return nil
}

// Provision creates a fresh forest in dir (which must not hold one yet):
// samba-tool domain provision with per-DC paths, the smb.conf edits that keep
// the DC on loopback, and the test TLS certificates. It does not start it.
func Provision(ctx context.Context, spec Spec, dir string) (*Forest, error) {
	f := New(spec, dir)
	start := time.Now()
	if _, err := os.Stat(f.ConfPath()); err == nil {
		return nil, fmt.Errorf("forest %s: %s already exists", spec.Name, f.ConfPath())
	}
	for _, d := range []string{"run", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	if err := f.writeMeta(); err != nil { // marks dir as a forest's, even half-made
		return nil, err
	}
	args := []string{"domain", "provision",
		"--targetdir=" + dir,
		"--realm=" + strings.ToUpper(spec.Name),
		"--domain=" + spec.NetBIOS,
		"--host-name=" + spec.HostName,
		"--host-ip=" + spec.IP,
		"--server-role=dc",
		"--dns-backend=SAMBA_INTERNAL",
		"--adminpass=" + AdminPassword,
		// Samba's default, said outright: msDS-Device and the device
		// registration classes come with the 2012 R2 schema.
		"--base-schema=2012_R2",
		"--backend-store=mdb",
	}
	for _, o := range f.perDCOptions() {
		args = append(args, "--option="+o)
	}
	cmd := exec.CommandContext(ctx, "samba-tool", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("forest %s: samba-tool domain provision: %w\n%s", spec.Name, err, tail(out, 3000))
	}
	if err := f.editConf(); err != nil {
		return nil, err
	}
	if err := writeTLS(f); err != nil {
		return nil, fmt.Errorf("forest %s: tls: %w", spec.Name, err)
	}
	if err := f.writeMeta(); err != nil {
		return nil, err
	}
	f.Timings.Provision = time.Since(start)
	return f, nil
}

// perDCOptions are what a second DC on the machine would otherwise share.
func (f *Forest) perDCOptions() []string {
	run := filepath.Join(f.Dir, "run")
	return []string{
		"interfaces=" + f.IP + "/8", // the bare address binds nothing
		"bind interfaces only=yes",
		"pid directory=" + run,
		"ncalrpc dir=" + filepath.Join(run, "ncalrpc"),
		"winbindd socket directory=" + filepath.Join(run, "winbindd"),
		"ntp signd socket directory=" + filepath.Join(run, "ntp_signd"),
		"log file=" + f.LogFile(),
	}
}

// globalEdits are written into [global] after provisioning. Anything that would
// send traffic off the machine is off: the DNS forwarder (removed), dynamic DNS
// and SPN updates, NetBIOS, WINS replication.
var globalEdits = []string{
	"server services = -dnsupdate -nbt -wrepl",
	"disable netbios = yes",
	"dns update command = /bin/true",
	"spn update command = /bin/true",
	"ldb:nosync = true",
	"dsdb:schema update allowed = true",
	// Tests exercise the product's visibly insecure "plain LDAP" option, which
	// needs a simple bind on 389 to work; the DC only listens on loopback.
	"ldap server require strong auth = no",
	"tls enabled = yes",
	"tls keyfile = tls/key.pem",
	"tls certfile = tls/cert.pem",
	"tls cafile = tls/ca.pem",
}

func (f *Forest) editConf() error {
	b, err := os.ReadFile(f.ConfPath())
	if err != nil {
		return err
	}
	conf := string(b)
	text := f.perDCOptionsAndEdits()
	var out []string
	inGlobal := false
	for _, line := range strings.Split(conf, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "[") {
			inGlobal = strings.EqualFold(trimmed, "[global]")
			out = append(out, line)
			if inGlobal {
				for _, e := range text {
					out = append(out, "\t"+e)
				}
			}
			continue
		}
		if inGlobal {
			key := strings.ToLower(strings.TrimSpace(strings.SplitN(trimmed, "=", 2)[0]))
			if key == "dns forwarder" || f.setsKey(text, key) {
				continue // removed, or replaced by our value
			}
		}
		out = append(out, line)
	}
	conf = strings.Join(out, "\n")
	if strings.Contains(strings.ToLower(conf), "dns forwarder") {
		return fmt.Errorf("forest %s: smb.conf still names a dns forwarder", f.Name)
	}
	return os.WriteFile(f.ConfPath(), []byte(conf), 0o644)
}

func (f *Forest) perDCOptionsAndEdits() []string {
	var all []string
	for _, o := range f.perDCOptions() {
		k, v, _ := strings.Cut(o, "=")
		all = append(all, k+" = "+v)
	}
	return append(all, globalEdits...)
}

func (f *Forest) setsKey(lines []string, key string) bool {
	for _, l := range lines {
		k, _, _ := strings.Cut(l, "=")
		if strings.ToLower(strings.TrimSpace(k)) == key {
			return true
		}
	}
	return false
}

// meta is written next to the forest so a restore can rewrite its paths.
type meta struct {
	Spec        Spec   `json:"spec"`
	Dir         string `json:"dir"`
	SeedVersion string `json:"seedVersion"`
	Seeded      bool   `json:"seeded"`
}

func (f *Forest) writeMeta() error { return f.writeMetaSeeded(false) }

func (f *Forest) writeMetaSeeded(seeded bool) error {
	b, err := json.MarshalIndent(meta{Spec: f.Spec, Dir: f.Dir, SeedVersion: SeedVersion, Seeded: seeded}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(f.metaPath(), b, 0o644)
}

func readMeta(dir string) (meta, error) {
	var m meta
	b, err := os.ReadFile(filepath.Join(dir, "hybridsync-forest.json"))
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(b, &m)
}

// Start starts samba and waits until an authenticated LDAPS bind works.
func (f *Forest) Start(ctx context.Context) error {
	start := time.Now()
	if pid, ok := f.PID(); ok {
		return fmt.Errorf("forest %s: already running (pid %d)", f.Name, pid)
	}
	for _, port := range []string{"389", "636", "53"} {
		if c, err := net.DialTimeout("tcp", net.JoinHostPort(f.IP, port), 300*time.Millisecond); err == nil {
			c.Close()
			return fmt.Errorf("forest %s: something already listens on %s:%s (forests left running? try `make forests-down`)", f.Name, f.IP, port)
		}
	}
	for _, d := range []string{"run", "log"} {
		if err := os.MkdirAll(filepath.Join(f.Dir, d), 0o755); err != nil {
			return err
		}
	}
	_ = os.Remove(f.PIDFile())
	cmd := exec.CommandContext(ctx, "samba", "-s", f.ConfPath(), "-D", "-M", "single")
	cmd.Dir = f.Dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("forest %s: samba: %w\n%s", f.Name, err, tail(out, 2000))
	}
	if err := f.WaitReady(ctx, 90*time.Second); err != nil {
		_ = f.Stop()
		return err
	}
	f.Timings.Start = time.Since(start)
	return nil
}

// WaitReady waits until Administrator can bind over LDAPS (an anonymous rootDSE
// read answers a moment before password binds work).
func (f *Forest) WaitReady(ctx context.Context, timeout time.Duration) error {
	begin := time.Now()
	deadline := begin.Add(timeout)
	var lastErr error
	for {
		if _, ok := f.PID(); !ok && time.Since(begin) > 5*time.Second {
			return fmt.Errorf("forest %s: samba is not running (see %s):\n%s", f.Name, f.LogFile(), f.logTail())
		}
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		conn, err := f.Dial(dctx)
		cancel()
		if err == nil {
			conn.Close()
			return nil
		}
		lastErr = err
		if time.Now().After(deadline) {
			return fmt.Errorf("forest %s: no authenticated LDAPS bind after %s: %v\n%s", f.Name, timeout, lastErr, f.logTail())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (f *Forest) logTail() string {
	b, _ := os.ReadFile(f.LogFile())
	return tail(b, 2000)
}

// PID is the running samba's PID from its pid file, checked against /proc so a
// stale file or a reused PID is not mistaken for this forest.
func (f *Forest) PID() (int, bool) {
	b, err := os.ReadFile(f.PIDFile())
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return 0, false
	}
	// samba rewrites its command line ("samba: root process"), so identify it
	// by its executable and by its open log file in this forest's dir.
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil || filepath.Base(strings.TrimSuffix(exe, " (deleted)")) != "samba" || !hasOpen(pid, f.LogFile()) {
		return 0, false
	}
	if st, _ := procState(pid); st == "Z" {
		return 0, false
	}
	return pid, true
}

// Running reports whether the forest's samba is running.
func (f *Forest) Running() bool { _, ok := f.PID(); return ok }

// Processes are the PIDs of the running samba and all its descendants.
func (f *Forest) Processes() []int {
	pid, ok := f.PID()
	if !ok {
		return nil
	}
	return processTree(pid)
}

// Stop sends SIGTERM to samba and waits until its whole process tree exited
// (SIGKILL for what is left after 20 s). Stopping a stopped forest is a no-op.
func (f *Forest) Stop() error {
	pid, ok := f.PID()
	if !ok {
		return nil
	}
	tree := processTree(pid)
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("forest %s: kill %d: %w", f.Name, pid, err)
	}
	if waitGone(tree, 20*time.Second) {
		return nil
	}
	for _, p := range tree {
		if alive(p) {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
	}
	if !waitGone(tree, 5*time.Second) {
		return fmt.Errorf("forest %s: processes %v did not exit", f.Name, tree)
	}
	return nil
}

func waitGone(pids []int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		left := false
		for _, p := range pids {
			if alive(p) {
				left = true
				break
			}
		}
		if !left {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// StopAll stops every forest, returning the first error.
func StopAll(forests []*Forest) error {
	var wg sync.WaitGroup
	errs := make([]error, len(forests))
	for i, f := range forests {
		if f == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = f.Stop()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Options tune Up and UpAll.
type Options struct {
	// CacheDir holds the tarballs; "" means DefaultCacheDir().
	CacheDir string
	// NoCache neither reads nor writes tarballs.
	NoCache bool
	// Rebuild provisions and seeds even when a tarball exists (and replaces it).
	Rebuild bool
	// Logf, when set, receives progress lines.
	Logf func(format string, args ...any)
}

func (o Options) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
	}
}

// DefaultCacheDir is <module root>/.cache/forests, or HYBRIDSYNC_FORESTS_CACHE.
func DefaultCacheDir() (string, error) {
	if d := os.Getenv("HYBRIDSYNC_FORESTS_CACHE"); d != "" {
		return d, nil
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".cache", "forests"), nil
}

// ModuleRoot walks up from the working directory to the directory with go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("forest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Up brings one seeded forest up in dir (removed first if it exists): restored
// from the cache when a tarball of this SeedVersion exists, otherwise
// provisioned, seeded and saved to the cache. It returns a running forest.
func Up(ctx context.Context, spec Spec, dir string, opt Options) (*Forest, error) {
	cacheDir := opt.CacheDir
	if cacheDir == "" && !opt.NoCache {
		d, err := DefaultCacheDir()
		if err != nil {
			return nil, err
		}
		cacheDir = d
	}
	if err := clearDir(dir); err != nil {
		return nil, err
	}
	tarPath := filepath.Join(cacheDir, spec.CacheFile())
	if !opt.NoCache && !opt.Rebuild {
		if _, err := os.Stat(tarPath); err == nil {
			f, err := Restore(ctx, spec, tarPath, dir)
			if err == nil {
				opt.logf("forest %s: restored from %s in %s", spec.Name, tarPath, f.Timings.Restore.Round(time.Millisecond))
				if err = f.Start(ctx); err == nil {
					opt.logf("forest %s: up on %s (%s)", spec.Name, spec.IP, f.Timings)
					return f, nil
				}
			}
			opt.logf("forest %s: cache %s unusable (%v); provisioning afresh", spec.Name, tarPath, err)
			if err := os.RemoveAll(dir); err != nil {
				return nil, err
			}
		}
	}
	opt.logf("forest %s: provisioning in %s", spec.Name, dir)
	f, err := Provision(ctx, spec, dir)
	if err != nil {
		return nil, err
	}
	opt.logf("forest %s: provisioned in %s", spec.Name, f.Timings.Provision.Round(time.Millisecond))
	if err := f.Start(ctx); err != nil {
		return nil, err
	}
	seedStart := time.Now()
	if err := Seed(ctx, f); err != nil {
		_ = f.Stop()
		return nil, err
	}
	f.Timings.Seed = time.Since(seedStart)
	opt.logf("forest %s: seeded in %s", spec.Name, f.Timings.Seed.Round(time.Millisecond))
	if err := f.writeMetaSeeded(true); err != nil {
		_ = f.Stop()
		return nil, err
	}
	if !opt.NoCache {
		saveStart := time.Now()
		if err := f.Stop(); err != nil {
			return nil, err
		}
		if err := f.Save(tarPath); err != nil {
			return nil, err
		}
		f.Timings.Save = time.Since(saveStart)
		opt.logf("forest %s: saved %s in %s", spec.Name, tarPath, f.Timings.Save.Round(time.Millisecond))
		startTook := f.Timings.Start
		if err := f.Start(ctx); err != nil {
			return nil, err
		}
		f.Timings.Start += startTook
	}
	opt.logf("forest %s: up on %s (%s)", spec.Name, spec.IP, f.Timings)
	return f, nil
}

// UpAll brings the forests up in parallel, each in baseDir/<netbios in lower
// case>. On error, the ones that came up are stopped again.
func UpAll(ctx context.Context, specs []Spec, baseDir string, opt Options) ([]*Forest, error) {
	forests := make([]*Forest, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	for i, spec := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			forests[i], errs[i] = Up(ctx, spec, filepath.Join(baseDir, spec.DirName()), opt)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		_ = StopAll(forests)
		return nil, err
	}
	return forests, nil
}

// Save writes the stopped forest's directory (without run/ and log/) to a
// tarball, atomically.
func (f *Forest) Save(tarPath string) error {
	if f.Running() {
		return fmt.Errorf("forest %s: stop it before saving", f.Name)
	}
	if err := os.MkdirAll(filepath.Dir(tarPath), 0o755); err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.tmp%d", tarPath, os.Getpid())
	cmd := exec.Command("tar", "--create", "--sparse", "--file", tmp, "--directory", f.Dir,
		"--exclude=./run", "--exclude=./log", "--exclude=./msg.sock", "--exclude=*.ldb-lock", ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("forest %s: tar: %w\n%s", f.Name, err, tail(out, 2000))
	}
	return os.Rename(tmp, tarPath)
}

// Restore unpacks a tarball written by Save into dir (which must not exist or
// be empty) and points its smb.conf at dir. It does not start the forest.
func Restore(ctx context.Context, spec Spec, tarPath, dir string) (*Forest, error) {
	start := time.Now()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "tar", "--extract", "--same-permissions", "--file", tarPath, "--directory", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("forest %s: untar %s: %w\n%s", spec.Name, tarPath, err, tail(out, 2000))
	}
	m, err := readMeta(dir)
	if err != nil {
		return nil, fmt.Errorf("forest %s: %s has no forest metadata: %w", spec.Name, tarPath, err)
	}
	if m.Spec != spec || m.SeedVersion != SeedVersion || !m.Seeded {
		return nil, fmt.Errorf("forest %s: %s holds %+v seed %s (seeded %v), want %+v seed %s",
			spec.Name, tarPath, m.Spec, m.SeedVersion, m.Seeded, spec, SeedVersion)
	}
	f := New(spec, dir)
	if m.Dir != dir {
		b, err := os.ReadFile(f.ConfPath())
		if err != nil {
			return nil, err
		}
		conf := strings.ReplaceAll(string(b), m.Dir+"/", dir+"/")
		conf = strings.ReplaceAll(conf, "= "+m.Dir+"\n", "= "+dir+"\n")
		if err := os.WriteFile(f.ConfPath(), []byte(conf), 0o644); err != nil {
			return nil, err
		}
		if err := f.writeMetaSeeded(true); err != nil {
			return nil, err
		}
	}
	f.Timings.Restore = time.Since(start)
	return f, nil
}

// Lock takes the machine-wide forest lock (flock on <cache dir>/forests.lock),
// waiting for other test processes that hold it. Call release when the forests
// are stopped.
func Lock(ctx context.Context) (release func(), err error) {
	dir, err := DefaultCacheDir()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	file, err := os.OpenFile(filepath.Join(dir, "forests.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(file.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(file.Fd()), syscall.LOCK_UN)
				file.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			file.Close()
			return nil, err
		}
		select {
		case <-ctx.Done():
			file.Close()
			return nil, fmt.Errorf("forest lock: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// clearDir removes dir if it is empty or holds a stopped forest, and refuses
// anything else (a running forest, or a directory that is not a forest's).
func clearDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		m, err := readMeta(dir)
		if err != nil {
			return fmt.Errorf("forest: %s is not empty and holds no forest; not removing it", dir)
		}
		if f := New(m.Spec, dir); f.Running() {
			return fmt.Errorf("forest %s: running in %s; stop it first", f.Name, dir)
		}
	}
	return os.RemoveAll(dir)
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
