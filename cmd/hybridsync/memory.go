package main

import (
	"fmt"
	"math"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/hybridsync/hybridsync/engine/metaverse"
)

// parseMemoryLimit reads --memory-limit: a size in bytes with an optional
// KiB, MiB or GiB unit (GOMEMLIMIT's spelling), or "off". It returns the
// limit for debug.SetMemoryLimit (math.MaxInt64: no limit).
func parseMemoryLimit(s string) (int64, error) {
	in := s
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "off") {
		return math.MaxInt64, nil
	}
	unit := int64(1)
	for suffix, u := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			s, unit = strings.TrimSpace(n), u
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/unit {
		return 0, fmt.Errorf("bad --memory-limit %q: give a size such as 768MiB or 2GiB, auto or off", in)
	}
	return n * unit, nil
}

// memoryAuto is --memory-limit's default: the limit follows the directory
// (metaverse.MemoryLimitFor), set again before each sync.
const memoryAuto = "auto"

// applyMemoryLimit sets the soft memory limit, unless GOMEMLIMIT is set: the
// runtime has applied that one already, and it wins. With "auto" it sets
// metaverse.MemoryLimit and c.sizeMemory, for the cycle to size it by the
// connector spaces before each sync.
func (c *common) applyMemoryLimit(getenv func(string) string) error {
	c.sizeMemory = false
	if getenv("GOMEMLIMIT") != "" {
		return nil
	}
	if strings.EqualFold(strings.TrimSpace(c.memoryLimit), memoryAuto) {
		debug.SetMemoryLimit(metaverse.MemoryLimit)
		c.sizeMemory = true
		return nil
	}
	n, err := parseMemoryLimit(c.memoryLimit)
	if err != nil {
		return err
	}
	debug.SetMemoryLimit(n)
	return nil
}

func defaultMemoryLimit() string { return fmt.Sprintf("%dMiB", metaverse.MemoryLimit>>20) }
