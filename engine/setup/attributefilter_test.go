package setup

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// attrForm is the attributes page as a browser posts it once the admin has
// ticked every box but the ones named: every listed attribute in attr_seen,
// and a checked box for each other one.
func attrForm(a *Answers, clear ...string) Form {
	v := url.Values{}
	for _, r := range AttributeRows(a) {
		v.Add("attr_seen", r.Name)
		v.Set(AttrField(r.Name), "on")
	}
	for _, n := range clear {
		v.Del(AttrField(n))
	}
	return Form{Values: v}
}

func rowByName(rows []AttributeRow, name string) (AttributeRow, bool) {
	for _, r := range rows {
		if r.Name == name {
			return r, true
		}
	}
	return AttributeRow{}, false
}

func TestAttributeRows(t *testing.T) {
	tests := []struct {
		name     string
		apps     []string
		attr     string
		listed   bool
		types    string // of U, C, G, D
		required string // substring of the reason; "" : can be cleared
	}{
		{"Exchange: department on users and contacts", []string{AppExchange}, "department", true, "UC", ""},
		{"Exchange: description on groups only", []string{AppExchange}, "description", true, "G", ""},
		{"SharePoint: description on every type", []string{AppSharePoint}, "description", true, "UCG", ""},
		{"union of two apps' object types", []string{AppExchange, AppSharePoint}, "description", true, "UCG", ""},
		{"Exchange has no employeeID", []string{AppExchange}, "employeeID", false, "", ""},
		{"3rd party has employeeID", []string{AppThirdParty}, "employeeID", true, "U", ""},
		{"Exchange mail (added to the table)", []string{AppExchange}, "mail", true, "UCG", ""},
		{"sourceAnchor is mechanical", []string{AppIntune}, "sourceAnchor", true, "UCG", "mechanical"},
		{"objectSid is mechanical, and a device's", []string{AppExchange}, "objectSid", true, "UGD", "mechanical"},
		{"usageLocation is mechanical", []string{AppDynamicsCRM}, "usageLocation", true, "U", "license"},
		{"pwdLastSet is mechanical", []string{AppOfficeProPlus}, "pwdLastSet", true, "U", "tokens"},
		{"proxyAddresses can be cleared for Exchange", []string{AppExchange}, "proxyAddresses", true, "UCG", ""},
		{"proxyAddresses is mechanical for Azure RMS", []string{AppExchange, AppAzureRMS}, "proxyAddresses", true, "UCG", "Azure RMS"},
		{"Windows 10 attributes whatever the apps", []string{AppAzureRMS}, "operatingSystem", true, "D", "Windows 10"},
		{"userCertificate: Exchange's, but always a device's", []string{AppExchange}, "userCertificate", true, "UCD", "Windows 10"},
		{"mailNickname is needed to create objects", []string{AppOfficeProPlus}, "mailNickname", true, "UCG", "mail alias"},
		{"sAMAccountName whatever the apps", []string{AppIntune}, "sAMAccountName", true, "UG", "falls back"},
		{"userPrincipalName", []string{AppThirdParty}, "userPrincipalName", true, "U", "sign-in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := appFilterAnswers()
			a.EntraApps.Selected = tt.apps
			r, ok := rowByName(AttributeRows(&a), tt.attr)
			if ok != tt.listed {
				t.Fatalf("listed = %v", ok)
			}
			if !ok {
				return
			}
			var types string
			for i, on := range []bool{r.User, r.Contact, r.Group, r.Device} {
				if on {
					types += string("UCGD"[i])
				}
			}
			if types != tt.types {
				t.Errorf("types %s, want %s", types, tt.types)
			}
			if (r.Required == "") != (tt.required == "") || !strings.Contains(r.Required, tt.required) {
				t.Errorf("required %q, want %q", r.Required, tt.required)
			}
			if !r.Selected {
				t.Error("not selected on a fresh page")
			}
		})
	}
}

