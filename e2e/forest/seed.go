package forest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"
)

// What Seed puts into every forest (the same in both standard forests except
// for the forest's own names). Tests may rely on every name and count here;
// change SeedVersion when changing any of it.
//
// OUs (13), created under the domain root, names exactly as stored in "ou":
//
//	Staff
//	├── Sales, EMEA            (comma:  OU=Sales\, EMEA)
//	│   └── Zürich Ünïcode     (non-ASCII)
//	├── R+D                    (plus:   OU=R\+D)
//	│   └── "Quoted"           (quotes: OU=\"Quoted\")
//	└── Level 1 / Level 2 / Level 3 (three deep)
//	Groups, Contacts, Workstations, Service Accounts, Bulk
//
// Users: StaffUsers (300) "Test User 001".."Test User 300", sAMAccountName
// tuser001..tuser300, spread round-robin over the six staff OUs (user i in
// StaffOUs[i%6]). givenName/sn/displayName come from fixed lists with non-ASCII
// letters and an apostrophe (O'Brien). userAccountControl 544 (enabled, no
// password: PASSWD_NOTREQD); every 25th user (025, 050, … 300: DisabledUsers =
// 12) has 546 (disabled). UPN: tuserNNN@<RoutableSuffix> when NNN%10==1,
// @<NonRoutableSuffix> when NNN%10==2, else @<forest>. employeeID E0001..E0020
// for users 1–20 (the same in both forests), <NETBIOS>-0021.. for the rest.
// mail/proxyAddresses:
//   - users 1–10 (CollidingMailUsers): mail shared.userNNN@example.com, the
//     same in both forests; proxyAddresses SMTP:<that mail>;
//   - users 11–20 (CollidingProxyUsers): mail tuserNNN@<RoutableSuffix>,
//     proxyAddresses SMTP:<mail> and smtp:aliasNNN@example.com — the alias is
//     the same in both forests;
//   - the rest: mail tuserNNN@<RoutableSuffix>, proxyAddresses SMTP:<mail>.
//
// Password users (unicodePwd set over LDAPS, userAccountControl 66048: enabled,
// password never expires):
//   - svc-sync in OU=Service Accounts (UPN svc-sync@<forest>, SvcSyncPassword):
//     an ordinary user, the "existing account" for the connector;
//   - nested-admin in CN=Users ("Nested Admin", NestedAdminPassword): member of
//     group "Tier0 Admins", which is a member of Domain Admins — a Domain Admin
//     only through nesting;
//   - direct-admin in CN=Users ("Direct Admin", DirectAdminPassword): a direct
//     member of Domain Admins.
//
// Contacts: Contacts (50) "Contact 001".."Contact 050" in OU=Contacts, mail
// contactNNN@partner.example (the same in both forests); BulkContacts (1,250)
// "Bulk Contact 0001".."Bulk Contact 1250" in OU=Bulk, mail-less.
//
// Computers: Workstations (40) WS001..WS040 in OU=Workstations and Servers (10)
// SRV01..SRV10 in the default CN=Computers container (a container, not an OU),
// userAccountControl 4096, dNSHostName <name>.<forest>.
//
// Groups (27) in OU=Groups:
//   - "Big Group" (global security): all 300 staff users + all 1,250 bulk
//     contacts = BigGroupMembers (1,550) — more than MaxValRange (1,500), so
//     ranged retrieval matters on Windows (Samba returns all at once unless
//     asked for member;range=…);
//   - "Nested Parent" (global security): "Nested Child" + tuser001..tuser005;
//     "Nested Child": tuser006..tuser015;
//   - "Tier0 Admins" (global security): nested-admin; itself in Domain Admins;
//   - "All Staff DL" (universal distribution): mail all-staff@example.com (the
//     same in both forests), members tuser001..tuser050;
//   - "R&D Team" (universal security): the users in OU=R+D;
//   - "Sales, EMEA Team" (global security, a comma in its CN): the users in
//     OU=Sales, EMEA;
//   - "Project 01".."Project 20" (domain local security): Project NN holds
//     tuser((NN-1)*10+1)..tuser(NN*10).
//
// The forest's Partitions container gets uPNSuffixes RoutableSuffix and
// NonRoutableSuffix.
//
// Schema: a forest whose Spec has Exchange (fabrikam) gets ExchangeSchema
// (PrepareExchangeSchema); the other keeps Samba's 2012 R2 schema as it is.
const (
	StaffUsers          = 300
	DisabledEvery       = 25
	DisabledUsers       = StaffUsers / DisabledEvery // 12
	CollidingMailUsers  = 10
	CollidingProxyUsers = 10
	Contacts            = 50
	BulkContacts        = 1250
	Workstations        = 40
	Servers             = 10
	ProjectGroups       = 20
	ProjectGroupSize    = 10
	Groups              = 7 + ProjectGroups // 27
	BigGroupMembers     = StaffUsers + BulkContacts
	PasswordUsers       = 3 // svc-sync, nested-admin, direct-admin

	SvcSyncPassword     = "Svc-Sync-Pa55!"
	NestedAdminPassword = "Nested-Adm1n-Pa55!"
	DirectAdminPassword = "Direct-Adm1n-Pa55!"

	// OU names exactly as stored (unescaped).
	OUStaff            = "Staff"
	OUSalesEMEA        = "Sales, EMEA"
	OUZurich           = "Zürich Ünïcode"
	OURandD            = "R+D"
	OUQuoted           = `"Quoted"`
	OUGroups           = "Groups"
	OUContacts         = "Contacts"
	OUWorkstations     = "Workstations"
	OUServiceAccounts  = "Service Accounts"
	OUBulk             = "Bulk"
	BigGroupName       = "Big Group"
	NestedParentName   = "Nested Parent"
	NestedChildName    = "Nested Child"
	Tier0AdminsName    = "Tier0 Admins"
	AllStaffDLName     = "All Staff DL"
	AllStaffDLMail     = "all-staff@example.com"
	RandDTeamName      = "R&D Team"
	SalesTeamName      = "Sales, EMEA Team"
	SvcSyncSAM         = "svc-sync"
	NestedAdminSAM     = "nested-admin"
	DirectAdminSAM     = "direct-admin"
	CollidingMailFmt   = "shared.user%03d@example.com" // users 1–10
	CollidingAliasFmt  = "alias%03d@example.com"       // users 11–20
	ContactMailFmt     = "contact%03d@partner.example"
	groupGlobalSec     = "-2147483646"
	groupUniversalSec  = "-2147483640"
	groupDomainLocal   = "-2147483644"
	groupUniversalDist = "8"
)

