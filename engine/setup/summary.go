package setup

import (
	"fmt"
	"strings"

	"github.com/hybridsync/hybridsync/engine/auth"
)

// Titles of the summary groups.
const (
	GroupComponents  = "Install required components"
	GroupSignIn      = "User sign-in"
	GroupTenant      = "Microsoft Entra ID"
	GroupDirectories = "Connect your directories"
	GroupFeatures    = "Optional features"
	GroupConfigure   = "Configure"
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
	comp := SummaryGroup{Title: GroupComponents}
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

	signIn := SummaryGroup{Title: GroupSignIn, Rows: []SummaryRow{
		{"Sign-in method", MethodLabel(a.SignIn.Method)},
		{"Single sign-on", yesNo(a.SignIn.SSOApplies())},
	}}
	signIn.Rows = append(signIn.Rows, summarizeFederation(a)...)

	tenant := SummaryGroup{Title: GroupTenant, Rows: summarizeConnectEntra(a)}

	dirs := SummaryGroup{Title: GroupDirectories}
	for _, fc := range a.Directories.Forests {
		acct := fc.ConnectorUser + " (existing account)"
		if fc.Account == AccountCreate {
			acct = "a new account, created by Configure"
			if fc.ConnectorUser != "" {
				acct = fc.ConnectorUser + " (created by hybridsync)"
			}
		}
		dirs.Rows = append(dirs.Rows, SummaryRow{fc.Forest, "through " + fc.DC + " over " + SecurityLabel(fc.Security) + ", as " + acct})
	}
	if len(dirs.Rows) == 0 {
		dirs.Rows = []SummaryRow{{"Forests", "None yet"}}
	}

	for _, fc := range a.Directories.Forests {
		what := "All domains and OUs"
		if ff := a.OUFiltering.Forests[fc.Forest]; !ff.Selected(fc.RootDN) {
			what = "Nothing (the domain is cleared or unreachable)"
		} else if len(ff.Excluded) > 0 {
			what = "All but " + strings.Join(ff.Excluded, "; ")
		}
		dirs.Rows = append(dirs.Rows, SummaryRow{"Synchronized in " + fc.Forest, what})
		if a.GroupFiltering.Mode == GroupModeGroup {
			c := a.GroupFiltering.Forests[fc.Forest]
			dirs.Rows = append(dirs.Rows, SummaryRow{"Pilot group in " + fc.Forest, fmt.Sprintf("%s (%d direct members)", c.Group.Name, c.DirectMembers)})
		}
	}
	dirs.Rows = append(dirs.Rows, summarizeSignInConfig(a)...)
	dirs.Rows = append(dirs.Rows, summarizeIdentifying(a)...)
	if len(a.Directories.Forests) > 0 {
		dirs.Rows = append(dirs.Rows, SummaryRow{"Synchronize new OUs", yesNo(a.OUFiltering.SyncNewOUs)})
		if a.GroupFiltering.Mode != GroupModeGroup {
			dirs.Rows = append(dirs.Rows, SummaryRow{"Users and devices", "All"})
		}
	}

	var on []string
	for _, f := range FeatureList {
		if a.Features.On(f.Field) {
			on = append(on, f.Label)
		}
	}
	if len(on) == 0 {
		on = []string{"None"}
	}
	feat := SummaryGroup{Title: GroupFeatures, Rows: []SummaryRow{{"Features", strings.Join(on, ", ")}}}
	if len(a.Features.Requires) > 0 {
		feat.Rows = append(feat.Rows, SummaryRow{"Needs", "Exchange schema in Active Directory (checked when you connect your directories)"})
	}
	feat.Rows = append(feat.Rows, summarizeAppFiltering(a)...)
	feat.Rows = append(feat.Rows, summarizeExtensions(a)...)
	feat.Rows = append(feat.Rows, summarizeWriteback(a)...)
	feat.Rows = append(feat.Rows, summarizeSSO(a)...)
	if a.Features.LegacySyncActive {
		feat.Rows = append(feat.Rows, SummaryRow{"Azure AD Sync or DirSync active", "Yes"})
	}

	ready := SummaryGroup{Title: GroupConfigure, Rows: []SummaryRow{
		{"Staging mode", yesNo(a.Ready.Staging)},
		{"Start synchronization when configuration completes", yesNo(a.Ready.StartSync)},
	}}
	return []SummaryGroup{comp, signIn, tenant, dirs, feat, ready}
}

// summaryGroupOf is the summary group that sums up each page's answers.
var summaryGroupOf = map[string]string{
	PageComponents:         GroupComponents,
	PageSignIn:             GroupSignIn,
	PageConnectEntra:       GroupTenant,
	PageDirectories:        GroupDirectories,
	PageSignInConfig:       GroupDirectories,
	PageOUFiltering:        GroupDirectories,
	PageIdentifying:        GroupDirectories,
	PageGroupFiltering:     GroupDirectories,
	PageFeatures:           GroupFeatures,
	PageAppFiltering:       GroupFeatures,
	PageAttributeFiltering: GroupFeatures,
	PageExtensions:         GroupFeatures,
	PageSSO:                GroupFeatures,
	PageWriteback:          GroupFeatures,
	PageADFSFarm:           GroupSignIn,
	PageADFSServers:        GroupSignIn,
	PageADFSProxies:        GroupSignIn,
	PageADFSAccount:        GroupSignIn,
	PageADFSDomain:         GroupSignIn,
	PagePingDomain:         GroupSignIn,
	PagePingSettings:       GroupSignIn,
	PagePingConnectivity:   GroupSignIn,
	PagePingLogin:          GroupSignIn,
	PageReady:              GroupConfigure,
}

// GroupNotes are what Ready to configure shows under one summary group: the
// notices of the pages it sums up, and the limitations of the options chosen
// on them.
type GroupNotes struct {
	Notices []Notice
	Limits  []Limitation
}

// NotesByGroup gathers, by summary group title, the notices of every visible
// page that are about its choices (not a page's advice, PageOnly) and the
// limitations of the chosen options.
func NotesByGroup(a *Answers) map[string]GroupNotes {
	out := map[string]GroupNotes{}
	for _, p := range Visible(a) {
		if p.Notices == nil {
			continue
		}
		group := summaryGroupOf[p.ID]
		for _, n := range p.Notices(a) {
			if n.PageOnly {
				continue
			}
			g := out[group]
			g.Notices = append(g.Notices, n)
			out[group] = g
		}
	}
	for _, l := range Limitations(a) {
		group := GroupFeatures
		switch {
		case l.ID == LimitPTA, l.ID == LimitSSO, l.ID == LimitPHS && a.SignIn.Method == MethodPHS:
			group = GroupSignIn
		}
		g := out[group]
		g.Limits = append(g.Limits, l)
		out[group] = g
	}
	return out
}
