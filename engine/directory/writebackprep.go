package directory

// The forest's side of group and device writeback (issue 14): is the forest
// ready (schema level, the device registration objects, the connector
// account's rights), preparing it with one-time Enterprise Admin credentials,
// and the PowerShell an admin runs instead when those can't be had.
//
// What a forest needs for device writeback (research B2; Microsoft Entra
// Connect's "Device container" page and CreateDeviceContainer.ps1 /
// Initialize-ADSyncDeviceWriteback do the same):
//
//	CN=RegisteredDevices,<domain DN>                                  msDS-DeviceContainer
//	CN=Device Registration Configuration,CN=Services,<config NC>      container
//	  CN=Device Registration Services,…                               msDS-DeviceRegistrationServiceContainer
//	    CN=DeviceRegistrationService,…                                msDS-DeviceRegistrationService
//	        msDS-DeviceLocation = CN=RegisteredDevices,<domain DN>, msDS-IsEnabled = TRUE
//
// The classes' possible superiors fix that shape: msDS-DeviceContainer only
// under domainDNS, msDS-DeviceRegistrationServiceContainer only under
// container, msDS-DeviceRegistrationService only under the latter; the DRS
// object must contain msDS-DeviceLocation and msDS-IsEnabled (MS-ADSC, and
// Samba's 2012 R2 schema says the same).

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// Directory access rights beyond those in sd.go ([MS-ADTS] 5.1.3.2).
const (
	RightDSCreateChild = 0x00000001
	RightDSDeleteChild = 0x00000002
	RightDSList        = 0x00000004
	RightDSSelf        = 0x00000008
	RightDSDeleteTree  = 0x00000040
	RightDSListObject  = 0x00000080
	RightDelete        = 0x00010000
	RightReadControl   = 0x00020000

	// RightsGenericReadWrite is "Generic Read/Write" as AD stores it: the
	// generic rights mapped to directory rights (GENERIC_READ = RC|LC|RP|LO,
	// GENERIC_WRITE = RC|WP|Self).
	RightsGenericReadWrite = RightReadControl | RightDSList | RightDSReadProperty | RightDSListObject |
		RightDSWriteProperty | RightDSSelf
)

// schemaIDGUIDs of the classes granted on (identical in every forest; checked
// against the DC by TestLiveWritebackSchemaGUIDs).
var (
	GUIDGroupClass  = MustGUID("bf967a9c-0de6-11d0-a285-00aa003049e2") // class group
	GUIDDeviceClass = MustGUID("5df2b673-6d41-4774-b3e8-d52e8ee9ff99") // class msDS-Device
)

// Names of the device registration objects.
const (
	RegisteredDevicesCN  = "RegisteredDevices"
	drcRDN               = "CN=Device Registration Configuration"
	drsContainerRDN      = "CN=Device Registration Services"
	drsRDN               = "CN=DeviceRegistrationService"
	classDeviceContainer = "msDS-DeviceContainer"
	classDRSContainer    = "msDS-DeviceRegistrationServiceContainer"
	classDRS             = "msDS-DeviceRegistrationService"
	classDevice          = "msDS-Device"
	attrDeviceLocation   = "msDS-DeviceLocation"
)

// RegisteredDevicesDN is where written-back devices live in domain.
func RegisteredDevicesDN(domain Domain) string { return "CN=" + RegisteredDevicesCN + "," + domain.DN }

// DeviceRegistrationConfigDN is CN=Device Registration Configuration of the
// forest whose configuration naming context is configNC.
func DeviceRegistrationConfigDN(configNC string) string {
	return drcRDN + ",CN=Services," + configNC
}

// DeviceRegistrationServiceDN is the msDS-DeviceRegistrationService object
// whose msDS-DeviceLocation names the device container.
func DeviceRegistrationServiceDN(configNC string) string {
	return drsRDN + "," + drsContainerRDN + "," + DeviceRegistrationConfigDN(configNC)
}

// Schema versions: objectVersion of the schema NC per Windows Server release
// (learn.microsoft.com archive/technet-wiki 37395 "Active Directory Schema
// Versions"; 91 from a Microsoft community answer, not that page).
const (
	SchemaVersion2008R2 = 47
	SchemaVersion2012   = 56
	SchemaVersion2012R2 = 69
	SchemaVersion2016   = 87
	SchemaVersion2019   = 88 // also Windows Server 2022
	SchemaVersion2025   = 91
)

