package tenant

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
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
	t.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context": baseURL(r) + "/v1.0/$metadata#organization",
		"value": []map[string]any{{
			"id":                    t.tenantID,
			"deletedDateTime":       nil,
			"displayName":           t.displayName,
			"createdDateTime":       t.createdAt.Format(time.RFC3339),
			"tenantType":            "AAD",
			"onPremisesSyncEnabled": nil,
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
}

// userJSON is a create or update body; nil means "not sent".
type userJSON struct {
	AccountEnabled        *bool            `json:"accountEnabled"`
	DisplayName           *string          `json:"displayName"`
	GivenName             *string          `json:"givenName"`
	Surname               *string          `json:"surname"`
	Mail                  *string          `json:"mail"`
	MailNickname          *string          `json:"mailNickname"`
	UserPrincipalName     *string          `json:"userPrincipalName"`
	OnPremisesImmutableID *string          `json:"onPremisesImmutableId"`
	ProxyAddresses        *[]string        `json:"proxyAddresses"`
	UsageLocation         *string          `json:"usageLocation"`
	JobTitle              *string          `json:"jobTitle"`
	Department            *string          `json:"department"`
	PasswordProfile       *json.RawMessage `json:"passwordProfile"`
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
	if len(sel) == 0 {
		sel = defaultUserProperties
	}
	out := map[string]any{"id": u.ID}
	for _, p := range sel {
		if v, ok := all[p]; ok {
			out[p] = v
		}
	}
	return out
}

func selectOf(r *http.Request) []string {
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
	return t.createUserReq(nil, in)
}

func (t *Tenant) createUserReq(r *http.Request, in userJSON) (*user, *graphError) {
	if r == nil {
		r, _ = http.NewRequest(http.MethodPost, "/", nil)
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
	u := &user{ID: newGUID(), AccountEnabled: *in.AccountEnabled, UserPrincipalName: upn, CreatedDateTime: t.now().UTC().Truncate(time.Second)}
	apply(u, in)
	if u.ProxyAddresses == nil && u.Mail != "" {
		u.ProxyAddresses = []string{"SMTP:" + u.Mail}
	}
	addrs := addresses(u.ProxyAddresses, u.Mail)
	if e := t.checkUnique(r, "", upn, u.OnPremisesImmutableID, addrs); e != nil {
		return nil, e
	}
	t.seq++
	u.Seq = t.seq
	t.index(u, addrs)
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
	if in.ProxyAddresses != nil {
		u.ProxyAddresses = append([]string{}, (*in.ProxyAddresses)...)
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

func decodeUser(r *http.Request) (userJSON, *graphError) {
	var in userJSON
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		return in, newGraphError(r, http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.", nil)
	}
	return in, nil
}

func (t *Tenant) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeWrite(r); e != nil {
		writeGErr(w, e)
		return
	}
	in, e := decodeUser(r)
	if e != nil {
		writeGErr(w, e)
		return
	}
	u, e := t.createUserReq(r, in)
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
	if e := t.authorizeWrite(r); e != nil {
		writeGErr(w, e)
		return
	}
	in, e := decodeUser(r)
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
	next := *u
	apply(&next, in)
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
	w.WriteHeader(http.StatusNoContent)
}

func (t *Tenant) handleDeleteUser(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeWrite(r); e != nil {
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
	for upn, a := range t.admins {
		if a.UserID == u.ID {
			delete(t.admins, upn)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleListUsers pages in creation order; $skiptoken is opaque to clients
// and carries the last sequence number served.
func (t *Tenant) handleListUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	top := 100
	if s := q.Get("$top"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 999 {
			writeGraphError(w, r, http.StatusBadRequest, "Request_UnsupportedQuery", "Invalid page size specified: '"+s+"'. Must be between 1 and 999 inclusive.", nil)
			return
		}
		top = n
	}
	var after int64
	if s := q.Get("$skiptoken"); s != "" {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err == nil {
			after, err = strconv.ParseInt(strings.TrimPrefix(string(b), "seq:"), 10, 64)
		}
		if err != nil {
			writeGraphError(w, r, http.StatusBadRequest, "Directory_ExpiredPageToken", "The specified page token value has expired and can no longer be included in your request.", nil)
			return
		}
	}
	sel := selectOf(r)
	t.mu.Lock()
	all := make([]*user, 0, len(t.users))
	for _, u := range t.users {
		if u.Seq > after {
			all = append(all, u)
		}
	}
	slices.SortFunc(all, func(a, b *user) int { return int(a.Seq - b.Seq) })
	page := all[:min(top, len(all))]
	vals := make([]map[string]any, 0, len(page))
	for _, u := range page {
		vals = append(vals, u.json(sel))
	}
	t.mu.Unlock()
	body := map[string]any{"@odata.context": baseURL(r) + "/v1.0/$metadata#users", "value": vals}
	if len(all) > len(page) {
		next := q
		next.Set("$top", strconv.Itoa(top))
		next.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte("seq:"+strconv.FormatInt(page[len(page)-1].Seq, 10))))
		body["@odata.nextLink"] = baseURL(r) + "/v1.0/users?" + strings.NewReplacer("%24", "$", "%2C", ",").Replace(next.Encode())
	}
	writeJSON(w, http.StatusOK, body)
}

// ---- authorization and the write budget -------------------------------------

// authorizeWrite checks the caller may write and spends one unit of its app's
// write budget; over budget it answers Graph's 429 with Retry-After.
func (t *Tenant) authorizeWrite(r *http.Request) *graphError {
	p := principalFrom(r)
	if !p.canWrite() {
		return newGraphError(r, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.", nil)
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.writes[p.AppID]
	if b == nil || now.Sub(b.start) >= t.window {
		b = &bucket{start: now}
		t.writes[p.AppID] = b
	}
	if b.count >= t.budget {
		wait := b.start.Add(t.window).Sub(now)
		e := newGraphError(r, http.StatusTooManyRequests, "TooManyRequests", "Please retry again later.", nil)
		e.InnerError.Code = "429"
		e.InnerError.Message = "Please retry after"
		e.InnerError.Status = "429"
		e.retryAfter = max(1, int(math.Ceil(wait.Seconds())))
		return e
	}
	b.count++
	return nil
}
