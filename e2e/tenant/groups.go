package tenant

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"
)

// group is a security group or a Microsoft 365 (Unified) group. Its mail and
// proxyAddresses are read-only through Graph (group resource: "Read-only");
// Graph sets them for Unified groups from mailNickname, and the seed may set
// them for the mail-enabled groups Exchange or sync would create.
type group struct {
	ID              string
	Seq             int64
	DisplayName     string
	Description     string
	Mail            string
	MailNickname    string
	MailEnabled     bool
	SecurityEnabled bool
	GroupTypes      []string
	ProxyAddresses  []string
	Members         []string // object ids, in the order added
	Owners          []string `json:",omitempty"` // object ids, in the order added
	CreatedDateTime time.Time
	// Extensions are directory extension values by full name (applications.go).
	Extensions map[string]any `json:",omitempty"`
	// Others are the properties kept without a field (others.go).
	Others others `json:",omitempty"`
}

// defaultGroupProperties is Graph's default set, shortened to the
// properties the emulator keeps (group resource, "Returned by default").
var defaultGroupProperties = []string{"id", "deletedDateTime", "classification", "createdDateTime", "description", "displayName", "expirationDateTime", "groupTypes", "isAssignableToRole", "mail", "mailEnabled", "mailNickname", "membershipRule", "onPremisesSyncEnabled", "onPremisesSecurityIdentifier", "onPremisesSamAccountName", "proxyAddresses", "securityEnabled", "securityIdentifier", "visibility"}

func (g *group) json(sel []string) map[string]any {
	vis := any(nil)
	if slices.Contains(g.GroupTypes, "Unified") {
		vis = "Public"
	}
	all := map[string]any{
		"id":                           g.ID,
		"deletedDateTime":              nil,
		"classification":               nil,
		"createdDateTime":              g.CreatedDateTime.Format(time.RFC3339),
		"description":                  nullable(g.Description),
		"displayName":                  g.DisplayName,
		"expirationDateTime":           nil,
		"groupTypes":                   append([]string{}, g.GroupTypes...),
		"isAssignableToRole":           nil,
		"mail":                         nullable(g.Mail),
		"mailEnabled":                  g.MailEnabled,
		"mailNickname":                 g.MailNickname,
		"membershipRule":               nil,
		"onPremisesSyncEnabled":        nil,
		"onPremisesSecurityIdentifier": nil,
		"onPremisesSamAccountName":     nil,
		"proxyAddresses":               append([]string{}, g.ProxyAddresses...),
		"securityEnabled":              g.SecurityEnabled,
		"securityIdentifier":           cloudSID(g.ID),
		"visibility":                   vis,
	}
	g.Others.into(all)
	out := project(all, sel, defaultGroupProperties)
	selectedExtensions(out, sel, g.Extensions)
	return out
}

var groupFilterProps = []string{"id", "displayName", "mailNickname", "mail", "proxyAddresses", "securityEnabled", "mailEnabled"}

func (g *group) prop(p string) []string {
	switch strings.ToLower(p) {
	case "id":
		return []string{g.ID}
	case "displayname":
		return []string{g.DisplayName}
	case "mailnickname":
		return []string{g.MailNickname}
	case "mail":
		return []string{g.Mail}
	case "proxyaddresses":
		return g.ProxyAddresses
	case "securityenabled":
		return []string{fmt.Sprint(g.SecurityEnabled)}
	case "mailenabled":
		return []string{fmt.Sprint(g.MailEnabled)}
	}
	return nil
}

// groupJSON is a create or update body; nil means "not sent".
type groupJSON struct {
	DisplayName     *string   `json:"displayName"`
	Description     *string   `json:"description"`
	MailEnabled     *bool     `json:"mailEnabled"`
	MailNickname    *string   `json:"mailNickname"`
	SecurityEnabled *bool     `json:"securityEnabled"`
	GroupTypes      *[]string `json:"groupTypes"`
	Members         []string  `json:"members@odata.bind"`
	Owners          []string  `json:"owners@odata.bind"`
	// Read-only through Graph; sent, they are refused.
	Mail           *string   `json:"mail"`
	ProxyAddresses *[]string `json:"proxyAddresses"`
	// extensions are the body's directory extension values, checked;
	// others its other properties (visibility, ...), kept as written.
	extensions map[string]any
	others     others
}

