package connector_test

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/hybridsync/hybridsync/e2e/forest"
	"github.com/hybridsync/hybridsync/engine/connector"
	"github.com/hybridsync/hybridsync/engine/directory"
	"github.com/hybridsync/hybridsync/engine/store"
)

// The scale forests: with HYBRIDSYNC_BENCH_SCALE=1, TestMain brings the
// package's forests up from <cache>/engine-connector-scale-22k instead,
// where corp holds, besides the shared seed (1,722 objects), scaleUsers
// users spread over scaleUserOUs OUs, scaleGroups groups of
// scaleGroupMembers and one group of scaleBigGroupMembers: about 21,900
// objects of ObjectFilter. They are added once (ensureScaleCorp) and saved
// into the cached tarball, which later runs restore; normal runs never see
// them.
//
// Why not 100,000: Samba adds objects over LDAP at about 37 a second on this
// 2-core machine, slowing to 14 a second past 10,000 (a run seeding 98,000
// users had 20,000 after 16 minutes, beside other benchmarks, and would
// have needed about two hours). The issue allows the largest forest this
// machine seeds in reasonable time, with the rate extrapolated: the import's
// cost per object does not grow with the forest (compare this figure with
// make bench's BenchmarkImportVsLdapsearch over the 1,722-object seed).
const (
	scaleCacheName       = "engine-connector-scale-22k"
	scaleUsers           = 20_000
	scaleUserOUs         = 8
	scaleGroups          = 200
	scaleGroupMembers    = 50
	scaleBigGroupMembers = 5_000
	// scaleSeedConns is how many LDAP connections the seed adds over.
	scaleSeedConns = 4
	// scaleMin is how many objects of ObjectFilter the scale corp holds at
	// least.
	scaleMin = 21_000
	// scaleRounds is how many ldapsearch/import pairs the benchmark runs
	// (HYBRIDSYNC_BENCH_SCALE_ROUNDS overrides it).
	scaleRounds = 3
)

// scale is the package's forests when benchScale is on (live is then unset).
var scale forest.Pair

// benchScale reports whether HYBRIDSYNC_BENCH_SCALE=1 asks for the scale forests.
func benchScale() bool { return os.Getenv("HYBRIDSYNC_BENCH_SCALE") == "1" }

// reuseBaseTarballs links the package's ordinary cached forests into the
// scale cache when it has none yet, so that the first scale run starts from
// the shared seed rather than provisioning afresh (a hard link, else a copy:
// Save replaces a tarball by renaming, so the ordinary cache never changes).
func reuseBaseTarballs(name string) {
	cache, err := forest.DefaultCacheDir()
	if err != nil {
		return
	}
	for _, spec := range forest.Standard() {
		src := filepath.Join(cache, "engine-connector", spec.CacheFile())
		dst := filepath.Join(cache, name, spec.CacheFile())
		if _, err := os.Stat(dst); err == nil {
			continue
		}
		if _, err := os.Stat(src); err != nil {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			log.Printf("scale forests: %v", err)
			return
		}
		if err := os.Link(src, dst); err != nil {
			if err := copyFile(src, dst); err != nil {
				log.Printf("scale forests: copying %s: %v (provisioning afresh)", src, err)
				continue
			}
		}
		log.Printf("scale forests: starting %s from %s", dst, src)
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(tmp)
		return err
	}
	if err := out.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}

// scaleLayout names the scale objects of corp.
type scaleLayout struct {
	root, groups string
	users        []string // the user OUs
	suffix, fqdn string
}

func scaleLayoutOf(f *forest.Forest) scaleLayout {
	root := "OU=Scale," + f.BaseDN
	l := scaleLayout{root: root, groups: "OU=Scale Groups," + root, suffix: f.Spec.RoutableSuffix, fqdn: f.Name}
	for i := 1; i <= scaleUserOUs; i++ {
		l.users = append(l.users, fmt.Sprintf("OU=Scale Staff %02d,%s", i, root))
	}
	return l
}

func (l scaleLayout) userDN(i int) string {
	return fmt.Sprintf("CN=Scale User %06d,%s", i, l.users[i%len(l.users)])
}

func (l scaleLayout) groupDN(g int) string { return fmt.Sprintf("CN=Scale Group %04d,%s", g, l.groups) }

// bigGroupDN is added last: when it exists, the seed is complete.
func (l scaleLayout) bigGroupDN() string { return "CN=Scale All Staff," + l.groups }

