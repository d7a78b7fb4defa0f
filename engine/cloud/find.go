package cloud

import "context"

// FindContacts returns the organizational contacts matching an OData filter,
// e.g. "mail eq "+Quote(addr). (Added for engine/export, which looks up the
// holder of a duplicate proxy address across users, groups and contacts.)
func (c *Client) FindContacts(ctx context.Context, filter string) ([]Contact, error) {
	return getAll[Contact](ctx, c, withQuery("contacts", ContactSelect, filter, 0))
}
