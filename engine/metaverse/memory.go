package metaverse

// MemoryLimit is the soft memory limit (runtime/debug.SetMemoryLimit) the
// console and the CLI set unless told otherwise: a full sync of 100,000
// objects holds about 600 MB live, and with the default GOGC alone the heap
// grows to twice what is live before a collection, near 1 GB of RSS. Under
// this limit the collector runs earlier instead, for a few seconds more CPU
// per full sync. It is soft: a larger directory goes over it, with the
// collector's CPU share capped by the runtime, rather than failing.
const MemoryLimit int64 = 768 << 20

// MemoryPerObject is what the soft limit grows by for each connector-space
// object when it follows the directory (MemoryLimitFor): a million objects
// hold about 0.9 GB live between cycles and 1.3 GB at a full sync's peak
// (ADR 0010), and under a limit below what is live the collector runs all
// the time (when a million held 1.5 GB, a full sync of them in memory took
// 493 s under 768 MiB, 145 s under 1,792 MiB).
const MemoryPerObject int64 = 1 << 10

// MemoryLimitFor is the soft memory limit for a directory of this many
// connector-space objects: MemoryLimit, plus MemoryPerObject each (1,744 MiB
// at a million).
func MemoryLimitFor(objects int) int64 {
	return MemoryLimit + int64(max(objects, 0))*MemoryPerObject
}