// validNickname follows group-post-groups: at most 64 ASCII characters
// without @ () \ [] " ; : <> , and space.
func validNickname(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if c > 126 || c < 33 || strings.ContainsRune(`@()\[]";:<>,`, c) {
			return false
		}
	}
	return true
}

// proxyConflictLocked reports whether one of addrs is held by an object
// other than self, across users, groups and contacts. Caller holds t.mu.
func (t *Tenant) proxyConflictLocked(self string, addrs []string) bool {
	for _, a := range addrs {
		if id, ok := t.byProxy[a]; ok && id != self {
			return true
		}
	}
	return false
}

func (t *Tenant) indexProxiesLocked(id string, addrs []string) {
	for _, a := range addrs {
		t.byProxy[a] = id
	}
}

func (t *Tenant) unindexProxiesLocked(id string, addrs []string) {
	for _, a := range addrs {
		if t.byProxy[a] == id {
			delete(t.byProxy, a)
		}
	}
}

// defaultDomainLocked is the tenant's default verified domain. Caller holds t.mu.
func (t *Tenant) defaultDomainLocked() string {
	for _, d := range t.domains {
		if d.Default {
			return d.Name
		}
	}
	return t.initialDomain
}

// refID reads the object id out of an @odata.id / @odata.bind URL
// (…/directoryObjects/{id}, …/users/{id}, …/groups/{id}, …).
func refID(ref string) string {
	u, err := url.Parse(ref)
	if err != nil {
		return ""
	}
	return strings.ToLower(path.Base(u.Path))
}

