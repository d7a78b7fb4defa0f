package tenant

import "net/http"

// directoryRoutes adds the Graph routes beyond organization, domains (read)
// and users. They serve $batch sub-requests too (batch.go runs them on
// graphMux).
func (t *Tenant) directoryRoutes(g *http.ServeMux) {
	g.HandleFunc("PATCH /v1.0/organization/{id}", t.typed("organization", t.handleUpdateOrganization))
	g.HandleFunc("GET /v1.0/directory/onPremisesSynchronization", t.typed("onPremisesDirectorySynchronization", t.handleGetDirSync))
	g.HandleFunc("GET /v1.0/directory/onPremisesSynchronization/{id}", t.typed("onPremisesDirectorySynchronization", t.handleGetDirSync))
	g.HandleFunc("PATCH /v1.0/directory/onPremisesSynchronization/{id}", t.typed("onPremisesDirectorySynchronization", t.handleUpdateDirSync))

	g.HandleFunc("POST /v1.0/domains", t.typed("domain", t.handleAddDomain))
	g.HandleFunc("GET /v1.0/domains/{id}/verificationDnsRecords", t.typed("domainDnsRecord", t.handleVerificationRecords))
	g.HandleFunc("POST /v1.0/domains/{id}/verify", t.typed("domain", t.handleVerifyDomain))

	g.HandleFunc("GET /v1.0/me", t.typed("user", t.handleMe))
	g.HandleFunc("GET /v1.0/me/memberOf", t.typed("directoryObject", t.handleMemberOf))
	g.HandleFunc("GET /v1.0/me/memberOf/{cast}", t.typed("directoryObject", t.handleMemberOf))
	g.HandleFunc("GET /v1.0/users/{id}/memberOf", t.typed("directoryObject", t.handleMemberOf))
	g.HandleFunc("GET /v1.0/users/{id}/memberOf/{cast}", t.typed("directoryObject", t.handleMemberOf))

	g.HandleFunc("GET /v1.0/roleManagement/directory/roleAssignments", t.typed("unifiedRoleAssignment", t.handleListRoleAssignments))
	g.HandleFunc("POST /v1.0/roleManagement/directory/roleAssignments", t.typed("unifiedRoleAssignment", t.handleCreateRoleAssignment))

	g.HandleFunc("GET /v1.0/groups", t.typed("group", t.handleListGroups))
	g.HandleFunc("POST /v1.0/groups", t.typed("group", t.handleCreateGroup))
	g.HandleFunc("GET /v1.0/groups/{id}", t.typed("group", t.handleGetGroup))
	g.HandleFunc("PATCH /v1.0/groups/{id}", t.typed("group", t.handleUpdateGroup))
	g.HandleFunc("DELETE /v1.0/groups/{id}", t.typed("group", t.handleDeleteGroup))
	g.HandleFunc("GET /v1.0/groups/{id}/members", t.typed("directoryObject", t.handleListMembers))
	g.HandleFunc("POST /v1.0/groups/{id}/members/$ref", t.handleAddMember)
	g.HandleFunc("DELETE /v1.0/groups/{id}/members/{mid}/$ref", t.handleRemoveMember)

	g.HandleFunc("GET /v1.0/contacts", t.typed("orgContact", t.handleListContacts))
	g.HandleFunc("GET /v1.0/contacts/{id}", t.typed("orgContact", t.handleGetContact))
	g.HandleFunc("POST /v1.0/contacts", t.typed("orgContact", handleMethodNotAllowed))
	g.HandleFunc("PATCH /v1.0/contacts/{id}", t.typed("orgContact", handleMethodNotAllowed))
	g.HandleFunc("DELETE /v1.0/contacts/{id}", t.typed("orgContact", handleMethodNotAllowed))

	g.HandleFunc("GET /v1.0/applications", t.typed("application", t.handleListApplications))
	g.HandleFunc("POST /v1.0/applications", t.typed("application", t.handleCreateApplication))
	g.HandleFunc("GET /v1.0/applications/{id}", t.typed("application", t.handleGetApplication))
	g.HandleFunc("GET /v1.0/applications/{id}/extensionProperties", t.typed("extensionProperty", t.handleListExtensionProperties))
	g.HandleFunc("POST /v1.0/applications/{id}/extensionProperties", t.typed("extensionProperty", t.handleCreateExtensionProperty))
	g.HandleFunc("GET /v1.0/servicePrincipals", t.typed("servicePrincipal", t.handleListServicePrincipals))
	g.HandleFunc("POST /v1.0/servicePrincipals", t.typed("servicePrincipal", t.handleCreateServicePrincipal))

	g.HandleFunc("GET /v1.0/devices", t.typed("device", t.handleListDevices))
	g.HandleFunc("POST /v1.0/devices", t.typed("device", t.handleCreateDevice))
	g.HandleFunc("GET /v1.0/devices/{id}", t.typed("device", t.handleGetDevice))
	g.HandleFunc("PATCH /v1.0/devices/{id}", t.typed("device", t.handleUpdateDevice))
	g.HandleFunc("DELETE /v1.0/devices/{id}", t.typed("device", t.handleDeleteDevice))
}
