package cloud

import (
	"context"
	"net/http"
	"net/url"
)

// Group is the part of Graph's group resource hybridsync writes and reads.
// Mail, ProxyAddresses and the onPremises* properties are read-only through
// Graph (group resource); CreateGroup leaves them out.
type Group struct {
	ID              string   `json:"id,omitempty"`
	DisplayName     string   `json:"displayName"`
	Description     string   `json:"description,omitempty"`
	MailEnabled     bool     `json:"mailEnabled"`
	MailNickname    string   `json:"mailNickname"`
	SecurityEnabled bool     `json:"securityEnabled"`
	GroupTypes      []string `json:"groupTypes,omitempty"`

	Mail                         string   `json:"mail,omitempty"`
	ProxyAddresses               []string `json:"proxyAddresses,omitempty"`
	OnPremisesSyncEnabled        *bool    `json:"onPremisesSyncEnabled,omitempty"`
	OnPremisesSecurityIdentifier string   `json:"onPremisesSecurityIdentifier,omitempty"`
	OnPremisesSamAccountName     string   `json:"onPremisesSamAccountName,omitempty"`
}

// GroupSelect is the $select groups are read with.
var GroupSelect = []string{"id", "displayName", "description", "mailEnabled", "mailNickname", "securityEnabled", "groupTypes",
	"mail", "proxyAddresses", "onPremisesSyncEnabled", "onPremisesSecurityIdentifier", "onPremisesSamAccountName"}

// CreateGroup creates a group (POST /groups). Graph creates security groups
// (securityEnabled, not mailEnabled) and Microsoft 365 groups (groupTypes
// ["Unified"], mailEnabled); mail-enabled security groups are refused.
func (c *Client) CreateGroup(ctx context.Context, g Group) (*Group, error) {
	in := g
	in.ID, in.Mail, in.ProxyAddresses, in.OnPremisesSyncEnabled, in.OnPremisesSecurityIdentifier, in.OnPremisesSamAccountName = "", "", nil, nil, "", ""
	var out Group
	if err := c.do(ctx, http.MethodPost, "groups", in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetGroup reads a group by id.
func (c *Client) GetGroup(ctx context.Context, id string) (*Group, error) {
	var out Group
	if err := c.do(ctx, http.MethodGet, withQuery("groups/"+url.PathEscape(id), GroupSelect, "", 0), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateGroup patches a group (PATCH /groups/{id}), the patch sent as given.
func (c *Client) UpdateGroup(ctx context.Context, id string, patch map[string]any) error {
	return c.do(ctx, http.MethodPatch, "groups/"+url.PathEscape(id), patch, nil)
}

// DeleteGroup deletes a group.
func (c *Client) DeleteGroup(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "groups/"+url.PathEscape(id), nil, nil)
}

// ListGroupsPages pages through GET /groups ($top=pageSize, 0: Graph's default).
func (c *Client) ListGroupsPages(ctx context.Context, pageSize int, fn func([]Group) error) error {
	return getPages(ctx, c, withQuery("groups", GroupSelect, "", pageSize), fn)
}

// ListGroups returns every group.
func (c *Client) ListGroups(ctx context.Context, pageSize int) ([]Group, error) {
	var all []Group
	err := c.ListGroupsPages(ctx, pageSize, func(p []Group) error {
		all = append(all, p...)
		return nil
	})
	return all, err
}

// FindGroups returns the groups matching an OData filter, e.g.
// "displayName eq "+Quote(name).
func (c *Client) FindGroups(ctx context.Context, filter string) ([]Group, error) {
	return getAll[Group](ctx, c, withQuery("groups", GroupSelect, filter, 0))
}

// AddGroupMemberRequest is the $batch request that adds a member
// (POST /groups/{id}/members/$ref {"@odata.id": "<graph>/directoryObjects/{id}"}).
func (c *Client) AddGroupMemberRequest(groupID, memberID string) BatchRequest {
	return BatchRequest{Method: http.MethodPost, URL: "/groups/" + url.PathEscape(groupID) + "/members/$ref",
		Body: map[string]string{"@odata.id": c.directoryObjectURL(memberID)}}
}

// RemoveGroupMemberRequest is the $batch request that removes a member
// (DELETE /groups/{id}/members/{memberId}/$ref).
func (c *Client) RemoveGroupMemberRequest(groupID, memberID string) BatchRequest {
	return BatchRequest{Method: http.MethodDelete, URL: "/groups/" + url.PathEscape(groupID) + "/members/" + url.PathEscape(memberID) + "/$ref"}
}

// AddGroupMember adds a user, group, contact or device to a group. Adding a
// member twice fails with IsAlreadyMember.
func (c *Client) AddGroupMember(ctx context.Context, groupID, memberID string) error {
	r := c.AddGroupMemberRequest(groupID, memberID)
	return c.do(ctx, r.Method, r.URL, r.Body, nil)
}

// RemoveGroupMember removes a direct member.
func (c *Client) RemoveGroupMember(ctx context.Context, groupID, memberID string) error {
	r := c.RemoveGroupMemberRequest(groupID, memberID)
	return c.do(ctx, r.Method, r.URL, nil, nil)
}

// GroupMembers lists a group's direct members (GET /groups/{id}/members).
func (c *Client) GroupMembers(ctx context.Context, groupID string) ([]DirectoryObject, error) {
	return getAll[DirectoryObject](ctx, c, "groups/"+url.PathEscape(groupID)+"/members")
}

// MemberOf lists the groups and directory roles a user is a direct member of
// (GET /users/{id}/memberOf).
func (c *Client) MemberOf(ctx context.Context, idOrUPN string) ([]DirectoryObject, error) {
	return getAll[DirectoryObject](ctx, c, "users/"+url.PathEscape(idOrUPN)+"/memberOf")
}
