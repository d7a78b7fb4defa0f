package setup

import (
	"context"

	"github.com/hybridsync/hybridsync/engine/directory"
)

// SchemaAttributes reads a forest's attributeSchema objects, connecting as
// the connector account (or, before Configure created it, with the enterprise
// admin credentials held in memory).
func (s *StoreChecker) SchemaAttributes(ctx context.Context, fc ForestConn) ([]directory.Attribute, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*s.timeout())
	defer cancel()
	conn, err := s.connect(ctx, fc)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	attrs, err := conn.SchemaAttributes(ctx)
	if err != nil {
		return nil, adminError(err, "hybridsync can't read the schema of "+fc.Forest+".")
	}
	return attrs, nil
}