// SchemaRelease names the Windows Server release whose schema objectVersion
// is (the newest release at or below it for a number between two releases).
func SchemaRelease(objectVersion int) string {
	switch {
	case objectVersion <= 0:
		return "unknown"
	case objectVersion >= SchemaVersion2025:
		return "Windows Server 2025"
	case objectVersion >= SchemaVersion2019:
		return "Windows Server 2019 / 2022"
	case objectVersion >= SchemaVersion2016:
		return "Windows Server 2016"
	case objectVersion >= SchemaVersion2012R2:
		return "Windows Server 2012 R2"
	case objectVersion >= SchemaVersion2012:
		return "Windows Server 2012"
	case objectVersion >= SchemaVersion2008R2:
		return "Windows Server 2008 R2"
	}
	return "older than Windows Server 2008 R2"
}

// DeviceSchemaClasses are the classes device writeback creates or reads
// (all 2012 R2 schema).
var DeviceSchemaClasses = []string{classDevice, classDeviceContainer, classDRSContainer, classDRS}

// DeviceSchemaAttributes are the attributes device writeback writes that the
// 2012 R2 schema has, plus msDS-DeviceLocation (read on the DRS object).
// Without any of them device writeback cannot work.
var DeviceSchemaAttributes = []string{
	"altSecurityIdentities", "displayName", "msDS-DeviceID", "msDS-IsEnabled",
	"msDS-DeviceOSType", "msDS-DeviceOSVersion", "msDS-RegisteredOwner", "msDS-CloudAnchor",
	"msDS-DevicePhysicalIDs", "msDS-DeviceObjectVersion", "msDS-IsManaged", attrDeviceLocation,
}

// DeviceSchemaAttributes2016 are attributes Entra Connect also writes that
// only a 2016 (or later) schema has: without them the device is written
// without those values (not a blocker). Samba 4.17's 2012 R2 schema has
// neither.
var DeviceSchemaAttributes2016 = []string{"msDS-IsCompliant", "msDS-KeyCredentialLink"}

// AttrExternalDirectoryObjectID is the 2016-schema attribute Cloud Sync keeps
// Group_<objectId> in; without it, group writeback keeps it in
// adminDescription only (as Entra Connect Sync did).
const AttrExternalDirectoryObjectID = "msDS-ExternalDirectoryObjectId"

// SchemaInfo is what the forest's schema offers writeback.
type SchemaInfo struct {
	ObjectVersion int    // objectVersion of the schema NC
	Release       string // SchemaRelease(ObjectVersion)
	// Present holds the lDAPDisplayNames found among those asked for
	// (lower case keys).
	Present map[string]bool
}

// Has reports whether the schema has the class or attribute name.
func (s SchemaInfo) Has(name string) bool { return s.Present[strings.ToLower(name)] }

// Missing lists the names of names the schema lacks, in the order given.
func (s SchemaInfo) Missing(names []string) []string {
	var out []string
	for _, n := range names {
		if !s.Has(n) {
			out = append(out, n)
		}
	}
	return out
}

// writebackSchemaNames is everything readiness asks the schema about.
func writebackSchemaNames() []string {
	var all []string
	all = append(all, DeviceSchemaClasses...)
	all = append(all, DeviceSchemaAttributes...)
	all = append(all, DeviceSchemaAttributes2016...)
	return append(all, AttrExternalDirectoryObjectID)
}