var (
	givenNames = []string{"Anna", "Jürgen", "Zoë", "Björn", "Chloé", "Łukasz", "José", "Ólafur", "Søren", "Mei"}
	surnames   = []string{"Müller", "O'Brien", "Smith", "García", "Nguyễn", "Øvergaard", "Dubois", "Kowalski", "Tanaka", "Ivanova"}
)

// Layout is the seed of one forest with its DNs resolved (see the constants
// above for what each holds).
type Layout struct {
	Forest *Forest

	OUs      []string // DNs in creation order (parents first)
	StaffOUs []string // DNs of the six OUs that hold staff users

	StaffOU, SalesOU, ZurichOU, RandDOU, QuotedOU, Level3OU string
	GroupsOU, ContactsOU, WorkstationsOU, ServiceOU, BulkOU string

	BigGroupDN, NestedParentDN, NestedChildDN, Tier0AdminsDN string
	AllStaffDLDN, RandDTeamDN, SalesTeamDN                   string
	DomainAdminsDN, PartitionsDN                             string

	SvcSyncDN, SvcSyncUPN         string
	NestedAdminDN, NestedAdminUPN string
	DirectAdminDN, DirectAdminUPN string
}

// LayoutOf resolves the seed's DNs for f.
func LayoutOf(f *Forest) *Layout {
	base := f.BaseDN
	ou := func(parent string, names ...string) string {
		dn := parent
		for _, n := range names {
			dn = "OU=" + ldap.EscapeDN(n) + "," + dn
		}
		return dn
	}
	l := &Layout{Forest: f}
	l.StaffOU = ou(base, OUStaff)
	l.SalesOU = ou(l.StaffOU, OUSalesEMEA)
	l.ZurichOU = ou(l.SalesOU, OUZurich)
	l.RandDOU = ou(l.StaffOU, OURandD)
	l.QuotedOU = ou(l.RandDOU, OUQuoted)
	l1 := ou(l.StaffOU, "Level 1")
	l2 := ou(l1, "Level 2")
	l.Level3OU = ou(l2, "Level 3")
	l.GroupsOU = ou(base, OUGroups)
	l.ContactsOU = ou(base, OUContacts)
	l.WorkstationsOU = ou(base, OUWorkstations)
	l.ServiceOU = ou(base, OUServiceAccounts)
	l.BulkOU = ou(base, OUBulk)
	l.OUs = []string{l.StaffOU, l.SalesOU, l.ZurichOU, l.RandDOU, l.QuotedOU, l1, l2, l.Level3OU,
		l.GroupsOU, l.ContactsOU, l.WorkstationsOU, l.ServiceOU, l.BulkOU}
	l.StaffOUs = []string{l.StaffOU, l.SalesOU, l.ZurichOU, l.RandDOU, l.QuotedOU, l.Level3OU}

	group := func(name string) string { return "CN=" + ldap.EscapeDN(name) + "," + l.GroupsOU }
	l.BigGroupDN = group(BigGroupName)
	l.NestedParentDN = group(NestedParentName)
	l.NestedChildDN = group(NestedChildName)
	l.Tier0AdminsDN = group(Tier0AdminsName)
	l.AllStaffDLDN = group(AllStaffDLName)
	l.RandDTeamDN = group(RandDTeamName)
	l.SalesTeamDN = group(SalesTeamName)
	l.DomainAdminsDN = "CN=Domain Admins,CN=Users," + base
	l.PartitionsDN = "CN=Partitions,CN=Configuration," + base

	l.SvcSyncDN = "CN=svc-sync," + l.ServiceOU
	l.SvcSyncUPN = SvcSyncSAM + "@" + f.Name
	l.NestedAdminDN = "CN=Nested Admin,CN=Users," + base
	l.NestedAdminUPN = NestedAdminSAM + "@" + f.Name
	l.DirectAdminDN = "CN=Direct Admin,CN=Users," + base
	l.DirectAdminUPN = DirectAdminSAM + "@" + f.Name
	return l
}

