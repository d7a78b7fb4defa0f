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
	if len(sel) == 0 {
		sel = defaultContactProperties
	}
	out := map[string]any{"id": c.ID}
	for _, p := range sel {
		if v, ok := all[p]; ok {
			out[p] = v
		}
	}
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
	f, e := filterOf(r, "OrgContact", contactFilterProps)
	if e != nil {
		writeGErr(w, e)
		return
	}
	sel := selectOf(r)
	t.mu.Lock()
	var items []pageItem
	for _, c := range t.contacts {
		if f.match(c.prop) {
			items = append(items, pageItem{seq: c.Seq, body: c.json(sel)})
		}
	}
	t.mu.Unlock()
	servePage(w, r, "contacts", items)
}

func (t *Tenant) handleGetContact(w http.ResponseWriter, r *http.Request) {
	t.mu.Lock()
	c := t.contacts[strings.ToLower(r.PathValue("id"))]
	var m map[string]any
	if c != nil {
		m = c.json(selectOf(r))
	}
	t.mu.Unlock()
	if c == nil {
		writeGErr(w, notFound(r, r.PathValue("id")))
		return
	}
	m["@odata.context"] = baseURL(r) + "/v1.0/$metadata#contacts/$entity"
	writeJSON(w, http.StatusOK, m)
}

// handleMethodNotAllowed answers writes Graph v1.0 does not offer (contacts).
// Status and wording are the emulator's: no stored real answer was found.
func handleMethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeGraphError(w, r, http.StatusMethodNotAllowed, "Request_BadRequest", "The specified HTTP method is not allowed for the request uri.", nil)
}
