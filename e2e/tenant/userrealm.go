package tenant

import (
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Two endpoints of the sign-in service that Microsoft's client libraries call
// before they ask for a token.
//
// User realm discovery, GET /common/userrealm/{username}?api-version=1.0:
// MSAL asks it before the username/password grant, to learn whether the
// account's domain is managed (then it posts the password to the token
// endpoint) or federated (then it fetches the federation service's WS-Trust
// metadata, gets a SAML assertion from it and redeems that). MSAL for Go
// (apps/internal/oauth/ops/authority) requires account_type, domain_name,
// cloud_instance_name and cloud_audience_urn, and for Federated also
// federation_protocol and federation_metadata_url. The answer here:
//
//   - a verified domain of the tenant whose authenticationType is Managed:
//     {"ver":"1.0","account_type":"Managed","domain_name",
//     "cloud_instance_name":"microsoftonline.com",
//     "cloud_audience_urn":"urn:federation:MicrosoftOnline"};
//   - a verified Federated domain: the same with account_type Federated,
//     federation_protocol WSTrust (SAML20 for a saml domain) and, from its
//     federation configuration (federation.go), AuthURL (passiveSignInUri),
//     federation_metadata_url (metadataExchangeUri, its WS-Trust MEX) and
//     federation_active_auth_url (activeSignInUri, its usernamemixed
//     endpoint). Without a MEX URL MSAL refuses the realm ("federation
//     metadata URL of user realm is missing"), as a password sign-in to a
//     federated domain cannot work without its federation service;
//   - any other name (unverified, another tenant's, no domain part):
//     account_type Unknown, which MSAL refuses.
//
// Field names and values are those MSAL's clients parse and the public
// service answers with for api-version 1.0; any api-version gets this shape.
// MSAL for Go asks for /common/UserRealm/..., MSAL for Python and .NET for
// /common/userrealm/...: both are served.
//
// Instance discovery, GET /common/discovery/instance?api-version=1.1
// &authorization_endpoint=…: MSAL validates an authority whose host it does
// not know by asking login.microsoftonline.com (never the authority's own
// host), which answers 400 invalid_instance (AADSTS50049) for a host that
// is not the sign-in service's. A client of the emulator either turns the
// check off (WithInstanceDiscovery(false) in MSAL for Go: the only way to
// keep its traffic on loopback when it resolves names itself) or routes
// login.microsoftonline.com to the emulator; then the emulator answers for
// authorization endpoints on its own host or on a loopback address (where
// it is served) with the tenant discovery endpoint on that host and the
// host as its only alias, and refuses any other host as the real one does.

const (
	cloudInstanceName = "microsoftonline.com"
	cloudAudienceURN  = "urn:federation:MicrosoftOnline"
)

func (t *Tenant) handleUserRealm(w http.ResponseWriter, r *http.Request) {
	username := r.PathValue("username")
	domainName := ""
	if i := strings.LastIndex(username, "@"); i >= 0 {
		domainName = strings.ToLower(username[i+1:])
	}
	var d domain
	found := false
	if domainName != "" {
		t.mu.Lock()
		for _, x := range t.domains {
			if x.Verified && x.Name == domainName {
				d, found = *x, true
			}
		}
		t.mu.Unlock()
	}
	if !found {
		writeJSON(w, http.StatusOK, map[string]any{"ver": "1.0", "account_type": "Unknown", "cloud_instance_name": cloudInstanceName})
		return
	}
	body := map[string]any{"ver": "1.0", "account_type": "Managed", "domain_name": d.Name,
		"cloud_instance_name": cloudInstanceName, "cloud_audience_urn": cloudAudienceURN}
	if strings.EqualFold(d.AuthenticationType, "Federated") {
		body["account_type"] = "Federated"
		body["federation_protocol"] = "WSTrust"
		if fed, ok := t.federationOf(d.Name); ok {
			if fed.PreferredAuthenticationProtocol == ProtocolSAML {
				// Guess: a SAML-P domain's user realm says federation_protocol SAML20.
				body["federation_protocol"] = "SAML20"
			}
			// The passive sign-in URL, as GetUserRealm names it.
			// Guess: user realm 1.0 carries AuthURL, the domain's passiveSignInUri.
			body["AuthURL"] = fed.PassiveSignInURI
			if fed.MetadataExchangeURI != "" {
				body["federation_metadata_url"] = fed.MetadataExchangeURI
			}
			if fed.ActiveSignInURI != "" {
				body["federation_active_auth_url"] = fed.ActiveSignInURI
			}
		}
	}
	writeJSON(w, http.StatusOK, body)
}

// handleInstanceDiscovery is GET /common/discovery/instance.
func (t *Tenant) handleInstanceDiscovery(w http.ResponseWriter, r *http.Request) {
	ae := r.URL.Query().Get("authorization_endpoint")
	if ae == "" {
		// The text is ours.
		t.writeTokenError(w, r, &tokenError{http.StatusBadRequest, "invalid_request", 90014,
			"The required field 'authorization_endpoint' is missing.", ""})
		return
	}
	u, err := url.Parse(ae)
	if err != nil || u.Scheme != "https" || u.Host == "" || !t.servedOn(r, u.Host) {
		t.writeTokenError(w, r, &tokenError{http.StatusBadRequest, "invalid_instance", 50049, "Unknown or invalid instance.", ""})
		return
	}
	tenantSeg := strings.Split(strings.TrimPrefix(u.Path, "/"), "/")[0]
	if tenantSeg == "" {
		tenantSeg = segCommon
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": "https://" + u.Host + "/" + tenantSeg + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata": []map[string]any{{
			"preferred_network": u.Host,
			"preferred_cache":   u.Host,
			"aliases":           []string{u.Host},
		}},
	})
}

// servedOn reports whether host (host[:port]) is where the emulator is
// served: the request's own host, or a loopback address or name.
func (t *Tenant) servedOn(r *http.Request, host string) bool {
	if strings.EqualFold(host, r.Host) {
		return true
	}
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsLoopback()
}
