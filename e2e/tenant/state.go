package tenant

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// ---- seeded directory objects -------------------------------------------------------

// SeedGroup is a group in the seed. Members name users by
// userPrincipalName, contacts by mail, or earlier groups by displayName.
type SeedGroup struct {
	DisplayName string `json:"displayName"`
	Description string `json:"description,omitempty"`
	// MailNickname defaults to the display name without spaces.
	MailNickname string `json:"mailNickname,omitempty"`
	// SecurityEnabled defaults to true.
	SecurityEnabled *bool    `json:"securityEnabled,omitempty"`
	MailEnabled     bool     `json:"mailEnabled,omitempty"`
	GroupTypes      []string `json:"groupTypes,omitempty"`
	// Mail and ProxyAddresses are read-only through Graph; the seed may set
	// them (a mail-enabled group synced or made in Exchange).
	Mail           string   `json:"mail,omitempty"`
	ProxyAddresses []string `json:"proxyAddresses,omitempty"`
	Members        []string `json:"members,omitempty"`
}

// SeedContact is an organizational contact (read-only through Graph v1.0).
type SeedContact struct {
	DisplayName    string   `json:"displayName"`
	GivenName      string   `json:"givenName,omitempty"`
	Surname        string   `json:"surname,omitempty"`
	Mail           string   `json:"mail,omitempty"`
	MailNickname   string   `json:"mailNickname,omitempty"`
	ProxyAddresses []string `json:"proxyAddresses,omitempty"`
	CompanyName    string   `json:"companyName,omitempty"`
}

// SeedDevice is a registered device.
type SeedDevice struct {
	DisplayName string `json:"displayName"`
	// DeviceID defaults to a new GUID.
	DeviceID               string `json:"deviceId,omitempty"`
	OperatingSystem        string `json:"operatingSystem"`
	OperatingSystemVersion string `json:"operatingSystemVersion"`
	TrustType              string `json:"trustType,omitempty"`
	// Disabled devices have accountEnabled false.
	Disabled bool `json:"disabled,omitempty"`
	// RegisteredOwner is the userPrincipalName of the user who registered
	// the device (registeredOwners).
	RegisteredOwner string `json:"registeredOwner,omitempty"`
	// IsManaged, IsCompliant (read-only through Graph: Intune sets it),
	// DeviceVersion and PhysicalIDs as the device resource has them.
	IsManaged     *bool    `json:"isManaged,omitempty"`
	IsCompliant   *bool    `json:"isCompliant,omitempty"`
	DeviceVersion *int     `json:"deviceVersion,omitempty"`
	PhysicalIDs   []string `json:"physicalIds,omitempty"`
}

