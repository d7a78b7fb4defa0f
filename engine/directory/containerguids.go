package directory

import (
	"context"
	"fmt"

	"github.com/go-ldap/ldap/v3"
)

// ContainerGUIDs lists every OU and container under base (containerFilter,
// base included) by objectGUID (canonical text) with its DN, in paged
// searches returning the GUID only. The delta import compares it with the
// record of the last import's to find the containers renamed or moved, whose
// descendants DirSync does not report.
func (c *Conn) ContainerGUIDs(ctx context.Context, base string) (map[string]string, error) {
	return c.containerGUIDs(ctx, base, containerFilter)
}

// ContainerGUIDsChangedAfter is ContainerGUIDs of the containers whose
// uSNChanged is above usn (a USN of this DC: highestCommittedUSN before an
// earlier listing). A rename or a move changes the container's own
// uSNChanged, not its descendants'; uSNChanged is indexed, so a domain whose
// containers did not change costs one short search.
func (c *Conn) ContainerGUIDsChangedAfter(ctx context.Context, base string, usn int64) (map[string]string, error) {
	return c.containerGUIDs(ctx, base, fmt.Sprintf("(&%s(uSNChanged>=%d))", containerFilter, usn+1))
}

func (c *Conn) containerGUIDs(ctx context.Context, base, filter string) (map[string]string, error) {
	out := map[string]string{}
	err := c.ReadPages(ctx, base, filter, []string{"objectGUID"}, func(page []*ldap.Entry) error {
		for _, e := range page {
			// A container whose objectGUID the account may not read can't
			// be followed: it is left out.
			if raw := e.GetRawAttributeValue("objectGUID"); len(raw) == len(GUID{}) {
				out[GUID(raw).String()] = e.DN
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
