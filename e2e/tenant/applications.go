package tenant

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Applications, their service principals and their directory extensions
// (extensionProperty). Microsoft Entra Connect keeps the directory extensions
// it syncs on one application of the tenant, "Tenant Schema Extension App";
// an extension is named extension_<appId without dashes>_<name> and can be
// written on users and groups once it is registered and the application has
// a service principal.
//
// Shapes: application-post-applications, application-post-extensionproperty
// and serviceprincipal-post-serviceprincipals (learn.microsoft.com/graph/api).

// More role template ids (permissions-reference).
const (
	RoleApplicationAdministrator      = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
	RoleCloudApplicationAdministrator = "158c047a-c907-4556-b7ef-446551a6b5f7"
)

// permApplications: application-post-applications and
// application-post-extensionproperty need Application.ReadWrite.All (or
// Directory.ReadWrite.All); the least privileged roles are Application
// Administrator and Cloud Application Administrator. Hybrid Identity
// Administrator and Directory Synchronization Accounts are let through:
// Entra Connect's wizard registers the extensions with the first, and the
// sync account reads them (both roles hold microsoft.directory/applications
// permissions in the permissions reference, as recalled, not checked).
// Guess: Hybrid Identity Administrator and Directory Synchronization Accounts may register and read extension properties.
var permApplications = permission{
	app:   []string{"Directory.ReadWrite.All", "Application.ReadWrite.All", "Application.Read.All", "Directory.Read.All"},
	roles: []string{RoleGlobalAdministrator, RoleApplicationAdministrator, RoleCloudApplicationAdministrator, RoleHybridIdentityAdministrator, RoleDirectorySynchronizationAcct},
}

type application struct {
	ID              string
	AppID           string
	Seq             int64
	DisplayName     string
	CreatedDateTime time.Time
	Extensions      []*extensionProperty
}

type extensionProperty struct {
	ID            string
	Name          string // extension_<appId without dashes>_<name>
	DataType      string
	IsMultiValued bool
	TargetObjects []string
}

type servicePrincipal struct {
	ID          string
	AppID       string
	Seq         int64
	DisplayName string
}

// extensionDataTypes are extensionProperty's dataType values.
var extensionDataTypes = []string{"Binary", "Boolean", "DateTime", "Integer", "LargeInteger", "String"}

// extensionTargets are its targetObjects values (PascalCase).
var extensionTargets = []string{"User", "Group", "AdministrativeUnit", "Application", "Device", "Organization"}

func (a *application) json(sel []string) map[string]any {
	all := map[string]any{
		"id":              a.ID,
		"appId":           a.AppID,
		"deletedDateTime": nil,
		"displayName":     a.DisplayName,
		"createdDateTime": a.CreatedDateTime.Format(time.RFC3339),
		"signInAudience":  "AzureADMyOrg",
		"identifierUris":  []string{},
		"publisherDomain": nil,
		"tags":            []string{},
	}
	if len(sel) == 0 {
		return all
	}
	return project(all, sel, nil)
}

func (a *application) prop(p string) []string {
	switch strings.ToLower(p) {
	case "id":
		return []string{a.ID}
	case "appid":
		return []string{a.AppID}
	case "displayname":
		return []string{a.DisplayName}
	}
	return nil
}

func (x *extensionProperty) json(appName string) map[string]any {
	return map[string]any{
		"id":                     x.ID,
		"deletedDateTime":        nil,
		"appDisplayName":         appName,
		"dataType":               x.DataType,
		"isMultiValued":          x.IsMultiValued,
		"isSyncedFromOnPremises": false,
		"name":                   x.Name,
		"targetObjects":          slices.Clone(x.TargetObjects),
	}
}

func (s *servicePrincipal) json() map[string]any {
	return map[string]any{
		"id":                     s.ID,
		"deletedDateTime":        nil,
		"accountEnabled":         true,
		"appId":                  s.AppID,
		"appDisplayName":         s.DisplayName,
		"displayName":            s.DisplayName,
		"servicePrincipalType":   "Application",
		"servicePrincipalNames":  []string{s.AppID},
		"appOwnerOrganizationId": nil,
	}
}

func (s *servicePrincipal) prop(p string) []string {
	switch strings.ToLower(p) {
	case "id":
		return []string{s.ID}
	case "appid":
		return []string{s.AppID}
	case "displayname":
		return []string{s.DisplayName}
	}
	return nil
}

// applicationLocked finds an application by object id. Caller holds t.mu.
func (t *Tenant) applicationLocked(id string) *application {
	return t.applications[strings.ToLower(id)]
}

func (t *Tenant) handleListApplications(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeRead(r, permApplications); e != nil {
		writeGErr(w, e)
		return
	}
	serveList(t, w, r, "Application", "applications", []string{"id", "appId", "displayName"}, t.applications, func(a *application) int64 { return a.Seq })
}

func (t *Tenant) handleGetApplication(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeRead(r, permApplications); e != nil {
		writeGErr(w, e)
		return
	}
	serveObject(t, w, r, "applications", func() (*application, bool) {
		a := t.applicationLocked(r.PathValue("id"))
		return a, a != nil
	})
}

