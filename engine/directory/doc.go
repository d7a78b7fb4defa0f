// Package directory reads and prepares on-premises Active Directory forests
// for the wizard's directory pages, over LDAP (go-ldap, simple binds only).
//
// Connecting: Dial takes a Target (forest name, optional host[:port], LDAPS,
// StartTLS or — only when the admin chose it — plain LDAP, an optional CA) and
// a user typed as DOMAIN\user, domain.com\user or a UPN (ParseUser). Domain
// controllers are found through the _ldap._tcp.dc._msdcs.<forest> SRV records
// (Discover).
//
// Errors: every error a page shows is an *Error whose Msg is written for an
// administrator; the LDAP or TLS cause stays in Err (a detail, never the
// message). The kinds (ErrNoDC, ErrUnreachable, ErrTLS, ErrBadCredentials,
// ErrAccountRestricted, ErrStrongAuthRequired, …) are matched with errors.Is.
//
// Reading: Forest (domains, SIDs, UPN suffixes, Exchange schema), BoundUser
// and IsAdmin (tokenGroups), Children (the lazily loaded OU tree, Essential),
// FindGroups and DirectMemberCount (ranged member reads), SchemaAttributes
// and SampleValues, ConsistencyGuidInUse.
//
// Writing (TLS only, since passwords are sent): CreateConnectorAccount and
// Grant/CheckRights on the domain root's DACL, through the small
// security-descriptor codec in sd.go; EnsureSSOAccount for AZUREADSSOACC$.
//
// Writeback (writebackprep.go): DeviceWritebackReadiness and
// GroupWritebackReadiness say whether a forest can take device and group
// writeback (schema level, CN=RegisteredDevices and the Device Registration
// Service object, the OU, the connector account's rights);
// PrepareDeviceWriteback and PrepareGroupWriteback create and grant what is
// missing with one-time admin credentials, idempotently; the Commands
// functions give the PowerShell an admin runs instead.
//
// Invariants: no HTTP here; passwords are never logged or put in errors;
// nothing is written over a connection that is not encrypted.
package directory