func TestAttributeCatalog(t *testing.T) {
	names := CatalogAttributes()
	if !slices.IsSortedFunc(names, func(a, b string) int {
		if lessName(a, b) {
			return -1
		}
		return 1
	}) {
		t.Error("catalog not sorted")
	}
	for n := range mechanicalReasons {
		if !slices.Contains(names, n) {
			t.Errorf("mechanical %s is in no table", n)
		}
	}
	for n := range coreReasons {
		if !slices.Contains(names, n) {
			t.Errorf("core %s is in no table", n)
		}
	}
	// Every app brings something of its own to the union.
	for _, app := range EntraAppList {
		if len(appAttrs[app.ID]) == 0 {
			t.Errorf("%s has no attributes", app.ID)
		}
	}
	// Each app's list with sync's own attributes: nothing required is ever
	// left out, whatever is selected.
	for _, app := range EntraAppList {
		a := appFilterAnswers()
		a.EntraApps.Selected = []string{app.ID}
		for _, n := range []string{"sourceAnchor", "objectSid", "userPrincipalName", "displayName", "mailNickname", "accountEnabled", "securityEnabled"} {
			if r, ok := rowByName(AttributeRows(&a), n); !ok || r.Required == "" {
				t.Errorf("%s: %s missing or optional", app.ID, n)
			}
		}
	}
}

func TestEntraAttributesBindAndValidate(t *testing.T) {
	tests := []struct {
		name        string
		before      []string // cleared before the post
		form        func(a *Answers) Form
		wantCleared []string
		wantUnknown []string
		wantErrs    map[string]string // field → substring
	}{
		{"nothing cleared", nil, func(a *Answers) Form { return attrForm(a) }, nil, nil, nil},
		{"clear two", nil, func(a *Answers) Form { return attrForm(a, "department", "title") }, []string{"department", "title"}, nil, nil},
		{"select again", []string{"department", "title"}, func(a *Answers) Form { return attrForm(a, "title") }, []string{"title"}, nil, nil},
		{"a name in another case", nil, func(a *Answers) Form {
			return form("attr_seen", "DEPARTMENT", "attr_seen", "title", AttrField("title"), "on")
		}, []string{"department"}, nil, nil},
		{"attributes not posted keep their state", []string{"department"}, func(a *Answers) Form {
			return form("attr_seen", "title")
		}, []string{"department", "title"}, nil, nil},
		{"unknown name", nil, func(a *Answers) Form {
			f := attrForm(a, "department")
			f.Values.Add("attr_seen", "favouriteColour")
			f.Values.Set(AttrField("carLicense"), "on")
			return f
		}, []string{"department"}, []string{"carLicense", "favouriteColour"}, map[string]string{"attrs": "carLicense, favouriteColour"}},
		{"an attribute the apps don't synchronize", nil, func(a *Answers) Form {
			f := attrForm(a)
			f.Values.Add("attr_seen", "employeeID")
			return f
		}, nil, []string{"employeeID"}, map[string]string{"attrs": "employeeID"}},
		{"a required one cleared", nil, func(a *Answers) Form { return attrForm(a, "objectSid", "department", "operatingSystem") },
			[]string{"department", "objectSid", "operatingSystem"}, nil,
			map[string]string{AttrField("objectSid"): "objectSid can't be cleared. A mechanical property", AttrField("operatingSystem"): "Windows 10"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := appFilterAnswers()
			a.EntraApps.Selected = []string{AppExchange}
			a.EntraAttributes.Cleared = tt.before
			attributeFilteringPage.Bind(&a, tt.form(&a))
			x := a.EntraAttributes
			if !slices.Equal(x.Cleared, tt.wantCleared) || !slices.Equal(x.Unknown, tt.wantUnknown) {
				t.Errorf("cleared %v unknown %v, want %v %v", x.Cleared, x.Unknown, tt.wantCleared, tt.wantUnknown)
			}
			e := attributeFilteringPage.Validate(context.Background(), &a, nil)
			if len(e) != len(tt.wantErrs) {
				t.Errorf("errors %v, want %v", e, tt.wantErrs)
			}
			for field, want := range tt.wantErrs {
				if !strings.Contains(e[field], want) {
					t.Errorf("error %s = %q, want %q", field, e[field], want)
				}
			}
		})
	}
	// A form without values (a GET's empty submit) changes nothing.
	a := appFilterAnswers()
	a.EntraAttributes.Cleared = []string{"title"}
	attributeFilteringPage.Bind(&a, Form{})
	if !slices.Equal(a.EntraAttributes.Cleared, []string{"title"}) {
		t.Errorf("an empty form cleared %v", a.EntraAttributes.Cleared)
	}
}

