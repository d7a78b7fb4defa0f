package wizard

import (
	"context"
	"io"
	"testing"

	"github.com/hybridsync/hybridsync/engine/setup"
)

// BenchmarkRenderComponents renders the largest wizard page.
func BenchmarkRenderComponents(b *testing.B) {
	page, _ := setup.PageByID(setup.PageComponents)
	p := Props{Page: page, A: setup.Defaults(), Errs: setup.Errors{"location": "x"}, DataDir: "/var/lib/hybridsync"}
	for _, vp := range setup.Visible(&p.A) {
		p.Nav = append(p.Nav, NavItem{ID: vp.ID, Title: vp.Title, Section: vp.Section, State: "todo"})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := Page(p).Render(context.Background(), io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