// createGroupLocked creates a group from a POST body or the seed; r may be a
// stand-in while seeding. Caller holds t.mu.
func (t *Tenant) createGroupLocked(r *http.Request, in groupJSON, seeding bool) (*group, *graphError) {
	for _, req := range []struct {
		name string
		set  bool
	}{
		{"displayName", in.DisplayName != nil && *in.DisplayName != ""},
		{"mailEnabled", in.MailEnabled != nil},
		{"mailNickname", in.MailNickname != nil && *in.MailNickname != ""},
		{"securityEnabled", in.SecurityEnabled != nil},
	} {
		if !req.set {
			return nil, badValue(r, req.name, fmt.Sprintf("Invalid value specified for property '%s' of resource 'Group'.", req.name))
		}
	}
	if !validNickname(*in.MailNickname) {
		return nil, badValue(r, "mailNickname", "Invalid value specified for property 'mailNickname' of resource 'Group'.")
	}
	g := &group{ID: newGUID(), DisplayName: *in.DisplayName, MailNickname: *in.MailNickname, MailEnabled: *in.MailEnabled, SecurityEnabled: *in.SecurityEnabled, CreatedDateTime: t.now().UTC().Truncate(time.Second), GroupTypes: []string{}}
	if in.Description != nil {
		g.Description = *in.Description
	}
	if in.GroupTypes != nil {
		g.GroupTypes = append([]string{}, (*in.GroupTypes)...)
	}
	unified := slices.Contains(g.GroupTypes, "Unified")
	switch {
	case !seeding && (in.Mail != nil || in.ProxyAddresses != nil):
		if in.Mail != nil {
			return nil, readOnlyProperty(r, "mail")
		}
		return nil, readOnlyProperty(r, "proxyAddresses")
	case !seeding && g.MailEnabled && !unified:
		// group-post-groups: mail-enabled security groups and distribution
		// groups can't be created through Graph.
		return nil, newGraphError(r, http.StatusBadRequest, "Request_BadRequest", "The service does not currently support writes of mail-enabled groups. Please ensure that the mail-enablement property is unset or is set to false.", nil)
	case unified:
		g.Mail = g.MailNickname + "@" + t.defaultDomainLocked()
		g.ProxyAddresses = []string{"SMTP:" + g.Mail}
	}
	if seeding {
		if in.Mail != nil {
			g.Mail = *in.Mail
		}
		if in.ProxyAddresses != nil {
			g.ProxyAddresses = append([]string{}, (*in.ProxyAddresses)...)
		}
		if g.ProxyAddresses == nil && g.Mail != "" {
			g.ProxyAddresses = []string{"SMTP:" + g.Mail}
		}
	}
	addrs := addresses(g.ProxyAddresses, g.Mail)
	if t.proxyConflictLocked("", addrs) {
		return nil, conflict(r, "proxyAddresses")
	}
	for _, ref := range in.Members {
		id := refID(ref)
		if _, _, ok := t.objectJSONLocked(id, nil); !ok {
			return nil, notFound(r, id)
		}
		if !slices.Contains(g.Members, id) {
			g.Members = append(g.Members, id)
		}
	}
	for _, ref := range in.Owners {
		// group-post-groups: owners@odata.bind names users or service
		// principals.
		id := refID(ref)
		m, _, ok := t.objectJSONLocked(id, nil)
		if _, sp := t.servicePrincipals[id]; !ok && !sp {
			return nil, notFound(r, id)
		}
		if ok && m["@odata.type"] != typeOfObject("user") {
			return nil, notImplemented(r, "group owners other than users and service principals")
		}
		if !slices.Contains(g.Owners, id) {
			g.Owners = append(g.Owners, id)
		}
	}
	applyExtensions(&g.Extensions, in.extensions)
	g.Others.apply(in.others)
	t.seq++
	g.Seq = t.seq
	t.groups[g.ID] = g
	t.indexProxiesLocked(g.ID, addrs)
	t.recordLocked(change{Kind: "group", ID: g.ID, Created: true})
	for _, m := range g.Members {
		t.journal.rememberType(m, t.memberTypeLocked(m))
	}
	t.changedLocked()
	return g, nil
}

func (t *Tenant) handleCreateGroup(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeWrite(r, permGroups); e != nil {
		writeGErr(w, e)
		return
	}
	var in groupJSON
	raw, more, e := decodeWrite(r, nil, &in)
	if e != nil {
		writeGErr(w, e)
		return
	}
	in.others = more
	t.mu.Lock()
	var g *group
	if in.extensions, e = t.extensionValuesLocked(r, raw, "Group"); e == nil {
		g, e = t.createGroupLocked(r, in, false)
	}
	var m map[string]any
	if g != nil {
		m = g.json(nil)
	}
	t.mu.Unlock()
	if e != nil {
		writeGErr(w, e)
		return
	}
	m["@odata.context"] = baseURL(r) + "/v1.0/$metadata#groups/$entity"
	w.Header().Set("Location", baseURL(r)+"/v1.0/groups/"+g.ID)
	writeJSON(w, http.StatusCreated, m)
}

func (t *Tenant) handleListGroups(w http.ResponseWriter, r *http.Request) {
	serveList(t, w, r, "Group", "groups", groupFilterProps, t.groups, func(g *group) int64 { return g.Seq })
}

func (t *Tenant) handleGetGroup(w http.ResponseWriter, r *http.Request) {
	serveObject(t, w, r, "groups", func() (*group, bool) {
		g := t.groups[strings.ToLower(r.PathValue("id"))]
		return g, g != nil
	})
}

