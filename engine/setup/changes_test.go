package setup

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestChanges(t *testing.T) {
	g := func(title string, rows ...string) SummaryGroup {
		sg := SummaryGroup{Title: title}
		for i := 0; i+1 < len(rows); i += 2 {
			sg.Rows = append(sg.Rows, SummaryRow{rows[i], rows[i+1]})
		}
		return sg
	}
	tests := []struct {
		name     string
		old, new []SummaryGroup
		want     []Change
	}{
		{"same", []SummaryGroup{g("A", "x", "1")}, []SummaryGroup{g("A", "x", "1")}, nil},
		{"changed", []SummaryGroup{g("A", "x", "1", "y", "2")}, []SummaryGroup{g("A", "x", "1", "y", "3")},
			[]Change{{"A", "y", "2", "3"}}},
		{"first configuration", nil, []SummaryGroup{g("A", "x", "1"), g("B", "z", "9")},
			[]Change{{"A", "x", "", "1"}, {"B", "z", "", "9"}}},
		{"gone row stays in its group", []SummaryGroup{g("A", "x", "1", "w", "0"), g("B", "z", "9")}, []SummaryGroup{g("A", "x", "2"), g("B", "z", "8")},
			[]Change{{"A", "x", "1", "2"}, {"A", "w", "0", ""}, {"B", "z", "9", "8"}}},
		{"namesakes by place", []SummaryGroup{g("A", "f", "1", "f", "2")}, []SummaryGroup{g("A", "f", "1", "f", "3", "f", "4")},
			[]Change{{"A", "f", "2", "3"}, {"A", "f", "", "4"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Changes(tt.old, tt.new); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// What Configure records changed holds no secret, however the secrets changed.
func TestChangesHoldNoSecret(t *testing.T) {
	old, new := Answers{}, Answers{}
	new.SignIn.Method = MethodPHS
	secrets := []string{"Sql-Secret-1", "Svc-Secret-2", "Sync-Secret-3", "Conn-Secret-4"}
	new.Components.UseSQLServer, new.Components.SQLLogin, new.Components.SQLPassword = true, "hs", secrets[0]
	new.Components.UseServiceAccount, new.Components.ServiceAccountName, new.Components.ServiceAccountPassword = true, `CONTOSO\svc`, secrets[1]
	new.ConnectEntra.SyncPassword = secrets[2]
	new.Directories.Forests = []ForestConn{{Forest: "corp.example.com", DC: "dc1", ConnectorUser: `CORP\hs`, ConnectorPassword: secrets[3]}}
	changes := Changes(Summary(old, "/data"), Summary(new, "/data"))
	if len(changes) == 0 {
		t.Fatal("no changes")
	}
	b, _ := json.Marshal(changes)
	for _, s := range secrets {
		if strings.Contains(string(b), s) {
			t.Errorf("the changes hold the secret %q: %s", s, b)
		}
	}
	if !strings.Contains(string(b), "corp.example.com") {
		t.Errorf("the changes miss the new forest: %s", b)
	}
}
