package setup

import (
	"context"

	"github.com/hybridsync/hybridsync/engine/directory"
)

// The Microsoft Entra sign-in configuration page's reads of the forests (see
// signInConfigChecker). Each connects as the connector account (or, before
// Configure created it, the enterprise admin credentials held in memory).

// SignInUPNSuffixes reads a forest's domains' DNS names and its uPNSuffixes
// afresh.
func (s *StoreChecker) SignInUPNSuffixes(ctx context.Context, fc ForestConn) (domains, suffixes []string, err error) {
	info, err := onForest(ctx, s, fc, "read the UPN suffixes of "+fc.Forest, func(ctx context.Context, c *directory.Conn) (directory.ForestInfo, error) {
		return c.Forest(ctx)
	})
	if err != nil {
		return nil, nil, err
	}
	for _, d := range info.Domains {
		domains = append(domains, d.DNS)
	}
	return domains, info.UPNSuffixes, nil
}
