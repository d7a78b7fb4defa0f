package cloud

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// User is the part of Graph's user resource hybridsync writes and reads.
// ProxyAddresses is read-only in Graph v1.0 (a write is refused, IsReadOnly):
// setting Mail adds the SMTP address to it in the cloud.
type User struct {
	ID                    string           `json:"id,omitempty"`
	AccountEnabled        *bool            `json:"accountEnabled,omitempty"`
	DisplayName           string           `json:"displayName,omitempty"`
	GivenName             string           `json:"givenName,omitempty"`
	Surname               string           `json:"surname,omitempty"`
	Mail                  string           `json:"mail,omitempty"`
	MailNickname          string           `json:"mailNickname,omitempty"`
	UserPrincipalName     string           `json:"userPrincipalName,omitempty"`
	OnPremisesImmutableID string           `json:"onPremisesImmutableId,omitempty"`
	ProxyAddresses        []string         `json:"proxyAddresses,omitempty"`
	UsageLocation         string           `json:"usageLocation,omitempty"`
	JobTitle              string           `json:"jobTitle,omitempty"`
	Department            string           `json:"department,omitempty"`
	PasswordProfile       *PasswordProfile `json:"passwordProfile,omitempty"`
}

// PasswordProfile is required when creating a cloud-authenticated user.
type PasswordProfile struct {
	Password                      string `json:"password"`
	ForceChangePasswordNextSignIn bool   `json:"forceChangePasswordNextSignIn"`
}

// UserSelect is the $select hybridsync reads users with: Graph returns only
// a default subset (no onPremisesImmutableId, no proxyAddresses) without it.
var UserSelect = []string{"id", "accountEnabled", "displayName", "givenName", "surname", "mail", "mailNickname",
	"userPrincipalName", "onPremisesImmutableId", "proxyAddresses", "usageLocation", "jobTitle", "department"}

// Bool returns a pointer to b (for User.AccountEnabled).
func Bool(b bool) *bool { return &b }

// CreateUser creates a user (POST /users) and returns it as created.
func (c *Client) CreateUser(ctx context.Context, u User) (*User, error) {
	var out User
	if err := c.do(ctx, http.MethodPost, "users", u, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetUser reads a user by id or userPrincipalName.
func (c *Client) GetUser(ctx context.Context, idOrUPN string) (*User, error) {
	var out User
	if err := c.do(ctx, http.MethodGet, "users/"+url.PathEscape(idOrUPN)+"?$select="+strings.Join(UserSelect, ","), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateUser patches a user (PATCH /users/{id}). The patch is sent as given,
// so a property can be cleared with a nil value.
func (c *Client) UpdateUser(ctx context.Context, idOrUPN string, patch map[string]any) error {
	return c.do(ctx, http.MethodPatch, "users/"+url.PathEscape(idOrUPN), patch, nil)
}

// DeleteUser deletes a user (it goes to the tenant's deleted items).
func (c *Client) DeleteUser(ctx context.Context, idOrUPN string) error {
	return c.do(ctx, http.MethodDelete, "users/"+url.PathEscape(idOrUPN), nil, nil)
}

// ListUsersPages pages through GET /users with $top=pageSize (0: Graph's
// default) following @odata.nextLink, calling fn for each page.
func (c *Client) ListUsersPages(ctx context.Context, pageSize int, fn func([]User) error) error {
	return getPages(ctx, c, withQuery("users", UserSelect, "", pageSize), fn)
}

// ListUsers returns every user.
func (c *Client) ListUsers(ctx context.Context, pageSize int) ([]User, error) {
	var all []User
	err := c.ListUsersPages(ctx, pageSize, func(p []User) error {
		all = append(all, p...)
		return nil
	})
	return all, err
}

// FindUsers returns the users matching an OData filter, e.g.
// "startswith(userPrincipalName,'sync_')" or
// "userPrincipalName eq "+Quote(upn). Build literals with Quote.
func (c *Client) FindUsers(ctx context.Context, filter string) ([]User, error) {
	return getAll[User](ctx, c, withQuery("users", UserSelect, filter, 0))
}

// Me reads the signed-in user (GET /me); it needs a delegated token: with an
// app-only token Graph answers 400 "/me request is only valid with delegated
// authentication flow.".
func (c *Client) Me(ctx context.Context) (*User, error) {
	var out User
	if err := c.do(ctx, http.MethodGet, withQuery("me", UserSelect, "", 0), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