var (
	scaleGiven = []string{"Anna", "Bernd", "Chloé", "Dmitri", "Eva", "François", "Grace", "Hiroshi", "Ines", "Jonas",
		"Kateřina", "Liam", "Maëlle", "Nils", "Olga", "Pedro", "Quinn", "Rosa", "Sven", "Tomás", "Ursula", "Vikram"}
	scaleSurnames = []string{"Müller", "O'Brien", "Schmid", "Rossi", "Novák", "García", "Dubois", "Nakamura", "Jensen",
		"Kowalski", "Smith", "Andersson", "Fischer", "Bianchi", "Meier", "Silva", "Keller", "Weber", "Brunner"}
	scaleDepartments = []string{"Sales", "R&D", "Operations", "Finance", "Legal", "Support", "Marketing", "Human Resources"}
	scaleTitles      = []string{"Engineer", "Senior Engineer", "Manager", "Analyst", "Consultant", "Specialist", "Director"}
	scaleCities      = []string{"Zürich", "Basel", "Genève", "Bern", "Lausanne", "Lugano"}
)

func (l scaleLayout) userAdd(i int) *ldap.AddRequest {
	given := scaleGiven[i%len(scaleGiven)]
	sn := scaleSurnames[(i/len(scaleGiven))%len(scaleSurnames)]
	sam := fmt.Sprintf("scale%06d", i)
	mail := sam + "@" + l.suffix
	a := ldap.NewAddRequest(l.userDN(i), nil)
	a.Attribute("objectClass", []string{"user"})
	a.Attribute("sAMAccountName", []string{sam})
	a.Attribute("userPrincipalName", []string{mail})
	a.Attribute("givenName", []string{given})
	a.Attribute("sn", []string{sn})
	a.Attribute("displayName", []string{given + " " + sn})
	a.Attribute("mail", []string{mail})
	a.Attribute("proxyAddresses", []string{"SMTP:" + mail, "smtp:" + sam + "@" + l.fqdn})
	a.Attribute("department", []string{scaleDepartments[i%len(scaleDepartments)]})
	a.Attribute("title", []string{scaleTitles[i%len(scaleTitles)]})
	a.Attribute("company", []string{"Corp"})
	a.Attribute("l", []string{scaleCities[i%len(scaleCities)]})
	a.Attribute("employeeID", []string{fmt.Sprintf("S%06d", i)})
	a.Attribute("telephoneNumber", []string{fmt.Sprintf("+41 44 %03d %02d %02d", i/10000, i/100%100, i%100)})
	uac := "544" // NORMAL_ACCOUNT | PASSWD_NOTREQD
	if i%50 == 0 {
		uac = "546" // … | ACCOUNTDISABLE
	}
	a.Attribute("userAccountControl", []string{uac})
	return a
}

// groupAdd is Scale Group g: users (g-1)*scaleGroupMembers+1 … g*scaleGroupMembers;
// every tenth a mail-enabled universal distribution group, the others
// global security groups.
func (l scaleLayout) groupAdd(g int) *ldap.AddRequest {
	members := make([]string, 0, scaleGroupMembers)
	for i := (g-1)*scaleGroupMembers + 1; i <= g*scaleGroupMembers; i++ {
		members = append(members, l.userDN(i))
	}
	sam := fmt.Sprintf("scalegrp%04d", g)
	a := ldap.NewAddRequest(l.groupDN(g), nil)
	a.Attribute("objectClass", []string{"group"})
	a.Attribute("sAMAccountName", []string{sam})
	a.Attribute("member", members)
	if g%10 == 0 {
		a.Attribute("groupType", []string{"8"}) // universal distribution
		a.Attribute("mail", []string{sam + "@" + l.suffix})
		a.Attribute("proxyAddresses", []string{"SMTP:" + sam + "@" + l.suffix})
	} else {
		a.Attribute("groupType", []string{"-2147483646"}) // global security
	}
	return a
}

// bigGroupAdd holds every 4th user: scaleBigGroupMembers members, more than
// three member windows.
func (l scaleLayout) bigGroupAdd() *ldap.AddRequest {
	members := make([]string, 0, scaleBigGroupMembers)
	for k := 1; k <= scaleBigGroupMembers; k++ {
		members = append(members, l.userDN(k*4))
	}
	a := ldap.NewAddRequest(l.bigGroupDN(), nil)
	a.Attribute("objectClass", []string{"group"})
	a.Attribute("sAMAccountName", []string{"scale-all-staff"})
	a.Attribute("groupType", []string{"-2147483646"})
	a.Attribute("member", members)
	return a
}

