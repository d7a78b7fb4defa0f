package tenant

import "net/http"

// graphRoute is one Graph v1.0 route: its pattern, the metadata type it
// serves (graphmeta; typed checks its query options and writes against
// it), and its handler. Only $batch and the $ref routes name no type: they
// take no query options and their bodies are references. A new route names
// its type here, and so is as strict as the others from the start
// (TestEveryGraphRouteIsTyped).
type graphRoute struct {
	pattern string
	typ     string
	handle  func(*Tenant, http.ResponseWriter, *http.Request)
}

// graphRoutes are all of the emulator's Graph routes; $batch sub-requests
// run on them too (batch.go).
func graphRoutes() []graphRoute {
	return []graphRoute{
		{"GET /v1.0/organization", "organization", (*Tenant).handleOrganization},
		{"GET /v1.0/domains", "domain", (*Tenant).handleDomains},
		{"GET /v1.0/domains/{id}", "domain", (*Tenant).handleDomain},
		{"PATCH /v1.0/domains/{id}", "domain", (*Tenant).handleUpdateDomain},
		{"GET /v1.0/domains/{id}/federationConfiguration", "internalDomainFederation", (*Tenant).handleListFederation},
		{"POST /v1.0/domains/{id}/federationConfiguration", "internalDomainFederation", (*Tenant).handleCreateFederation},
		{"GET /v1.0/domains/{id}/federationConfiguration/{fid}", "internalDomainFederation", (*Tenant).handleGetFederation},
		{"PATCH /v1.0/domains/{id}/federationConfiguration/{fid}", "internalDomainFederation", (*Tenant).handleUpdateFederation},
		{"DELETE /v1.0/domains/{id}/federationConfiguration/{fid}", "internalDomainFederation", (*Tenant).handleDeleteFederation},
		{"GET /v1.0/users", "user", (*Tenant).handleListUsers},
		{"POST /v1.0/users", "user", (*Tenant).handleCreateUser},
		{"GET /v1.0/users/{id}", "user", (*Tenant).handleGetUser},
		{"GET /v1.0/users/$count", "user", func(t *Tenant, w http.ResponseWriter, r *http.Request) {
			serveCount(t, w, r, "User", userFilterProps, t.users)
		}},
		{"PATCH /v1.0/users/{id}", "user", (*Tenant).handleUpdateUser},
		{"DELETE /v1.0/users/{id}", "user", (*Tenant).handleDeleteUser},
		{"POST /v1.0/$batch", "", (*Tenant).handleBatch},
		{"PATCH /v1.0/organization/{id}", "organization", (*Tenant).handleUpdateOrganization},
		{"GET /v1.0/directory/onPremisesSynchronization", "onPremisesDirectorySynchronization", (*Tenant).handleGetDirSync},
		{"GET /v1.0/directory/onPremisesSynchronization/{id}", "onPremisesDirectorySynchronization", (*Tenant).handleGetDirSync},
		{"PATCH /v1.0/directory/onPremisesSynchronization/{id}", "onPremisesDirectorySynchronization", (*Tenant).handleUpdateDirSync},
		{"POST /v1.0/domains", "domain", (*Tenant).handleAddDomain},
		{"GET /v1.0/domains/{id}/verificationDnsRecords", "domainDnsRecord", (*Tenant).handleVerificationRecords},
		{"POST /v1.0/domains/{id}/verify", "domain", (*Tenant).handleVerifyDomain},
		{"GET /v1.0/me", "user", (*Tenant).handleMe},
		{"GET /v1.0/me/memberOf", "directoryObject", (*Tenant).handleMemberOf},
		{"GET /v1.0/me/memberOf/{cast}", "directoryObject", (*Tenant).handleMemberOf},
		{"GET /v1.0/users/{id}/memberOf", "directoryObject", (*Tenant).handleMemberOf},
		{"GET /v1.0/users/{id}/memberOf/{cast}", "directoryObject", (*Tenant).handleMemberOf},
		{"GET /v1.0/roleManagement/directory/roleAssignments", "unifiedRoleAssignment", (*Tenant).handleListRoleAssignments},
		{"POST /v1.0/roleManagement/directory/roleAssignments", "unifiedRoleAssignment", (*Tenant).handleCreateRoleAssignment},
		{"GET /v1.0/groups", "group", (*Tenant).handleListGroups},
		{"POST /v1.0/groups", "group", (*Tenant).handleCreateGroup},
		{"GET /v1.0/groups/{id}", "group", (*Tenant).handleGetGroup},
		{"GET /v1.0/groups/$count", "group", func(t *Tenant, w http.ResponseWriter, r *http.Request) {
			serveCount(t, w, r, "Group", groupFilterProps, t.groups)
		}},
		{"PATCH /v1.0/groups/{id}", "group", (*Tenant).handleUpdateGroup},
		{"DELETE /v1.0/groups/{id}", "group", (*Tenant).handleDeleteGroup},
		{"GET /v1.0/groups/{id}/members", "directoryObject", (*Tenant).handleListMembers},
		{"GET /v1.0/groups/{id}/owners", "directoryObject", (*Tenant).handleListOwners},
		// delta is a function bound to the collection: /delta, /delta() and
		// the fully qualified /microsoft.graph.delta (delta-query-overview).
		{"GET /v1.0/groups/delta", "group", (*Tenant).handleGroupsDelta},
		{"GET /v1.0/groups/delta()", "group", (*Tenant).handleGroupsDelta},
		{"GET /v1.0/groups/microsoft.graph.delta", "group", (*Tenant).handleGroupsDelta},
		{"GET /v1.0/groups/microsoft.graph.delta()", "group", (*Tenant).handleGroupsDelta},
		{"POST /v1.0/groups/{id}/members/$ref", "", (*Tenant).handleAddMember},
		{"DELETE /v1.0/groups/{id}/members/{mid}/$ref", "", (*Tenant).handleRemoveMember},
		{"GET /v1.0/contacts", "orgContact", (*Tenant).handleListContacts},
		{"GET /v1.0/contacts/{id}", "orgContact", (*Tenant).handleGetContact},
		{"GET /v1.0/contacts/$count", "orgContact", func(t *Tenant, w http.ResponseWriter, r *http.Request) {
			serveCount(t, w, r, "OrgContact", contactFilterProps, t.contacts)
		}},
		{"POST /v1.0/contacts", "orgContact", func(_ *Tenant, w http.ResponseWriter, r *http.Request) { handleMethodNotAllowed(w, r) }},
		{"PATCH /v1.0/contacts/{id}", "orgContact", func(_ *Tenant, w http.ResponseWriter, r *http.Request) { handleMethodNotAllowed(w, r) }},
		{"DELETE /v1.0/contacts/{id}", "orgContact", func(_ *Tenant, w http.ResponseWriter, r *http.Request) { handleMethodNotAllowed(w, r) }},
		{"GET /v1.0/applications", "application", (*Tenant).handleListApplications},
		{"POST /v1.0/applications", "application", (*Tenant).handleCreateApplication},
		{"GET /v1.0/applications/{id}", "application", (*Tenant).handleGetApplication},
		{"GET /v1.0/applications/{id}/extensionProperties", "extensionProperty", (*Tenant).handleListExtensionProperties},
		{"POST /v1.0/applications/{id}/extensionProperties", "extensionProperty", (*Tenant).handleCreateExtensionProperty},
		{"GET /v1.0/servicePrincipals", "servicePrincipal", (*Tenant).handleListServicePrincipals},
		{"POST /v1.0/servicePrincipals", "servicePrincipal", (*Tenant).handleCreateServicePrincipal},
		{"GET /v1.0/devices", "device", (*Tenant).handleListDevices},
		{"POST /v1.0/devices", "device", (*Tenant).handleCreateDevice},
		{"GET /v1.0/devices/{id}", "device", (*Tenant).handleGetDevice},
		{"GET /v1.0/devices/$count", "device", func(t *Tenant, w http.ResponseWriter, r *http.Request) {
			serveCount(t, w, r, "Device", deviceFilterProps, t.devices)
		}},
		{"PATCH /v1.0/devices/{id}", "device", (*Tenant).handleUpdateDevice},
		{"DELETE /v1.0/devices/{id}", "device", (*Tenant).handleDeleteDevice},
		{"GET /v1.0/devices/delta", "device", (*Tenant).handleDevicesDelta},
		{"GET /v1.0/devices/delta()", "device", (*Tenant).handleDevicesDelta},
		{"GET /v1.0/devices/microsoft.graph.delta", "device", (*Tenant).handleDevicesDelta},
		{"GET /v1.0/devices/microsoft.graph.delta()", "device", (*Tenant).handleDevicesDelta},
		{"GET /v1.0/devices/{id}/registeredOwners", "directoryObject", (*Tenant).handleListRegisteredOwners},
		{"POST /v1.0/devices/{id}/registeredOwners/$ref", "", (*Tenant).handleAddRegisteredOwner},
		{"DELETE /v1.0/devices/{id}/registeredOwners/{oid}/$ref", "", (*Tenant).handleRemoveRegisteredOwner},
	}
}
