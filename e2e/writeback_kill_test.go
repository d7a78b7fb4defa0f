package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/go-ldap/ldap/v3"

	"github.com/hybridsync/hybridsync/e2e/forest"
	"github.com/hybridsync/hybridsync/engine/cloud"
	"github.com/hybridsync/hybridsync/engine/directory"
	"github.com/hybridsync/hybridsync/engine/writeback"
)

// killDevices is how many devices the tenant registers to the synced user:
// enough that writing them into the forest lasts seconds.
const killDevices = 400

// TestWritebackSurvivesAKill: device writeback into corp, killed with
// SIGKILL while the cycle writes the tenant's devices into
// CN=RegisteredDevices (some written, not all). After a restart the killed
// cycle shows interrupted, and the next cycle writes the rest: it succeeds,
// every device is in the forest exactly once, nothing failed as already
// there, and its counts say it added only what the killed run had not
// recorded (an add that reached the forest unrecorded is taken over, not
// created again). A third cycle has nothing left to write.
func TestWritebackSurvivesAKill(t *testing.T) {
	corp, _ := needForests(t)
	const name = "corp.example.test"
	tag := randomTag(t, 4) // this run's objects: an OU, its user, the devices' ids
	ouDN, owner := killOwner(t, corp, tag)
	container := "CN=RegisteredDevices," + corp.BaseDN
	unprepareAfter(t, corp)
	t.Cleanup(func() { removeDevices(t, corp, container, tag) })

	// A tenant whose write budget lets the test register its devices
	// quickly; the console signs in to it.
	tn := startTenant(t, testSeed(), "-budget", "20000")
	s := startServer(t, t.TempDir(), tn.flags()...)
	c := s.newClient()
	c.firstRun(adminUser, adminPass)

	// Configure: corp through svc-sync, scoped to this run's OU (and the
	// containers sync needs), with device writeback into corp prepared by
	// Configure with the enterprise admin's credentials.
	started := time.Now()
	answers := map[string]url.Values{
		"directories":       corpWithSvcSync(t),
		"optional-features": {"password_hash_sync": {"on"}, "device_writeback": {"on"}},
	}
	c.driveWizardTo(answers, "ou-filtering")
	c.scopeTo(name, corp.BaseDN, ouDN)
	c.driveWizardTo(answers, "writeback")
	c.enterWritebackAdmin(name, corp.AdminUPN, corp.AdminPassword)
	job := c.driveWizard(answers)
	if st, err := c.waitJobWithin(job, 2*time.Minute); err != nil || !strings.HasPrefix(st, "succeeded") {
		t.Fatalf("Configure ended %q (%v):\n%s", st, err, excerpt(c.get(job).Body))
	}
	if r := c.get(job); !strings.Contains(r.Body, "Prepare "+name+" for writeback") {
		t.Fatalf("Configure had no step preparing %s for writeback:\n%s", name, excerpt(r.Body))
	}

	// A first cycle exports the owner (with a warning, said once: svc-sync
	// may not write ms-DS-ConsistencyGuid); the tenant then registers the
	// devices to that synced user.
	runCycle(t, c)
	g := tn.Graph(t, entraGlobalAdmin, entraGlobalPassword)
	ownerID := syncedUserID(t, g, owner)
	t.Logf("configured and the owner exported in %s", time.Since(started).Round(time.Millisecond))
	started = time.Now()
	devices := registerDevices(t, g, tn.GraphURL(), tag, ownerID, killDevices)
	t.Logf("registered %d devices in %s", len(devices), time.Since(started).Round(time.Millisecond))

	// The cycle that writes them back, killed with some written.
	ad := adminLDAP(t, corp)
	first := c.post("/sync/run", url.Values{})
	if !strings.HasPrefix(first.URL, "/jobs/") {
		t.Fatalf("Run now: %d at %s:\n%s", first.Status, first.URL, excerpt(first.Body))
	}
	started = time.Now()
	for n := 0; n < killDevices/4; {
		if time.Since(started) > 3*time.Minute {
			t.Fatalf("only %d of %d devices written within 3 minutes:\n%s", n, killDevices, excerpt(c.get(first.URL).Body))
		}
		time.Sleep(20 * time.Millisecond)
		n = len(devicesIn(t, ad, container, tag))
	}
	s.kill()
	t.Logf("killed %s after the cycle ran %s", first.URL, time.Since(started).Round(time.Millisecond))
	// An add sent just before the kill may still land: count once the
	// forest has settled.
	atKill := settledCount(t, ad, container, tag)
	if atKill == 0 || atKill >= killDevices {
		t.Fatalf("%d of %d devices were in the forest when the console was killed: the kill was not in the middle of the writeback", atKill, killDevices)
	}

	s.start()
	c.signIn(adminUser, adminPass)
	if st, err := c.waitJob(first.URL); err != nil || st != "interrupted" {
		t.Fatalf("the killed cycle is %q (%v), want interrupted", st, err)
	}
	killed := c.historyRun(jobIDOf(t, first.URL))
	if st := killed.AttrOr("data-status", ""); st != "interrupted" {
		t.Errorf("the killed cycle in the run history: %q, want interrupted", st)
	}
	if st := killed.Find(`tr[data-step="write-back devices"]`).AttrOr("data-status", ""); st != "interrupted" {
		t.Errorf("the killed writeback step in the run history: %q, want interrupted", st)
	}

	// The cycle after the restart writes the rest.
	started = time.Now()
	second := c.post("/sync/run", url.Values{})
	if !strings.HasPrefix(second.URL, "/jobs/") {
		t.Fatalf("Run now after the restart: %d at %s", second.Status, second.URL)
	}
	if st, err := c.waitJobWithin(second.URL, 3*time.Minute); err != nil || st != "succeeded" {
		t.Fatalf("the cycle after the restart ended %q (%v), want succeeded:\n%s", st, err, excerpt(c.get(second.URL).Body))
	}
	t.Logf("the cycle after the restart took %s", time.Since(started).Round(time.Millisecond))

	// Every device once, by its deviceId, cn and cloud anchor.
	written := devicesIn(t, ad, container, tag)
	if len(written) != killDevices {
		t.Errorf("%d devices in the forest after the restart, want %d", len(written), killDevices)
	}
	byCN := map[string]int{}
	byAnchor := map[string]int{}
	for _, e := range written {
		cn := strings.ToLower(e.GetAttributeValue("cn"))
		byCN[cn]++
		byAnchor[string(e.GetRawAttributeValue("msDS-CloudAnchor"))]++
		d, ok := devices[cn]
		if !ok {
			t.Errorf("%s is no device of the tenant", e.DN)
			continue
		}
		want, _ := writeback.DeviceIDBytes(d.DeviceID)
		if got := e.GetRawAttributeValue("msDS-DeviceID"); string(got) != string(want) {
			t.Errorf("%s: msDS-DeviceID %x, want %x", e.DN, got, want)
		}
	}
	for id, d := range devices {
		if byCN[id] != 1 {
			t.Errorf("device %s is in the forest %d times, want once", id, byCN[id])
		}
		if n := byAnchor[writeback.CloudAnchor(d.ID)]; n != 1 {
			t.Errorf("the cloud anchor of device %s is in the forest %d times, want once", id, n)
		}
	}

	// Nothing failed as already there, in the log or the history.
	for _, path := range []string{first.URL, second.URL, "/sync"} {
		if body := c.get(path).Body; strings.Contains(strings.ToLower(body), "already exists") ||
			strings.Contains(body, "another object is already at") {
			t.Errorf("%s tells of an object already there:\n%s", path, excerpt(body))
		}
	}
	// The counts: only what the killed run had not recorded was added; an
	// add that reached the forest unrecorded was taken over.
	step := c.historyRun(jobIDOf(t, second.URL)).Find(`tr[data-step="write-back devices"]`)
	if step.Length() != 1 {
		t.Fatalf("the cycle after the restart has no device writeback step in the run history")
	}
	adds, errs := stepCount(t, step, "adds"), stepCount(t, step, "errors")
	note := step.Next().Text()
	takenOver := 0
	if m := regexp.MustCompile(`(\d+) object\(s\) found already written`).FindStringSubmatch(note); m != nil {
		takenOver, _ = strconv.Atoi(m[1])
	}
	if st := step.AttrOr("data-status", ""); st != "succeeded" || errs != 0 {
		t.Errorf("the writeback step after the restart: %s with %d error(s): %s", st, errs, note)
	}
	if adds >= killDevices || adds-takenOver != killDevices-atKill || takenOver > 1 {
		t.Errorf("the writeback after the restart counted %d add(s), %d of them taken over (%q); with %d of %d in the forest at the kill, want %d new ones and at most one taken over",
			adds, takenOver, note, atKill, killDevices, killDevices-atKill)
	}
	// Nor was anything written before the kill written again.
	if n := stepCount(t, step, "updates"); n > takenOver {
		t.Errorf("the writeback after the restart updated %d device(s), %d taken over: it rewrote devices written before the kill (%q)", n, takenOver, note)
	}
	t.Logf("killed with %d of %d devices in the forest; the next cycle added %d (%d taken over)", atKill, killDevices, adds, takenOver)

	// And nothing left for the cycle after.
	third := c.post("/sync/run", url.Values{})
	if st, err := c.waitJobWithin(third.URL, 3*time.Minute); err != nil || st != "succeeded" {
		t.Fatalf("the third cycle ended %q (%v)", st, err)
	}
	step = c.historyRun(jobIDOf(t, third.URL)).Find(`tr[data-step="write-back devices"]`)
	for _, col := range []string{"adds", "updates", "deletes", "errors"} {
		if n := stepCount(t, step, col); n != 0 {
			t.Errorf("the third cycle's device writeback: %d %s, want none", n, col)
		}
	}
	if n := len(devicesIn(t, ad, container, tag)); n != killDevices {
		t.Errorf("%d devices in the forest after the third cycle, want %d", n, killDevices)
	}
	s.expectNoErrors()
}

