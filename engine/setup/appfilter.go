package setup

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// EntraApps is the Microsoft Entra apps page: the services whose attributes
// are synchronized. Shown with Microsoft Entra app and attribute filtering.
type EntraApps struct {
	// Selected are the chosen apps' ids, in the page's order. It has no
	// omitempty: a cleared selection must stay cleared, not fall back to the
	// default of every app.
	Selected []string `json:"selected"`
	// Unknown are app fields a form posted that the page does not have; kept
	// so that the error can name them.
	Unknown []string `json:"unknown,omitempty"`
}

// EntraApp is one service of the Microsoft Entra apps page.
type EntraApp struct {
	ID, Label, Description string
}

// Ids of the apps.
const (
	AppOfficeProPlus = "office365-proplus"
	AppExchange      = "exchange-online"
	AppSharePoint    = "sharepoint-online"
	AppLync          = "lync-online"
	AppAzureRMS      = "azure-rms"
	AppIntune        = "intune"
	AppDynamicsCRM   = "dynamics-crm"
	AppThirdParty    = "third-party"
)

// EntraAppList is the page's apps in the seed wizard's order and wording;
// the descriptions give today's names of the renamed services.
var EntraAppList = []EntraApp{
	{AppOfficeProPlus, "Office 365 ProPlus", "Microsoft 365 Apps for enterprise."},
	{AppExchange, "Exchange Online", ""},
	{AppSharePoint, "SharePoint Online", ""},
	{AppLync, "Lync Online", "Skype for Business Online and Teams."},
	{AppAzureRMS, "Azure RMS", "Azure Rights Management."},
	{AppIntune, "Intune", ""},
	{AppDynamicsCRM, "Dynamics CRM", ""},
	{AppThirdParty, "3rd party application", "The small set of core attributes a generic workload or a non-Microsoft app needs (Yammer, hybrid B2B collaboration)."},
}

// AppField is the form field of an app's checkbox.
func AppField(id string) string { return "app_" + id }

// Messages of the Microsoft Entra apps rules.
const (
	MsgAppsRerun = "If you change the selections on this page, you have to explicitly select a new service by rerunning the installation wizard."
	MsgNoApp     = "Select at least one app: the attributes to synchronize are the ones the selected apps use."
)

// allApps is every app's id: the selection of a wizard nobody has touched.
// With every app selected the attribute list is the full default set, so
// turning the feature on filters nothing until the admin narrows it (a
// choice of ours; the seed's screenshot does not show its defaults).
func allApps() []string {
	out := make([]string, len(EntraAppList))
	for i, app := range EntraAppList {
		out[i] = app.ID
	}
	return out
}

func entraApp(id string) (EntraApp, bool) {
	for _, app := range EntraAppList {
		if app.ID == id {
			return app, true
		}
	}
	return EntraApp{}, false
}

// IsSelected reports whether an app is chosen.
func (x EntraApps) IsSelected(id string) bool { return slices.Contains(x.Selected, id) }

// Labels are the chosen apps' names, in the page's order.
func (x EntraApps) Labels() []string {
	var out []string
	for _, app := range EntraAppList {
		if x.IsSelected(app.ID) {
			out = append(out, app.Label)
		}
	}
	return out
}

var appFilteringPage = Page{
	ID:        PageAppFiltering,
	Title:     "Microsoft Entra apps",
	Section:   "Sync",
	ShownWhen: func(a *Answers) bool { return a.Features.AppAttributeFiltering },
	Bind: func(a *Answers, f Form) {
		x := &a.EntraApps
		x.Selected, x.Unknown = nil, nil
		for _, app := range EntraAppList {
			if f.on(AppField(app.ID)) {
				x.Selected = append(x.Selected, app.ID)
			}
		}
		for k := range f.Values {
			if id, ok := strings.CutPrefix(k, "app_"); ok {
				if _, known := entraApp(id); !known {
					x.Unknown = append(x.Unknown, id)
				}
			}
		}
		sort.Strings(x.Unknown)
	},
	Validate: func(_ context.Context, a *Answers, _ Checker) Errors { return validateEntraApps(a) },
	Notices: func(a *Answers) []Notice {
		return []Notice{{Level: "info", Text: MsgAppsRerun, PageOnly: true}}
	},
}

func validateEntraApps(a *Answers) Errors {
	e := Errors{}
	x := a.EntraApps
	if len(x.Unknown) > 0 {
		e.Add("apps", "This page has no such app: "+strings.Join(x.Unknown, ", ")+". Reload the page and select among the apps it lists.")
	}
	if len(x.Selected) == 0 {
		e.Add("apps", MsgNoApp)
	}
	return e
}

// summarizeAppFiltering is the two pages' part of the summary.
func summarizeAppFiltering(a Answers) []SummaryRow {
	if !a.Features.AppAttributeFiltering {
		return nil
	}
	apps := strings.Join(a.EntraApps.Labels(), ", ")
	if apps == "" {
		apps = "None selected"
	}
	cleared := ClearedAttributes(&a)
	unsynced := "None: every attribute of the selected apps is synchronized"
	if len(cleared) > 0 {
		unsynced = fmt.Sprintf("%d: %s", len(cleared), strings.Join(cleared, ", "))
	}
	return []SummaryRow{{"Microsoft Entra apps", apps}, {"Unsynchronized attributes", unsynced}}
}