// seedDirectory fills a new tenant from its seed. t.mu is not held: the
// tenant is not shared yet, and createUser takes it.
func (t *Tenant) seedDirectory(seed Seed) error {
	hasDefault := false
	for _, d := range seed.Domains {
		hasDefault = hasDefault || (d.Default && d.Verified)
	}
	t.domains = append(t.domains, &domain{Name: t.initialDomain, Verified: true, Initial: true, Default: !hasDefault, AuthenticationType: "Managed"})
	for _, d := range seed.Domains {
		at := d.AuthenticationType
		if at == "" {
			at = "Managed"
		}
		name := strings.ToLower(d.Name)
		fed, err := seedFederation(d, t.initialDomain)
		if err != nil {
			return err
		}
		if fed != nil {
			at = "Federated"
		}
		t.domains = append(t.domains, &domain{Name: name, Verified: d.Verified, Default: d.Default && d.Verified, AuthenticationType: at, Verifiable: d.Verifiable, Code: verificationCode(), Federation: fed})
	}
	for _, n := range seed.VerifiableDomains {
		t.verifiable[strings.ToLower(n)] = true
	}
	seedAccount := func(a SeedAccount, defaultRoles []string, kind string) error {
		roles := a.Roles
		if len(roles) == 0 {
			roles = defaultRoles
		}
		name := a.DisplayName
		if name == "" {
			name = a.UserPrincipalName
		}
		nick, _, _ := strings.Cut(a.UserPrincipalName, "@")
		enabled := !a.Disabled
		upn := a.UserPrincipalName
		u, gerr := t.createUser(userJSON{AccountEnabled: &enabled, DisplayName: &name, MailNickname: &nick, UserPrincipalName: &upn})
		if gerr != nil {
			return fmt.Errorf("tenant: unable to seed %s %s: %s", kind, a.UserPrincipalName, gerr.Message)
		}
		u.Password, u.MFA, u.MFACode, u.Locked = a.Password, a.MFA, a.MFACode, a.Locked
		for _, r := range roles {
			u.Roles = append(u.Roles, strings.ToLower(r))
		}
		return nil
	}
	for _, a := range seed.Admins {
		if err := seedAccount(a, []string{RoleHybridIdentityAdministrator}, "admin"); err != nil {
			return err
		}
	}
	for _, a := range seed.Users {
		if err := seedAccount(a, nil, "user"); err != nil {
			return err
		}
	}
	r, _ := http.NewRequest(http.MethodPost, "/", nil)
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, sc := range seed.Contacts {
		c := &contact{ID: newGUID(), DisplayName: sc.DisplayName, GivenName: sc.GivenName, Surname: sc.Surname, Mail: sc.Mail,
			MailNickname: sc.MailNickname, ProxyAddresses: sc.ProxyAddresses, CompanyName: sc.CompanyName}
		if c.ProxyAddresses == nil && c.Mail != "" {
			c.ProxyAddresses = []string{"SMTP:" + c.Mail}
		}
		addrs := addresses(c.ProxyAddresses, c.Mail)
		if t.proxyConflictLocked("", addrs) {
			return fmt.Errorf("tenant: unable to seed contact %s: an address is already taken", sc.DisplayName)
		}
		t.seq++
		c.Seq = t.seq
		t.contacts[c.ID] = c
		t.indexProxiesLocked(c.ID, addrs)
	}
	byName := map[string]string{}
	for _, sg := range seed.Groups {
		sec := true
		if sg.SecurityEnabled != nil {
			sec = *sg.SecurityEnabled
		}
		nick := sg.MailNickname
		if nick == "" {
			nick = strings.ReplaceAll(sg.DisplayName, " ", "")
		}
		in := groupJSON{DisplayName: &sg.DisplayName, MailNickname: &nick, SecurityEnabled: &sec, MailEnabled: &sg.MailEnabled}
		if sg.Description != "" {
			in.Description = &sg.Description
		}
		if sg.GroupTypes != nil {
			in.GroupTypes = &sg.GroupTypes
		}
		if sg.Mail != "" {
			in.Mail = &sg.Mail
		}
		if sg.ProxyAddresses != nil {
			in.ProxyAddresses = &sg.ProxyAddresses
		}
		for _, m := range sg.Members {
			id := t.seedMemberLocked(m, byName)
			if id == "" {
				return fmt.Errorf("tenant: group %s: no user, contact or earlier group %q", sg.DisplayName, m)
			}
			in.Members = append(in.Members, "directoryObjects/"+id)
		}
		g, gerr := t.createGroupLocked(r, in, true)
		if gerr != nil {
			return fmt.Errorf("tenant: unable to seed group %s: %s", sg.DisplayName, gerr.Message)
		}
		byName[strings.ToLower(sg.DisplayName)] = g.ID
	}
	for _, sd := range seed.Devices {
		enabled := !sd.Disabled
		id := sd.DeviceID
		if id == "" {
			id = newGUID()
		}
		alt := []alternativeSecurityID{{Type: 2, Key: b64std([]byte("emulator:" + id))}}
		in := deviceJSON{AccountEnabled: &enabled, AlternativeSecurityIDs: &alt, DeviceID: &id, DisplayName: &sd.DisplayName,
			OperatingSystem: &sd.OperatingSystem, OperatingSystemVersion: &sd.OperatingSystemVersion}
		if sd.TrustType != "" {
			in.TrustType = &sd.TrustType
		}
		d, gerr := t.createDeviceLocked(r, in)
		if gerr != nil {
			return fmt.Errorf("tenant: unable to seed device %s: %s", sd.DisplayName, gerr.Message)
		}
		d.IsCompliant = sd.IsCompliant
		for name, v := range map[string]any{"isManaged": sd.IsManaged, "deviceVersion": sd.DeviceVersion, "physicalIds": sd.PhysicalIDs} {
			if b, _ := json.Marshal(v); string(b) != "null" {
				d.Others.apply(others{name: b})
			}
		}
		if sd.RegisteredOwner != "" {
			id, ok := t.byUPN[strings.ToLower(sd.RegisteredOwner)]
			if !ok {
				return fmt.Errorf("tenant: device %s: no user %q to own it", sd.DisplayName, sd.RegisteredOwner)
			}
			d.RegisteredOwners = []string{id}
		}
	}
	return nil
}