// randomTag is n random bytes in hex.
func randomTag(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// adminLDAP is an LDAPS connection to f as its administrator, closed when
// the test ends.
func adminLDAP(t *testing.T, f *forest.Forest) *ldap.Conn {
	t.Helper()
	conn, err := f.Dial(context.Background())
	if err != nil {
		t.Fatalf("dial %s: %v", f.Name, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// killOwner adds an OU of its own to f with one enabled user, the devices'
// owner, and returns the OU's DN and the user's UPN; both are removed when
// the test ends.
func killOwner(t *testing.T, f *forest.Forest, tag string) (ouDN, upn string) {
	t.Helper()
	conn := adminLDAP(t, f)
	ouDN = "OU=WB Kill " + tag + "," + f.BaseDN
	ou := ldap.NewAddRequest(ouDN, nil)
	ou.Attribute("objectClass", []string{"organizationalUnit"})
	if err := conn.Add(ou); err != nil {
		t.Fatalf("add %s: %v", ouDN, err)
	}
	t.Cleanup(func() {
		del := ldap.NewDelRequest(ouDN, []ldap.Control{ldap.NewControlSubtreeDelete()})
		if err := conn.Del(del); err != nil {
			t.Errorf("remove %s: %v", ouDN, err)
		}
	})
	sam := "wbk" + tag
	upn = sam + "@" + f.Name
	u := ldap.NewAddRequest("CN=WB Kill Owner "+tag+","+ouDN, nil)
	u.Attribute("objectClass", []string{"user"})
	u.Attribute("sAMAccountName", []string{sam})
	u.Attribute("userPrincipalName", []string{upn})
	u.Attribute("displayName", []string{"WB Kill Owner " + tag})
	u.Attribute("unicodePwd", []string{utf16Quoted("Kill-Owner-2026!" + tag)})
	u.Attribute("userAccountControl", []string{"66048"}) // enabled, password never expires
	if err := conn.Add(u); err != nil {
		t.Fatalf("add the devices' owner: %v", err)
	}
	return ouDN, upn
}

// utf16Quoted is a unicodePwd value: the password in quotes, UTF-16LE.
func utf16Quoted(pw string) string {
	var b []byte
	for _, r := range `"` + pw + `"` {
		b = append(b, byte(r), byte(r>>8))
	}
	return string(b)
}

// scopeTo answers Domain and OU filtering: of the forest's first level, only
// ou and the containers sync needs stay selected.
func (c *client) scopeTo(forestName, rootDN, ou string) {
	c.t.Helper()
	r := c.get("/setup/ou-filtering")
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(r.Body))
	if err != nil {
		c.t.Fatal(err)
	}
	vals := url.Values{"sync_new_ous": {"on"}, "action": {"next"}}
	found := false
	doc.Find(`input[type=hidden][name="seen:` + forestName + `"]`).Each(func(_ int, in *goquery.Selection) {
		dn := in.AttrOr("value", "")
		vals.Add("seen:"+forestName, dn)
		needed := strings.Contains(in.Parent().Find("label.node").First().Text(), "needed for sync")
		if strings.EqualFold(dn, rootDN) || strings.EqualFold(dn, ou) || needed {
			vals.Add("sync:"+forestName, dn)
		}
		found = found || strings.EqualFold(dn, ou)
	})
	if !found {
		c.t.Fatalf("%s is not on Domain and OU filtering:\n%s", ou, excerpt(r.Body))
	}
	next := c.post("/setup/ou-filtering", vals)
	if next.Status != http.StatusOK || next.URL == r.URL {
		c.t.Fatalf("Domain and OU filtering did not move on (%d at %s):\n%s", next.Status, next.URL, excerpt(next.Body))
	}
}

// enterWritebackAdmin enters an enterprise admin's credentials for forestName
// on Writeback, as its button does.
func (c *client) enterWritebackAdmin(forestName, user, password string) {
	c.t.Helper()
	page := c.get("/setup/writeback")
	vals := url.Values{}
	for k, v := range checkedRadios(c.t, page.Body) {
		vals.Set(k, v)
	}
	vals.Set("wb_user:"+forestName, user)
	vals.Set("wb_password:"+forestName, password)
	vals.Set("action", "wb_admin:"+forestName)
	r := c.post("/setup/writeback", vals)
	if r.Status != http.StatusOK || !strings.Contains(r.Body, `data-testid="wb-entered-`+forestName+`"`) {
		c.t.Fatalf("the enterprise admin's credentials on Writeback: %d at %s:\n%s", r.Status, r.URL, excerpt(r.Body))
	}
}

// syncedUserID is the tenant's id of the user synced with upn.
func syncedUserID(t *testing.T, g *cloud.Client, upn string) string {
	t.Helper()
	us, err := g.FindUsers(context.Background(), "userPrincipalName eq "+cloud.Quote(upn))
	if err != nil {
		t.Fatal(err)
	}
	if len(us) != 1 || us[0].OnPremisesImmutableID == "" {
		t.Fatalf("the synced user %s in the tenant: %+v", upn, us)
	}
	return us[0].ID
}

// registerDevices registers n Workplace-joined devices to the user ownerID
// of the tenant at graphURL, their deviceIds starting with tag, and returns
// them by deviceId.
func registerDevices(t *testing.T, g *cloud.Client, graphURL, tag, ownerID string, n int) map[string]cloud.Device {
	t.Helper()
	ctx := context.Background()
	reqs := make([]cloud.BatchRequest, n)
	for i := range reqs {
		key := utf16LE(fmt.Sprintf("X509:<SHA1-TP-PUBKEY>%040X%s", i, "oaBcDeFgHiJkLmNoPqRsTuVwXyZ="))
		reqs[i] = cloud.BatchRequest{Method: "POST", URL: "/devices", Body: cloud.Device{AccountEnabled: true,
			DisplayName: fmt.Sprintf("WBK-%s-%03d", tag, i), DeviceID: fmt.Sprintf("%s-0000-4000-8000-%012d", tag, i),
			OperatingSystem: "Windows", OperatingSystemVersion: "10.0.22631.3447", TrustType: "Workplace",
			AlternativeSecurityIDs: []cloud.AlternativeSecurityID{{Type: 2, Key: key}}}}
	}
	res, err := g.Batch(ctx, reqs)
	if err != nil {
		t.Fatalf("register the devices: %v", err)
	}
	out := map[string]cloud.Device{}
	owners := make([]cloud.BatchRequest, 0, n)
	for _, r := range res {
		var d cloud.Device
		if err := r.Decode(&d); err != nil {
			t.Fatalf("register a device: %v", err)
		}
		out[strings.ToLower(d.DeviceID)] = d
		owners = append(owners, cloud.BatchRequest{Method: "POST", URL: "/devices/" + d.ID + "/registeredOwners/$ref",
			Body: map[string]string{"@odata.id": graphURL + "/directoryObjects/" + ownerID}})
	}
	res, err = g.Batch(ctx, owners)
	if err != nil {
		t.Fatalf("add the devices' owner: %v", err)
	}
	for _, r := range res {
		if err := r.Err(); err != nil {
			t.Fatalf("add a device's owner: %v", err)
		}
	}
	return out
}

func utf16LE(s string) []byte {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r), byte(r>>8))
	}
	return b
}