// UserDN is the DN of staff user i (1-based).
func (l *Layout) UserDN(i int) string {
	return fmt.Sprintf("CN=Test User %03d,%s", i, l.StaffOUs[i%len(l.StaffOUs)])
}

// UserSAM is the sAMAccountName of staff user i.
func UserSAM(i int) string { return fmt.Sprintf("tuser%03d", i) }

// UserUPN is the userPrincipalName of staff user i.
func (l *Layout) UserUPN(i int) string {
	switch i % 10 {
	case 1:
		return UserSAM(i) + "@" + l.Forest.Spec.RoutableSuffix
	case 2:
		return UserSAM(i) + "@" + l.Forest.Spec.NonRoutableSuffix
	}
	return UserSAM(i) + "@" + l.Forest.Name
}

// UserMail is the mail of staff user i.
func (l *Layout) UserMail(i int) string {
	if i <= CollidingMailUsers {
		return fmt.Sprintf(CollidingMailFmt, i)
	}
	return UserSAM(i) + "@" + l.Forest.Spec.RoutableSuffix
}

// UserProxyAddresses are the proxyAddresses of staff user i.
func (l *Layout) UserProxyAddresses(i int) []string {
	p := []string{"SMTP:" + l.UserMail(i)}
	if i > CollidingMailUsers && i <= CollidingMailUsers+CollidingProxyUsers {
		p = append(p, "smtp:"+fmt.Sprintf(CollidingAliasFmt, i))
	}
	return p
}