// WritebackSchema reads the schema's objectVersion and which of the classes
// and attributes writeback uses exist, looked up by lDAPDisplayName under the
// schema NC (the attribute itself is the reliable test; objectVersion only
// names the release). Any authenticated account can read it.
func (c *Conn) WritebackSchema(ctx context.Context) (SchemaInfo, error) {
	r, err := c.rootDSE(ctx)
	if err != nil {
		return SchemaInfo{}, err
	}
	e, err := c.readEntry(ctx, r.SchemaNC, []string{"objectVersion"})
	if err != nil {
		return SchemaInfo{}, opError(err, "read the forest's schema version")
	}
	info := SchemaInfo{Present: map[string]bool{}}
	info.ObjectVersion, _ = strconv.Atoi(e.GetAttributeValue("objectVersion"))
	info.Release = SchemaRelease(info.ObjectVersion)
	var or strings.Builder
	for _, n := range writebackSchemaNames() {
		fmt.Fprintf(&or, "(lDAPDisplayName=%s)", ldap.EscapeFilter(n))
	}
	req := ldap.NewSearchRequest(r.SchemaNC, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(&(|(objectClass=attributeSchema)(objectClass=classSchema))(|"+or.String()+"))", []string{"lDAPDisplayName"}, nil)
	entries, err := c.search(ctx, req, false)
	if err != nil {
		return SchemaInfo{}, opError(err, "read the forest's schema")
	}
	for _, e := range entries {
		info.Present[strings.ToLower(e.GetAttributeValue("lDAPDisplayName"))] = true
	}
	return info, nil
}

// wbGrant is one right the connector account needs on a writeback container.
type wbGrant struct {
	Name string // for the readiness report
	Mask uint32 // what Prepare grants
	Need uint32 // what readiness requires of an ACE (a subset of Mask)
	// Object is the class the right is about (create/delete children of
	// that class); nil for rights on all properties.
	Object *GUID
	// Descendants: the ACE is inherited by (only) descendant objects of
	// class Descendants, rather than applying to the container itself.
	Descendants *GUID
}

func (g wbGrant) ace(sid SID) ACE {
	a := ACE{Type: AceTypeAccessAllowed, Mask: g.Mask, SID: sid}
	if g.Object != nil || g.Descendants != nil {
		a.Type = AceTypeAccessAllowedObject
		a.ObjectType = g.Object
		a.InheritedObjectType = g.Descendants
	}
	if g.Descendants != nil {
		a.Flags = AceFlagContainerInherit | AceFlagInheritOnly
	}
	return a
}

// satisfiedBy reports whether allow ACE a (of one of the account's SIDs)
// gives g. Deny ACEs are not evaluated (as in CheckRights).
func (g wbGrant) satisfiedBy(a ACE) bool {
	if a.Raw != nil || (a.Type != AceTypeAccessAllowed && a.Type != AceTypeAccessAllowedObject) {
		return false
	}
	if a.Mask&RightGenericAll == 0 && a.Mask&g.Need != g.Need {
		return false
	}
	if a.ObjectType != nil && (g.Object == nil || *a.ObjectType != *g.Object) {
		return false
	}
	if g.Descendants != nil {
		return a.Flags&AceFlagContainerInherit != 0 &&
			(a.InheritedObjectType == nil || *a.InheritedObjectType == *g.Descendants)
	}
	return a.Flags&AceFlagInheritOnly == 0 && a.InheritedObjectType == nil
}

// deviceGrants are the connector account's rights on CN=RegisteredDevices:
// create and delete msDS-Device children; read and write every property of
// the devices in it.
func deviceGrants() []wbGrant {
	dev := GUIDDeviceClass
	return []wbGrant{
		{Name: "Create and delete devices in CN=RegisteredDevices", Mask: RightDSCreateChild | RightDSDeleteChild,
			Need: RightDSCreateChild | RightDSDeleteChild, Object: &dev},
		{Name: "Read and write all properties of devices", Mask: RightsGenericReadWrite,
			Need: RightDSReadProperty | RightDSWriteProperty, Descendants: &dev},
	}
}

// groupGrants are the connector account's rights on the group writeback OU,
// the set Set-ADSyncUnifiedGroupWritebackPermissions grants (Generic
// Read/Write, Create/Delete child, Delete/Delete tree, all on groups):
// create and delete group children of the OU; read and write every property
// of the groups in it; delete them.
func groupGrants() []wbGrant {
	grp := GUIDGroupClass
	return []wbGrant{
		{Name: "Create and delete groups in the OU", Mask: RightDSCreateChild | RightDSDeleteChild,
			Need: RightDSCreateChild | RightDSDeleteChild, Object: &grp},
		{Name: "Read and write all properties of groups", Mask: RightsGenericReadWrite,
			Need: RightDSReadProperty | RightDSWriteProperty, Descendants: &grp},
		{Name: "Delete groups (and their subtree)", Mask: RightDelete | RightDSDeleteTree,
			Need: RightDelete, Descendants: &grp},
	}
}

// missingGrants reports by name which grants no allow ACE in dn's DACL gives
// to sid or one of its groups. The groups come from tokenGroups when this
// connection may read them; otherwise only the account's own ACEs count.
func (c *Conn) missingGrants(ctx context.Context, dn string, domain Domain, sid SID, grants []wbGrant) ([]string, error) {
	sids := map[string]bool{sid.String(): true}
	if udn, err := c.dnOfSID(ctx, domain, sid); err == nil && udn != "" {
		if groups, err := c.tokenGroups(ctx, udn); err == nil {
			for _, g := range groups {
				sids[g.String()] = true
			}
		}
	}
	sd, err := c.ReadDACL(ctx, dn)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, g := range grants {
		ok := false
		for _, a := range sd.DACL.ACEs {
			if sids[a.SID.String()] && g.satisfiedBy(a) {
				ok = true
				break
			}
		}
		if !ok {
			missing = append(missing, g.Name)
		}
	}
	return missing, nil
}

// grantOn adds grants for sid to dn's DACL (exact duplicates skipped) and
// returns how many ACEs were added.
func (c *Conn) grantOn(ctx context.Context, dn string, sid SID, grants []wbGrant) (int, error) {
	sd, err := c.ReadDACL(ctx, dn)
	if err != nil {
		return 0, err
	}
	var aces []ACE
	for _, g := range grants {
		aces = append(aces, g.ace(sid))
	}
	n := sd.DACL.Add(aces...)
	if n == 0 {
		return 0, nil
	}
	sd.Owner, sd.Group, sd.SACL = nil, nil, nil
	return n, c.writeDACL(ctx, dn, sd)
}

// DeviceReadiness is what device writeback finds in a forest.
type DeviceReadiness struct {
	Schema SchemaInfo

	ContainerDN     string // CN=RegisteredDevices,<domain DN>
	ContainerExists bool   // exists with class msDS-DeviceContainer

	ServiceDN string // CN=DeviceRegistrationService,…
	// ServiceLocation is the DRS object's msDS-DeviceLocation ("" when the
	// object or the value is missing).
	ServiceLocation string

	// RightsChecked: an account SID was given and the container's
	// permissions could be read; MissingRights then names what it lacks.
	RightsChecked bool
	MissingRights []string

	// Problems say, for an administrator, what stops device writeback;
	// Notes what works but is limited. Ready means no problems.
	Problems []string
	Notes    []string
}

// Ready reports whether device writeback can run.
func (r DeviceReadiness) Ready() bool { return len(r.Problems) == 0 }

// NeedsPreparation reports whether Prepare would create or grant something
// (what is missing is not the schema).
func (r DeviceReadiness) NeedsPreparation() bool {
	return !r.ContainerExists || !strings.EqualFold(r.ServiceLocation, r.ContainerDN) ||
		(r.RightsChecked && len(r.MissingRights) > 0)
}

// DeviceWritebackReadiness reads whether the forest can take device
// writeback into domain: the schema (msDS-Device and the attributes written,
// i.e. Windows Server 2012 R2 or later), CN=RegisteredDevices, the Device
// Registration Service object pointing at it, and — when accountSID is not
// "" — the connector account's rights on the container. Any account that may
// read the forest can ask (the connector account itself, typically).
func (c *Conn) DeviceWritebackReadiness(ctx context.Context, domain Domain, accountSID string) (DeviceReadiness, error) {
	domain, err := c.fillDomain(ctx, domain)
	if err != nil {
		return DeviceReadiness{}, err
	}
	fi, err := c.Forest(ctx)
	if err != nil {
		return DeviceReadiness{}, err
	}
	schema, err := c.WritebackSchema(ctx)
	if err != nil {
		return DeviceReadiness{}, err
	}
	r := DeviceReadiness{
		Schema:      schema,
		ContainerDN: RegisteredDevicesDN(domain),
		ServiceDN:   DeviceRegistrationServiceDN(fi.ConfigurationNC),
	}
	if missing := schema.Missing(append(append([]string{}, DeviceSchemaClasses...), DeviceSchemaAttributes...)); len(missing) > 0 {
		r.Problems = append(r.Problems, fmt.Sprintf(
			"The forest's schema is at the %s level (version %d) and lacks %s. Device writeback needs the Windows Server 2012 R2 schema or later: run adprep /forestprep from Windows Server 2012 R2 or later media, then check again.",
			schema.Release, schema.ObjectVersion, strings.Join(missing, ", ")))
		return r, nil // nothing below can exist without the classes
	}
	if missing := schema.Missing(DeviceSchemaAttributes2016); len(missing) > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf(
			"The schema lacks %s (Windows Server 2016 schema); devices are written back without %s.",
			strings.Join(missing, " and "), map[bool]string{true: "them", false: "it"}[len(missing) > 1]))
	}

	class, err := c.objectClassOf(ctx, r.ContainerDN)
	if err != nil {
		return r, err
	}
	switch {
	case class == nil:
		r.Problems = append(r.Problems, fmt.Sprintf("The device container %s does not exist yet. Prepare the forest (Enterprise Admin) or run the commands shown.", r.ContainerDN))
	case !hasClass(class, classDeviceContainer):
		r.Problems = append(r.Problems, fmt.Sprintf("%s exists but is not a device container (its class is %s, not msDS-DeviceContainer). Rename or remove it, then prepare the forest.", r.ContainerDN, lastClass(class)))
	default:
		r.ContainerExists = true
	}

	// The Device Registration Service: one per forest (research B2).
	req := ldap.NewSearchRequest(fi.ConfigurationNC, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass="+classDRS+")", []string{attrDeviceLocation}, nil)
	drs, err := c.search(ctx, req, false)
	if err != nil {
		return r, opError(err, "look for the Device Registration Service object")
	}
	switch {
	case len(drs) == 0:
		r.Problems = append(r.Problems, fmt.Sprintf("The Device Registration Service object %s does not exist yet. Prepare the forest (Enterprise Admin) or run the commands shown.", r.ServiceDN))
	case len(drs) > 1:
		var dns []string
		for _, e := range drs {
			dns = append(dns, e.DN)
		}
		r.Problems = append(r.Problems, fmt.Sprintf("The forest has %d Device Registration Service objects (%s); only one may exist. Delete the duplicates.", len(drs), strings.Join(dns, "; ")))
	default:
		r.ServiceDN = drs[0].DN
		r.ServiceLocation = drs[0].GetAttributeValue(attrDeviceLocation)
		switch {
		case r.ServiceLocation == "":
			r.Problems = append(r.Problems, fmt.Sprintf("The Device Registration Service object %s has no msDS-DeviceLocation. Prepare the forest to set it to %s.", r.ServiceDN, r.ContainerDN))
		case !strings.EqualFold(r.ServiceLocation, r.ContainerDN):
			r.Problems = append(r.Problems, fmt.Sprintf("The Device Registration Service object %s sends devices to %s, not to %s. Devices must be written back to the domain of their owners: choose that domain, or change msDS-DeviceLocation.", r.ServiceDN, r.ServiceLocation, r.ContainerDN))
		}
	}

	if accountSID != "" && r.ContainerExists {
		sid, err := ParseSID(accountSID)
		if err != nil {
			return r, newError(ErrInvalidInput, err, "%q is not a valid security identifier.", accountSID)
		}
		missing, err := c.missingGrants(ctx, r.ContainerDN, domain, sid, deviceGrants())
		var de *Error
		switch {
		case errors.As(err, &de):
			r.Notes = append(r.Notes, "The connector account's rights on "+r.ContainerDN+" could not be checked: "+de.Msg)
		case err != nil:
			return r, err
		default:
			r.RightsChecked, r.MissingRights = true, missing
			if len(missing) > 0 {
				r.Problems = append(r.Problems, fmt.Sprintf("The connector account lacks these rights on %s: %s. Prepare the forest or run the commands shown.", r.ContainerDN, strings.Join(missing, "; ")))
			}
		}
	}
	return r, nil
}