// ensureScaleCorp adds the scale objects to corp when the last of them is
// missing, over scaleSeedConns connections, then saves corp into tarPath so
// later runs restore them. The seed has an hour of its own: RunWithPair's
// context is for bringing forests up.
func ensureScaleCorp(ctx context.Context, f *forest.Forest, tarPath string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Hour)
	defer cancel()
	l := scaleLayoutOf(f)
	conn, err := f.Dial(ctx)
	if err != nil {
		return err
	}
	_, err = conn.Search(ldap.NewSearchRequest(l.bigGroupDN(), ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=group)", []string{"1.1"}, nil))
	if err == nil {
		conn.Close()
		return nil
	}
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		conn.Close()
		return fmt.Errorf("scale corp: looking for %s: %w", l.bigGroupDN(), err)
	}
	log.Printf("scale corp: seeding %d users in %d OUs, %d groups of %d and one of %d over %d connections (once; then cached in %s)",
		scaleUsers, scaleUserOUs, scaleGroups, scaleGroupMembers, scaleBigGroupMembers, scaleSeedConns, tarPath)
	start := time.Now()
	for _, dn := range append([]string{l.root, l.groups}, l.users...) {
		a := ldap.NewAddRequest(dn, nil)
		a.Attribute("objectClass", []string{"organizationalUnit"})
		if err := conn.Add(a); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
			conn.Close()
			return fmt.Errorf("scale corp: add %s: %w", dn, err)
		}
	}
	conn.Close()
	if err := addScale(ctx, f, "users", scaleUsers, func(i int) *ldap.AddRequest { return l.userAdd(i) }); err != nil {
		return err
	}
	usersTook := time.Since(start)
	if err := addScale(ctx, f, "groups", scaleGroups, func(g int) *ldap.AddRequest { return l.groupAdd(g) }); err != nil {
		return err
	}
	if err := addScale(ctx, f, "big group", 1, func(int) *ldap.AddRequest { return l.bigGroupAdd() }); err != nil {
		return err
	}
	seeded := time.Since(start)
	log.Printf("scale corp: seeded in %s (users %s: %.0f/s; groups %s); saving %s",
		seeded.Round(time.Second), usersTook.Round(time.Second), scaleUsers/usersTook.Seconds(),
		(seeded - usersTook).Round(time.Second), tarPath)
	saveStart := time.Now()
	if err := f.Stop(); err != nil {
		return err
	}
	if err := f.Save(tarPath); err != nil {
		return err
	}
	size := int64(0)
	if fi, err := os.Stat(tarPath); err == nil {
		size = fi.Size()
	}
	log.Printf("scale corp: saved %s (%d MB) in %s", tarPath, size>>20, time.Since(saveStart).Round(time.Second))
	return f.Start(ctx)
}

// addScale adds req(1) … req(n) over scaleSeedConns connections, objects
// already there left as they are, and logs its progress every 10,000.
func addScale(ctx context.Context, f *forest.Forest, what string, n int, req func(int) *ldap.AddRequest) error {
	work := make(chan int)
	errs := make([]error, scaleSeedConns)
	var done sync.WaitGroup
	start := time.Now()
	for w := range scaleSeedConns {
		done.Add(1)
		go func() {
			defer done.Done()
			c, err := f.Dial(ctx)
			if err != nil {
				errs[w] = err
				for range work {
				}
				return
			}
			defer c.Close()
			for i := range work {
				if errs[w] != nil {
					continue
				}
				r := req(i)
				if err := c.Add(r); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
					errs[w] = fmt.Errorf("scale corp: add %s: %w", r.DN, err)
				}
			}
		}()
	}
	for i := 1; i <= n; i++ {
		if ctx.Err() != nil {
			break
		}
		work <- i
		if i%10_000 == 0 {
			log.Printf("scale corp: %s %d/%d in %s", what, i, n, time.Since(start).Round(time.Second))
		}
	}
	close(work)
	done.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return ctx.Err()
}

// scaleSide is one timed read of the whole corp: objects, time, peak RSS.
type scaleSide struct {
	n       int
	took    time.Duration
	peakRSS int64 // bytes; 0: unknown
}

func (s scaleSide) rate() float64 { return float64(s.n) / s.took.Seconds() }

