package setup

import (
	"strings"

	"github.com/hybridsync/hybridsync/engine/auth"
)

// SummaryGroup is one page's answers, in words.
type SummaryGroup struct {
	Title string
	Rows  []SummaryRow
}

type SummaryRow struct{ Label, Value string }

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

// Summary describes every choice, for Ready to configure and the configuration view.
func Summary(a Answers, dataDir string) []SummaryGroup {
	c := a.Components
	comp := SummaryGroup{Title: "Install required components"}
	comp.Rows = append(comp.Rows, SummaryRow{"Database", c.Describe(dataDir)})
	if c.UseSQLServer {
		comp.Rows = append(comp.Rows, SummaryRow{"SQL login", c.SQLLogin})
	}
	acct := "The sync service's own account on this host"
	if c.UseServiceAccount {
		kind := "managed service account"
		if c.ServiceAccountType == AccountDomain {
			kind = "domain account"
		}
		acct = c.ServiceAccountName + " (" + kind + ", for SQL Server and proxy authentication)"
	}
	comp.Rows = append(comp.Rows, SummaryRow{"Service account", acct})
	var groups []string
	for _, r := range auth.Roles {
		groups = append(groups, r.Label()+": "+c.GroupName(r))
	}
	comp.Rows = append(comp.Rows, SummaryRow{"Sync groups", strings.Join(groups, "; ")})
	if c.Imported != nil {
		comp.Rows = append(comp.Rows, SummaryRow{"Imported settings", c.Imported.FileName + " (exported " + c.Imported.ExportedAt + " by " + c.Imported.ExportedBy + ")"})
	}

	signIn := SummaryGroup{Title: "User sign-in", Rows: []SummaryRow{
		{"Sign-in method", MethodLabel(a.SignIn.Method)},
		{"Single sign-on", yesNo(a.SignIn.SSOApplies())},
	}}

	var on []string
	for _, f := range FeatureList {
		if a.Features.On(f.Field) {
			on = append(on, f.Label)
		}
	}
	if len(on) == 0 {
		on = []string{"None"}
	}
	feat := SummaryGroup{Title: "Optional features", Rows: []SummaryRow{{"Features", strings.Join(on, ", ")}}}
	if len(a.Features.Requires) > 0 {
		feat.Rows = append(feat.Rows, SummaryRow{"Needs", "Exchange schema in Active Directory (checked when you connect your directories)"})
	}
	if a.Features.LegacySyncActive {
		feat.Rows = append(feat.Rows, SummaryRow{"Azure AD Sync or DirSync active", "Yes"})
	}

	ready := SummaryGroup{Title: "Configure", Rows: []SummaryRow{
		{"Staging mode", yesNo(a.Ready.Staging)},
		{"Start synchronization when configuration completes", yesNo(a.Ready.StartSync)},
	}}
	return []SummaryGroup{comp, signIn, feat, ready}
}

// ComingTitles lists the visible pages whose capability is still to come.
func ComingTitles(a *Answers) []string {
	var out []string
	for _, p := range Visible(a) {
		if p.Coming != "" {
			out = append(out, p.Title)
		}
	}
	return out
}
