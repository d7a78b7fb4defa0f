package tenant

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// device is a registered device (device resource). Create needs
// accountEnabled, alternativeSecurityIds, deviceId, displayName,
// operatingSystem and operatingSystemVersion (device-post-devices).
type device struct {
	ID                     string
	Seq                    int64
	AccountEnabled         bool
	AlternativeSecurityIDs []alternativeSecurityID
	DeviceID               string
	DisplayName            string
	OperatingSystem        string
	OperatingSystemVersion string
	TrustType              string
	RegistrationDateTime   time.Time
	// Others are the properties kept without a field (others.go).
	Others others `json:",omitempty"`
}

// alternativeSecurityID is Graph's alternativeSecurityId: type, identityProvider, key (Edm.Binary, base64).
type alternativeSecurityID struct {
	Type             int     `json:"type"`
	IdentityProvider *string `json:"identityProvider"`
	Key              string  `json:"key"`
}

var defaultDeviceProperties = []string{"id", "deletedDateTime", "accountEnabled", "approximateLastSignInDateTime", "alternativeSecurityIds", "complianceExpirationDateTime", "deviceId", "deviceVersion", "displayName", "isCompliant", "isManaged", "onPremisesLastSyncDateTime", "onPremisesSyncEnabled", "operatingSystem", "operatingSystemVersion", "physicalIds", "profileType", "registrationDateTime", "trustType"}

func (d *device) json(sel []string) map[string]any {
	alt := append([]alternativeSecurityID{}, d.AlternativeSecurityIDs...)
	all := map[string]any{
		"id":                            d.ID,
		"deletedDateTime":               nil,
		"accountEnabled":                d.AccountEnabled,
		"approximateLastSignInDateTime": nil,
		"alternativeSecurityIds":        alt,
		"complianceExpirationDateTime":  nil,
		"deviceId":                      d.DeviceID,
		"deviceVersion":                 nil,
		"displayName":                   d.DisplayName,
		"isCompliant":                   nil,
		"isManaged":                     nil,
		"onPremisesLastSyncDateTime":    nil,
		"onPremisesSyncEnabled":         nil,
		"operatingSystem":               d.OperatingSystem,
		"operatingSystemVersion":        d.OperatingSystemVersion,
		"physicalIds":                   []string{},
		"profileType":                   nil,
		"registrationDateTime":          d.RegistrationDateTime.Format(time.RFC3339),
		"trustType":                     nullable(d.TrustType),
	}
	d.Others.into(all)
	out := project(all, sel, defaultDeviceProperties)
	return out
}

var deviceFilterProps = []string{"id", "deviceId", "displayName", "operatingSystem", "accountEnabled"}

func (d *device) prop(p string) []string {
	switch strings.ToLower(p) {
	case "id":
		return []string{d.ID}
	case "deviceid":
		return []string{d.DeviceID}
	case "displayname":
		return []string{d.DisplayName}
	case "operatingsystem":
		return []string{d.OperatingSystem}
	case "accountenabled":
		return []string{fmt.Sprint(d.AccountEnabled)}
	}
	return nil
}

// deviceReadOnly are the device properties an update may not write:
// device-update lists accountEnabled, operatingSystem,
// operatingSystemVersion, displayName (isCompliant, isManaged and
// extensionAttributes for MDM apps); deviceId and the registration's
// identity are set once. Guess: deviceId, alternativeSecurityIds and physicalIds can't be changed by an update.
var deviceReadOnly = readOnlySet("deviceId", "alternativeSecurityIds", "trustType", "onPremisesSyncEnabled", "onPremisesLastSyncDateTime",
	"registrationDateTime", "physicalIds")

type deviceJSON struct {
	AccountEnabled         *bool                    `json:"accountEnabled"`
	AlternativeSecurityIDs *[]alternativeSecurityID `json:"alternativeSecurityIds"`
	DeviceID               *string                  `json:"deviceId"`
	DisplayName            *string                  `json:"displayName"`
	OperatingSystem        *string                  `json:"operatingSystem"`
	OperatingSystemVersion *string                  `json:"operatingSystemVersion"`
	TrustType              *string                  `json:"trustType"`
}

