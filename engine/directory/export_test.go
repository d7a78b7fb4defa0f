package directory

// ProbeOnly switches c's Children to one probe per node for HasChildren (the
// fallback used when a DC refuses the subtree search), so tests cover it.
func ProbeOnly(c *Conn) { c.probeOnly = true }
