package setup

import (
	"context"
	"errors"

	"github.com/hybridsync/hybridsync/engine/directory"
	"github.com/hybridsync/hybridsync/engine/store"
)

// ConsistencyGuidDomain returns the first domain of the forest in which some
// user already has ms-DS-ConsistencyGuid populated, or "" when none has.
func (s *StoreChecker) ConsistencyGuidDomain(ctx context.Context, fc ForestConn) (string, error) {
	domains := fc.Domains
	if len(domains) == 0 {
		domains = []ForestDomain{{DNS: fc.Forest, DN: fc.RootDN}}
	}
	return onForest(ctx, s, fc, "check whether ms-DS-ConsistencyGuid is in use in "+fc.Forest, func(ctx context.Context, c *directory.Conn) (string, error) {
		for _, d := range domains {
			used, err := c.ConsistencyGuidInUse(ctx, directory.Domain{DNS: d.DNS, NetBIOS: d.NetBIOS, DN: d.DN, SID: d.SID})
			if err != nil || used {
				return d.DNS, err
			}
		}
		return "", nil
	})
}

// AppliedIdentifying returns the Identifying users answers of the active
// configuration, and whether one was applied.
func (s *StoreChecker) AppliedIdentifying(ctx context.Context) (Identifying, bool, error) {
	if s.Store == nil {
		return Identifying{}, false, nil
	}
	cfg, err := s.Store.ActiveConfiguration(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return Identifying{}, false, nil
	}
	if err != nil {
		return Identifying{}, false, &CheckError{Msg: "hybridsync can't read the active configuration, so it can't tell whether the sourceAnchor is already fixed.", Err: err}
	}
	a, err := ConfigurationAnswers(cfg)
	if err != nil {
		return Identifying{}, false, &CheckError{Msg: "The active configuration can't be read, so hybridsync can't tell whether the sourceAnchor is already fixed.", Err: err}
	}
	return a.Identifying, true, nil
}
