package setup

import (
	"context"
	"strings"
	"time"

	"github.com/hybridsync/hybridsync/engine/directory"
)

// SchemaAttributes reads a forest's attributeSchema objects, connecting as
// the connector account (or, before Configure created it, with the enterprise
// admin credentials held in memory). A read is reused for schemaTTL.
func (s *StoreChecker) SchemaAttributes(ctx context.Context, fc ForestConn) ([]directory.Attribute, error) {
	key := strings.ToLower(fc.Forest) + "|" + fc.DC
	s.schemaMu.Lock()
	c, ok := s.schema[key]
	s.schemaMu.Unlock()
	if ok && time.Since(c.at) < schemaTTL {
		return c.attrs, nil
	}
	attrs, err := s.readSchema(ctx, fc)
	if err != nil {
		return nil, err
	}
	s.schemaMu.Lock()
	if s.schema == nil {
		s.schema = map[string]cachedSchema{}
	}
	s.schema[key] = cachedSchema{attrs: attrs, at: time.Now()}
	s.schemaMu.Unlock()
	return attrs, nil
}

func (s *StoreChecker) readSchema(ctx context.Context, fc ForestConn) ([]directory.Attribute, error) {
	return onForest(ctx, s, fc, "read the schema of "+fc.Forest, func(ctx context.Context, c *directory.Conn) ([]directory.Attribute, error) {
		return c.SchemaAttributes(ctx)
	})
}
