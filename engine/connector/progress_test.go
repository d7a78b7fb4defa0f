package connector_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/engine/connector"
)

// A full import tells Progress its store counts after every batch: they only
// grow, and the last one is what the import ends with.
func TestImportProgress(t *testing.T) {
	corp, _ := forests(t)
	sp := newSpace(t)
	spec := specOf(t, corp, connector.Scope{})
	var mu sync.Mutex
	var seen []connector.DomainResult
	spec.Progress = func(d connector.DomainResult) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := connector.Import(ctx, sp, spec)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	// The seed's 1,700-odd objects are written in batches of 1,000 or fewer.
	if len(seen) < 2 {
		t.Fatalf("%d progress report(s), want one per batch", len(seen))
	}
	for i := 1; i < len(seen); i++ {
		if seen[i].Read < seen[i-1].Read || seen[i].Added < seen[i-1].Added {
			t.Errorf("report %d went back: %+v after %+v", i, seen[i], seen[i-1])
		}
	}
	last, end := seen[len(seen)-1], res.Domains[0]
	if last.Domain != end.Domain || last.Added != end.Added || last.MembersAdded != end.MembersAdded || last.Added == 0 {
		t.Errorf("the last report %+v, the import's end %+v", last, end)
	}
}