// UserDisabled reports whether staff user i is disabled.
func UserDisabled(i int) bool { return i%DisabledEvery == 0 }

// ContactDN and BulkContactDN are the DNs of contact i and bulk contact i.
func (l *Layout) ContactDN(i int) string { return fmt.Sprintf("CN=Contact %03d,%s", i, l.ContactsOU) }

// BulkContactDN is the DN of bulk contact i (1-based).
func (l *Layout) BulkContactDN(i int) string {
	return fmt.Sprintf("CN=Bulk Contact %04d,%s", i, l.BulkOU)
}

// ProjectGroupDN is the DN of "Project NN".
func (l *Layout) ProjectGroupDN(n int) string {
	return fmt.Sprintf("CN=Project %02d,%s", n, l.GroupsOU)
}

// Seed fills a freshly provisioned, running forest with the objects described
// above, over LDAPS with a few connections in parallel. Objects that already
// exist are left as they are, so a Seed interrupted halfway can be rerun.
func Seed(ctx context.Context, f *Forest) error {
	l := LayoutOf(f)
	conn, err := f.Dial(ctx)
	if err != nil {
		return fmt.Errorf("seed %s: %w", f.Name, err)
	}
	defer conn.Close()

	// 1. OUs, parents first.
	var ous []*ldap.AddRequest
	for _, dn := range l.OUs {
		a := ldap.NewAddRequest(dn, nil)
		a.Attribute("objectClass", []string{"organizationalUnit"})
		ous = append(ous, a)
	}
	if err := addAll(conn, ous); err != nil {
		return fmt.Errorf("seed %s: %w", f.Name, err)
	}

	// 2. Leaf objects, in parallel.
	var leaves []*ldap.AddRequest
	for i := 1; i <= StaffUsers; i++ {
		leaves = append(leaves, l.userAdd(i))
	}
	leaves = append(leaves,
		passwordUser(l.SvcSyncDN, SvcSyncSAM, l.SvcSyncUPN, "svc-sync", SvcSyncPassword),
		passwordUser(l.NestedAdminDN, NestedAdminSAM, l.NestedAdminUPN, "Nested Admin", NestedAdminPassword),
		passwordUser(l.DirectAdminDN, DirectAdminSAM, l.DirectAdminUPN, "Direct Admin", DirectAdminPassword),
	)
	for i := 1; i <= Contacts; i++ {
		a := ldap.NewAddRequest(l.ContactDN(i), nil)
		a.Attribute("objectClass", []string{"contact"})
		a.Attribute("givenName", []string{"Contact"})
		a.Attribute("sn", []string{fmt.Sprintf("%03d", i)})
		a.Attribute("displayName", []string{fmt.Sprintf("Contact %03d (partner)", i)})
		a.Attribute("mail", []string{fmt.Sprintf(ContactMailFmt, i)})
		a.Attribute("proxyAddresses", []string{"SMTP:" + fmt.Sprintf(ContactMailFmt, i)})
		leaves = append(leaves, a)
	}
	for i := 1; i <= BulkContacts; i++ {
		a := ldap.NewAddRequest(l.BulkContactDN(i), nil)
		a.Attribute("objectClass", []string{"contact"})
		a.Attribute("displayName", []string{fmt.Sprintf("Bulk Contact %04d", i)})
		leaves = append(leaves, a)
	}
	for i := 1; i <= Workstations; i++ {
		leaves = append(leaves, computerAdd(fmt.Sprintf("WS%03d", i), l.WorkstationsOU, f.Name, "Windows 11 Enterprise"))
	}
	for i := 1; i <= Servers; i++ {
		leaves = append(leaves, computerAdd(fmt.Sprintf("SRV%02d", i), "CN=Computers,"+f.BaseDN, f.Name, "Windows Server 2022 Standard"))
	}
	if err := addParallel(ctx, f, leaves, 4); err != nil {
		return fmt.Errorf("seed %s: %w", f.Name, err)
	}

	// 3. Groups (members exist now); the nested child before its parent.
	users := func(from, to int) []string {
		var dns []string
		for i := from; i <= to; i++ {
			dns = append(dns, l.UserDN(i))
		}
		return dns
	}
	var big []string
	big = append(big, users(1, StaffUsers)...)
	for i := 1; i <= BulkContacts; i++ {
		big = append(big, l.BulkContactDN(i))
	}
	var rnd, sales []string
	for i := 1; i <= StaffUsers; i++ {
		switch l.StaffOUs[i%len(l.StaffOUs)] {
		case l.RandDOU:
			rnd = append(rnd, l.UserDN(i))
		case l.SalesOU:
			sales = append(sales, l.UserDN(i))
		}
	}
	groups := []*ldap.AddRequest{
		groupAdd(l.NestedChildDN, "nested-child", groupGlobalSec, users(6, 15), ""),
		groupAdd(l.NestedParentDN, "nested-parent", groupGlobalSec, append([]string{l.NestedChildDN}, users(1, 5)...), ""),
		groupAdd(l.Tier0AdminsDN, "tier0-admins", groupGlobalSec, []string{l.NestedAdminDN}, ""),
		groupAdd(l.AllStaffDLDN, "all-staff-dl", groupUniversalDist, users(1, 50), AllStaffDLMail),
		groupAdd(l.RandDTeamDN, "rnd-team", groupUniversalSec, rnd, ""),
		groupAdd(l.SalesTeamDN, "sales-emea-team", groupGlobalSec, sales, ""),
		groupAdd(l.BigGroupDN, "big-group", groupGlobalSec, big, ""),
	}
	for n := 1; n <= ProjectGroups; n++ {
		groups = append(groups, groupAdd(l.ProjectGroupDN(n), fmt.Sprintf("project-%02d", n), groupDomainLocal,
			users((n-1)*ProjectGroupSize+1, n*ProjectGroupSize), ""))
	}
	if err := addAll(conn, groups[:2]); err != nil {
		return fmt.Errorf("seed %s: %w", f.Name, err)
	}
	if err := addParallel(ctx, f, groups[2:], 4); err != nil {
		return fmt.Errorf("seed %s: %w", f.Name, err)
	}

	// 4. Domain Admins (one nested, one direct) and the UPN suffixes.
	da := ldap.NewModifyRequest(l.DomainAdminsDN, nil)
	da.Add("member", []string{l.Tier0AdminsDN, l.DirectAdminDN})
	if err := modifyTolerant(conn, da); err != nil {
		return fmt.Errorf("seed %s: Domain Admins: %w", f.Name, err)
	}
	up := ldap.NewModifyRequest(l.PartitionsDN, nil)
	up.Add("uPNSuffixes", []string{f.Spec.RoutableSuffix, f.Spec.NonRoutableSuffix})
	if err := modifyTolerant(conn, up); err != nil {
		return fmt.Errorf("seed %s: uPNSuffixes: %w", f.Name, err)
	}

	// 5. Exchange's schema, where the spec has Exchange.
	if f.Spec.Exchange {
		if err := PrepareExchangeSchema(ctx, f); err != nil {
			return fmt.Errorf("seed %s: %w", f.Name, err)
		}
	}
	return nil
}

