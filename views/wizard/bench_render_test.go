package wizard

import (
	"context"
	"io"
	"strconv"
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

// BenchmarkRenderTree2000 renders one OU tree level of 2,000 nodes.
func BenchmarkRenderTree2000(b *testing.B) {
	nodes := make([]setup.TreeNode, 2000)
	for i := range nodes {
		nodes[i].DN = "OU=Bench " + strconv.Itoa(i) + ",DC=corp,DC=example,DC=test"
		nodes[i].Name = "Bench " + strconv.Itoa(i)
		nodes[i].Selected = true
		nodes[i].HasChildren = i%3 == 0
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := TreeLevel("corp.example.test", nodes).Render(context.Background(), io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