// seedMemberLocked resolves a seed group member. Caller holds t.mu.
func (t *Tenant) seedMemberLocked(name string, groups map[string]string) string {
	if id, ok := t.byUPN[strings.ToLower(name)]; ok {
		return id
	}
	for _, c := range t.contacts {
		if c.Mail != "" && strings.EqualFold(c.Mail, name) {
			return c.ID
		}
	}
	return groups[strings.ToLower(name)]
}

func b64std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// ---- the state file ---------------------------------------------------------------

// stateFormat names the state file's layout; a file of another format is refused.
const stateFormat = "hybridsync-tenant-emulator/1"

// stateFile is everything the directory holds, as written to Options.StatePath.
// Signing keys and the apps are not in it: keys are made anew at every start
// and the apps always come from the seed.
type stateFile struct {
	Format            string              `json:"format"`
	TenantID          string              `json:"tenantId"`
	DisplayName       string              `json:"displayName"`
	InitialDomain     string              `json:"initialDomain"`
	CreatedAt         time.Time           `json:"createdAt"`
	Seq               int64               `json:"seq"`
	Domains           []*domain           `json:"domains"`
	Users             []*user             `json:"users"`
	Groups            []*group            `json:"groups"`
	Contacts          []*contact          `json:"contacts"`
	Devices           []*device           `json:"devices"`
	Applications      []*application      `json:"applications,omitempty"`
	ServicePrincipals []*servicePrincipal `json:"servicePrincipals,omitempty"`
	RoleAssignments   []*roleAssignment   `json:"roleAssignments"`
	DirSync           dirSync             `json:"dirSync"`
	OrgSyncEnabled    *bool               `json:"orgSyncEnabled"`
	Verifiable        []string            `json:"verifiableDomains"`
	// Journal is the change log delta queries read (delta.go); a state
	// file without one starts a new log, and the tokens handed out before
	// are refused.
	Journal *journal `json:"journal,omitempty"`
}

// persist is the state file's writer: every successful write marks the
// state dirty and wakes the saver, which writes the whole state (temp file +
// rename) after a short debounce; Close flushes.
type persist struct {
	statePath string
	dirty     bool // under t.mu
	wake      chan struct{}
	stop      chan struct{}
	done      chan struct{}
	saveMu    sync.Mutex // one writer at a time, in order
	closeOnce sync.Once
	saveErr   error // under saveMu
}

// saveDebounce is how long the saver waits for more writes before saving.
const saveDebounce = 50 * time.Millisecond