func (t *Tenant) handleUpdateGroup(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeWrite(r, permGroups); e != nil {
		writeGErr(w, e)
		return
	}
	var in groupJSON
	raw, more, e := decodeWrite(r, nil, &in)
	if e != nil {
		writeGErr(w, e)
		return
	}
	switch {
	case in.Mail != nil:
		writeGErr(w, readOnlyProperty(r, "mail"))
		return
	case in.ProxyAddresses != nil:
		writeGErr(w, readOnlyProperty(r, "proxyAddresses"))
		return
	case in.MailEnabled != nil:
		writeGErr(w, readOnlyProperty(r, "mailEnabled"))
		return
	case in.DisplayName != nil && *in.DisplayName == "":
		writeGErr(w, badValue(r, "displayName", "Invalid value specified for property 'displayName' of resource 'Group'."))
		return
	case in.MailNickname != nil && !validNickname(*in.MailNickname):
		writeGErr(w, badValue(r, "mailNickname", "Invalid value specified for property 'mailNickname' of resource 'Group'."))
		return
	case in.Owners != nil:
		writeGErr(w, notImplemented(r, "adding owners by an update (POST /groups/{id}/owners/$ref)"))
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.groups[strings.ToLower(r.PathValue("id"))]
	if g == nil {
		writeGErr(w, notFound(r, r.PathValue("id")))
		return
	}
	// members@odata.bind on PATCH adds up to 20 members (group-post-members, example 2).
	var add []string
	for _, ref := range in.Members {
		id := refID(ref)
		if _, _, ok := t.objectJSONLocked(id, nil); !ok {
			writeGErr(w, notFound(r, id))
			return
		}
		if slices.Contains(g.Members, id) {
			writeGErr(w, memberExists(r))
			return
		}
		add = append(add, id)
	}
	ext, e := t.extensionValuesLocked(r, raw, "Group")
	if e != nil {
		writeGErr(w, e)
		return
	}
	if len(add) > 20 {
		// Guess: the message for more than 20 members added in one request.
		writeGraphError(w, r, http.StatusBadRequest, "Request_BadRequest", "The request exceeds the limit of 20 members that can be added in a single request.", nil)
		return
	}
	if in.DisplayName != nil {
		g.DisplayName = *in.DisplayName
	}
	if in.Description != nil {
		g.Description = *in.Description
	}
	if in.MailNickname != nil {
		g.MailNickname = *in.MailNickname
	}
	if in.SecurityEnabled != nil {
		g.SecurityEnabled = *in.SecurityEnabled
	}
	if in.GroupTypes != nil {
		g.GroupTypes = append([]string{}, (*in.GroupTypes)...)
	}
	g.Members = append(g.Members, add...)
	applyExtensions(&g.Extensions, ext)
	g.Others.apply(more)
	if props := slices.DeleteFunc(changedProps(r, raw), func(p string) bool { return p == "members" }); len(props) > 0 {
		t.recordLocked(change{Kind: "group", ID: g.ID, Props: props})
	}
	for _, id := range add {
		t.recordMemberLocked(g.ID, id, false)
	}
	t.changedLocked()
	w.WriteHeader(http.StatusNoContent)
}

func (t *Tenant) handleDeleteGroup(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeWrite(r, permGroups); e != nil {
		writeGErr(w, e)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.groups[strings.ToLower(r.PathValue("id"))]
	if g == nil {
		writeGErr(w, notFound(r, r.PathValue("id")))
		return
	}
	delete(t.groups, g.ID)
	t.unindexProxiesLocked(g.ID, addresses(g.ProxyAddresses, g.Mail))
	t.forgetObjectLocked(g.ID)
	t.recordLocked(change{Kind: "group", ID: g.ID, Deleted: true})
	t.changedLocked()
	w.WriteHeader(http.StatusNoContent)
}

// memberExists is Graph's answer to adding a member twice (group-post-members:
// 400; the message is quoted by many clients, e.g. n8n's Microsoft Entra node).
func memberExists(r *http.Request) *graphError {
	return newGraphError(r, http.StatusBadRequest, "Request_BadRequest", "One or more added object references already exist for the following modified properties: 'members'.", nil)
}

// serveLinked answers a GET of an object's links (members, owners,
// registered owners) as directoryObjects with their @odata.type, paged in the
// order added; links reads them under the tenant's lock, and says whether the
// object exists.
func (t *Tenant) serveLinked(w http.ResponseWriter, r *http.Request, links func() ([]string, bool)) {
	t.mu.Lock()
	ids, found := links()
	var items []pageItem
	for i, id := range ids {
		if m, _, ok := t.objectJSONLocked(id, selectOf(r)); ok {
			items = append(items, pageItem{seq: int64(i + 1), body: m})
		}
	}
	t.mu.Unlock()
	if !found {
		writeGErr(w, notFound(r, r.PathValue("id")))
		return
	}
	servePage(w, r, "directoryObjects", items)
}

// handleListMembers: GET /groups/{id}/members — direct members as
// directoryObjects with their @odata.type, paged in the order added.
func (t *Tenant) handleListMembers(w http.ResponseWriter, r *http.Request) {
	t.serveLinked(w, r, func() ([]string, bool) {
		o := t.groups[strings.ToLower(r.PathValue("id"))]
		if o == nil {
			return nil, false
		}
		return o.Members, true
	})
}

// handleAddMember: POST /groups/{id}/members/$ref {"@odata.id": ".../directoryObjects/{id}"} → 204.
func (t *Tenant) handleAddMember(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeWrite(r, permGroups); e != nil {
		writeGErr(w, e)
		return
	}
	var in struct {
		ID string `json:"@odata.id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeGErr(w, badJSON(r))
		return
	}
	if in.ID == "" {
		// Guess: the message for a $ref body without @odata.id.
		writeGraphError(w, r, http.StatusBadRequest, "BadRequest", "The request URI is not valid. The @odata.id property is required.", nil)
		return
	}
	mid := refID(in.ID)
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.groups[strings.ToLower(r.PathValue("id"))]
	if g == nil {
		writeGErr(w, notFound(r, r.PathValue("id")))
		return
	}
	if _, _, ok := t.objectJSONLocked(mid, nil); !ok {
		writeGErr(w, notFound(r, mid))
		return
	}
	if slices.Contains(g.Members, mid) {
		writeGErr(w, memberExists(r))
		return
	}
	if mid == g.ID {
		// Guess: the message for making a group a member of itself.
		writeGraphError(w, r, http.StatusBadRequest, "Request_BadRequest", "A group cannot be a member of itself.", nil)
		return
	}
	g.Members = append(g.Members, mid)
	t.recordMemberLocked(g.ID, mid, false)
	t.changedLocked()
	w.WriteHeader(http.StatusNoContent)
}

// handleRemoveMember: DELETE /groups/{id}/members/{memberId}/$ref → 204.
func (t *Tenant) handleRemoveMember(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeWrite(r, permGroups); e != nil {
		writeGErr(w, e)
		return
	}
	mid := strings.ToLower(r.PathValue("mid"))
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.groups[strings.ToLower(r.PathValue("id"))]
	if g == nil {
		writeGErr(w, notFound(r, r.PathValue("id")))
		return
	}
	if !slices.Contains(g.Members, mid) {
		// The message is quoted in public code (a Teams provisioning
		// report's error classes).
		// Guess: the status (400) for removing a member that isn't one.
		writeGraphError(w, r, http.StatusBadRequest, "Request_BadRequest", "One or more removed object references do not exist for the following modified properties: 'members'.", nil)
		return
	}
	g.Members = slices.DeleteFunc(g.Members, func(m string) bool { return m == mid })
	t.recordMemberLocked(g.ID, mid, true)
	t.changedLocked()
	w.WriteHeader(http.StatusNoContent)
}

// handleListOwners: GET /groups/{id}/owners — the owners as directoryObjects
// with their @odata.type, in the order added.
func (t *Tenant) handleListOwners(w http.ResponseWriter, r *http.Request) {
	t.serveLinked(w, r, func() ([]string, bool) {
		o := t.groups[strings.ToLower(r.PathValue("id"))]
		if o == nil {
			return nil, false
		}
		return o.Owners, true
	})
}
