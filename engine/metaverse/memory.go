package metaverse

// MemoryLimit is the soft memory limit (runtime/debug.SetMemoryLimit) the
// console and the CLI set unless told otherwise: a full sync of 100,000
// objects holds about 600 MB live, and with the default GOGC alone the heap
// grows to twice what is live before a collection, near 1 GB of RSS. Under
// this limit the collector runs earlier instead, for a few seconds more CPU
// per full sync. It is soft: a larger directory goes over it, with the
// collector's CPU share capped by the runtime, rather than failing.
const MemoryLimit int64 = 768 << 20