// The attribute selection follows the apps: a new app's attributes start
// selected, a cleared one stays cleared even while no app uses it.
func TestAttributesFollowApps(t *testing.T) {
	a := appFilterAnswers()
	appFilteringPage.Bind(&a, form(AppField(AppExchange), "on"))
	attributeFilteringPage.Bind(&a, attrForm(&a, "department", "initials"))
	if got := ClearedAttributes(&a); !slices.Equal(got, []string{"department", "initials"}) {
		t.Fatalf("cleared %v", got)
	}

	// Dynamics CRM only: it has department? No; initials? No. Neither is
	// listed any more, so neither counts as cleared; Exchange's own are gone.
	appFilteringPage.Bind(&a, form(AppField(AppDynamicsCRM), "on"))
	rows := AttributeRows(&a)
	for _, n := range []string{"department", "initials", "msExchArchiveName"} {
		if _, ok := rowByName(rows, n); ok {
			t.Errorf("%s listed for Dynamics CRM", n)
		}
	}
	if got := ClearedAttributes(&a); len(got) != 0 {
		t.Errorf("cleared %v", got)
	}
	attributeFilteringPage.Bind(&a, attrForm(&a))

	// Exchange and the 3rd party app: department and initials are cleared
	// again; employeeID, new, starts selected.
	appFilteringPage.Bind(&a, form(AppField(AppExchange), "on", AppField(AppThirdParty), "on"))
	if got := ClearedAttributes(&a); !slices.Equal(got, []string{"department", "initials"}) {
		t.Errorf("cleared after the apps came back: %v", got)
	}
	if r, ok := rowByName(AttributeRows(&a), "employeeID"); !ok || !r.Selected {
		t.Errorf("employeeID %+v", r)
	}
	// A cleared attribute that a new app makes mechanical is listed as
	// selected (it can't be cleared), and the page's check names it.
	a.EntraAttributes.Cleared = append(a.EntraAttributes.Cleared, "proxyAddresses")
	appFilteringPage.Bind(&a, form(AppField(AppExchange), "on", AppField(AppAzureRMS), "on"))
	if r, _ := rowByName(AttributeRows(&a), "proxyAddresses"); !r.Selected || r.Required == "" {
		t.Errorf("proxyAddresses with Azure RMS: %+v", r)
	}
	if e := validateEntraAttributes(&a); !strings.Contains(e[AttrField("proxyAddresses")], "Azure RMS") {
		t.Errorf("errors %v", e)
	}
	// Posting the page as shown fixes it.
	attributeFilteringPage.Bind(&a, attrForm(&a))
	if e := validateEntraAttributes(&a); len(e) != 0 {
		t.Errorf("errors after a post: %v", e)
	}
}

func TestUnsyncedAttributes(t *testing.T) {
	tests := []struct {
		name    string
		feature bool
		apps    []string
		cleared []string
		in, out []string
	}{
		{"feature off: everything syncs", false, []string{AppExchange}, []string{"department"}, nil, []string{"department", "employeeID"}},
		{"every app, nothing cleared", true, allApps(), nil, nil, []string{"department", "employeeID", "title"}},
		{"cleared", true, allApps(), []string{"department"}, []string{"department"}, []string{"title", "displayName"}},
		{"no selected app uses it", true, []string{AppExchange}, nil, []string{"employeeID", "preferredLanguage"}, []string{"department"}},
		{"required ones never", true, []string{AppAzureRMS}, []string{"objectSid", "displayName"},
			[]string{"department", "givenName"}, []string{"objectSid", "displayName", "mailNickname", "sAMAccountName", "operatingSystem"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Defaults()
			a.Features.AppAttributeFiltering = tt.feature
			a.EntraApps.Selected = tt.apps
			a.EntraAttributes.Cleared = tt.cleared
			got := UnsyncedAttributes(&a)
			for _, n := range tt.in {
				if !slices.Contains(got, n) {
					t.Errorf("%s synchronized", n)
				}
			}
			for _, n := range tt.out {
				if slices.Contains(got, n) {
					t.Errorf("%s unsynchronized", n)
				}
			}
		})
	}
}

func TestSummarizeAppFiltering(t *testing.T) {
	a := appFilterAnswers()
	a.EntraApps.Selected = []string{AppExchange, AppIntune}
	a.EntraAttributes.Cleared = []string{"department", "title", "employeeID"} // employeeID: not an Exchange or Intune one
	rows := summarizeAppFiltering(a)
	want := []SummaryRow{{"Microsoft Entra apps", "Exchange Online, Intune"}, {"Unsynchronized attributes", "2: department, title"}}
	if !slices.Equal(rows, want) {
		t.Errorf("summary %v", rows)
	}
	found := false
	for _, g := range Summary(a, "/data") {
		for _, r := range g.Rows {
			found = found || r == want[1]
		}
	}
	if !found {
		t.Error("Summary lacks the unsynchronized attributes")
	}
	a.Features.AppAttributeFiltering = false
	if rows := summarizeAppFiltering(a); rows != nil {
		t.Errorf("summary without the feature: %v", rows)
	}
}
