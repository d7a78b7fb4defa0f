package metaverse

import (
	"slices"
	"strings"
	"testing"

	"github.com/hybridsync/hybridsync/engine/connector"
	"github.com/hybridsync/hybridsync/engine/setup"
)

// An object's own cluster has no join value held; compareClusters orders it
// as its name, "o:" + connector + "\x00" + anchor, would be.
func TestClusterOrder(t *testing.T) {
	own := func(connector, anchor string) clusterRef {
		return clusterRef{own: &entry{csObject: csObject{Connector: connector, Anchor: anchor}}}
	}
	refs := []clusterRef{
		{name: "m:ann@example.test"}, {name: "s:AQUAAAAA"}, {name: "a:o"}, {name: "n:ann\x00ann"},
		{name: "o"}, {name: "o:"}, {name: "o:corp"}, {name: "p:"}, {name: "o:corp\x00b"},
		own("corp", "b"), own("corp", "a"), own("corp", ""), own("corp.example", "a"), own("cor", "zz"),
		own("", "a"), own("corp", "b\x00"),
	}
	name := func(c clusterRef) string {
		if c.name != "" {
			return c.name
		}
		return "o:" + c.own.Connector + "\x00" + c.own.Anchor
	}
	for _, a := range refs {
		for _, b := range refs {
			if got, want := compareClusters(a, b), strings.Compare(name(a), name(b)); got != want {
				t.Errorf("compareClusters(%q, %q) = %d, want %d", name(a), name(b), got, want)
			}
		}
	}
}

// Two clusters whose objects give the same key: the first in the order of
// join values takes it, whichever holds a join value — a contact joined on
// mail ("m:") before a group of its own ("o:"), the group before a user
// joined on its SID ("s:").
func TestKeyTakenInClusterOrder(t *testing.T) {
	const same = "AAAAAAAAAAAAAAAAAAAAAA=="
	contact := obj(fab, connector.ClassContact, 1, "CN=C,OU=Contacts,DC=fabrikam,DC=example,DC=test",
		"mail=c@example.test", "objectguid="+same)
	group := obj(corp, connector.ClassGroup, 2, "CN=G,OU=Groups,DC=corp,DC=example,DC=test",
		"grouptype=-2147483646", "objectguid="+same)
	cfg := baseConfig()
	cfg.Matching = setup.MatchMail
	e := sync(t, cfg, group, contact)
	if tr := why(t, e, contact); !tr.Synced {
		t.Errorf("the contact is not synced: %s", tr.Reason)
	}
	if tr := why(t, e, group); tr.Synced || !strings.Contains(tr.Reason, "already the key of another object") {
		t.Errorf("the group: synced %v, %q; want it refused its key", tr.Synced, tr.Reason)
	}

	u := user(corp, 3, "ann", "objectsid=AQUAAAAA", "ms-ds-consistencyguid="+same)
	cfg = baseConfig()
	cfg.Matching, cfg.AnchorAttribute = setup.MatchSIDs, setup.AttrConsistencyGuid
	e = sync(t, cfg, u, group)
	if tr := why(t, e, group); !tr.Synced {
		t.Errorf("the group is not synced: %s", tr.Reason)
	}
	if tr := why(t, e, u); tr.Synced {
		t.Errorf("the user took the group's key: %s", tr.Reason)
	}
	if got := e.Keys(); !slices.Equal(got, []string{same}) {
		t.Errorf("keys %v", got)
	}
}