// GroupReadiness is what group writeback finds in a forest.
type GroupReadiness struct {
	OU       string
	OUExists bool
	// HasExternalDirectoryObjectID: the schema has
	// msDS-ExternalDirectoryObjectId (2016 schema), where Group_<objectId>
	// is written besides adminDescription.
	HasExternalDirectoryObjectID bool

	RightsChecked bool
	MissingRights []string

	Problems []string
	Notes    []string
}

// Ready reports whether group writeback can run.
func (r GroupReadiness) Ready() bool { return len(r.Problems) == 0 }

// GroupWritebackReadiness reads whether group writeback can write into ou:
// the OU (or container) exists, whether the schema has
// msDS-ExternalDirectoryObjectId, and — when accountSID is not "" — the
// connector account's rights on the OU.
func (c *Conn) GroupWritebackReadiness(ctx context.Context, ou, accountSID string) (GroupReadiness, error) {
	r := GroupReadiness{OU: ou}
	if _, err := ldap.ParseDN(ou); err != nil || strings.TrimSpace(ou) == "" {
		return r, newError(ErrInvalidInput, err, "%q is not a distinguished name. Choose the organizational unit from the tree.", ou)
	}
	schema, err := c.WritebackSchema(ctx)
	if err != nil {
		return r, err
	}
	r.HasExternalDirectoryObjectID = schema.Has(AttrExternalDirectoryObjectID)
	if !r.HasExternalDirectoryObjectID {
		r.Notes = append(r.Notes, fmt.Sprintf(
			"The schema (%s, version %d) has no msDS-ExternalDirectoryObjectId (Windows Server 2016 schema): written-back groups carry Group_<id> in adminDescription only.",
			schema.Release, schema.ObjectVersion))
	}
	class, err := c.objectClassOf(ctx, ou)
	if err != nil {
		return r, err
	}
	switch {
	case class == nil:
		r.Problems = append(r.Problems, fmt.Sprintf("The organizational unit %s does not exist. Choose another, or create it first.", ou))
		return r, nil
	case !hasClass(class, "organizationalUnit") && !hasClass(class, "container") && !hasClass(class, "domainDNS"):
		r.Problems = append(r.Problems, fmt.Sprintf("%s is a %s, not an organizational unit or container; groups cannot be created in it.", ou, lastClass(class)))
		return r, nil
	}
	r.OUExists = true
	if accountSID == "" {
		return r, nil
	}
	sid, err := ParseSID(accountSID)
	if err != nil {
		return r, newError(ErrInvalidInput, err, "%q is not a valid security identifier.", accountSID)
	}
	domain, err := c.domainOf(ctx, ou)
	if err != nil {
		return r, err
	}
	missing, err := c.missingGrants(ctx, ou, domain, sid, groupGrants())
	var de *Error
	switch {
	case errors.As(err, &de):
		r.Notes = append(r.Notes, "The connector account's rights on "+ou+" could not be checked: "+de.Msg)
	case err != nil:
		return r, err
	default:
		r.RightsChecked, r.MissingRights = true, missing
		if len(missing) > 0 {
			r.Problems = append(r.Problems, fmt.Sprintf("The connector account lacks these rights on %s: %s. Grant them (Enterprise or Domain Admin) or run the commands shown.", ou, strings.Join(missing, "; ")))
		}
	}
	return r, nil
}

