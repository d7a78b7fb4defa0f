package tenant

import (
	"net/http"
	"strings"
)

// contact is an organizational contact (orgContact). In Graph v1.0 the
// /contacts collection is read-only: list and get, no create, update or
// delete (orgcontact resource, "Methods"); contacts come from Exchange or
// directory sync, so here from the seed.
type contact struct {
	ID             string
	Seq            int64
	DisplayName    string
	GivenName      string
	Surname        string
	Mail           string
	MailNickname   string
	ProxyAddresses []string
	CompanyName    string
	JobTitle       string
	Department     string
}

var defaultContactProperties = []string{"id", "deletedDateTime", "companyName", "department", "displayName", "givenName", "jobTitle", "mail", "mailNickname", "onPremisesLastSyncDateTime", "onPremisesSyncEnabled", "proxyAddresses", "surname", "addresses", "phones"}

func (c *contact) json(sel []string) map[string]any {
	all := map[string]any{
		"id":                         c.ID,
		"deletedDateTime":            nil,
		"companyName":                nullable(c.CompanyName),
		"department":                 nullable(c.Department),
		"displayName":                c.DisplayName,
		"givenName":                  nullable(c.GivenName),
		"jobTitle":                   nullable(c.JobTitle),
		"mail":                       nullable(c.Mail),
		"mailNickname":               nullable(c.MailNickname),
		"onPremisesLastSyncDateTime": nil,
		"onPremisesSyncEnabled":      nil,
		"proxyAddresses":             append([]string{}, c.ProxyAddresses...),
		"surname":                    nullable(c.Surname),
		"addresses":                  []any{},
		"phones":                     []any{},
	}
	out := project(all, sel, defaultContactProperties)
	return out
}

var contactFilterProps = []string{"id", "displayName", "mail", "mailNickname", "proxyAddresses", "givenName", "surname"}

func (c *contact) prop(p string) []string {
	switch strings.ToLower(p) {
	case "id":
		return []string{c.ID}
	case "displayname":
		return []string{c.DisplayName}
	case "mail":
		return []string{c.Mail}
	case "mailnickname":
		return []string{c.MailNickname}
	case "proxyaddresses":
		return c.ProxyAddresses
	case "givenname":
		return []string{c.GivenName}
	case "surname":
		return []string{c.Surname}
	}
	return nil
}

func (t *Tenant) handleListContacts(w http.ResponseWriter, r *http.Request) {
	serveList(t, w, r, "OrgContact", "contacts", contactFilterProps, t.contacts, func(c *contact) int64 { return c.Seq })
}

func (t *Tenant) handleGetContact(w http.ResponseWriter, r *http.Request) {
	serveObject(t, w, r, "contacts", func() (*contact, bool) {
		c := t.contacts[strings.ToLower(r.PathValue("id"))]
		return c, c != nil
	})
}

// handleMethodNotAllowed answers writes Graph v1.0 does not offer (contacts).
// Status and wording are the emulator's: no stored real answer was found.
func handleMethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeGraphError(w, r, http.StatusMethodNotAllowed, "Request_BadRequest", "The specified HTTP method is not allowed for the request uri.", nil)
}
