package tenant

import (
	"crypto/sha256"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
)

// More role template ids (learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference).
const (
	RolePrivilegedRoleAdministrator = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	RoleGlobalReader                = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
	RoleDomainNameAdministrator     = "8329153b-31d0-4727-b945-745eb3bc5f31"
	RoleGroupsAdministrator         = "fdd7a751-b60b-444a-984c-02652fe8fa1c"
	RoleIntuneAdministrator         = "3a2c62db-5318-420d-8d74-23affee5d9d5"
	RoleCloudDeviceAdministrator    = "7698a772-787b-4ac8-901f-60d6b08affd2"
)

// roleNames are the display names (and descriptions, shortened) of the
// directory roles the emulator knows; a directoryRole object is "activated"
// for every template somebody holds.
var roleNames = map[string]string{
	RoleGlobalAdministrator:                   "Global Administrator",
	RoleHybridIdentityAdministrator:           "Hybrid Identity Administrator",
	RoleUserAdministrator:                     "User Administrator",
	RoleDirectorySynchronizationAcct:          "Directory Synchronization Accounts",
	RolePrivilegedRoleAdministrator:           "Privileged Role Administrator",
	RoleGlobalReader:                          "Global Reader",
	RoleDomainNameAdministrator:               "Domain Name Administrator",
	RoleGroupsAdministrator:                   "Groups Administrator",
	RoleIntuneAdministrator:                   "Intune Administrator",
	RoleCloudDeviceAdministrator:              "Cloud Device Administrator",
	RoleExternalIdentityProviderAdministrator: "External Identity Provider Administrator",
	RoleSecurityAdministrator:                 "Security Administrator",
}

// permission is what one kind of call needs: one of the application
// permissions (app-only tokens) or one of the directory roles (delegated
// tokens: the token's wids plus the roles the user holds now, since Graph
// evaluates roles in the directory, not from the token).
type permission struct {
	app   []string
	roles []string
}

// The permission table. Sources: each API's "Permissions" section on
// learn.microsoft.com/graph/api/...; where the docs name only Global
// Administrator for a call that Entra Connect makes with a Hybrid Identity
// Administrator or the Directory Synchronization Accounts role, the emulator
// also lets those roles through and says so here.
var (
	// user create/update/delete (user-post-users: User.ReadWrite.All;
	// User Administrator). Hybrid Identity Administrator and Directory
	// Synchronization Accounts are let through because the sync engine
	// writes users with them.
	permUsers = permission{
		app:   []string{"Directory.ReadWrite.All", "User.ReadWrite.All"},
		roles: []string{RoleGlobalAdministrator, RoleHybridIdentityAdministrator, RoleUserAdministrator, RoleDirectorySynchronizationAcct},
	}
	// groups and their members (group-post-groups, group-post-members:
	// Group.ReadWrite.All / GroupMember.ReadWrite.All; Groups Administrator).
	permGroups = permission{
		app:   []string{"Directory.ReadWrite.All", "Group.ReadWrite.All", "GroupMember.ReadWrite.All"},
		roles: []string{RoleGlobalAdministrator, RoleHybridIdentityAdministrator, RoleUserAdministrator, RoleGroupsAdministrator, RoleDirectorySynchronizationAcct},
	}
	// devices (device-post-devices: Global Administrator, Intune
	// Administrator; Cloud Device Administrator may delete). Directory
	// Synchronization Accounts: the sync engine writes devices.
	// Guess: Directory Synchronization Accounts and application permissions may write devices.
	permDevices = permission{
		app:   []string{"Directory.ReadWrite.All", "Device.ReadWrite.All"},
		roles: []string{RoleGlobalAdministrator, RoleIntuneAdministrator, RoleCloudDeviceAdministrator, RoleDirectorySynchronizationAcct},
	}
	// domains (domain-post-domains, domain-verify: Domain.ReadWrite.All;
	// Domain Name Administrator). Hybrid Identity Administrator is let
	// through: the Entra Connect wizard's admin adds UPN suffixes.
	permDomains = permission{
		app:   []string{"Directory.ReadWrite.All", "Domain.ReadWrite.All"},
		roles: []string{RoleGlobalAdministrator, RoleDomainNameAdministrator, RoleHybridIdentityAdministrator},
	}
	// role assignments (rbacapplication-post-roleassignments:
	// RoleManagement.ReadWrite.Directory; Privileged Role Administrator is
	// the least privileged role). Hybrid Identity Administrator is let
	// through (the project's choice: the wizard's admin assigns the
	// Directory Synchronization Accounts role to the connector account, as
	// Entra Connect does through its own API). Directory Synchronization
	// Accounts may not.
	permRoles = permission{
		app:   []string{"RoleManagement.ReadWrite.Directory"},
		roles: []string{RoleGlobalAdministrator, RolePrivilegedRoleAdministrator, RoleHybridIdentityAdministrator},
	}
	// PATCH /organization/{id} {onPremisesSyncEnabled} — Microsoft's
	// "Turn off directory synchronization" article connects "With Hybrid
	// Identity Administrator Account" (learn.microsoft.com/office365/enterprise/turn-off-directory-synchronization).
	permOrganization = permission{
		app:   []string{"Organization.ReadWrite.All", "Directory.ReadWrite.All"},
		roles: []string{RoleGlobalAdministrator, RoleHybridIdentityAdministrator},
	}
	// onPremisesDirectorySynchronization: get and update are Global
	// Administrator only, and application permissions are not supported
	// ("Global Administrator is the only role supported for this
	// operation", onpremisesdirectorysynchronization-get and -update).
	permDirSyncRead = permission{
		roles: []string{RoleGlobalAdministrator},
	}
	permDirSyncWrite = permission{
		roles: []string{RoleGlobalAdministrator},
	}
)