// Preparation is what a Prepare call changed: nothing at all on a forest
// that was already prepared.
type Preparation struct {
	Created   []string // DNs of the objects created, parents first
	Updated   []string // DNs of objects whose attributes were set
	ACEsAdded int      // ACEs added to the containers' DACLs
}

// Changed reports whether anything was written.
func (p Preparation) Changed() bool {
	return len(p.Created) > 0 || len(p.Updated) > 0 || p.ACEsAdded > 0
}

// PrepareDeviceWriteback prepares the forest for device writeback into
// domain with an Enterprise Admin's connection (the configuration partition
// is written): it creates CN=RegisteredDevices and the Device Registration
// Service objects when missing, points msDS-DeviceLocation at the container
// when it is empty, and grants accountSID its rights on the container. It is
// idempotent: on a prepared forest it writes nothing. It refuses a schema
// without msDS-Device and a Device Registration Service that already sends
// devices elsewhere. It needs an encrypted connection, as every write here.
func (c *Conn) PrepareDeviceWriteback(ctx context.Context, domain Domain, accountSID string) (Preparation, error) {
	var p Preparation
	if !c.Security().Encrypted() {
		return p, newError(ErrNotSecure, nil, "Preparing the forest changes its configuration and permissions, which hybridsync only does over an encrypted connection. Connect with LDAPS or StartTLS.")
	}
	sid, err := ParseSID(accountSID)
	if err != nil {
		return p, newError(ErrInvalidInput, err, "%q is not a valid security identifier.", accountSID)
	}
	domain, err = c.fillDomain(ctx, domain)
	if err != nil {
		return p, err
	}
	fi, err := c.Forest(ctx)
	if err != nil {
		return p, err
	}
	schema, err := c.WritebackSchema(ctx)
	if err != nil {
		return p, err
	}
	if missing := schema.Missing(DeviceSchemaClasses); len(missing) > 0 {
		return p, newError(nil, nil, "The forest's schema (%s, version %d) lacks %s. Upgrade the schema to Windows Server 2012 R2 or later (adprep /forestprep), then prepare the forest.",
			schema.Release, schema.ObjectVersion, strings.Join(missing, ", "))
	}
	container := RegisteredDevicesDN(domain)
	drc := DeviceRegistrationConfigDN(fi.ConfigurationNC)
	drsContainer := drsContainerRDN + "," + drc
	drs := drsRDN + "," + drsContainer

	// An existing DRS object elsewhere (one per forest) is used, not doubled.
	req := ldap.NewSearchRequest(fi.ConfigurationNC, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass="+classDRS+")", []string{attrDeviceLocation}, nil)
	found, err := c.search(ctx, req, false)
	if err != nil {
		return p, opError(err, "look for the Device Registration Service object")
	}
	if len(found) > 1 {
		return p, newError(nil, nil, "The forest has %d Device Registration Service objects; only one may exist. Delete the duplicates, then prepare the forest.", len(found))
	}
	if len(found) == 1 {
		drs = found[0].DN
		if loc := found[0].GetAttributeValue(attrDeviceLocation); loc != "" && !strings.EqualFold(loc, container) {
			return p, newError(nil, nil, "The Device Registration Service object %s already sends devices to %s. hybridsync does not change it: devices go to one domain per forest. Choose that domain, or change msDS-DeviceLocation yourself.", drs, loc)
		}
	}

	steps := []struct {
		dn, class string
		attrs     map[string][]string
	}{
		{container, classDeviceContainer, nil},
		{drc, "container", nil},
		{drsContainer, classDRSContainer, nil},
		{drs, classDRS, map[string][]string{attrDeviceLocation: {container}, "msDS-IsEnabled": {"TRUE"}}},
	}
	if len(found) == 1 {
		steps = append(steps[:1], steps[3]) // the DRS object's parents exist
	}
	for _, s := range steps {
		created, err := c.ensureObject(ctx, s.dn, s.class, s.attrs)
		if err != nil {
			return p, err
		}
		if created {
			p.Created = append(p.Created, s.dn)
		}
	}
	// A DRS object found without a location gets this one.
	if len(found) == 1 && found[0].GetAttributeValue(attrDeviceLocation) == "" {
		m := ldap.NewModifyRequest(drs, nil)
		m.Replace(attrDeviceLocation, []string{container})
		if err := c.modify(ctx, m); err != nil {
			return p, prepError(err, "set msDS-DeviceLocation of %s", drs)
		}
		p.Updated = append(p.Updated, drs)
	}
	n, err := c.grantOn(ctx, container, sid, deviceGrants())
	if err != nil {
		return p, prepError(err, "grant the connector account its rights on %s", container)
	}
	p.ACEsAdded = n
	return p, nil
}