// handleCreateApplication: POST /applications {"displayName"} → 201 with the
// application, its appId new. displayName is the one required property.
func (t *Tenant) handleCreateApplication(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeWrite(r, permApplications); e != nil {
		writeGErr(w, e)
		return
	}
	var in struct {
		DisplayName *string `json:"displayName"`
	}
	if _, e := decodeBody(r, nil, &in); e != nil {
		writeGErr(w, e)
		return
	}
	if in.DisplayName == nil || strings.TrimSpace(*in.DisplayName) == "" {
		writeGErr(w, badValue(r, "displayName", "Invalid value specified for property 'displayName' of resource 'Application'."))
		return
	}
	t.mu.Lock()
	t.seq++
	a := &application{ID: newGUID(), AppID: newGUID(), Seq: t.seq, DisplayName: *in.DisplayName, CreatedDateTime: t.now().UTC().Truncate(time.Second)}
	t.applications[a.ID] = a
	t.changedLocked()
	m := a.json(nil)
	t.mu.Unlock()
	m["@odata.context"] = baseURL(r) + "/v1.0/$metadata#applications/$entity"
	w.Header().Set("Location", baseURL(r)+"/v1.0/applications/"+a.ID)
	writeJSON(w, http.StatusCreated, m)
}

func (t *Tenant) handleListExtensionProperties(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeRead(r, permApplications); e != nil {
		writeGErr(w, e)
		return
	}
	t.mu.Lock()
	a := t.applicationLocked(r.PathValue("id"))
	vals := []map[string]any{}
	if a != nil {
		for _, x := range a.Extensions {
			vals = append(vals, x.json(a.DisplayName))
		}
	}
	t.mu.Unlock()
	if a == nil {
		writeGErr(w, notFound(r, r.PathValue("id")))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context": baseURL(r) + "/v1.0/$metadata#applications('" + a.ID + "')/extensionProperties",
		"value":          vals,
	})
}