func (s scaleSide) String() string {
	return fmt.Sprintf("%d objects in %.2f s = %.0f objects/s, peak RSS %d MB", s.n, s.took.Seconds(), s.rate(), s.peakRSS>>20)
}

// ldapsearchScale runs Debian's ldapsearch against f's DC as the connector
// account, with the import's filter, the attributes given and its page size
// (1,000), and returns what it read, with its peak RSS from its rusage.
func ldapsearchScale(b *testing.B, f *forest.Forest, attrs []string) scaleSide {
	b.Helper()
	path, err := exec.LookPath("ldapsearch")
	if err != nil {
		b.Skipf("ldapsearch not installed (ldap-utils; scripts/e2e-deps.sh installs it): %v", err)
	}
	l := forest.LayoutOf(f)
	args := append([]string{"-LLL", "-x", "-H", f.LDAPSURL(), "-D", l.SvcSyncUPN, "-w", forest.SvcSyncPassword,
		"-b", f.BaseDN, "-E", "pr=1000/noprompt", connector.ObjectFilter}, attrs...)
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), "LDAPTLS_CACERT="+f.CACertPEM, "LDAPTLS_REQCERT=demand")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	n := 0
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		if line := sc.Bytes(); bytes.HasPrefix(line, []byte("dn: ")) || bytes.HasPrefix(line, []byte("dn:: ")) {
			n++
		}
	}
	if err := sc.Err(); err != nil {
		b.Fatalf("reading ldapsearch's output: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		b.Fatalf("ldapsearch: %v\n%s", err, stderr.String())
	}
	s := scaleSide{n: n, took: time.Since(start)}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.peakRSS = ru.Maxrss << 10 // KiB on Linux
	}
	return s
}

// importScale runs a full import of corp into a fresh SQLite connector
// space and returns what it read, with the test process's peak RSS during
// it (VmHWM, reset first through /proc/self/clear_refs; 0 where that fails).
func importScale(b *testing.B, f *forest.Forest) scaleSide {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "hybridsync-scale-import-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sp, err := store.Open(ctx, store.Options{Dialect: store.SQLite, DSN: store.SQLitePath(dir)})
	if err != nil {
		b.Fatal(err)
	}
	defer sp.Close()
	if _, err := sp.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	spec := specOf(b, f, connector.Scope{})
	runtime.GC()
	debug.FreeOSMemory()
	resetPeakRSS := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	b.StartTimer()
	start := time.Now()
	res, err := connector.Import(ctx, sp, spec)
	took := time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatalf("import: %v", err)
	}
	s := scaleSide{n: res.Totals().Read, took: took}
	if resetPeakRSS {
		s.peakRSS = peakRSS()
	}
	return s
}