// PrepareGroupWriteback grants accountSID the group writeback rights on ou
// (Set-ADSyncUnifiedGroupWritebackPermissions' set), with a connection of an
// account allowed to change the OU's permissions. Idempotent.
func (c *Conn) PrepareGroupWriteback(ctx context.Context, ou, accountSID string) (Preparation, error) {
	var p Preparation
	if !c.Security().Encrypted() {
		return p, newError(ErrNotSecure, nil, "Changing permissions is only done over an encrypted connection. Connect with LDAPS or StartTLS.")
	}
	sid, err := ParseSID(accountSID)
	if err != nil {
		return p, newError(ErrInvalidInput, err, "%q is not a valid security identifier.", accountSID)
	}
	if _, err := ldap.ParseDN(ou); err != nil || strings.TrimSpace(ou) == "" {
		return p, newError(ErrInvalidInput, err, "%q is not a distinguished name. Choose the organizational unit from the tree.", ou)
	}
	n, err := c.grantOn(ctx, ou, sid, groupGrants())
	if err != nil {
		return p, prepError(err, "grant the connector account its rights on %s", ou)
	}
	p.ACEsAdded = n
	return p, nil
}

// ensureObject creates dn with class (and attrs) unless it exists; an
// existing object of another class is an error.
func (c *Conn) ensureObject(ctx context.Context, dn, class string, attrs map[string][]string) (bool, error) {
	have, err := c.objectClassOf(ctx, dn)
	if err != nil {
		return false, err
	}
	if have != nil {
		if !hasClass(have, class) {
			return false, newError(nil, nil, "%s exists but is a %s, not a %s. Rename or remove it, then prepare the forest.", dn, lastClass(have), class)
		}
		return false, nil
	}
	add := ldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{class})
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		add.Attribute(k, attrs[k])
	}
	if err := c.add(ctx, add); err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
			return false, nil // created meanwhile
		}
		return false, prepError(err, "create %s", dn)
	}
	return true, nil
}

