package tenant

import "net/http"

// directoryRoutes adds the Graph routes beyond organization, domains (read)
// and users. They serve $batch sub-requests too (batch.go runs them on
// graphMux).
func (t *Tenant) directoryRoutes(g *http.ServeMux) {
	g.HandleFunc("PATCH /v1.0/organization/{id}", t.handleUpdateOrganization)
	g.HandleFunc("GET /v1.0/directory/onPremisesSynchronization", t.handleGetDirSync)
	g.HandleFunc("GET /v1.0/directory/onPremisesSynchronization/{id}", t.handleGetDirSync)
	g.HandleFunc("PATCH /v1.0/directory/onPremisesSynchronization/{id}", t.handleUpdateDirSync)

	g.HandleFunc("POST /v1.0/domains", t.handleAddDomain)
	g.HandleFunc("GET /v1.0/domains/{id}/verificationDnsRecords", t.handleVerificationRecords)
	g.HandleFunc("POST /v1.0/domains/{id}/verify", t.handleVerifyDomain)

	g.HandleFunc("GET /v1.0/me", t.handleMe)
	g.HandleFunc("GET /v1.0/me/memberOf", t.handleMemberOf)
	g.HandleFunc("GET /v1.0/me/memberOf/{cast}", t.handleMemberOf)
	g.HandleFunc("GET /v1.0/users/{id}/memberOf", t.handleMemberOf)
	g.HandleFunc("GET /v1.0/users/{id}/memberOf/{cast}", t.handleMemberOf)

	g.HandleFunc("GET /v1.0/roleManagement/directory/roleAssignments", t.handleListRoleAssignments)
	g.HandleFunc("POST /v1.0/roleManagement/directory/roleAssignments", t.handleCreateRoleAssignment)

	g.HandleFunc("GET /v1.0/groups", t.handleListGroups)
	g.HandleFunc("POST /v1.0/groups", t.handleCreateGroup)
	g.HandleFunc("GET /v1.0/groups/{id}", t.handleGetGroup)
	g.HandleFunc("PATCH /v1.0/groups/{id}", t.handleUpdateGroup)
	g.HandleFunc("DELETE /v1.0/groups/{id}", t.handleDeleteGroup)
	g.HandleFunc("GET /v1.0/groups/{id}/members", t.handleListMembers)
	g.HandleFunc("POST /v1.0/groups/{id}/members/$ref", t.handleAddMember)
	g.HandleFunc("DELETE /v1.0/groups/{id}/members/{mid}/$ref", t.handleRemoveMember)

	g.HandleFunc("GET /v1.0/contacts", t.handleListContacts)
	g.HandleFunc("GET /v1.0/contacts/{id}", t.handleGetContact)
	g.HandleFunc("POST /v1.0/contacts", handleMethodNotAllowed)
	g.HandleFunc("PATCH /v1.0/contacts/{id}", handleMethodNotAllowed)
	g.HandleFunc("DELETE /v1.0/contacts/{id}", handleMethodNotAllowed)

	g.HandleFunc("GET /v1.0/applications", t.handleListApplications)
	g.HandleFunc("POST /v1.0/applications", t.handleCreateApplication)
	g.HandleFunc("GET /v1.0/applications/{id}", t.handleGetApplication)
	g.HandleFunc("GET /v1.0/applications/{id}/extensionProperties", t.handleListExtensionProperties)
	g.HandleFunc("POST /v1.0/applications/{id}/extensionProperties", t.handleCreateExtensionProperty)
	g.HandleFunc("GET /v1.0/servicePrincipals", t.handleListServicePrincipals)
	g.HandleFunc("POST /v1.0/servicePrincipals", t.handleCreateServicePrincipal)

	g.HandleFunc("GET /v1.0/devices", t.handleListDevices)
	g.HandleFunc("POST /v1.0/devices", t.handleCreateDevice)
	g.HandleFunc("GET /v1.0/devices/{id}", t.handleGetDevice)
	g.HandleFunc("PATCH /v1.0/devices/{id}", t.handleUpdateDevice)
	g.HandleFunc("DELETE /v1.0/devices/{id}", t.handleDeleteDevice)
}
