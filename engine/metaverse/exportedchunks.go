package metaverse

import "context"

// exportedChunk is how many keys' exported state a delta reads at once
// (exportedChunks).
var exportedChunk = 2_000 // a variable for the tests

// exportedChunks reads a delta's exported state a chunk of its keys at a
// time, in the keys' order, as its objects are written in that order: a
// delta of 80,000 objects held the exported state of all of them — about
// 300 MB allocated at a million, a map and a slice per attribute for each
// key — through its whole write, and the collector marked them in every
// cycle it ran.
type exportedChunks struct {
	e    *Engine
	ctx  context.Context
	st   Store
	keys []string
	// cur is the exported state of keys[start:end].
	cur        map[string]*Exported
	start, end int
}

func newExportedChunks(ctx context.Context, e *Engine, st Store, keys []string) *exportedChunks {
	return &exportedChunks{e: e, ctx: ctx, st: st, keys: keys}
}

// at is the exported state of keys[i] (nil when it has none), its
// attributes as stored (Exported.stored: Attrs nil). The keys
// are asked for in their order; asking for one outside the current chunk
// reads its chunk.
func (c *exportedChunks) at(i int) (*Exported, error) {
	if i < c.start || i >= c.end {
		c.start, c.end = i, min(i+exportedChunk, len(c.keys))
		c.cur = nil // let the chunk before go first
		cur, err := c.e.readExportedAs(c.ctx, c.st, c.keys[c.start:c.end], false, true)
		if err != nil {
			c.start, c.end = 0, 0
			return nil, err
		}
		c.cur = cur
	}
	return c.cur[c.keys[i]], nil
}