// createDeviceLocked validates and adds a device. Caller holds t.mu.
func (t *Tenant) createDeviceLocked(r *http.Request, in deviceJSON) (*device, *graphError) {
	for _, req := range []struct {
		name string
		set  bool
	}{
		{"accountEnabled", in.AccountEnabled != nil},
		{"alternativeSecurityIds", in.AlternativeSecurityIDs != nil && len(*in.AlternativeSecurityIDs) > 0},
		{"deviceId", in.DeviceID != nil && *in.DeviceID != ""},
		{"displayName", in.DisplayName != nil && *in.DisplayName != ""},
		{"operatingSystem", in.OperatingSystem != nil && *in.OperatingSystem != ""},
		{"operatingSystemVersion", in.OperatingSystemVersion != nil && *in.OperatingSystemVersion != ""},
	} {
		if !req.set {
			return nil, badValue(r, req.name, fmt.Sprintf("Invalid value specified for property '%s' of resource 'Device'.", req.name))
		}
	}
	for _, a := range *in.AlternativeSecurityIDs {
		if _, err := base64.StdEncoding.DecodeString(a.Key); err != nil || a.Key == "" {
			return nil, badValue(r, "alternativeSecurityIds", "Invalid value specified for property 'alternativeSecurityIds' of resource 'Device'.")
		}
	}
	for _, d := range t.devices {
		if strings.EqualFold(d.DeviceID, *in.DeviceID) {
			// Guess: a duplicate deviceId gets the other uniqueness conflicts' answer.
			return nil, conflict(r, "deviceId")
		}
	}
	d := &device{ID: newGUID(), AccountEnabled: *in.AccountEnabled, AlternativeSecurityIDs: *in.AlternativeSecurityIDs, DeviceID: strings.ToLower(*in.DeviceID),
		DisplayName: *in.DisplayName, OperatingSystem: *in.OperatingSystem, OperatingSystemVersion: *in.OperatingSystemVersion, RegistrationDateTime: t.now().UTC().Truncate(time.Second)}
	if in.TrustType != nil {
		d.TrustType = *in.TrustType
	}
	t.seq++
	d.Seq = t.seq
	t.devices[d.ID] = d
	t.changedLocked()
	return d, nil
}

func (t *Tenant) handleCreateDevice(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeWrite(r, permDevices); e != nil {
		writeGErr(w, e)
		return
	}
	var in deviceJSON
	_, more, e := decodeWrite(r, nil, &in)
	if e != nil {
		writeGErr(w, e)
		return
	}
	t.mu.Lock()
	d, e := t.createDeviceLocked(r, in)
	var m map[string]any
	if d != nil {
		d.Others.apply(more)
		m = d.json(nil)
	}
	t.mu.Unlock()
	if e != nil {
		writeGErr(w, e)
		return
	}
	m["@odata.context"] = baseURL(r) + "/v1.0/$metadata#devices/$entity"
	w.Header().Set("Location", baseURL(r)+"/v1.0/devices/"+d.ID)
	writeJSON(w, http.StatusCreated, m)
}

func (t *Tenant) handleListDevices(w http.ResponseWriter, r *http.Request) {
	serveList(t, w, r, "Device", "devices", deviceFilterProps, t.devices, func(d *device) int64 { return d.Seq })
}

func (t *Tenant) handleGetDevice(w http.ResponseWriter, r *http.Request) {
	serveObject(t, w, r, "devices", func() (*device, bool) {
		d := t.devices[strings.ToLower(r.PathValue("id"))]
		return d, d != nil
	})
}

func (t *Tenant) handleUpdateDevice(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeWrite(r, permDevices); e != nil {
		writeGErr(w, e)
		return
	}
	var in deviceJSON
	_, more, e := decodeWrite(r, deviceReadOnly, &in)
	if e != nil {
		writeGErr(w, e)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.devices[strings.ToLower(r.PathValue("id"))]
	if d == nil {
		writeGErr(w, notFound(r, r.PathValue("id")))
		return
	}
	if in.AccountEnabled != nil {
		d.AccountEnabled = *in.AccountEnabled
	}
	if in.DisplayName != nil && *in.DisplayName != "" {
		d.DisplayName = *in.DisplayName
	}
	if in.OperatingSystem != nil && *in.OperatingSystem != "" {
		d.OperatingSystem = *in.OperatingSystem
	}
	if in.OperatingSystemVersion != nil {
		d.OperatingSystemVersion = *in.OperatingSystemVersion
	}
	d.Others.apply(more)
	t.changedLocked()
	w.WriteHeader(http.StatusNoContent)
}

func (t *Tenant) handleDeleteDevice(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeWrite(r, permDevices); e != nil {
		writeGErr(w, e)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.devices[strings.ToLower(r.PathValue("id"))]
	if d == nil {
		writeGErr(w, notFound(r, r.PathValue("id")))
		return
	}
	delete(t.devices, d.ID)
	t.forgetObjectLocked(d.ID)
	t.changedLocked()
	w.WriteHeader(http.StatusNoContent)
}