func (l *Layout) userAdd(i int) *ldap.AddRequest {
	given := givenNames[i%len(givenNames)]
	sn := surnames[(i/len(givenNames))%len(surnames)]
	a := ldap.NewAddRequest(l.UserDN(i), nil)
	a.Attribute("objectClass", []string{"user"})
	a.Attribute("sAMAccountName", []string{UserSAM(i)})
	a.Attribute("userPrincipalName", []string{l.UserUPN(i)})
	a.Attribute("givenName", []string{given})
	a.Attribute("sn", []string{sn})
	a.Attribute("displayName", []string{given + " " + sn})
	a.Attribute("mail", []string{l.UserMail(i)})
	a.Attribute("proxyAddresses", l.UserProxyAddresses(i))
	empID := fmt.Sprintf("%s-%04d", l.Forest.NetBIOS, i)
	if i <= CollidingMailUsers+CollidingProxyUsers {
		empID = fmt.Sprintf("E%04d", i)
	}
	a.Attribute("employeeID", []string{empID})
	a.Attribute("department", []string{departmentOf(l, i)})
	uac := "544" // NORMAL_ACCOUNT | PASSWD_NOTREQD
	if UserDisabled(i) {
		uac = "546" // … | ACCOUNTDISABLE
	}
	a.Attribute("userAccountControl", []string{uac})
	return a
}

