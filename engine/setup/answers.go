// Package setup is the wizard's model: every answer the admin gives, the ordered
// table of pages with the condition under which each is shown, and each page's
// fields and rules in a file of its own. It knows nothing of HTTP: a page binds
// from a Form (plain values and an optional uploaded file) and validates to Errors.
package setup

import (
	"net/url"
	"sort"
	"strings"
)

// Answers is everything the wizard has collected. It is saved as JSON on every
// Next and Back. Secrets in it are sealed (engine/secret) before it is saved.
type Answers struct {
	Express        Express        `json:"express"`
	Components     Components     `json:"components"`
	SignIn         SignIn         `json:"signIn"`
	ConnectEntra   ConnectEntra   `json:"connectEntra"`
	Directories    Directories    `json:"directories"`
	OUFiltering    OUFiltering    `json:"ouFiltering"`
	GroupFiltering GroupFiltering `json:"groupFiltering"`
	SignInConfig   SignInConfig   `json:"signInConfig"`
	Identifying    Identifying    `json:"identifying"`
	Extensions     Extensions     `json:"extensions"`
	SSO            SSO            `json:"sso"`
	// Writeback is the Writeback page (group and device writeback).
	Writeback Writeback `json:"writeback"`
	// Federation is what the AD FS and PingFederate pages collect.
	Federation Federation `json:"federation"`
	Features   Features   `json:"features"`
	Ready      Ready      `json:"ready"`
	// The two pages of Microsoft Entra app and attribute filtering.
	EntraApps       EntraApps       `json:"entraApps"`
	EntraAttributes EntraAttributes `json:"entraAttributes"`
}

// Defaults returns the answers of a wizard nobody has touched yet.
func Defaults() Answers {
	return Answers{
		Components:     Components{SQLDatabase: DefaultDatabaseName, SQLPermission: PermissionSA, ServiceAccountType: AccountManaged},
		SignIn:         SignIn{Method: MethodPHS},
		Directories:    Directories{Draft: ForestDraft{Security: SecurityLDAPS, Account: AccountCreate}},
		Features:       Features{PasswordHashSync: true},
		Ready:          Ready{StartSync: true},
		OUFiltering:    OUFiltering{SyncNewOUs: true},
		GroupFiltering: GroupFiltering{Mode: GroupModeAll},
		EntraApps:      EntraApps{Selected: allApps()},
	}
}

// Form is what a page binds from.
type Form struct {
	Values url.Values
	File   *Upload // the page's uploaded file, if any
}

// Upload is an uploaded file.
type Upload struct {
	Name string
	Data []byte
}

func (f Form) str(name string) string { return strings.TrimSpace(f.Values.Get(name)) }

// raw keeps surrounding spaces (passwords).
func (f Form) raw(name string) string { return f.Values.Get(name) }

func (f Form) on(name string) bool {
	switch f.Values.Get(name) {
	case "on", "true", "1", "yes":
		return true
	}
	return false
}

// Errors maps a field name to what is wrong with it. The key "" holds an error of
// the page as a whole.
type Errors map[string]string

// Add records an error on a field, keeping the first one.
func (e Errors) Add(field, msg string) {
	if _, ok := e[field]; !ok {
		e[field] = msg
	}
}

// Fields lists the fields with errors, sorted, the page error first.
func (e Errors) Fields() []string {
	out := make([]string, 0, len(e))
	for k := range e {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Notice is a warning or note shown on a page, next to what it is about, and
// again on Ready to configure, under the summary of its page.
type Notice struct {
	Level string // "info" or "warn"
	Text  string
	// About names the part of the page the notice is about (a form field's
	// name, or a part a page names), where the page shows it; "" shows it
	// with the page's other notices, at the end of its form.
	About string
	// ReadyOnly: the page already says this at the choice (an option's
	// description says it word for word), so only Ready to configure shows it.
	ReadyOnly bool
	// PageOnly: advice for while the page is open, said there; Ready to
	// configure, which sums up the choices, leaves it out.
	PageOnly bool
}

// NoticesAbout are the notices a page shows about one part of it ("" for
// the rest).
func NoticesAbout(ns []Notice, about string) []Notice {
	var out []Notice
	for _, n := range ns {
		if n.About == about && !n.ReadyOnly {
			out = append(out, n)
		}
	}
	return out
}