// prepError is opError with the admin's remedy for a refusal: preparing
// needs an Enterprise Admin (the configuration partition and permissions).
func prepError(err error, format string, args ...any) error {
	if ldap.IsErrorWithCode(err, ldap.LDAPResultInsufficientAccessRights) {
		return newError(nil, err, "Could not %s: the account is not allowed to. Preparing the forest needs an Enterprise Admin; sign in as one, or give the commands shown to one.", fmt.Sprintf(format, args...))
	}
	return opError(err, format, args...)
}

// objectClassOf reads dn's objectClass values; nil when dn does not exist.
func (c *Conn) objectClassOf(ctx context.Context, dn string) ([]string, error) {
	e, err := c.readEntry(ctx, dn, []string{"objectClass"})
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return nil, nil
	}
	if err != nil {
		return nil, opError(err, "read %s", dn)
	}
	cls := e.GetAttributeValues("objectClass")
	if len(cls) == 0 {
		cls = []string{"top"} // exists, class unreadable
	}
	return cls, nil
}

func hasClass(classes []string, want string) bool {
	for _, c := range classes {
		if strings.EqualFold(c, want) {
			return true
		}
	}
	return false
}

// lastClass is the most specific class (AD lists objectClass from top down).
func lastClass(classes []string) string {
	if len(classes) == 0 {
		return "unknown class"
	}
	return classes[len(classes)-1]
}

// domainOf finds the domain of the forest whose naming context holds dn.
func (c *Conn) domainOf(ctx context.Context, dn string) (Domain, error) {
	fi, err := c.Forest(ctx)
	if err != nil {
		return Domain{}, err
	}
	best := Domain{}
	for _, d := range fi.Domains {
		if DNUnder(dn, d.DN) && len(d.DN) > len(best.DN) {
			best = d
		}
	}
	if best.DN == "" {
		return Domain{}, newError(ErrWrongDomain, nil, "%s is not in a domain of the forest %s.", dn, fi.Name)
	}
	return best, nil
}

// DNUnder reports whether dn is base or below it (case-insensitive, by RDNs).
func DNUnder(dn, base string) bool {
	d, err1 := ldap.ParseDN(dn)
	b, err2 := ldap.ParseDN(base)
	if err1 != nil || err2 != nil {
		return false
	}
	return b.AncestorOfFold(d) || b.EqualFold(d)
}

// ScriptParams names what the admin's commands act on.
type ScriptParams struct {
	Domain Domain // the domain (DN and DNS name) receiving devices, or holding the OU
	// ConfigurationNC is the forest's CN=Configuration,… (device writeback).
	ConfigurationNC string
	// Account is the connector account as DOMAIN\sAMAccountName (dsacls and
	// Initialize-ADSyncDeviceWriteback take that form); AccountDN its DN
	// (Set-ADSyncUnifiedGroupWritebackPermissions).
	Account   string
	AccountDN string
	OU        string // group writeback OU
}