func departmentOf(l *Layout, i int) string {
	switch l.StaffOUs[i%len(l.StaffOUs)] {
	case l.SalesOU, l.ZurichOU:
		return "Sales"
	case l.RandDOU, l.QuotedOU:
		return "R&D"
	}
	return "Operations"
}

func passwordUser(dn, sam, upn, display, password string) *ldap.AddRequest {
	a := ldap.NewAddRequest(dn, nil)
	a.Attribute("objectClass", []string{"user"})
	a.Attribute("sAMAccountName", []string{sam})
	a.Attribute("userPrincipalName", []string{upn})
	a.Attribute("displayName", []string{display})
	a.Attribute("unicodePwd", []string{unicodePwd(password)})
	a.Attribute("userAccountControl", []string{"66048"}) // NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD
	return a
}

// unicodePwd encodes a password the way AD wants it: the quoted string in UTF-16LE.
func unicodePwd(pw string) string {
	u := utf16.Encode([]rune(`"` + pw + `"`))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		b[2*i], b[2*i+1] = byte(c), byte(c>>8)
	}
	return string(b)
}

func computerAdd(name, parent, domain, os string) *ldap.AddRequest {
	a := ldap.NewAddRequest("CN="+name+","+parent, nil)
	a.Attribute("objectClass", []string{"computer"})
	a.Attribute("sAMAccountName", []string{name + "$"})
	a.Attribute("dNSHostName", []string{strings.ToLower(name) + "." + domain})
	a.Attribute("operatingSystem", []string{os})
	a.Attribute("userAccountControl", []string{"4096"}) // WORKSTATION_TRUST_ACCOUNT
	return a
}

func groupAdd(dn, sam, groupType string, members []string, mail string) *ldap.AddRequest {
	a := ldap.NewAddRequest(dn, nil)
	a.Attribute("objectClass", []string{"group"})
	a.Attribute("sAMAccountName", []string{sam})
	a.Attribute("groupType", []string{groupType})
	if len(members) > 0 {
		a.Attribute("member", members)
	}
	if mail != "" {
		a.Attribute("mail", []string{mail})
		a.Attribute("proxyAddresses", []string{"SMTP:" + mail})
	}
	return a
}

func addAll(conn *ldap.Conn, reqs []*ldap.AddRequest) error {
	for _, r := range reqs {
		if err := conn.Add(r); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
			return fmt.Errorf("add %s: %w", r.DN, err)
		}
	}
	return nil
}

func modifyTolerant(conn *ldap.Conn, m *ldap.ModifyRequest) error {
	err := conn.Modify(m)
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultAttributeOrValueExists) {
		return err
	}
	return nil
}

// addParallel adds reqs over n connections of their own.
func addParallel(ctx context.Context, f *Forest, reqs []*ldap.AddRequest, n int) error {
	work := make(chan *ldap.AddRequest)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := f.Dial(ctx)
			if err != nil {
				errs[w] = err
				for range work { // drain
				}
				return
			}
			defer conn.Close()
			for r := range work {
				if errs[w] != nil {
					continue
				}
				if err := conn.Add(r); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
					errs[w] = fmt.Errorf("add %s: %w", r.DN, err)
				}
			}
		}()
	}
	for _, r := range reqs {
		select {
		case work <- r:
		case <-ctx.Done():
			close(work)
			wg.Wait()
			return ctx.Err()
		}
	}
	close(work)
	wg.Wait()
	return errors.Join(errs...)
}
