package tenant

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// graphError is Graph's error body: {"error":{...}}.
type graphError struct {
	Code       string        `json:"code"`
	Message    string        `json:"message"`
	InnerError innerError    `json:"innerError"`
	Details    []errorDetail `json:"details,omitempty"`
	status     int
	retryAfter int
}

type innerError struct {
	Code            string `json:"code,omitempty"`
	Date            string `json:"date"`
	RequestID       string `json:"request-id"`
	ClientRequestID string `json:"client-request-id"`
	Message         string `json:"message,omitempty"`
	Status          string `json:"status,omitempty"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Target  string `json:"target,omitempty"`
}

func newGraphError(r *http.Request, status int, code, msg string, details []errorDetail) *graphError {
	crid := r.Header.Get("client-request-id")
	rid := newGUID()
	if crid == "" {
		crid = rid
	}
	return &graphError{
		status: status, Code: code, Message: msg, Details: details,
		InnerError: innerError{Date: time.Now().UTC().Format("2006-01-02T15:04:05"), RequestID: rid, ClientRequestID: crid},
	}
}

func writeGraphError(w http.ResponseWriter, r *http.Request, status int, code, msg string, details []errorDetail) {
	writeGErr(w, newGraphError(r, status, code, msg, details))
}

func writeGErr(w http.ResponseWriter, e *graphError) {
	w.Header().Set("request-id", e.InnerError.RequestID)
	w.Header().Set("client-request-id", e.InnerError.ClientRequestID)
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	writeJSON(w, e.status, map[string]any{"error": e})
}

func conflict(r *http.Request, property string) *graphError {
	msg := fmt.Sprintf("Another object with the same value for property %s already exists.", property)
	return newGraphError(r, http.StatusBadRequest, "Request_BadRequest", msg, []errorDetail{
		{Code: "ObjectConflict", Message: msg, Target: property},
		{Code: "ConflictingObjects", Message: msg},
	})
}

func badValue(r *http.Request, property, msg string) *graphError {
	return newGraphError(r, http.StatusBadRequest, "Request_BadRequest", msg, []errorDetail{{Code: "InvalidValue", Message: msg, Target: property}})
}

func notFound(r *http.Request, id string) *graphError {
	return newGraphError(r, http.StatusNotFound, "Request_ResourceNotFound",
		fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id), nil)
}

// ---- organization and domains -------------------------------------------

func (t *Tenant) handleOrganization(w http.ResponseWriter, r *http.Request) {
	t.mu.Lock()
	var vds []map[string]any
	for _, d := range t.domains {
		if !d.Verified {
			continue
		}
		caps := "None"
		if d.Initial {
			caps = "Email, OfficeCommunicationsOnline"
		}
		vds = append(vds, map[string]any{"capabilities": caps, "isDefault": d.Default, "isInitial": d.Initial, "name": d.Name, "type": d.AuthenticationType})
	}
	var syncEnabled any
	if t.orgSyncEnabled != nil {
		syncEnabled = *t.orgSyncEnabled
	}
	t.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context": baseURL(r) + "/v1.0/$metadata#organization",
		"value": []map[string]any{{
			"id":                    t.tenantID,
			"deletedDateTime":       nil,
			"displayName":           t.displayName,
			"createdDateTime":       t.createdAt.Format(time.RFC3339),
			"tenantType":            "AAD",
			"onPremisesSyncEnabled": syncEnabled,
			"verifiedDomains":       vds,
		}},
	})
}

func (d *domain) json() map[string]any {
	svc := []string{}
	if d.Initial {
		svc = []string{"Email", "OfficeCommunicationsOnline"}
	}
	return map[string]any{
		"authenticationType":               d.AuthenticationType,
		"availabilityStatus":               nil,
		"id":                               d.Name,
		"isAdminManaged":                   true,
		"isDefault":                        d.Default,
		"isInitial":                        d.Initial,
		"isRoot":                           d.Verified && !strings.Contains(strings.TrimSuffix(d.Name, ".onmicrosoft.com"), "."),
		"isVerified":                       d.Verified,
		"passwordNotificationWindowInDays": 14,
		"passwordValidityPeriodInDays":     2147483647,
		"supportedServices":                svc,
		"state":                            nil,
	}
}

func (t *Tenant) handleDomains(w http.ResponseWriter, r *http.Request) {
	t.mu.Lock()
	out := []map[string]any{}
	for _, d := range t.domains {
		out = append(out, d.json())
	}
	t.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"@odata.context": baseURL(r) + "/v1.0/$metadata#domains", "value": out})
}

func (t *Tenant) handleDomain(w http.ResponseWriter, r *http.Request) {
	id := strings.ToLower(r.PathValue("id"))
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, d := range t.domains {
		if d.Name == id {
			m := d.json()
			m["@odata.context"] = baseURL(r) + "/v1.0/$metadata#domains/$entity"
			writeJSON(w, http.StatusOK, m)
			return
		}
	}
	writeGErr(w, notFound(r, r.PathValue("id")))
}

// ---- users ----------------------------------------------------------------

type user struct {
	ID                    string
	Seq                   int64
	AccountEnabled        bool
	DisplayName           string
	GivenName             string
	Surname               string
	Mail                  string
	MailNickname          string
	UserPrincipalName     string
	OnPremisesImmutableID string
	ProxyAddresses        []string
	UsageLocation         string
	JobTitle              string
	Department            string
	CreatedDateTime       time.Time
	// Extensions are directory extension values by full name (applications.go).
	Extensions map[string]any `json:",omitempty"`
	// Others are the properties kept without a field (others.go).
	Others others `json:",omitempty"`

	// Sign-in: the password (from the seed or passwordProfile), MFA with
	// its fixed code, a locked account, and directory roles held from the
	// seed (assignments made through Graph live in Tenant.assignments).
	Password string   `json:",omitempty"`
	MFA      bool     `json:",omitempty"`
	MFACode  string   `json:",omitempty"`
	Locked   bool     `json:",omitempty"`
	Roles    []string `json:",omitempty"`
}

// userJSON is a create or update body; nil means "not sent". proxyAddresses
// is read-only (by the metadata): mail sets the SMTP address.
type userJSON struct {
	AccountEnabled        *bool            `json:"accountEnabled"`
	DisplayName           *string          `json:"displayName"`
	GivenName             *string          `json:"givenName"`
	Surname               *string          `json:"surname"`
	Mail                  *string          `json:"mail"`
	MailNickname          *string          `json:"mailNickname"`
	UserPrincipalName     *string          `json:"userPrincipalName"`
	OnPremisesImmutableID *string          `json:"onPremisesImmutableId"`
	UsageLocation         *string          `json:"usageLocation"`
	JobTitle              *string          `json:"jobTitle"`
	Department            *string          `json:"department"`
	PasswordProfile       *passwordProfile `json:"passwordProfile"`
}

type passwordProfile struct {
	Password                      string `json:"password"`
	ForceChangePasswordNextSignIn bool   `json:"forceChangePasswordNextSignIn"`
}

// defaultUserProperties are returned when no $select is given (Graph's
// default set for users).
var defaultUserProperties = []string{"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (u *user) json(sel []string) map[string]any {
	all := map[string]any{
		"id":                    u.ID,
		"businessPhones":        []string{},
		"accountEnabled":        u.AccountEnabled,
		"displayName":           nullable(u.DisplayName),
		"givenName":             nullable(u.GivenName),
		"surname":               nullable(u.Surname),
		"jobTitle":              nullable(u.JobTitle),
		"department":            nullable(u.Department),
		"mail":                  nullable(u.Mail),
		"mailNickname":          nullable(u.MailNickname),
		"mobilePhone":           nil,
		"officeLocation":        nil,
		"preferredLanguage":     nil,
		"userPrincipalName":     u.UserPrincipalName,
		"onPremisesImmutableId": nullable(u.OnPremisesImmutableID),
		"proxyAddresses":        append([]string{}, u.ProxyAddresses...),
		"usageLocation":         nullable(u.UsageLocation),
		"createdDateTime":       u.CreatedDateTime.Format(time.RFC3339),
	}
	u.Others.into(all)
	out := project(all, sel, defaultUserProperties)
	selectedExtensions(out, sel, u.Extensions)
	return out
}

// selectOf is the request's $select: as the route's type spells it when
// the route is typed (strict.go), else as sent.
func selectOf(r *http.Request) []string {
	if s := servedOf(r); s != nil {
		return s.sel
	}
	var sel []string
	for _, p := range strings.Split(r.URL.Query().Get("$select"), ",") {
		if p = strings.TrimSpace(p); p != "" {
			sel = append(sel, p)
		}
	}
	return sel
}

// addresses are the values a user holds in the tenant-wide proxy namespace:
// its proxyAddresses and its mail (as smtp:), lower-cased.
func addresses(proxies []string, mail string) []string {
	var out []string
	for _, p := range proxies {
		out = append(out, strings.ToLower(p))
	}
	if mail != "" {
		m := "smtp:" + strings.ToLower(mail)
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

func (t *Tenant) verifiedDomain(upn string) bool {
	_, dom, ok := strings.Cut(strings.ToLower(upn), "@")
	if !ok {
		return false
	}
	for _, d := range t.domains {
		if d.Verified && d.Name == dom {
			return true
		}
	}
	return false
}

// checkUnique applies the cloud's uniqueness rules to u as it would become;
// self is the id being updated ("" when creating). Caller holds t.mu.
func (t *Tenant) checkUnique(r *http.Request, self, upn, immID string, addrs []string) *graphError {
	if id, ok := t.byUPN[strings.ToLower(upn)]; ok && id != self {
		return conflict(r, "userPrincipalName")
	}
	for _, a := range addrs {
		if id, ok := t.byProxy[a]; ok && id != self {
			return conflict(r, "proxyAddresses")
		}
	}
	if immID != "" {
		if id, ok := t.byImmID[immID]; ok && id != self {
			return conflict(r, "onPremisesImmutableId")
		}
	}
	return nil
}

func validUPN(upn string) bool {
	local, dom, ok := strings.Cut(upn, "@")
	return ok && local != "" && dom != "" && !strings.ContainsAny(upn, " \t\"<>()[]\\,;:") && !strings.Contains(dom, "@")
}

const upnDomainMessage = "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization."

// createUser adds a user. r may be nil while seeding.
func (t *Tenant) createUser(in userJSON) (*user, *graphError) {
	return t.createUserReq(nil, in, nil, nil)
}

// createUserReq creates a user from a POST body; raw is the body's
// properties (for its directory extensions), more those kept without a
// field (others.go).
func (t *Tenant) createUserReq(r *http.Request, in userJSON, raw map[string]json.RawMessage, more others) (*user, *graphError) {
	seeding := r == nil
	if seeding {
		r, _ = http.NewRequest(http.MethodPost, "/", nil)
	}
	if !seeding && (in.PasswordProfile == nil || in.PasswordProfile.Password == "") {
		// user-post-users lists passwordProfile as required.
		// Guess: a user created without passwordProfile gets the other required properties' message.
		return nil, badValue(r, "passwordProfile", "Invalid value specified for property 'passwordProfile' of resource 'User'.")
	}
	for _, req := range []struct {
		name string
		set  bool
	}{
		{"accountEnabled", in.AccountEnabled != nil},
		{"displayName", in.DisplayName != nil && *in.DisplayName != ""},
		{"mailNickname", in.MailNickname != nil && *in.MailNickname != ""},
		{"userPrincipalName", in.UserPrincipalName != nil && *in.UserPrincipalName != ""},
	} {
		if !req.set {
			return nil, badValue(r, req.name, fmt.Sprintf("Invalid value specified for property '%s' of resource 'User'.", req.name))
		}
	}
	upn := *in.UserPrincipalName
	if !validUPN(upn) {
		return nil, badValue(r, "userPrincipalName", "Invalid value specified for property 'userPrincipalName' of resource 'User'.")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.verifiedDomain(upn) {
		return nil, badValue(r, "userPrincipalName", upnDomainMessage)
	}
	ext, e := t.extensionValuesLocked(r, raw, "User")
	if e != nil {
		return nil, e
	}
	u := &user{ID: newGUID(), AccountEnabled: *in.AccountEnabled, UserPrincipalName: upn, CreatedDateTime: t.now().UTC().Truncate(time.Second)}
	apply(u, in)
	applyExtensions(&u.Extensions, ext)
	u.Others.apply(more)
	u.ProxyAddresses = withPrimaryMail(nil, u.Mail)
	addrs := addresses(u.ProxyAddresses, u.Mail)
	if e := t.checkUnique(r, "", upn, u.OnPremisesImmutableID, addrs); e != nil {
		return nil, e
	}
	t.seq++
	u.Seq = t.seq
	t.index(u, addrs)
	t.changedLocked()
	return u, nil
}

func apply(u *user, in userJSON) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	if in.AccountEnabled != nil {
		u.AccountEnabled = *in.AccountEnabled
	}
	set(&u.DisplayName, in.DisplayName)
	set(&u.GivenName, in.GivenName)
	set(&u.Surname, in.Surname)
	set(&u.Mail, in.Mail)
	set(&u.MailNickname, in.MailNickname)
	set(&u.UserPrincipalName, in.UserPrincipalName)
	set(&u.OnPremisesImmutableID, in.OnPremisesImmutableID)
	set(&u.UsageLocation, in.UsageLocation)
	set(&u.JobTitle, in.JobTitle)
	set(&u.Department, in.Department)
	if in.Mail != nil {
		u.ProxyAddresses = withPrimaryMail(u.ProxyAddresses, *in.Mail)
	}
	if in.PasswordProfile != nil && in.PasswordProfile.Password != "" {
		u.Password = in.PasswordProfile.Password
	}
}

func (t *Tenant) index(u *user, addrs []string) {
	t.users[u.ID] = u
	t.byUPN[strings.ToLower(u.UserPrincipalName)] = u.ID
	for _, a := range addrs {
		t.byProxy[a] = u.ID
	}
	if u.OnPremisesImmutableID != "" {
		t.byImmID[u.OnPremisesImmutableID] = u.ID
	}
}

func (t *Tenant) unindex(u *user) {
	delete(t.users, u.ID)
	delete(t.byUPN, strings.ToLower(u.UserPrincipalName))
	for _, a := range addresses(u.ProxyAddresses, u.Mail) {
		if t.byProxy[a] == u.ID {
			delete(t.byProxy, a)
		}
	}
	if t.byImmID[u.OnPremisesImmutableID] == u.ID {
		delete(t.byImmID, u.OnPremisesImmutableID)
	}
}

// lookup finds a user by id or userPrincipalName. Caller holds t.mu.
func (t *Tenant) lookup(key string) *user {
	if u, ok := t.users[strings.ToLower(key)]; ok {
		return u
	}
	if id, ok := t.byUPN[strings.ToLower(key)]; ok {
		return t.users[id]
	}
	return nil
}

func badJSON(r *http.Request) *graphError {
	return newGraphError(r, http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.", nil)
}

func decodeUser(r *http.Request) (userJSON, map[string]json.RawMessage, others, *graphError) {
	var in userJSON
	raw, more, e := decodeWrite(r, nil, &in)
	return in, raw, more, e
}

func (t *Tenant) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeWrite(r, permUsers); e != nil {
		writeGErr(w, e)
		return
	}
	in, raw, more, e := decodeUser(r)
	if e != nil {
		writeGErr(w, e)
		return
	}
	u, e := t.createUserReq(r, in, raw, more)
	if e != nil {
		writeGErr(w, e)
		return
	}
	m := u.json(allUserProps)
	m["@odata.context"] = baseURL(r) + "/v1.0/$metadata#users/$entity"
	w.Header().Set("Location", baseURL(r)+"/v1.0/users/"+u.ID)
	writeJSON(w, http.StatusCreated, m)
}

var allUserProps = []string{"id", "businessPhones", "accountEnabled", "displayName", "givenName", "surname", "jobTitle", "department", "mail", "mailNickname", "mobilePhone", "officeLocation", "preferredLanguage", "userPrincipalName", "onPremisesImmutableId", "proxyAddresses", "usageLocation", "createdDateTime"}

func (t *Tenant) handleGetUser(w http.ResponseWriter, r *http.Request) {
	t.mu.Lock()
	u := t.lookup(r.PathValue("id"))
	var m map[string]any
	if u != nil {
		m = u.json(selectOf(r))
		t.expandLocked(r, m)
	}
	t.mu.Unlock()
	if u == nil {
		writeGErr(w, notFound(r, r.PathValue("id")))
		return
	}
	m["@odata.context"] = baseURL(r) + "/v1.0/$metadata#users/$entity"
	writeJSON(w, http.StatusOK, m)
}

func (t *Tenant) handleUpdateUser(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeWrite(r, permUsers); e != nil {
		writeGErr(w, e)
		return
	}
	in, raw, more, e := decodeUser(r)
	if e != nil {
		writeGErr(w, e)
		return
	}
	if in.UserPrincipalName != nil && !validUPN(*in.UserPrincipalName) {
		writeGErr(w, badValue(r, "userPrincipalName", "Invalid value specified for property 'userPrincipalName' of resource 'User'."))
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	u := t.lookup(r.PathValue("id"))
	if u == nil {
		writeGErr(w, notFound(r, r.PathValue("id")))
		return
	}
	ext, e := t.extensionValuesLocked(r, raw, "User")
	if e != nil {
		writeGErr(w, e)
		return
	}
	next := *u
	next.Extensions = maps.Clone(u.Extensions)
	next.Others = maps.Clone(u.Others)
	apply(&next, in)
	applyExtensions(&next.Extensions, ext)
	next.Others.apply(more)
	if in.UserPrincipalName != nil && !t.verifiedDomain(next.UserPrincipalName) {
		writeGErr(w, badValue(r, "userPrincipalName", upnDomainMessage))
		return
	}
	addrs := addresses(next.ProxyAddresses, next.Mail)
	if e := t.checkUnique(r, u.ID, next.UserPrincipalName, next.OnPremisesImmutableID, addrs); e != nil {
		writeGErr(w, e)
		return
	}
	t.unindex(u)
	*u = next
	t.index(u, addrs)
	t.changedLocked()
	w.WriteHeader(http.StatusNoContent)
}

func (t *Tenant) handleDeleteUser(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeWrite(r, permUsers); e != nil {
		writeGErr(w, e)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	u := t.lookup(r.PathValue("id"))
	if u == nil {
		writeGErr(w, notFound(r, r.PathValue("id")))
		return
	}
	t.unindex(u)
	t.forgetObjectLocked(u.ID)
	t.changedLocked()
	w.WriteHeader(http.StatusNoContent)
}

// userFilterProps are the user properties $filter accepts here.
var userFilterProps = []string{"id", "userPrincipalName", "displayName", "givenName", "surname", "mail", "mailNickname", "onPremisesImmutableId", "proxyAddresses", "jobTitle", "department"}

func (u *user) prop(p string) []string {
	switch strings.ToLower(p) {
	case "id":
		return []string{u.ID}
	case "userprincipalname":
		return []string{u.UserPrincipalName}
	case "displayname":
		return []string{u.DisplayName}
	case "givenname":
		return []string{u.GivenName}
	case "surname":
		return []string{u.Surname}
	case "mail":
		return []string{u.Mail}
	case "mailnickname":
		return []string{u.MailNickname}
	case "onpremisesimmutableid":
		return []string{u.OnPremisesImmutableID}
	case "proxyaddresses":
		return u.ProxyAddresses
	case "jobtitle":
		return []string{u.JobTitle}
	case "department":
		return []string{u.Department}
	}
	return nil
}

// handleListUsers pages in creation order, with $filter and $select;
// $skiptoken is opaque to clients and carries the last sequence number served.
func (t *Tenant) handleListUsers(w http.ResponseWriter, r *http.Request) {
	f, e := filterOf(r, "User", userFilterProps)
	if e != nil {
		writeGErr(w, e)
		return
	}
	sel := selectOf(r)
	t.mu.Lock()
	items := make([]pageItem, 0, len(t.users))
	for _, u := range t.users {
		if f.match(u.prop) {
			m := u.json(sel)
			t.expandLocked(r, m)
			items = append(items, pageItem{seq: u.Seq, body: m})
		}
	}
	t.mu.Unlock()
	servePage(w, r, "users", items)
}