// psQuote is a PowerShell single-quoted string.
func psQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// DeviceWritebackCommands is the PowerShell an Enterprise Admin runs to
// prepare the forest when hybridsync is not given such credentials: what
// PrepareDeviceWriteback does, with the Active Directory module and dsacls
// (so Microsoft Entra Connect need not be installed), and Entra Connect's own
// equivalent as a comment. Running it twice changes nothing the second time.
func DeviceWritebackCommands(p ScriptParams) string {
	container := RegisteredDevicesDN(p.Domain)
	drc := DeviceRegistrationConfigDN(p.ConfigurationNC)
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# Prepare %s for device writeback by hybridsync.", p.Domain.DNS)
	w("# Run as an Enterprise Admin, in Windows PowerShell on a machine with the")
	w("# Active Directory module (RSAT-AD-PowerShell) and dsacls (RSAT-ADDS-Tools).")
	w("# The forest's schema must be Windows Server 2012 R2 or later.")
	w("#")
	w("# Microsoft Entra Connect's equivalent, where it is installed:")
	w("#   Import-Module 'C:\\Program Files\\Microsoft Azure Active Directory Connect\\AdPrep\\AdSyncPrep.psm1'")
	w("#   Initialize-ADSyncDeviceWriteback -DomainName %s -AdConnectorAccount %s", psQuote(p.Domain.DNS), psQuote(p.Account))
	w("$ErrorActionPreference = 'Stop'")
	w("Import-Module ActiveDirectory")
	w("$server    = %s", psQuote(p.Domain.DNS))
	w("$account   = %s", psQuote(p.Account))
	w("$devices   = %s", psQuote(container))
	w("$drc       = %s", psQuote(drc))
	w("function Test-DN([string]$dn) { try { $null = Get-ADObject -Identity $dn -Server $server; $true } catch { $false } }")
	w("if (-not (Test-DN $devices)) {")
	w("    New-ADObject -Server $server -Name %s -Type %s -Path %s", psQuote(RegisteredDevicesCN), classDeviceContainer, psQuote(p.Domain.DN))
	w("}")
	w("if (-not (Test-DN $drc)) {")
	w("    New-ADObject -Server $server -Name 'Device Registration Configuration' -Type container -Path %s", psQuote("CN=Services,"+p.ConfigurationNC))
	w("}")
	w("if (-not (Test-DN \"%s,$drc\")) {", drsContainerRDN)
	w("    New-ADObject -Server $server -Name 'Device Registration Services' -Type %s -Path $drc", classDRSContainer)
	w("}")
	w("if (-not (Test-DN \"%s,%s,$drc\")) {", drsRDN, drsContainerRDN)
	w("    New-ADObject -Server $server -Name 'DeviceRegistrationService' -Type %s -Path \"%s,$drc\" -OtherAttributes @{ '%s' = $devices; 'msDS-IsEnabled' = $true }",
		classDRS, drsContainerRDN, attrDeviceLocation)
	w("}")
	w("# The connector account: create and delete devices in the container,")
	w("# read and write every property of the devices in it.")
	w("dsacls $devices /G \"${account}:CCDC;%s\"", classDevice)
	w("dsacls $devices /I:S /G \"${account}:GRGW;;%s\"", classDevice)
	return b.String()
}

// GroupWritebackCommands is the PowerShell an admin of the OU's domain runs
// to grant the connector account the group writeback rights on the OU (what
// PrepareGroupWriteback does), with Entra Connect's equivalent as a comment.
func GroupWritebackCommands(p ScriptParams) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# Let hybridsync's connector account write Microsoft 365 groups back into %s.", p.OU)
	w("# Run as an Enterprise Admin or a Domain Admin of %s, on a machine with dsacls (RSAT-ADDS-Tools).", p.Domain.DNS)
	w("#")
	w("# Microsoft Entra Connect's equivalent, where it is installed:")
	w("#   Import-Module 'C:\\Program Files\\Microsoft Azure Active Directory Connect\\AdSyncConfig\\AdSyncConfig.psm1'")
	w("#   Set-ADSyncUnifiedGroupWritebackPermissions -ADConnectorAccountDN %s -ADobjectDN %s", psQuote(p.AccountDN), psQuote(p.OU))
	w("$ErrorActionPreference = 'Stop'")
	w("$account = %s", psQuote(p.Account))
	w("$ou      = %s", psQuote(p.OU))
	w("dsacls $ou /G \"${account}:CCDC;group\"")
	w("dsacls $ou /I:S /G \"${account}:GRGW;;group\"")
	w("dsacls $ou /I:S /G \"${account}:SDDT;;group\"")
	return b.String()
}
