package jobs

import (
	"sync"

	"github.com/hybridsync/hybridsync/engine/store"
)

// Hub fans a job's events out to whoever watches it. Publishing never blocks: a
// viewer whose buffer is full is marked as lagging and told to catch up from the
// store, where every event already is. So a slow viewer never slows a job, and
// never misses an event either.
type Hub struct {
	mu   sync.Mutex
	subs map[int64]map[*Sub]struct{}
}

// Sub is one viewer's subscription to one job.
type Sub struct {
	JobID int64
	// C carries events as they are published.
	C chan store.Event
	// Lagged receives a value when events were dropped from C; the viewer then
	// reads what it missed from the store.
	Lagged chan struct{}
}

func NewHub() *Hub { return &Hub{subs: map[int64]map[*Sub]struct{}{}} }

// SubBuffer is how many events a viewer may fall behind before it lags.
const SubBuffer = 64

// Subscribe starts a subscription; call Unsubscribe when done.
func (h *Hub) Subscribe(jobID int64) *Sub {
	s := &Sub{JobID: jobID, C: make(chan store.Event, SubBuffer), Lagged: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs[jobID] == nil {
		h.subs[jobID] = map[*Sub]struct{}{}
	}
	h.subs[jobID][s] = struct{}{}
	return s
}

// Unsubscribe ends a subscription.
func (h *Hub) Unsubscribe(s *Sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs[s.JobID], s)
	if len(h.subs[s.JobID]) == 0 {
		delete(h.subs, s.JobID)
	}
}

// Publish hands ev to every viewer of its job without waiting for any of them.
func (h *Hub) Publish(ev store.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[ev.JobID] {
		select {
		case s.C <- ev:
		default:
			select {
			case s.Lagged <- struct{}{}:
			default:
			}
		}
	}
}

// Viewers returns how many subscriptions a job has.
func (h *Hub) Viewers(jobID int64) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[jobID])
}