// changedLocked records a successful write. Caller holds t.mu.
func (t *Tenant) changedLocked() {
	if t.statePath == "" {
		return
	}
	t.dirty = true
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

func (t *Tenant) snapshotLocked() stateFile {
	s := stateFile{Format: stateFormat, TenantID: t.tenantID, DisplayName: t.displayName, InitialDomain: t.initialDomain,
		CreatedAt: t.createdAt, Seq: t.seq, Domains: t.domains, DirSync: t.dirSync, OrgSyncEnabled: t.orgSyncEnabled,
		RoleAssignments: t.assignments, Journal: &t.journal}
	for _, u := range t.users {
		s.Users = append(s.Users, u)
	}
	for _, g := range t.groups {
		s.Groups = append(s.Groups, g)
	}
	for _, c := range t.contacts {
		s.Contacts = append(s.Contacts, c)
	}
	for _, d := range t.devices {
		s.Devices = append(s.Devices, d)
	}
	for _, a := range t.applications {
		s.Applications = append(s.Applications, a)
	}
	for _, sp := range t.servicePrincipals {
		s.ServicePrincipals = append(s.ServicePrincipals, sp)
	}
	for n := range t.verifiable {
		s.Verifiable = append(s.Verifiable, n)
	}
	return s
}

// loadState replaces the directory with a state file's.
func (t *Tenant) loadState(s stateFile) error {
	if s.Format != stateFormat {
		return fmt.Errorf("tenant: state file has format %q, want %q", s.Format, stateFormat)
	}
	if s.TenantID == "" || s.InitialDomain == "" {
		return errors.New("tenant: state file has no tenantId or initialDomain")
	}
	t.tenantID, t.displayName, t.initialDomain, t.createdAt, t.seq = s.TenantID, s.DisplayName, s.InitialDomain, s.CreatedAt, s.Seq
	t.domains = s.Domains
	for _, u := range s.Users {
		t.index(u, addresses(u.ProxyAddresses, u.Mail))
	}
	for _, g := range s.Groups {
		t.groups[g.ID] = g
		t.indexProxiesLocked(g.ID, addresses(g.ProxyAddresses, g.Mail))
	}
	for _, c := range s.Contacts {
		t.contacts[c.ID] = c
		t.indexProxiesLocked(c.ID, addresses(c.ProxyAddresses, c.Mail))
	}
	for _, d := range s.Devices {
		t.devices[d.ID] = d
	}
	for _, a := range s.Applications {
		t.applications[a.ID] = a
	}
	for _, sp := range s.ServicePrincipals {
		t.servicePrincipals[sp.ID] = sp
	}
	t.assignments = s.RoleAssignments
	if s.DirSync.Features != nil {
		def := defaultDirSync()
		for k, v := range s.DirSync.Features {
			def.Features[k] = v
		}
		s.DirSync.Features = def.Features
		t.dirSync = s.DirSync
	}
	t.orgSyncEnabled = s.OrgSyncEnabled
	if s.Journal != nil && s.Journal.Epoch != "" {
		t.journal = *s.Journal
	}
	for _, g := range t.groups {
		for _, m := range g.Members {
			t.journal.rememberType(m, t.memberTypeLocked(m))
		}
	}
	for _, n := range s.Verifiable {
		t.verifiable[n] = true
	}
	return nil
}

// initDirectory loads the state file when there is one, else seeds the
// directory, and starts the saver when a state file is configured.
func (t *Tenant) initDirectory(seed Seed, opts Options) error {
	t.objects = newObjects()
	t.statePath = opts.StatePath
	if t.statePath == "" {
		if err := t.seedDirectory(seed); err != nil {
			return err
		}
		t.seedServicePrincipals(seed.Apps)
		return nil
	}
	b, err := os.ReadFile(t.statePath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := t.seedDirectory(seed); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("tenant: unable to read state: %w", err)
	default:
		var s stateFile
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("tenant: unable to parse state %s: %w", t.statePath, err)
		}
		if err := t.loadState(s); err != nil {
			return err
		}
	}
	t.seedServicePrincipals(seed.Apps) // kept in the state file from here on
	t.wake = make(chan struct{}, 1)
	t.stop = make(chan struct{})
	t.done = make(chan struct{})
	t.dirty = true
	if err := t.flush(); err != nil {
		return err
	}
	go t.saver()
	return nil
}

func (t *Tenant) saver() {
	defer close(t.done)
	for {
		select {
		case <-t.stop:
			return
		case <-t.wake:
		}
		select {
		case <-t.stop:
			return
		case <-time.After(saveDebounce):
		}
		_ = t.flush() // kept in saveErr; Close reports it
	}
}

// flush writes the state file if anything changed since the last write.
func (t *Tenant) flush() error {
	t.saveMu.Lock()
	defer t.saveMu.Unlock()
	t.mu.Lock()
	path := t.statePath
	if !t.dirty || path == "" {
		t.mu.Unlock()
		return t.saveErr
	}
	b, err := json.MarshalIndent(t.snapshotLocked(), "", "  ")
	t.dirty = false
	t.mu.Unlock()
	if err == nil {
		err = writeFileAtomic(path, b)
	}
	if err != nil {
		t.mu.Lock()
		t.dirty = true
		t.mu.Unlock()
		err = fmt.Errorf("tenant: unable to save state: %w", err)
	}
	t.saveErr = err
	return err
}

// writeFileAtomic writes b to a temporary file beside path and renames it
// over path, so a reader never sees half a state.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o600)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// Flush writes the state file now if anything changed (no-op without a
// state file).
func (t *Tenant) Flush() error {
	return t.flush()
}

// Close stops the state file's writer after a last flush. The tenant keeps
// serving from memory; later writes are no longer saved. Safe to call more
// than once; without a state file it does nothing.
func (t *Tenant) Close() error {
	if t.stop == nil {
		return nil
	}
	t.closeOnce.Do(func() {
		close(t.stop)
		<-t.done
	})
	err := t.flush()
	t.mu.Lock()
	t.statePath = ""
	t.mu.Unlock()
	return err
}
