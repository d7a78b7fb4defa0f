package cloud

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// Application is the part of Graph's application resource hybridsync uses:
// the Tenant Schema Extension App that holds the directory extensions.
type Application struct {
	ID          string `json:"id,omitempty"` // the object id
	AppID       string `json:"appId,omitempty"`
	DisplayName string `json:"displayName"`
}

// ServicePrincipal is the application's instance in the tenant; a directory
// extension can be written only once its application has one.
type ServicePrincipal struct {
	ID          string `json:"id,omitempty"`
	AppID       string `json:"appId"`
	DisplayName string `json:"displayName,omitempty"`
}

// ExtensionProperty is a directory extension definition
// (application-post-extensionproperty). Name is the short name when
// creating; Graph answers with the full extension_<appId without dashes>_<name>.
type ExtensionProperty struct {
	ID             string   `json:"id,omitempty"`
	Name           string   `json:"name"`
	DataType       string   `json:"dataType"` // Binary, Boolean, DateTime, Integer, LargeInteger or String
	IsMultiValued  bool     `json:"isMultiValued"`
	TargetObjects  []string `json:"targetObjects"` // User, Group, …
	AppDisplayName string   `json:"appDisplayName,omitempty"`
}

// FindApplications returns the applications matching an OData filter, e.g.
// "displayName eq "+Quote(name).
func (c *Client) FindApplications(ctx context.Context, filter string) ([]Application, error) {
	return getAll[Application](ctx, c, withQuery("applications", []string{"id", "appId", "displayName"}, filter, 0))
}

// CreateApplication registers an application (POST /applications).
func (c *Client) CreateApplication(ctx context.Context, displayName string) (*Application, error) {
	var out Application
	if err := c.do(ctx, http.MethodPost, "applications", Application{DisplayName: displayName}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// FindServicePrincipal returns the service principal of an appId, or nil.
func (c *Client) FindServicePrincipal(ctx context.Context, appID string) (*ServicePrincipal, error) {
	sps, err := getAll[ServicePrincipal](ctx, c, withQuery("servicePrincipals", []string{"id", "appId", "displayName"}, "appId eq "+Quote(appID), 0))
	if err != nil || len(sps) == 0 {
		return nil, err
	}
	return &sps[0], nil
}

// CreateServicePrincipal creates the service principal of an application
// of the tenant (POST /servicePrincipals {"appId"}).
func (c *Client) CreateServicePrincipal(ctx context.Context, appID string) (*ServicePrincipal, error) {
	var out ServicePrincipal
	if err := c.do(ctx, http.MethodPost, "servicePrincipals", ServicePrincipal{AppID: appID}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ExtensionProperties lists an application's directory extensions (by the
// application's object id).
func (c *Client) ExtensionProperties(ctx context.Context, appObjectID string) ([]ExtensionProperty, error) {
	return getAll[ExtensionProperty](ctx, c, "applications/"+url.PathEscape(appObjectID)+"/extensionProperties")
}

// CreateExtensionProperty registers a directory extension on an application
// (by its object id) and returns it with its full name.
func (c *Client) CreateExtensionProperty(ctx context.Context, appObjectID string, x ExtensionProperty) (*ExtensionProperty, error) {
	in := x
	in.ID, in.AppDisplayName = "", ""
	var out ExtensionProperty
	if err := c.do(ctx, http.MethodPost, "applications/"+url.PathEscape(appObjectID)+"/extensionProperties", in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ExtensionName is a directory extension's full name on an application:
// extension_<appId without dashes>_<name>.
func ExtensionName(appID, name string) string {
	return "extension_" + strings.ReplaceAll(appID, "-", "") + "_" + name
}

// IsExtensionUnavailable reports Graph's refusal of a directory extension it
// does not know (or whose application has no service principal): "The
// following extension properties are not available: …".
func IsExtensionUnavailable(err error) bool {
	e, ok := asError(err)
	return ok && e.Status == 400 && strings.Contains(e.Message, "extension properties are not available")
}

// ExtensionValues reads directory extension values of a user or group
// (collection "users" or "groups"): Graph returns an extension only when
// $select names it. Names it has no value for are absent.
func (c *Client) ExtensionValues(ctx context.Context, collection, id string, names []string) (map[string]any, error) {
	var out map[string]any
	if err := c.do(ctx, http.MethodGet, collection+"/"+url.PathEscape(id)+"?$select=id,"+strings.Join(names, ","), nil, &out); err != nil {
		return nil, err
	}
	vals := map[string]any{}
	for _, n := range names {
		for k, v := range out {
			if strings.EqualFold(k, n) && v != nil {
				vals[n] = v
			}
		}
	}
	return vals, nil
}
