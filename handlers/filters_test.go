package handlers

import (
	"html"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/hybridsync/hybridsync/e2e/forest"
	"github.com/hybridsync/hybridsync/engine/setup"
)

// toOUFiltering takes a fresh wizard with corp added (svc-sync) to Domain and
// OU filtering.
func toOUFiltering(t *testing.T, c *client, corp *forest.Forest) {
	t.Helper()
	walkToDirectories(c)
	c.mustAddForest(svcSync(t, corp))
	c.next("directories", nil, "signin-configuration")
	c.next("signin-configuration", nil, "ou-filtering")
}

func TestOUFilteringAgainstTheForest(t *testing.T) {
	corp := corpForest(t)
	e := newEnv(t)
	c := e.signedIn("admin")
	toOUFiltering(t, c, corp)

	base := "DC=corp,DC=example,DC=test"
	staff := "OU=Staff," + base
	r := c.page("ou-filtering")
	tree := r.find(t, `[data-testid="tree-corp.example.test"]`)
	if tree.Length() != 1 {
		t.Fatal("no tree for corp")
	}
	// Everything is selected by default; containers sync needs are marked.
	for _, dn := range []string{base, staff, "OU=Groups," + base, "CN=Users," + base} {
		box := tree.Find(`input[type=checkbox][value="` + dn + `"]`)
		if box.Length() != 1 || !box.Is("[checked]") {
			t.Errorf("%s: not shown selected", dn)
		}
	}
	fsp := tree.Find(`input[value="CN=ForeignSecurityPrincipals,` + base + `"]`).Closest("li")
	if !strings.Contains(fsp.Text(), "needed for sync") {
		t.Errorf("ForeignSecurityPrincipals is not marked as needed: %q", fsp.Text())
	}

	// Expanding Staff loads its children as a fragment, special characters intact.
	expand := tree.Find(`[data-testid="expand-` + staff + `"]`)
	u, ok := expand.Attr("hx-get")
	if !ok {
		t.Fatal("Staff can't be expanded")
	}
	frag := c.get(html.UnescapeString(u), "HX-Request", "true")
	wantStatus(t, frag, 200, "expand Staff")
	if strings.Contains(frag.text(), "<html") {
		t.Fatal("the children came as a whole page, not a fragment")
	}
	var names []string
	frag.find(t, `input[type=checkbox]`).Each(func(_ int, s *goquery.Selection) { names = append(names, s.AttrOr("value", "")) })
	for _, want := range []string{`OU=Sales\, EMEA,` + staff, `OU=R\+D,` + staff} {
		if !slices.Contains(names, want) {
			t.Errorf("Staff's children %v lack %s", names, want)
		}
	}
	// A DN outside the forest is refused.
	wantStatus(t, c.get("/setup/ou-filtering/children?"+url.Values{"forest": {"corp.example.test"}, "dn": {"DC=elsewhere,DC=test"}}.Encode()), 404, "children outside the forest")

	// Clear Staff: it and everything below it are out; the rest stays.
	v := url.Values{}
	tree.Find(`input[type=hidden][name="seen:corp.example.test"]`).Each(func(_ int, s *goquery.Selection) {
		v.Add("seen:corp.example.test", s.AttrOr("value", ""))
		if dn := s.AttrOr("value", ""); dn != staff {
			v.Add("sync:corp.example.test", dn)
		}
	})
	v.Set("sync_new_ous", "")
	wantRedirect(t, c.submit(r, "/setup/ou-filtering", "next", v), "/setup/identifying-users", "Next with Staff cleared")
	ff := e.savedAnswers().OUFiltering
	if got := ff.Forests["corp.example.test"].Excluded; !slices.Equal(got, []string{staff}) || ff.SyncNewOUs {
		t.Fatalf("saved %+v", ff)
	}
	if ff.Forests["corp.example.test"].Selected(`OU=Zürich Ünïcode,OU=Sales\, EMEA,` + staff) {
		t.Error("an OU below a cleared one is still selected")
	}
	r = c.page("ou-filtering")
	if r.find(t, `input[type=checkbox][value="`+staff+`"]`).Is("[checked]") {
		t.Error("Staff shows selected after being cleared")
	}
	// Clearing the domain itself leaves nothing to synchronize.
	v = url.Values{"seen:corp.example.test": {base}, "sync:corp.example.test": {""}}
	resp := c.submit(r, "/setup/ou-filtering", "next", v)
	wantStatus(t, resp, 422, "Next with nothing selected")
	if !strings.Contains(resp.text(), setup.MsgNothingSel) {
		t.Errorf("no %q on the page", setup.MsgNothingSel)
	}
}

func TestGroupFilteringAgainstTheForest(t *testing.T) {
	corp := corpForest(t)
	e := newEnv(t)
	c := e.signedIn("admin")
	toOUFiltering(t, c, corp)
	c.next("ou-filtering", nil, "identifying-users")
	c.next("identifying-users", nil, "group-filtering")

	find := func(query string) *response {
		t.Helper()
		return c.submit(c.page("group-filtering"), "/setup/group-filtering", setup.ActionFindGroup+":corp.example.test",
			url.Values{"group_mode": {"group"}, "group_query:corp.example.test": {query}})
	}
	// One match is chosen at once, with its direct members counted in ranged reads.
	wantRedirect(t, find("Big"), "/setup/group-filtering", "find Big")
	r := c.page("group-filtering")
	chosen := strings.Join(strings.Fields(r.find(t, `[data-testid="chosen-group-corp.example.test"]`).Text()), " ")
	if !strings.Contains(chosen, "Big Group") || !strings.Contains(chosen, "1550 direct members") {
		t.Fatalf("chosen %q", chosen)
	}
	if body := r.find(t, "body").Text(); !strings.Contains(body, setup.MsgPilotOnly) || !strings.Contains(body, "Nested group membership isn't resolved") {
		t.Error("the pilot and nesting warnings are missing")
	}
	// Several matches: pick one.
	wantRedirect(t, find("Project"), "/setup/group-filtering", "find Project")
	r = c.page("group-filtering")
	picks := r.find(t, `input[name="group_pick:corp.example.test"]`)
	if picks.Length() != 20 {
		t.Fatalf("%d candidates for Project, want 20", picks.Length())
	}
	dn := picks.First().AttrOr("value", "")
	wantRedirect(t, c.submit(r, "/setup/group-filtering", setup.ActionPickGroup+":corp.example.test",
		url.Values{"group_pick:corp.example.test": {dn}}), "/setup/group-filtering", "pick")
	got := e.savedAnswers().GroupFiltering.Forests["corp.example.test"]
	if got.Group.DN != dn || got.DirectMembers == 0 {
		t.Fatalf("saved %+v", got)
	}
	// No match: the message names the query; what was chosen before stays.
	resp := find("NoSuchGroup")
	wantStatus(t, resp, 422, "find a missing group")
	if !strings.Contains(resp.find(t, "body").Text(), `starts with "NoSuchGroup"`) {
		t.Errorf("no message about the missing group")
	}
	c.next("group-filtering", url.Values{"group_mode": {"group"}}, "optional-features")
}
