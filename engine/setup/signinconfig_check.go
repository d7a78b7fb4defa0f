package setup

import (
	"context"
)

// The Microsoft Entra sign-in configuration page's reads of the forests (see
// signInConfigChecker). Each connects as the connector account (or, before
// Configure created it, the enterprise admin credentials held in memory).

// SignInUPNSuffixes reads a forest's domains' DNS names and its uPNSuffixes
// afresh.
func (s *StoreChecker) SignInUPNSuffixes(ctx context.Context, fc ForestConn) (domains, suffixes []string, err error) {
	ctx, cancel := context.WithTimeout(ctx, 2*s.timeout())
	defer cancel()
	conn, err := s.connect(ctx, fc)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	info, err := conn.Forest(ctx)
	if err != nil {
		return nil, nil, adminError(err, "hybridsync can't read the UPN suffixes of "+fc.Forest+".")
	}
	for _, d := range info.Domains {
		domains = append(domains, d.DNS)
	}
	return domains, info.UPNSuffixes, nil
}