// rolesOfLocked are the directory role template ids a user holds: seeded and
// assigned. Caller holds t.mu.
func (t *Tenant) rolesOfLocked(userID string) []string {
	var out []string
	if u := t.users[userID]; u != nil {
		out = append(out, u.Roles...)
	}
	for _, a := range t.assignments {
		if a.PrincipalID == userID && !slices.Contains(out, a.RoleDefinitionID) {
			out = append(out, a.RoleDefinitionID)
		}
	}
	return out
}

// allowedLocked reports whether the caller has perm. Caller holds t.mu.
func (t *Tenant) allowedLocked(p principal, perm permission) bool {
	for _, r := range p.Roles {
		if slices.Contains(perm.app, r) {
			return true
		}
	}
	held := append(slices.Clone(p.WIDs), t.rolesOfLocked(strings.ToLower(p.OID))...)
	for _, w := range held {
		if slices.Contains(perm.roles, w) {
			return true
		}
	}
	return false
}

func denied(r *http.Request) *graphError {
	return newGraphError(r, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.", nil)
}

// authorizeRead checks a read that needs more than a valid token.
func (t *Tenant) authorizeRead(r *http.Request, perm permission) *graphError {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.allowedLocked(principalFrom(r), perm) {
		return denied(r)
	}
	return nil
}

// authorizeWrite checks the caller may make a write needing perm and spends
// one unit of its app's write budget; over budget it answers Graph's 429
// with Retry-After (learn.microsoft.com/graph/throttling).
func (t *Tenant) authorizeWrite(r *http.Request, perm permission) *graphError {
	p := principalFrom(r)
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.allowedLocked(p, perm) {
		return denied(r)
	}
	b := t.writes[p.AppID]
	if b == nil || now.Sub(b.start) >= t.window {
		b = &bucket{start: now}
		t.writes[p.AppID] = b
	}
	if b.count >= t.budget {
		wait := b.start.Add(t.window).Sub(now)
		e := newGraphError(r, http.StatusTooManyRequests, "TooManyRequests", "Please retry again later.", nil)
		e.InnerError.Code = "429"
		e.InnerError.Message = "Please retry after"
		e.InnerError.Status = "429"
		e.retryAfter = max(1, int(math.Ceil(wait.Seconds())))
		return e
	}
	b.count++
	return nil
}

// ---- role assignments -----------------------------------------------------------

// roleAssignment is a unifiedRoleAssignment at directory scope.
type roleAssignment struct {
	ID               string
	Seq              int64
	PrincipalID      string
	RoleDefinitionID string
	DirectoryScopeID string
}

func (a *roleAssignment) json() map[string]any {
	return map[string]any{
		"id":               a.ID,
		"principalId":      a.PrincipalID,
		"roleDefinitionId": a.RoleDefinitionID,
		"directoryScopeId": a.DirectoryScopeID,
	}
}

// directoryRoleID is the id of the activated directoryRole object for a
// template: stable per tenant, distinct from the template id as in Graph.
func (t *Tenant) directoryRoleID(template string) string {
	sum := sha256.Sum256([]byte(t.tenantID + "/" + template))
	sum[6] = sum[6]&0x0f | 0x40
	sum[8] = sum[8]&0x3f | 0x80
	h := fmt.Sprintf("%x", sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func (t *Tenant) directoryRoleJSON(template string) map[string]any {
	name := roleNames[template]
	if name == "" {
		name = template
	}
	return map[string]any{
		"@odata.type":     "#microsoft.graph.directoryRole",
		"id":              t.directoryRoleID(template),
		"deletedDateTime": nil,
		"description":     "Can manage " + name + " tasks.", // shortened; Graph carries the role's long description
		"displayName":     name,
		"roleTemplateId":  template,
	}
}

// handleCreateRoleAssignment: POST /roleManagement/directory/roleAssignments
// (rbacapplication-post-roleassignments): 201 with the assignment.
func (t *Tenant) handleCreateRoleAssignment(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeWrite(r, permRoles); e != nil {
		writeGErr(w, e)
		return
	}
	var in struct {
		PrincipalID      string `json:"principalId"`
		RoleDefinitionID string `json:"roleDefinitionId"`
		DirectoryScopeID string `json:"directoryScopeId"`
	}
	if _, e := decodeBody(r, nil, &in); e != nil {
		writeGErr(w, e)
		return
	}
	switch {
	case in.PrincipalID == "":
		writeGErr(w, badValue(r, "principalId", "Invalid value specified for property 'principalId' of resource 'UnifiedRoleAssignment'."))
		return
	case in.RoleDefinitionID == "":
		writeGErr(w, badValue(r, "roleDefinitionId", "Invalid value specified for property 'roleDefinitionId' of resource 'UnifiedRoleAssignment'."))
		return
	case in.DirectoryScopeID == "":
		// The emulator only knows the tenant-wide scope "/".
		writeGErr(w, badValue(r, "directoryScopeId", "Invalid value specified for property 'directoryScopeId' of resource 'UnifiedRoleAssignment'."))
		return
	}
	tmpl := strings.ToLower(in.RoleDefinitionID)
	pid := strings.ToLower(in.PrincipalID)
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := roleNames[tmpl]; !ok {
		writeGErr(w, notFound(r, in.RoleDefinitionID))
		return
	}
	if t.users[pid] == nil && t.groups[pid] == nil {
		writeGErr(w, notFound(r, in.PrincipalID))
		return
	}
	if (t.users[pid] != nil && slices.Contains(t.users[pid].Roles, tmpl)) || slices.ContainsFunc(t.assignments, func(a *roleAssignment) bool {
		return a.PrincipalID == pid && a.RoleDefinitionID == tmpl && a.DirectoryScopeID == in.DirectoryScopeID
	}) {
		// Observed for duplicate directory objects (pnp/cli-microsoft365
		// tests, Entra cross-tenant sync troubleshooting).
		// Guess: a duplicate role assignment gets the directory's generic conflict.
		msg := "A conflicting object with one or more of the specified property values is present in the directory."
		writeGErr(w, newGraphError(r, http.StatusBadRequest, "Request_BadRequest", msg, []errorDetail{{Code: "ConflictingObjects", Message: msg}}))
		return
	}
	t.seq++
	a := &roleAssignment{ID: roleAssignmentID(tmpl, pid), Seq: t.seq, PrincipalID: pid, RoleDefinitionID: tmpl, DirectoryScopeID: in.DirectoryScopeID}
	t.assignments = append(t.assignments, a)
	t.changedLocked()
	m := a.json()
	m["@odata.context"] = baseURL(r) + "/v1.0/$metadata#roleManagement/directory/roleAssignments/$entity"
	w.Header().Set("Location", baseURL(r)+"/v1.0/roleManagement/directory/roleAssignments/"+a.ID)
	writeJSON(w, http.StatusCreated, m)
}

// roleAssignmentID is the id of a tenant-wide assignment of a role to a
// principal: Graph's are base64url text of 43 characters and a "-1"
// suffix (e.g. "lAPpYvVpN0KRkAEhdxReEJC2sEqbR_9Hr48lds9SGHI-1" in
// rbacapplication-post-roleassignments); they decode to the role
// definition's GUID bytes followed by the principal's; what matters here
// is that the id is unique per role, principal and scope, as only one such
// assignment can
// exist.
func roleAssignmentID(roleDefinitionID, principalID string) string {
	return b64(append(guidBytes(roleDefinitionID), guidBytes(principalID)...)) + "-1"
}

// handleListRoleAssignments: GET /roleManagement/directory/roleAssignments
// with $filter on principalId / roleDefinitionId / directoryScopeId.
// Seeded roles appear as assignments too (ids derived from user and role).
func (t *Tenant) handleListRoleAssignments(w http.ResponseWriter, r *http.Request) {
	f, e := filterOf(r, "UnifiedRoleAssignment", []string{"principalId", "roleDefinitionId", "directoryScopeId", "id"})
	if e != nil {
		writeGErr(w, e)
		return
	}
	t.mu.Lock()
	var items []pageItem
	add := func(a *roleAssignment) {
		m := a.json()
		if f.match(func(p string) []string { return []string{fmt.Sprint(m[propKey(m, p)])} }) {
			items = append(items, pageItem{seq: a.Seq, body: m})
		}
	}
	for _, u := range t.users {
		for i, role := range u.Roles {
			add(&roleAssignment{ID: roleAssignmentID(role, u.ID), Seq: u.Seq*100 + 1 + int64(i), PrincipalID: u.ID, RoleDefinitionID: role, DirectoryScopeID: "/"})
		}
	}
	for _, a := range t.assignments {
		aa := *a
		aa.Seq = a.Seq * 100
		add(&aa)
	}
	t.mu.Unlock()
	servePage(w, r, "roleManagement/directory/roleAssignments", items)
}

// propKey finds m's key for a property named case-insensitively.
func propKey(m map[string]any, p string) string {
	for k := range m {
		if strings.EqualFold(k, p) {
			return k
		}
	}
	return p
}