// peakRSS is VmHWM of /proc/self/status in bytes (0: unknown).
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// BenchmarkImportVsLdapsearchScale compares a full import of the scale corp
// (about 21,900 users, contacts and groups; 15,000 memberships, one group
// read in four member windows) into a fresh SQLite connector space with a
// raw ldapsearch of the same DC (same account, filter, attributes and page
// size), in scaleRounds pairs whose order alternates. Target: the import at
// ≥ 0.9× ldapsearch's rate (the median pair's ratio). Runs only with
// HYBRIDSYNC_BENCH_SCALE=1:
//
//	HYBRIDSYNC_BENCH_SCALE=1 flock /tmp/hybridsync-forests.lock \
//	  go test -run '^$' -bench Scale -benchtime 1x -timeout 60m ./engine/connector
func BenchmarkImportVsLdapsearchScale(b *testing.B) {
	if !benchScale() {
		b.Skip("the scale forest runs only with HYBRIDSYNC_BENCH_SCALE=1 (seeded once into .cache/forests/" + scaleCacheName + ")")
	}
	corp, _ := scale.Need(b)
	rounds := scaleRounds
	if v, err := strconv.Atoi(os.Getenv("HYBRIDSYNC_BENCH_SCALE_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	type pair struct{ imp, raw scaleSide }
	var pairs []pair
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		pairs = pairs[:0]
		for r := range rounds {
			var p pair
			before := loadAvg()
			if r%2 == 0 {
				p.raw = ldapsearchScale(b, corp, connector.BaseAttributes)
				p.imp = importScale(b, corp)
			} else {
				p.imp = importScale(b, corp)
				p.raw = ldapsearchScale(b, corp, connector.BaseAttributes)
			}
			if p.raw.n < scaleMin {
				b.Fatalf("ldapsearch read %d objects, want at least %d: the scale seed is incomplete", p.raw.n, scaleMin)
			}
			if p.imp.n != p.raw.n {
				b.Fatalf("imported %d objects, ldapsearch read %d", p.imp.n, p.raw.n)
			}
			b.Logf("round %d (%s first; load %s → %s): ldapsearch %s; import %s: %.2f×", r+1,
				map[bool]string{true: "ldapsearch", false: "import"}[r%2 == 0], before, loadAvg(), p.raw, p.imp, p.imp.rate()/p.raw.rate())
			pairs = append(pairs, p)
		}
	}
	ratio := func(p pair) float64 { return p.imp.rate() / p.raw.rate() }
	slices.SortFunc(pairs, func(x, y pair) int { return cmp.Compare(ratio(x), ratio(y)) })
	med := pairs[len(pairs)/2]
	lo, hi := pairs[0], pairs[len(pairs)-1]
	peak := slices.MaxFunc(pairs, func(x, y pair) int { return cmp.Compare(x.imp.peakRSS, y.imp.peakRSS) }).imp.peakRSS
	b.ReportMetric(med.imp.rate(), "import-objects/s")
	b.ReportMetric(med.raw.rate(), "ldapsearch-objects/s")
	b.ReportMetric(ratio(med), "ratio")
	b.ReportMetric(ratio(lo), "min-ratio")
	b.ReportMetric(ratio(hi), "max-ratio")
	b.ReportMetric(float64(peak>>20), "import-peak-MB")
	b.Logf("median of %d pairs: import %.0f objects/s, ldapsearch %.0f objects/s (%d objects): %.2f× (%.2f–%.2f×; target ≥ 0.9×); import peak RSS %d MB",
		len(pairs), med.imp.rate(), med.raw.rate(), med.raw.n, ratio(med), ratio(lo), ratio(hi), peak>>20)
}

// TestScaleSeedShape checks the scale seed's arithmetic without a forest:
// with the shared seed it reaches scaleMin objects, every member is one of
// the scale users, the big group needs more than three member windows, and
// no two objects share a DN or sAMAccountName.
func TestScaleSeedShape(t *testing.T) {
	f := forest.New(forest.Corp, t.TempDir())
	l := scaleLayoutOf(f)
	// The shared seed's users, contacts, groups and computers, at least.
	shared := forest.StaffUsers + forest.Contacts + forest.BulkContacts + forest.Workstations + forest.Servers
	if got := shared + scaleUsers + scaleGroups + 1; got < scaleMin {
		t.Errorf("the scale corp holds %d objects, want at least %d", got, scaleMin)
	}
	if scaleBigGroupMembers <= 3*directory.MemberWindow {
		t.Errorf("the big group's %d members fit in three windows of %d", scaleBigGroupMembers, directory.MemberWindow)
	}
	users := map[string]bool{}
	dns, sams := map[string]bool{}, map[string]bool{}
	add := func(a *ldap.AddRequest) {
		t.Helper()
		if dns[strings.ToLower(a.DN)] {
			t.Fatalf("two objects at %s", a.DN)
		}
		dns[strings.ToLower(a.DN)] = true
		for _, at := range a.Attributes {
			if at.Type == "sAMAccountName" {
				if sams[at.Vals[0]] || len(at.Vals[0]) > 20 {
					t.Fatalf("sAMAccountName %q taken twice or longer than 20", at.Vals[0])
				}
				sams[at.Vals[0]] = true
			}
		}
	}
	for i := 1; i <= scaleUsers; i++ {
		a := l.userAdd(i)
		add(a)
		users[a.DN] = true
	}
	memberships := 0
	for _, a := range append([]*ldap.AddRequest{l.bigGroupAdd()}, func() (gs []*ldap.AddRequest) {
		for g := 1; g <= scaleGroups; g++ {
			gs = append(gs, l.groupAdd(g))
		}
		return gs
	}()...) {
		add(a)
		for _, at := range a.Attributes {
			if at.Type != "member" {
				continue
			}
			for _, m := range at.Vals {
				if !users[m] {
					t.Fatalf("%s has member %s, not a scale user", a.DN, m)
				}
			}
			memberships += len(at.Vals)
		}
	}
	if want := scaleGroups*scaleGroupMembers + scaleBigGroupMembers; memberships != want {
		t.Errorf("%d memberships, want %d", memberships, want)
	}
}
