package tenant

import (
	"crypto/sha1" // a name-based (version 5) UUID is SHA-1 by definition (RFC 9562 §5.5)
	"encoding/hex"
	"strings"
)

// Every application a client signs in with has a service principal in the
// tenant: the seeded apps (Seed.Apps) get one when the tenant starts, as an
// app registered in a tenant has its enterprise application there. An
// app-only access token names the caller by that service principal's object
// id (oid and sub), not by the appId (access-token-claims-reference: oid is
// "the verified identity of the user or service principal").
//
// A seeded app's service principal id is derived from the tenant id and the
// appId, so it is the same at every start, with or without a state file; a
// state file keeps it too (stateFile.ServicePrincipals), and one found there
// for the appId is used as it is.

// seedServicePrincipals adds a service principal for each seeded app that
// has none. It takes t.mu.
func (t *Tenant) seedServicePrincipals(apps []SeedApp) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, a := range apps {
		if t.servicePrincipalLocked(a.ClientID) != nil {
			continue
		}
		name := a.DisplayName
		if name == "" {
			name = a.ClientID
		}
		t.seq++
		sp := &servicePrincipal{ID: stableGUID(t.tenantID, "servicePrincipal", strings.ToLower(a.ClientID)), AppID: a.ClientID, Seq: t.seq, DisplayName: name}
		t.servicePrincipals[sp.ID] = sp
		t.changedLocked()
	}
}

// servicePrincipalLocked is the service principal of an appId, or nil.
// Caller holds t.mu.
func (t *Tenant) servicePrincipalLocked(appID string) *servicePrincipal {
	for _, sp := range t.servicePrincipals {
		if strings.EqualFold(sp.AppID, appID) {
			return sp
		}
	}
	return nil
}

// servicePrincipalID is the object id of an application's service principal,
// the oid of its app-only tokens. For an appId with none (MintToken's
// made-up apps) it is the id a seeded one would get.
func (t *Tenant) servicePrincipalID(appID string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if sp := t.servicePrincipalLocked(appID); sp != nil {
		return sp.ID
	}
	return stableGUID(t.tenantID, "servicePrincipal", strings.ToLower(appID))
}

// stableGUID is a name-based (version 5) UUID of the parts.
func stableGUID(parts ...string) string {
	sum := sha1.Sum([]byte(strings.Join(parts, "|")))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
