package setup

import "context"

// Page is one wizard page.
type Page struct {
	ID      string
	Title   string
	Section string
	// ShownWhen decides whether the page is part of this run of the wizard; nil
	// means always.
	ShownWhen func(a *Answers) bool
	// Bind copies the page's fields from a form into the answers. It never fails:
	// whatever was typed is kept, so that an error never loses input.
	Bind func(a *Answers, f Form)
	// Validate returns the page's errors; chk does the checks that need the world
	// outside (files, databases) and may be nil in pure unit tests.
	Validate func(ctx context.Context, a *Answers, chk Checker) Errors
	// Notices are the warnings and notes the page's current answers call for.
	Notices func(a *Answers) []Notice
	// View loads what the page shows beyond the answers (an OU tree, a forest's
	// UPN suffixes) when it is rendered; nil for pages that show only answers.
	// It may fill in answers (in memory) that depend on what it read.
	View func(ctx context.Context, a *Answers, chk Checker) any
	// Act handles the page's own buttons (Add directory, Remove), which change
	// the answers and stay on the page; nil for pages without such buttons.
	Act func(ctx context.Context, a *Answers, action string, f Form, chk Checker) Errors
}

// Page ids.
const (
	PageExpress            = "express"
	PageComponents         = "components"
	PageSignIn             = "user-signin"
	PageConnectEntra       = "connect-entra"
	PageDirectories        = "directories"
	PageSignInConfig       = "signin-configuration"
	PageOUFiltering        = "ou-filtering"
	PageIdentifying        = "identifying-users"
	PageGroupFiltering     = "group-filtering"
	PageFeatures           = "optional-features"
	PageAppFiltering       = "app-filtering"
	PageAttributeFiltering = "attribute-filtering"
	PageExtensions         = "directory-extensions"
	PageWriteback          = "writeback"
	PageSSO                = "single-sign-on"
	PageADFSFarm           = "adfs-farm"
	PageADFSServers        = "adfs-servers"
	PageADFSProxies        = "adfs-proxies"
	PageADFSAccount        = "adfs-service-account"
	PageADFSDomain         = "adfs-domain"
	PagePingDomain         = "ping-domain"
	PagePingSettings       = "ping-settings"
	PagePingConnectivity   = "ping-connectivity"
	PagePingLogin          = "ping-login"
	PageReady              = "ready"
)

// Pages is the wizard: every page in the seed's order, with when it is shown.
// This table is the only place that decides the order.
var Pages = []Page{
	expressPage,
	componentsPage,
	signInPage,
	connectEntraPage,
	directoriesPage,
	signInConfigPage,
	ouFilteringPage,
	identifyingPage,
	groupFilteringPage,
	featuresPage,
	appFilteringPage,
	attributeFilteringPage,
	extensionsPage,
	writebackPage,
	ssoPage,
	adfsFarmPage,
	adfsServersPage,
	adfsProxiesPage,
	adfsAccountPage,
	adfsDomainPage,
	pingDomainPage,
	pingSettingsPage,
	pingConnectivityPage,
	pingLoginPage,
	readyPage,
}

// PageByID finds a page of the table.
func PageByID(id string) (Page, bool) {
	for _, p := range Pages {
		if p.ID == id {
			return p, true
		}
	}
	return Page{}, false
}

// Visible returns the pages shown for these answers, in order.
func Visible(a *Answers) []Page {
	var out []Page
	for _, p := range Pages {
		if p.ShownWhen == nil || p.ShownWhen(a) {
			out = append(out, p)
		}
	}
	return out
}

// IsVisible reports whether a page is shown for these answers.
func IsVisible(a *Answers, id string) bool {
	for _, p := range Visible(a) {
		if p.ID == id {
			return true
		}
	}
	return false
}

// Neighbours returns the visible pages before and after id ("" at either end).
func Neighbours(a *Answers, id string) (prev, next string) {
	vis := Visible(a)
	for i, p := range vis {
		if p.ID != id {
			continue
		}
		if i > 0 {
			prev = vis[i-1].ID
		}
		if i+1 < len(vis) {
			next = vis[i+1].ID
		}
	}
	return prev, next
}
