package cloud

import (
	"context"
	"net/http"
	"net/url"
)

// Contact is an organizational contact (orgContact). Graph v1.0 only reads
// them (GET /contacts); Exchange or directory sync writes them.
type Contact struct {
	ID                    string   `json:"id"`
	DisplayName           string   `json:"displayName"`
	GivenName             string   `json:"givenName,omitempty"`
	Surname               string   `json:"surname,omitempty"`
	Mail                  string   `json:"mail,omitempty"`
	MailNickname          string   `json:"mailNickname,omitempty"`
	ProxyAddresses        []string `json:"proxyAddresses,omitempty"`
	CompanyName           string   `json:"companyName,omitempty"`
	JobTitle              string   `json:"jobTitle,omitempty"`
	Department            string   `json:"department,omitempty"`
	OnPremisesSyncEnabled *bool    `json:"onPremisesSyncEnabled,omitempty"`
}

// ContactSelect is the $select contacts are read with.
var ContactSelect = []string{"id", "displayName", "givenName", "surname", "mail", "mailNickname", "proxyAddresses", "companyName", "jobTitle", "department", "onPremisesSyncEnabled"}

// ListContacts returns every organizational contact.
func (c *Client) ListContacts(ctx context.Context) ([]Contact, error) {
	return getAll[Contact](ctx, c, withQuery("contacts", ContactSelect, "", 0))
}

// GetContact reads one contact by id.
func (c *Client) GetContact(ctx context.Context, id string) (*Contact, error) {
	var out Contact
	if err := c.do(ctx, http.MethodGet, withQuery("contacts/"+url.PathEscape(id), ContactSelect, "", 0), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
