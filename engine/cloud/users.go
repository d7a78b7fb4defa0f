package cloud

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// User is the part of Graph's user resource hybridsync writes and reads.
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
	next := "users?$select=" + strings.Join(UserSelect, ",")
	if pageSize > 0 {
		next += "&$top=" + strconv.Itoa(pageSize)
	}
	for next != "" {
		var page struct {
			Value    []User `json:"value"`
			NextLink string `json:"@odata.nextLink"`
		}
		if err := c.do(ctx, http.MethodGet, next, nil, &page); err != nil {
			return err
		}
		if err := fn(page.Value); err != nil {
			return err
		}
		next = page.NextLink
	}
	return nil
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
