package tenant

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strings"
)

// ---- organization: onPremisesSyncEnabled --------------------------------------------

func (t *Tenant) handleUpdateOrganization(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeWrite(r, permOrganization); e != nil {
		writeGErr(w, e)
		return
	}
	// Only onPremisesSyncEnabled is modelled (organization-update;
	// Microsoft's "Turn off directory synchronization" article PATCHes
	// it); the metadata decides what else exists or is read-only.
	var in struct {
		OnPremisesSyncEnabled *bool `json:"onPremisesSyncEnabled"`
	}
	raw, e := decodeBody(r, nil, &in)
	if e != nil {
		writeGErr(w, e)
		return
	}
	if !strings.EqualFold(r.PathValue("id"), t.tenantID) {
		writeGErr(w, notFound(r, r.PathValue("id")))
		return
	}
	if _, ok := raw["onPremisesSyncEnabled"]; !ok {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	t.mu.Lock()
	t.orgSyncEnabled = in.OnPremisesSyncEnabled
	t.changedLocked()
	t.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// ---- directory/onPremisesSynchronization ----------------------------------------------

// dirSyncFeatures are onPremisesDirectorySynchronizationFeature's booleans
// (resource page, v1.0), with the defaults of the Get example.
var dirSyncFeatures = []string{
	"allowOnPremUpdateOfOnPremisesObjectIdentifierEnabled", "blockCloudObjectTakeoverThroughHardMatchEnabled", "blockSoftMatchEnabled", "bypassDirSyncOverridesEnabled",
	"cloudPasswordPolicyForPasswordSyncedUsersEnabled", "concurrentCredentialUpdateEnabled", "concurrentOrgIdProvisioningEnabled",
	"deviceWritebackEnabled", "directoryExtensionsEnabled", "fopeConflictResolutionEnabled", "groupWriteBackEnabled",
	"passwordSyncEnabled", "passwordWritebackEnabled", "quarantineUponProxyAddressesConflictEnabled",
	"quarantineUponUpnConflictEnabled", "softMatchOnUpnEnabled", "synchronizeUpnForManagedUsersEnabled",
	"unifiedGroupWritebackEnabled", "userForcePasswordChangeOnLogonEnabled", "userWritebackEnabled",
}

// oneWayFeatures can't be turned off once on (Set-MsolDirSyncFeature:
// EnableSoftMatchOnUpn, SynchronizeUpnForManagedUsers).
var oneWayFeatures = map[string]bool{"softMatchOnUpnEnabled": true, "synchronizeUpnForManagedUsersEnabled": true}

// dirSync is the tenant's onPremisesDirectorySynchronization object.
type dirSync struct {
	Features       map[string]bool
	PreventionType string // disabled | enabledForCount | enabledForPercentage
	AlertThreshold int
}

func defaultDirSync() dirSync {
	f := map[string]bool{}
	for _, n := range dirSyncFeatures {
		f[n] = false
	}
	for _, n := range []string{"quarantineUponUpnConflictEnabled", "quarantineUponProxyAddressesConflictEnabled", "softMatchOnUpnEnabled", "synchronizeUpnForManagedUsersEnabled"} {
		f[n] = true
	}
	return dirSync{Features: f, PreventionType: "enabledForCount", AlertThreshold: 500}
}

func (t *Tenant) dirSyncJSONLocked() map[string]any {
	f := map[string]any{}
	for _, n := range dirSyncFeatures {
		f[n] = t.dirSync.Features[n]
	}
	return map[string]any{
		"id": t.tenantID,
		"configuration": map[string]any{
			"accidentalDeletionPrevention": map[string]any{
				"synchronizationPreventionType": t.dirSync.PreventionType,
				"alertThreshold":                t.dirSync.AlertThreshold,
			},
		},
		"features": f,
	}
}

// handleGetDirSync: GET /directory/onPremisesSynchronization is a collection
// of the one object (the SDKs model it as a collection keyed by id); GET
// …/{id} is the object itself, as the Get page's example shows.
func (t *Tenant) handleGetDirSync(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeRead(r, permDirSyncRead); e != nil {
		writeGErr(w, e)
		return
	}
	id := r.PathValue("id")
	if id != "" && !strings.EqualFold(id, t.tenantID) {
		writeGErr(w, notFound(r, id))
		return
	}
	t.mu.Lock()
	m := t.dirSyncJSONLocked()
	t.mu.Unlock()
	if id == "" {
		writeJSON(w, http.StatusOK, map[string]any{
			"@odata.context": baseURL(r) + "/v1.0/$metadata#directory/onPremisesSynchronization",
			"value":          []any{m},
		})
		return
	}
	m["@odata.context"] = baseURL(r) + "/v1.0/$metadata#directory/onPremisesSynchronization/$entity"
	writeJSON(w, http.StatusOK, m)
}

// handleUpdateDirSync: PATCH /directory/onPremisesSynchronization/{id} → 204.
func (t *Tenant) handleUpdateDirSync(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeWrite(r, permDirSyncWrite); e != nil {
		writeGErr(w, e)
		return
	}
	var in struct {
		Configuration *struct {
			AccidentalDeletionPrevention *struct {
				SynchronizationPreventionType *string `json:"synchronizationPreventionType"`
				AlertThreshold                *int    `json:"alertThreshold"`
			} `json:"accidentalDeletionPrevention"`
		} `json:"configuration"`
		Features map[string]json.RawMessage `json:"features"`
	}
	if _, e := decodeBody(r, nil, &in); e != nil {
		writeGErr(w, e)
		return
	}
	if !strings.EqualFold(r.PathValue("id"), t.tenantID) {
		writeGErr(w, notFound(r, r.PathValue("id")))
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	next := dirSync{Features: map[string]bool{}, PreventionType: t.dirSync.PreventionType, AlertThreshold: t.dirSync.AlertThreshold}
	for k, v := range t.dirSync.Features {
		next.Features[k] = v
	}
	for k, raw := range in.Features {
		if k == "@odata.type" {
			continue
		}
		if _, ok := next.Features[k]; !ok {
			writeGErr(w, noSuchWriteProperty(r, k, "onPremisesDirectorySynchronizationFeature"))
			return
		}
		var on bool
		if err := json.Unmarshal(raw, &on); err != nil {
			writeGErr(w, badValue(r, k, fmt.Sprintf("Invalid value specified for property '%s' of resource 'OnPremisesDirectorySynchronizationFeature'.", k)))
			return
		}
		switch {
		case k == "passwordWritebackEnabled":
			// "This property isn't in use and updating it isn't supported".
			// Guess: an update of passwordWritebackEnabled is accepted and changes nothing.
			continue
		case oneWayFeatures[k] && t.dirSync.Features[k] && !on:
			// The rule is Set-MsolDirSyncFeature's.
			// Guess: the message refusing to switch off a one-way sync feature.
			writeGErr(w, badValue(r, k, fmt.Sprintf("The feature '%s' cannot be disabled once it is enabled.", k)))
			return
		}
		next.Features[k] = on
	}
	if in.Configuration != nil && in.Configuration.AccidentalDeletionPrevention != nil {
		adp := in.Configuration.AccidentalDeletionPrevention
		if adp.SynchronizationPreventionType != nil {
			switch v := *adp.SynchronizationPreventionType; v {
			case "disabled", "enabledForCount", "enabledForPercentage":
				next.PreventionType = v
			default:
				writeGraphError(w, r, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Requested value '%s' was not found.", v), nil)
				return
			}
		}
		if adp.AlertThreshold != nil {
			next.AlertThreshold = *adp.AlertThreshold
		}
		if next.AlertThreshold < 0 || (next.PreventionType == "enabledForPercentage" && next.AlertThreshold > 100) {
			writeGErr(w, badValue(r, "alertThreshold", "Invalid value specified for property 'alertThreshold' of resource 'OnPremisesAccidentalDeletionPrevention'."))
			return
		}
	}
	t.dirSync = next
	t.changedLocked()
	w.WriteHeader(http.StatusNoContent)
}

// ---- domains: add, verification records, verify -----------------------------------------

// verificationCode is the 8 digits of a domain's MS=ms######## TXT record.
func verificationCode() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(100000000))
	return fmt.Sprintf("%08d", n.Int64())
}

func validDomainName(s string) bool {
	if len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func (t *Tenant) domainLocked(name string) *domain {
	name = strings.ToLower(name)
	for _, d := range t.domains {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// handleAddDomain: POST /domains {"id": "contoso.com"} → 201 with the
// unverified domain (domain-post-domains). A subdomain of a verified domain
// is verified at once (domain-list-verificationdnsrecords: "subdomain.contoso.com
// is automatically verified if contoso.com has been verified").
func (t *Tenant) handleAddDomain(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeWrite(r, permDomains); e != nil {
		writeGErr(w, e)
		return
	}
	var in struct {
		ID string `json:"id"`
	}
	if _, e := decodeBody(r, nil, &in); e != nil {
		writeGErr(w, e)
		return
	}
	name := strings.ToLower(strings.TrimSpace(in.ID))
	if !validDomainName(name) || strings.HasSuffix(name, ".onmicrosoft.com") {
		writeGErr(w, badValue(r, "id", "Invalid value specified for property 'id' of resource 'Domain'."))
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.domainLocked(name) != nil {
		// Guess: adding a domain the tenant has gets the directory's generic conflict.
		msg := "A conflicting object with one or more of the specified property values is present in the directory."
		writeGErr(w, newGraphError(r, http.StatusBadRequest, "Request_BadRequest", msg, []errorDetail{{Code: "ObjectConflict", Message: msg, Target: "id"}}))
		return
	}
	d := &domain{Name: name, AuthenticationType: "Managed", Code: verificationCode(), Verifiable: t.verifiable[name]}
	for _, p := range t.domains {
		if p.Verified && !p.Initial && strings.HasSuffix(name, "."+p.Name) {
			d.Verified = true
		}
	}
	t.domains = append(t.domains, d)
	t.changedLocked()
	m := d.json()
	m["@odata.context"] = baseURL(r) + "/v1.0/$metadata#domains/$entity"
	w.Header().Set("Location", baseURL(r)+"/v1.0/domains/"+d.Name)
	writeJSON(w, http.StatusCreated, m)
}

// verificationRecords are a TXT and an MX record, in the shapes of
// domainDnsTxtRecord / domainDnsMxRecord: the TXT text MS=ms######## (as in
// real answers quoted by microsoft/entra-powershell tests and a Terraform
// module's README), the MX ms########.msv1.invalid with preference 32767 (as
// Get-MsolDomainVerificationDns answers, as recalled).
// Guess: the MX verification record, ms########.msv1.invalid with preference 32767.
func (d *domain) verificationRecords() []map[string]any {
	return []map[string]any{
		{
			"@odata.type":      "#microsoft.graph.domainDnsTxtRecord",
			"id":               recordID(d.Name, "txt"),
			"isOptional":       false,
			"label":            d.Name,
			"recordType":       "Txt",
			"supportedService": "Email",
			"ttl":              3600,
			"text":             "MS=ms" + d.Code,
		},
		{
			"@odata.type":      "#microsoft.graph.domainDnsMxRecord",
			"id":               recordID(d.Name, "mx"),
			"isOptional":       false,
			"label":            d.Name,
			"recordType":       "Mx",
			"supportedService": "Email",
			"ttl":              3600,
			"mailExchange":     "ms" + d.Code + ".msv1.invalid",
			"preference":       32767,
		},
	}
}

// recordID is a stable GUID-shaped id per domain and record type.
func recordID(name, kind string) string {
	h := fmt.Sprintf("%x", []byte(fmt.Sprintf("%-16.16s", kind+":"+name)))
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func (t *Tenant) handleVerificationRecords(w http.ResponseWriter, r *http.Request) {
	t.mu.Lock()
	d := t.domainLocked(r.PathValue("id"))
	var recs []map[string]any
	if d != nil {
		if d.Code == "" {
			d.Code = verificationCode()
			t.changedLocked()
		}
		recs = d.verificationRecords()
	}
	t.mu.Unlock()
	if d == nil {
		writeGErr(w, notFound(r, r.PathValue("id")))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context": baseURL(r) + "/v1.0/$metadata#domains('" + d.Name + "')/verificationDnsRecords",
		"value":          recs,
	})
}

// handleVerifyDomain: POST /domains/{id}/verify → 200 with the domain
// (domain-verify). The emulator has no DNS: a domain verifies when the seed
// marks it verifiable (its records "published").
func (t *Tenant) handleVerifyDomain(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeWrite(r, permDomains); e != nil {
		writeGErr(w, e)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.domainLocked(r.PathValue("id"))
	switch {
	case d == nil:
		writeGErr(w, notFound(r, r.PathValue("id")))
		return
	case d.Verified:
		// "Domain is already verified." is what AzureAD PowerShell scripts
		// match on; code and status are the emulator's.
		writeGraphError(w, r, http.StatusBadRequest, "Request_BadRequest", "Domain is already verified.", nil)
		return
	case !d.Verifiable && !t.verifiable[d.Name]:
		// The prefix is what scripts match on ("Domain verification failed
		// with the following error:").
		// Guess: the text after "Domain verification failed with the following error:".
		writeGraphError(w, r, http.StatusBadRequest, "Request_BadRequest",
			fmt.Sprintf("Domain verification failed with the following error: We couldn't find the DNS record you added for %s. Add the TXT record MS=ms%s (or the MX record) at your DNS host and try again; DNS changes can take up to 72 hours to propagate.", d.Name, d.Code), nil)
		return
	}
	d.Verified = true
	t.changedLocked()
	m := d.json()
	m["@odata.context"] = baseURL(r) + "/v1.0/$metadata#domains/$entity"
	writeJSON(w, http.StatusOK, m)
}
