package metaverse

import (
	"slices"
	"strings"
	"testing"

	"github.com/hybridsync/hybridsync/engine/connector"
	"github.com/hybridsync/hybridsync/engine/setup"
)

// filteredAnswers are valid answers with app and attribute filtering.
func filteredAnswers(apps, cleared []string) setup.Answers {
	a := setup.Defaults()
	a.Directories.Forests = []setup.ForestConn{{Forest: corp}}
	a.Identifying = setup.Identifying{Matching: setup.MatchOnce, SourceAnchor: setup.AnchorManaged, Resolved: setup.AttrObjectGUID}
	a.Features.AppAttributeFiltering = true
	a.EntraApps.Selected = apps
	a.EntraAttributes.Cleared = cleared
	return a
}

func TestAttributeFilteringKeepsPropertiesOut(t *testing.T) {
	dc := ",DC=corp,DC=example,DC=test"
	ann := user(corp, 1, "ann", "department=Sales", "title=Buyer", "employeeid=E1", "c=NL", "givenname=Ann", "mail=ann@example.test")
	staff := obj(corp, connector.ClassGroup, 2, "CN=Staff,OU=Groups"+dc, "grouptype=-2147483646", "samaccountname=Staff", "description=All staff")
	partner := obj(corp, connector.ClassContact, 3, "CN=Partner,OU=Contacts"+dc, "mail=p@partner.test", "department=Buying")
	tests := []struct {
		name    string
		a       setup.Answers
		off     map[string][]string // object's DN → properties it must not have
		on      map[string][]string // … and must have
		feature bool
	}{
		{"feature off: a cleared attribute still syncs", func() setup.Answers {
			a := filteredAnswers([]string{setup.AppExchange}, []string{"department"})
			a.Features.AppAttributeFiltering = false
			return a
		}(), nil, map[string][]string{ann.DN: {"department", "jobTitle", "employeeId"}, partner.DN: {"department"}}, false},
		{"department cleared", filteredAnswers(allAppIDs(), []string{"department"}),
			map[string][]string{ann.DN: {"department"}, partner.DN: {"department"}},
			map[string][]string{ann.DN: {"jobTitle", "employeeId", "givenName", "usageLocation"}, partner.DN: {"mail"}}, true},
		{"description cleared: groups", filteredAnswers(allAppIDs(), []string{"description"}),
			map[string][]string{staff.DN: {"description"}}, map[string][]string{staff.DN: {"displayName", "securityEnabled"}}, true},
		{"Exchange only: employeeID is the 3rd party app's", filteredAnswers([]string{setup.AppExchange}, nil),
			map[string][]string{ann.DN: {"employeeId"}}, map[string][]string{ann.DN: {"department", "jobTitle", "mail"}}, true},
		{"c cleared: usageLocation is mechanical and stays", filteredAnswers([]string{setup.AppExchange}, []string{"c"}),
			nil, map[string][]string{ann.DN: {"usageLocation"}}, true},
		{"required ones can't be cleared by the answers", filteredAnswers([]string{setup.AppAzureRMS}, []string{"displayName", "objectSid"}),
			map[string][]string{ann.DN: {"department", "givenName", "jobTitle"}},
			map[string][]string{ann.DN: {"displayName", "mailNickname", "userPrincipalName", "accountEnabled", "mail", "usageLocation"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := NewConfig(tt.a, nil)
			if err != nil {
				t.Fatal(err)
			}
			if (len(nc.Unsynced) > 0) != tt.feature {
				t.Errorf("Unsynced %v", nc.Unsynced)
			}
			cfg := baseConfig()
			cfg.Unsynced = nc.Unsynced
			e := sync(t, cfg, ann, staff, partner)
			for _, o := range []connector.Object{ann, staff, partner} {
				cloud := why(t, e, o).Cloud
				for _, p := range tt.off[o.DN] {
					if _, ok := cloud[p]; ok {
						t.Errorf("%s: %s written (%v)", o.DN, p, cloud[p])
					}
				}
				for _, p := range tt.on[o.DN] {
					if _, ok := cloud[p]; !ok {
						t.Errorf("%s: %s not written", o.DN, p)
					}
				}
			}
		})
	}
}

// Every attribute the flow reads as it is, and every computed property's
// attribute, is one the wizard's list can name: none escapes the filter.
func TestAttributeFilterCoversTheFlow(t *testing.T) {
	catalog := map[string]bool{}
	for _, n := range setup.CatalogAttributes() {
		catalog[strings.ToLower(n)] = true
	}
	for _, specs := range [][]flowSpec{userFlows, groupFlows, contactFlows, deviceFlows} {
		for _, f := range specs {
			if !catalog[f.ldap] {
				t.Errorf("%s (for %s) is on no app's list", f.ldap, f.prop)
			}
		}
	}
	for n := range computedProps {
		if !catalog[n] {
			t.Errorf("%s is on no app's list", n)
		}
	}
	if got := graphProperties("userPrincipalName"); !slices.Equal(got, []string{"userPrincipalName", "onPremisesUserPrincipalName"}) {
		t.Errorf("userPrincipalName → %v", got)
	}
	if got := graphProperties("Title"); !slices.Equal(got, []string{"jobTitle"}) {
		t.Errorf("title → %v", got)
	}
	if got := graphProperties("msExchArchiveName"); got != nil {
		t.Errorf("msExchArchiveName → %v", got)
	}
}

func allAppIDs() []string {
	var out []string
	for _, app := range setup.EntraAppList {
		out = append(out, app.ID)
	}
	return out
}
