package jobs

import (
	"testing"

	"github.com/hybridsync/hybridsync/engine/store"
)

// BenchmarkPublishSlowViewers publishes to 200 viewers that never read: the
// cost a job pays per event however slow its audience is.
func BenchmarkPublishSlowViewers(b *testing.B) {
	h := NewHub()
	for i := 0; i < 200; i++ {
		h.Subscribe(1)
	}
	ev := store.Event{JobID: 1, Kind: "log", Message: "x"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev.Seq = int64(i)
		h.Publish(ev)
	}
}
