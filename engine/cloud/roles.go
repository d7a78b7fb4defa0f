package cloud

import (
	"context"
	"net/http"
)

// Directory role template ids (learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference).
const (
	RoleGlobalAdministrator              = "62e90394-69f5-4237-9190-012177145e10"
	RoleHybridIdentityAdministrator      = "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2"
	RolePrivilegedRoleAdministrator      = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	RoleUserAdministrator                = "fe930be7-5e62-47db-91af-98c3a49a38b1"
	RoleGlobalReader                     = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
	RoleDirectorySynchronizationAccounts = "d29b2b05-8046-44ba-8758-1e26182fcf32"
)

// DirectoryRole is an activated directory role (directoryRole resource).
type DirectoryRole struct {
	ID             string `json:"id"`
	DisplayName    string `json:"displayName"`
	RoleTemplateID string `json:"roleTemplateId"`
}

// MyDirectoryRoles lists the signed-in user's directory roles
// (GET /me/memberOf/microsoft.graph.directoryRole); delegated tokens only.
func (c *Client) MyDirectoryRoles(ctx context.Context) ([]DirectoryRole, error) {
	return getAll[DirectoryRole](ctx, c, "me/memberOf/microsoft.graph.directoryRole")
}

// HasRole reports whether roles holds the role template id.
func HasRole(roles []DirectoryRole, templateID string) bool {
	for _, r := range roles {
		if r.RoleTemplateID == templateID {
			return true
		}
	}
	return false
}

// RoleAssignment is a unifiedRoleAssignment of the directory provider.
type RoleAssignment struct {
	ID               string `json:"id,omitempty"`
	PrincipalID      string `json:"principalId"`
	RoleDefinitionID string `json:"roleDefinitionId"`
	DirectoryScopeID string `json:"directoryScopeId"`
}

// AssignDirectoryRole assigns a directory role tenant-wide
// (POST /roleManagement/directory/roleAssignments, directoryScopeId "/").
// For built-in roles the role definition id is the template id. The caller
// needs Privileged Role Administrator or Global Administrator (the emulator
// also lets a Hybrid Identity Administrator through).
func (c *Client) AssignDirectoryRole(ctx context.Context, principalID, roleTemplateID string) (*RoleAssignment, error) {
	var out RoleAssignment
	in := RoleAssignment{PrincipalID: principalID, RoleDefinitionID: roleTemplateID, DirectoryScopeID: "/"}
	if err := c.do(ctx, http.MethodPost, "roleManagement/directory/roleAssignments", in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RoleAssignments lists a principal's directory role assignments
// (GET /roleManagement/directory/roleAssignments?$filter=principalId eq '…').
func (c *Client) RoleAssignments(ctx context.Context, principalID string) ([]RoleAssignment, error) {
	return getAll[RoleAssignment](ctx, c, withQuery("roleManagement/directory/roleAssignments", nil, "principalId eq "+Quote(principalID), 0))
}
