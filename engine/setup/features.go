package setup

import (
	"context"
	"strings"
)

// Features is the Optional features page.
type Features struct {
	ExchangeHybrid        bool `json:"exchangeHybrid"`
	ExchangePublicFolders bool `json:"exchangePublicFolders"`
	AppAttributeFiltering bool `json:"appAttributeFiltering"`
	PasswordHashSync      bool `json:"passwordHashSync"`
	PasswordWriteback     bool `json:"passwordWriteback"`
	GroupWriteback        bool `json:"groupWriteback"`
	DeviceWriteback       bool `json:"deviceWriteback"`
	DirectoryExtensions   bool `json:"directoryExtensions"`
	// LegacySyncActive: Azure AD Sync or DirSync is still active for the tenant.
	LegacySyncActive bool `json:"legacySyncActive"`
	// Requires lists what the chosen features need that only the directory can
	// confirm; the directory work checks each against the forests' schema.
	Requires []string `json:"requires,omitempty"`
}

// RequireExchangeSchema is recorded when group writeback is chosen.
const RequireExchangeSchema = "exchange-schema"

// Feature describes one optional feature.
type Feature struct {
	Field       string // form field name
	Label       string
	Description string
	Writeback   bool
}

// FeatureList is the eight optional features, in the seed's order.
var FeatureList = []Feature{
	{"exchange_hybrid", "Exchange hybrid deployment", "Allows Exchange mailboxes to coexist on-premises and in Microsoft 365: a specific set of attributes is synchronized from Microsoft Entra back into your on-premises directory.", true},
	{"exchange_public_folders", "Exchange mail public folders", "Synchronizes mail-enabled public-folder objects from your on-premises Active Directory to Microsoft Entra ID. Syncing groups that contain public folders as members is not supported and results in a synchronization error.", false},
	{"app_attribute_filtering", "Microsoft Entra app and attribute filtering", "Tailor the set of synchronized attributes. This adds two more pages to the wizard.", false},
	{"password_hash_sync", "Password hash synchronization", "Synchronizes a hash of users' password hashes to Microsoft Entra ID.", false},
	{"password_writeback", "Password writeback", "Writes password changes that originate in Microsoft Entra ID back to your on-premises directory.", true},
	{"group_writeback", "Group writeback", "Represents Microsoft 365 Groups in your on-premises Active Directory. Available only if you have Exchange in your on-premises Active Directory.", true},
	{"device_writeback", "Device writeback", "For conditional-access scenarios: writes device objects in Microsoft Entra ID back to your on-premises Active Directory.", true},
	{"directory_extensions", "Directory extension attribute sync", "Syncs attributes you choose to Microsoft Entra ID as directory extensions. This adds a page to the wizard.", false},
}

// Messages of the feature rules.
const (
	MsgLegacyWriteback = "If Azure AD Sync or Direct Synchronization (DirSync) are active, don't activate any writeback features."
	// MsgLegacyChosen is the error on each writeback feature chosen while
	// the seed's warning (at the Azure AD Sync or DirSync box) applies.
	MsgLegacyChosen = "A writeback feature can't be chosen while Azure AD Sync or DirSync is active for this tenant."
	MsgPHSRequired  = "Password hash synchronization is your sign-in method, so it stays selected."
)

func (f *Features) get(field string) *bool {
	switch field {
	case "exchange_hybrid":
		return &f.ExchangeHybrid
	case "exchange_public_folders":
		return &f.ExchangePublicFolders
	case "app_attribute_filtering":
		return &f.AppAttributeFiltering
	case "password_hash_sync":
		return &f.PasswordHashSync
	case "password_writeback":
		return &f.PasswordWriteback
	case "group_writeback":
		return &f.GroupWriteback
	case "device_writeback":
		return &f.DeviceWriteback
	case "directory_extensions":
		return &f.DirectoryExtensions
	}
	panic("setup: unknown feature " + field)
}

// On reports whether the feature with this form field is selected.
func (f Features) On(field string) bool { return *f.get(field) }