// devicesIn are the msDS-Device objects in container whose cn starts with
// tag (this run's devices).
func devicesIn(t *testing.T, conn *ldap.Conn, container, tag string) []*ldap.Entry {
	t.Helper()
	res, err := conn.SearchWithPaging(ldap.NewSearchRequest(container, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(&(objectClass=msDS-Device)(cn="+ldap.EscapeFilter(tag)+"-*))", []string{"cn", "msDS-DeviceID", "msDS-CloudAnchor"}, nil), 1000)
	if err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return nil
		}
		t.Fatalf("search %s: %v", container, err)
	}
	return res.Entries
}

// settledCount counts this run's devices until the count holds for half a
// second.
func settledCount(t *testing.T, conn *ldap.Conn, container, tag string) int {
	t.Helper()
	n := len(devicesIn(t, conn, container, tag))
	for stable := time.Now(); time.Since(stable) < 500*time.Millisecond; {
		time.Sleep(100 * time.Millisecond)
		if m := len(devicesIn(t, conn, container, tag)); m != n {
			n, stable = m, time.Now()
		}
	}
	return n
}

// removeDevices deletes this run's devices from the forest, a few
// connections at a time.
func removeDevices(t *testing.T, f *forest.Forest, container, tag string) {
	t.Helper()
	conn, err := f.Dial(context.Background())
	if err != nil {
		t.Errorf("dial %s to remove the devices: %v", f.Name, err)
		return
	}
	defer conn.Close()
	es := devicesIn(t, conn, container, tag)
	dns := make(chan string, len(es))
	for _, e := range es {
		dns <- e.DN
	}
	close(dns)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := f.Dial(context.Background())
			if err != nil {
				t.Errorf("dial %s to remove the devices: %v", f.Name, err)
				return
			}
			defer c.Close()
			for dn := range dns {
				if err := c.Del(ldap.NewDelRequest(dn, nil)); err != nil {
					t.Errorf("remove %s: %v", dn, err)
				}
			}
		}()
	}
	wg.Wait()
}