// validExtensionName: the name the client gives, before Graph prefixes it.
// Letters, digits, underscores and hyphens, as LDAP attribute names have them
// (an assumption: the docs name no rule).
func validExtensionName(s string) bool {
	if s == "" || len(s) > 120 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// handleCreateExtensionProperty: POST /applications/{id}/extensionProperties
// {name, dataType, isMultiValued, targetObjects} → 201 with the full name.
func (t *Tenant) handleCreateExtensionProperty(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeWrite(r, permApplications); e != nil {
		writeGErr(w, e)
		return
	}
	var in struct {
		Name          string   `json:"name"`
		DataType      string   `json:"dataType"`
		IsMultiValued bool     `json:"isMultiValued"`
		TargetObjects []string `json:"targetObjects"`
	}
	if _, e := decodeBody(r, nil, &in); e != nil {
		writeGErr(w, e)
		return
	}
	invalid := func(prop string) {
		writeGErr(w, badValue(r, prop, fmt.Sprintf("Invalid value specified for property '%s' of resource 'ExtensionProperty'.", prop)))
	}
	switch {
	case !validExtensionName(in.Name):
		invalid("name")
		return
	case !slices.Contains(extensionDataTypes, in.DataType):
		invalid("dataType")
		return
	case len(in.TargetObjects) == 0:
		invalid("targetObjects")
		return
	}
	for _, o := range in.TargetObjects {
		if !slices.Contains(extensionTargets, o) {
			invalid("targetObjects")
			return
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.applicationLocked(r.PathValue("id"))
	if a == nil {
		writeGErr(w, notFound(r, r.PathValue("id")))
		return
	}
	x := &extensionProperty{ID: newGUID(), Name: "extension_" + strings.ReplaceAll(a.AppID, "-", "") + "_" + in.Name,
		DataType: in.DataType, IsMultiValued: in.IsMultiValued, TargetObjects: slices.Clone(in.TargetObjects)}
	for _, o := range a.Extensions {
		if strings.EqualFold(o.Name, x.Name) {
			// Graph refuses a second definition of a name.
			// Guess: the message refusing a second extension property of the same name.
			writeGErr(w, newGraphError(r, http.StatusBadRequest, "Request_BadRequest",
				fmt.Sprintf("Property with name '%s' already exists on the application.", x.Name), []errorDetail{{Code: "ObjectConflict", Message: "Another object with the same value for property name already exists.", Target: "name"}}))
			return
		}
	}
	a.Extensions = append(a.Extensions, x)
	t.changedLocked()
	m := x.json(a.DisplayName)
	m["@odata.context"] = baseURL(r) + "/v1.0/$metadata#applications('" + a.ID + "')/extensionProperties/$entity"
	writeJSON(w, http.StatusCreated, m)
}

func (t *Tenant) handleListServicePrincipals(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeRead(r, permApplications); e != nil {
		writeGErr(w, e)
		return
	}
	f, e := filterOf(r, "ServicePrincipal", []string{"id", "appId", "displayName"})
	if e != nil {
		writeGErr(w, e)
		return
	}
	t.mu.Lock()
	var items []pageItem
	for _, s := range t.servicePrincipals {
		if f.match(s.prop) {
			items = append(items, pageItem{seq: s.Seq, body: s.json()})
		}
	}
	t.mu.Unlock()
	servePage(w, r, "servicePrincipals", items)
}

// handleCreateServicePrincipal: POST /servicePrincipals {"appId"} → 201. The
// application must be in the tenant (the emulator knows no other tenant's);
// a second one for the same appId is refused.
func (t *Tenant) handleCreateServicePrincipal(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeWrite(r, permApplications); e != nil {
		writeGErr(w, e)
		return
	}
	var in struct {
		AppID string `json:"appId"`
	}
	if _, e := decodeBody(r, nil, &in); e != nil {
		writeGErr(w, e)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var app *application
	for _, a := range t.applications {
		if strings.EqualFold(a.AppID, in.AppID) {
			app = a
		}
	}
	if app == nil {
		// Guess: the message refusing a service principal for an unknown appId.
		writeGErr(w, badValue(r, "appId", fmt.Sprintf("The appId '%s' of the service principal does not reference a valid application object.", in.AppID)))
		return
	}
	for _, s := range t.servicePrincipals {
		if strings.EqualFold(s.AppID, in.AppID) {
			writeGErr(w, conflict(r, "appId"))
			return
		}
	}
	t.seq++
	s := &servicePrincipal{ID: newGUID(), AppID: app.AppID, Seq: t.seq, DisplayName: app.DisplayName}
	t.servicePrincipals[s.ID] = s
	t.changedLocked()
	m := s.json()
	m["@odata.context"] = baseURL(r) + "/v1.0/$metadata#servicePrincipals/$entity"
	writeJSON(w, http.StatusCreated, m)
}

// availableExtensionLocked is the registered extension property of that
// name for a kind of object ("User", "Group"), whose application has a
// service principal; nil when there is none. Caller holds t.mu.
func (t *Tenant) availableExtensionLocked(name, target string) *extensionProperty {
	for _, a := range t.applications {
		hasSP := false
		for _, s := range t.servicePrincipals {
			hasSP = hasSP || s.AppID == a.AppID
		}
		if !hasSP {
			continue
		}
		for _, x := range a.Extensions {
			if strings.EqualFold(x.Name, name) && slices.Contains(x.TargetObjects, target) {
				return x
			}
		}
	}
	return nil
}

// extensionValues reads the directory extension properties of a create or
// update body (raw, from decodeBody) for an object of target kind: each must
// be registered and available, and of its type; null clears one. Caller holds
// t.mu.
func (t *Tenant) extensionValuesLocked(r *http.Request, raw map[string]json.RawMessage, target string) (map[string]any, *graphError) {
	var out map[string]any
	for name, v := range raw {
		if !strings.HasPrefix(strings.ToLower(name), "extension_") {
			continue
		}
		x := t.availableExtensionLocked(name, target)
		if x == nil {
			// The message Graph gives for an extension it does not know (or
			// whose application has no service principal).
			// Guess: the code (Request_BadRequest) of an unavailable extension property.
			return nil, newGraphError(r, http.StatusBadRequest, "Request_BadRequest", "The following extension properties are not available: "+name+".", nil)
		}
		if out == nil {
			out = map[string]any{}
		}
		if string(v) == "null" {
			out[x.Name] = nil
			continue
		}
		val, ok := extensionValue(x, v)
		if !ok {
			return nil, badValue(r, name, fmt.Sprintf("Invalid value specified for property '%s' of resource '%s'.", name, target))
		}
		out[x.Name] = val
	}
	return out, nil
}

// extensionValue checks a value against an extension's type: strings of at
// most 256 characters (Binary: Base64 of at most 256 bytes), booleans,
// numbers; a collection when the extension is multi-valued.
func extensionValue(x *extensionProperty, raw json.RawMessage) (any, bool) {
	one := func(v any) bool {
		switch x.DataType {
		case "Boolean":
			_, ok := v.(bool)
			return ok
		case "Integer", "LargeInteger":
			f, ok := v.(float64)
			return ok && f == float64(int64(f))
		default:
			s, ok := v.(string)
			return ok && len([]rune(s)) <= 256
		}
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, false
	}
	if x.IsMultiValued {
		list, ok := v.([]any)
		if !ok {
			return nil, false
		}
		for _, e := range list {
			if !one(e) {
				return nil, false
			}
		}
		return list, true
	}
	return v, one(v)
}

// applyExtensions sets (or, for nil, clears) extension values on an object's map.
func applyExtensions(dst *map[string]any, vals map[string]any) {
	for k, v := range vals {
		if v == nil {
			delete(*dst, k)
			continue
		}
		if *dst == nil {
			*dst = map[string]any{}
		}
		(*dst)[k] = v
	}
}

// selectedExtensions adds to out the extension values sel names (Graph
// returns a directory extension only when $select asks for it).
func selectedExtensions(out map[string]any, sel []string, vals map[string]any) {
	for _, p := range sel {
		if !strings.HasPrefix(strings.ToLower(p), "extension_") {
			continue
		}
		for k, v := range vals {
			if strings.EqualFold(k, p) {
				out[k] = v
			}
		}
	}
}
