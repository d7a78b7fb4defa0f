package connector_test

import (
	"strings"
	"testing"

	"github.com/hybridsync/hybridsync/engine/connector"
)

// TestDecideObjectWrittenBack: a group whose adminDescription starts with
// Group_ (written back from the tenant) is out of scope even in a selected
// OU, as Microsoft Entra Connect's inbound filter has it; anything else is
// decided by domain and OU filtering.
func TestDecideObjectWrittenBack(t *testing.T) {
	const domain = "DC=corp,DC=test"
	ou := "OU=Groups," + domain
	tests := []struct {
		name  string
		class string
		admin string
		in    bool
		why   string
	}{
		{"written-back group", connector.ClassGroup, "Group_3a5c3221-c465-48c0-95b8-e9305786a271", false, "written back"},
		{"group with another adminDescription", connector.ClassGroup, "Sales team", true, connector.ReasonInScope},
		{"group without adminDescription", connector.ClassGroup, "", true, connector.ReasonInScope},
		{"prefix in lower case is not the filter's", connector.ClassGroup, "group_3a5c3221", true, connector.ReasonInScope},
		{"a user is not filtered on Group_", connector.ClassUser, "Group_3a5c3221", true, connector.ReasonInScope},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := connector.Scope{}
			o := &connector.Object{DN: "CN=X," + ou, Class: tc.class, Attrs: map[string][]string{}}
			if tc.admin != "" {
				o.Attrs["admindescription"] = []string{tc.admin}
			}
			in, why := s.DecideObject(o, domain)
			if in != tc.in || !strings.Contains(why, tc.why) {
				t.Errorf("DecideObject = %v, %q; want %v, containing %q", in, why, tc.in, tc.why)
			}
		})
	}
}