var jobURLPattern = regexp.MustCompile(`^/jobs/(\d+)$`)

func jobIDOf(t *testing.T, path string) int64 {
	t.Helper()
	m := jobURLPattern.FindStringSubmatch(path)
	if m == nil {
		t.Fatalf("%q is no job's page", path)
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

// historyRun is a cycle's entry in the run history on the sync page.
func (c *client) historyRun(id int64) *goquery.Selection {
	c.t.Helper()
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(c.get("/sync").Body))
	if err != nil {
		c.t.Fatal(err)
	}
	li := doc.Find(fmt.Sprintf(`[data-testid="sync-cycles"] li[data-testid="run-%d"]`, id))
	if li.Length() != 1 {
		c.t.Fatalf("cycle %d is not in the run history", id)
	}
	st := li.Find(`[data-testid="run-status"]`)
	li.SetAttr("data-status", st.AttrOr("data-status", ""))
	return li
}

// stepCount reads a count (adds, updates, deletes, errors) of a step's row.
func stepCount(t *testing.T, step *goquery.Selection, col string) int {
	t.Helper()
	cell := step.Find(`[data-testid="step-` + col + `"]`)
	n, err := strconv.Atoi(strings.TrimSpace(cell.Text()))
	if cell.Length() != 1 || err != nil {
		t.Fatalf("the step's %s: %q", col, cell.Text())
	}
	return n
}

// unprepareAfter undoes, when the test ends, the device writeback preparation
// Configure makes in f — if f was not prepared before — so that the tests
// after this one find the forest as its seed left it (TestWritebackPageInTheBrowser
// shows Configure preparing it): CN=RegisteredDevices (with the rights granted
// on it) and CN=Device Registration Configuration, each deleted with what it
// holds.
func unprepareAfter(t *testing.T, f *forest.Forest) {
	t.Helper()
	conn := adminLDAP(t, f)
	dns := []string{
		directory.RegisteredDevicesDN(directory.Domain{DN: f.BaseDN}),
		directory.DeviceRegistrationConfigDN("CN=Configuration," + f.BaseDN),
	}
	for _, dn := range dns {
		_, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"1.1"}, nil))
		if err == nil {
			t.Logf("%s was prepared before this test: left as it is", dn)
			return
		}
		if !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			t.Fatalf("look for %s: %v", dn, err)
		}
	}
	t.Cleanup(func() {
		c, err := f.Dial(context.Background())
		if err != nil {
			t.Errorf("undo the preparation: dial %s: %v", f.Name, err)
			return
		}
		defer c.Close()
		for _, dn := range dns {
			err := c.Del(ldap.NewDelRequest(dn, []ldap.Control{ldap.NewControlSubtreeDelete()}))
			if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
				t.Errorf("undo the preparation: delete %s: %v", dn, err)
			}
		}
	})
}
