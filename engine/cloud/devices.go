package cloud

import (
	"context"
	"net/http"
	"net/url"
)

// Device is the part of Graph's device resource hybridsync uses. Creating a
// device needs AccountEnabled, AlternativeSecurityIDs, DeviceID,
// DisplayName, OperatingSystem and OperatingSystemVersion (device-post-devices).
type Device struct {
	ID                     string                  `json:"id,omitempty"`
	AccountEnabled         bool                    `json:"accountEnabled"`
	AlternativeSecurityIDs []AlternativeSecurityID `json:"alternativeSecurityIds,omitempty"`
	DeviceID               string                  `json:"deviceId"`
	DisplayName            string                  `json:"displayName"`
	OperatingSystem        string                  `json:"operatingSystem"`
	OperatingSystemVersion string                  `json:"operatingSystemVersion"`
	TrustType              string                  `json:"trustType,omitempty"`
	OnPremisesSyncEnabled  *bool                   `json:"onPremisesSyncEnabled,omitempty"`
}

// AlternativeSecurityID is alternativeSecurityId; Key is Edm.Binary (base64 in JSON).
type AlternativeSecurityID struct {
	Type             int     `json:"type"`
	IdentityProvider *string `json:"identityProvider,omitempty"`
	Key              []byte  `json:"key"`
}

// ListDevices returns every device.
func (c *Client) ListDevices(ctx context.Context) ([]Device, error) {
	return getAll[Device](ctx, c, "devices")
}

// GetDevice reads a device by object id (not deviceId).
func (c *Client) GetDevice(ctx context.Context, id string) (*Device, error) {
	var out Device
	if err := c.do(ctx, http.MethodGet, "devices/"+url.PathEscape(id), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateDevice registers a device (POST /devices).
func (c *Client) CreateDevice(ctx context.Context, d Device) (*Device, error) {
	in := d
	in.ID, in.OnPremisesSyncEnabled = "", nil
	var out Device
	if err := c.do(ctx, http.MethodPost, "devices", in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteDevice deletes a device by object id.
func (c *Client) DeleteDevice(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "devices/"+url.PathEscape(id), nil, nil)
}