var featuresPage = Page{
	ID:      PageFeatures,
	Title:   "Optional features",
	Section: "Sync",
	Bind: func(a *Answers, f Form) {
		for _, ft := range FeatureList {
			*a.Features.get(ft.Field) = f.on(ft.Field)
		}
		a.Features.LegacySyncActive = f.on("legacy_sync_active")
		if a.SignIn.Method == MethodPHS {
			a.Features.PasswordHashSync = true
		}
		a.Features.Requires = nil
		if a.Features.GroupWriteback {
			a.Features.Requires = []string{RequireExchangeSchema}
		}
	},
	Validate: func(_ context.Context, a *Answers, _ Checker) Errors { return validateFeatures(a) },
	Notices:  featureNotices,
}

// exchangeFeatures need the Exchange attributes in every forest's schema.
// Group writeback needs them only in the forest it writes into, chosen on
// Writeback among those that have them: one such forest is enough.
var exchangeFeatures = map[string]bool{"exchange_hybrid": true, "exchange_public_folders": true, "group_writeback": true}

// FeatureOffered reports whether a feature can be chosen with the forests
// connected so far, and if not, why.
func FeatureOffered(a *Answers, field string) (bool, string) {
	if !exchangeFeatures[field] {
		return true, ""
	}
	all, known := a.Directories.HasExchangeSchema()
	if !known || all {
		return true, ""
	}
	var with, without []string
	for _, fc := range a.Directories.Forests {
		if fc.HasExchange {
			with = append(with, fc.Forest)
		} else {
			without = append(without, fc.Forest)
		}
	}
	if field == "group_writeback" && len(with) > 0 {
		return true, ""
	}
	return false, "Not available: it needs Exchange in your on-premises Active Directory, and the schema of " +
		strings.Join(without, ", ") + " has no Exchange attributes."
}

func validateFeatures(a *Answers) Errors {
	e := Errors{}
	for _, ft := range FeatureList {
		if ok, why := FeatureOffered(a, ft.Field); !ok && a.Features.On(ft.Field) {
			e.Add(ft.Field, why)
		}
	}
	if a.SignIn.Method == MethodPHS && !a.Features.PasswordHashSync {
		e.Add("password_hash_sync", MsgPHSRequired)
	}
	if a.Features.LegacySyncActive {
		// The seed's warning stands once, at the box that says Azure AD Sync
		// or DirSync is active; each writeback feature chosen says why it
		// is refused.
		for _, ft := range FeatureList {
			if ft.Writeback && a.Features.On(ft.Field) {
				e.Add(ft.Field, MsgLegacyChosen)
			}
		}
	}
	return e
}

func featureNotices(a *Answers) []Notice {
	var n []Notice
	f := a.Features
	switch {
	case a.SignIn.Federated() && f.PasswordHashSync:
		n = append(n, Notice{Level: "info", About: "password_hash_sync", PageOnly: true, Text: "With federation as the sign-in method, password hash synchronization is a backup option."})
	case a.SignIn.Method == MethodPTA && f.PasswordHashSync:
		n = append(n, Notice{Level: "info", About: "password_hash_sync", PageOnly: true, Text: "With pass-through authentication, password hash synchronization supports legacy clients and provides a backup."})
	}
	if _, any := a.Directories.HasExchangeSchema(); f.GroupWriteback && !any {
		n = append(n, Notice{Level: "warn", About: "group_writeback", Text: "Group writeback is available only if you have Exchange in your on-premises Active Directory. " +
			"hybridsync checks each forest's schema for the Exchange attributes when you connect your directories."})
	}
	if f.ExchangePublicFolders {
		// The feature's description says it word for word.
		n = append(n, Notice{Level: "info", ReadyOnly: true, Text: "Syncing groups that contain public folders as members is not supported and results in a synchronization error."})
	}
	if f.PasswordWriteback {
		n = append(n, Notice{Level: "info", About: "password_writeback", PageOnly: true, Text: "Microsoft Entra Connect 1.0.8641.0 and earlier relied on the retired Azure Access Control Service and " +
			"don't support password writeback: retire such a server before relying on password writeback here."})
	}
	if f.AppAttributeFiltering {
		n = append(n, Notice{Level: "warn", About: "app_attribute_filtering", PageOnly: true, Text: "Removing attributes can affect functionality."})
	}
	// Azure AD Sync or DirSync active: the seed's warning is the description
	// of that box, and each writeback feature chosen with it is an error.
	return n
}
