package tenant

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
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
	// IsCompliant is read-only through Graph (Intune or an MDM app sets
	// it); the seed may set it.
	IsCompliant *bool `json:",omitempty"`
	// RegisteredOwners are user ids: the registeredOwners relationship
	// ("the user who registered the device": device resource).
	RegisteredOwners []string `json:",omitempty"`
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
		"isCompliant":                   boolOrNil(d.IsCompliant),
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
	t.recordLocked(change{Kind: "device", ID: d.ID, Created: true})
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
	raw, more, e := decodeWrite(r, deviceReadOnly, &in)
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
	if props := changedProps(r, raw); len(props) > 0 {
		t.recordLocked(change{Kind: "device", ID: d.ID, Props: props})
	}
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
	t.recordLocked(change{Kind: "device", ID: d.ID, Deleted: true})
	t.changedLocked()
	w.WriteHeader(http.StatusNoContent)
}

func boolOrNil(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

// permDeviceOwners: device-post-registeredowners and
// device-delete-registeredowners name only the delegated
// Directory.AccessAsUser.All ("Application: Not supported"); the emulator
// lets through the roles that may write devices.
var permDeviceOwners = permission{roles: permDevices.roles}

// handleListRegisteredOwners: GET /devices/{id}/registeredOwners — the
// owners as directoryObjects with their @odata.type (device-list-registeredowners).
func (t *Tenant) handleListRegisteredOwners(w http.ResponseWriter, r *http.Request) {
	t.serveLinked(w, r, func() ([]string, bool) {
		o := t.devices[strings.ToLower(r.PathValue("id"))]
		if o == nil {
			return nil, false
		}
		return o.RegisteredOwners, true
	})
}

// handleAddRegisteredOwner: POST /devices/{id}/registeredOwners/$ref
// {"@odata.id": ".../directoryObjects/{id}"} → 204 ("Add a user as a
// registered owner of the device": device-post-registeredowners). The
// relationship is a navigation property, which delta queries don't track
// (delta-query-overview, "Navigation properties"): no change is recorded.
func (t *Tenant) handleAddRegisteredOwner(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeWrite(r, permDeviceOwners); e != nil {
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
		// The groups' $ref answer (groups.go).
		writeGraphError(w, r, http.StatusBadRequest, "BadRequest", "The request URI is not valid. The @odata.id property is required.", nil)
		return
	}
	oid := refID(in.ID)
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.devices[strings.ToLower(r.PathValue("id"))]
	switch {
	case d == nil:
		writeGErr(w, notFound(r, r.PathValue("id")))
		return
	case t.users[oid] == nil:
		if _, _, ok := t.objectJSONLocked(oid, nil); ok {
			writeGErr(w, notImplemented(r, "registered owners other than users"))
			return
		}
		writeGErr(w, notFound(r, oid))
		return
	case slices.Contains(d.RegisteredOwners, oid):
		// The answer to any reference added twice (groups.go's members).
		writeGErr(w, newGraphError(r, http.StatusBadRequest, "Request_BadRequest", "One or more added object references already exist for the following modified properties: 'registeredOwners'.", nil))
		return
	}
	d.RegisteredOwners = append(d.RegisteredOwners, oid)
	// Guess: a change of a device's registered owners is not reported by /devices/delta.
	t.changedLocked()
	w.WriteHeader(http.StatusNoContent)
}

// handleRemoveRegisteredOwner: DELETE /devices/{id}/registeredOwners/{oid}/$ref → 204.
func (t *Tenant) handleRemoveRegisteredOwner(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeWrite(r, permDeviceOwners); e != nil {
		writeGErr(w, e)
		return
	}
	oid := strings.ToLower(r.PathValue("oid"))
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.devices[strings.ToLower(r.PathValue("id"))]
	if d == nil {
		writeGErr(w, notFound(r, r.PathValue("id")))
		return
	}
	if !slices.Contains(d.RegisteredOwners, oid) {
		// The groups' answer for a member that isn't one (groups.go).
		writeGErr(w, newGraphError(r, http.StatusBadRequest, "Request_BadRequest", "One or more removed object references do not exist for the following modified properties: 'registeredOwners'.", nil))
		return
	}
	d.RegisteredOwners = slices.DeleteFunc(d.RegisteredOwners, func(m string) bool { return m == oid })
	t.changedLocked()
	w.WriteHeader(http.StatusNoContent)
}
