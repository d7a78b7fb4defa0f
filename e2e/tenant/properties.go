package tenant

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Read-only properties: Graph v1.0 answers a create or update that sends one
// with 400 Request_BadRequest "Property '<name>' is read-only and cannot be
// set." (the body Graph answers for proxyAddresses and onPremisesSyncEnabled
// in public reports; it carries no details). Which properties are read-only
// is the v1.0 metadata's word (graphmeta, checked in strict.go); a handler
// adds to it only what the metadata doesn't say (devices.go).

func readOnlySet(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[strings.ToLower(n)] = true
	}
	return m
}

// readOnlyProperty answers a write to a read-only property.
func readOnlyProperty(r *http.Request, prop string) *graphError {
	return newGraphError(r, http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("Property '%s' is read-only and cannot be set.", prop), nil)
}

// decodeBody reads a create or update body into v. It refuses a body that
// is not a JSON object, and one that writes a property of readOnly. It
// returns the body's properties by name, for the callers that read
// directory extension properties (extension_<appId>_<name>).
func decodeBody(r *http.Request, readOnlyProps map[string]bool, v any) (map[string]json.RawMessage, *graphError) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, badJSON(r)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || raw == nil {
		return nil, badJSON(r)
	}
	for name := range raw {
		if readOnlyProps[strings.ToLower(name)] {
			return nil, readOnlyProperty(r, name)
		}
	}
	if e := checkWrite(r, raw, readOnlyProps, v); e != nil {
		return nil, e
	}
	if err := json.Unmarshal(b, v); err != nil {
		return nil, badJSON(r)
	}
	return raw, nil
}

// withPrimaryMail is a user's proxyAddresses after mail was set to m: "Changes
// to this property update the user's proxyAddresses collection to include
// the value as an SMTP address" (user resource, mail). The address becomes
// the primary one (SMTP:) and the former primary an alias (smtp:), as
// Exchange treats a new primary address.
// Guess: setting mail keeps the former primary SMTP address as an alias.
func withPrimaryMail(proxies []string, m string) []string {
	if m == "" {
		return proxies
	}
	out := make([]string, 0, len(proxies)+1)
	found := false
	for _, p := range proxies {
		prefix, addr, ok := strings.Cut(p, ":")
		switch {
		case ok && strings.EqualFold(prefix, "smtp") && strings.EqualFold(addr, m):
			found = true
			out = append(out, "SMTP:"+addr)
		case ok && prefix == "SMTP":
			out = append(out, "smtp:"+addr)
		default:
			out = append(out, p)
		}
	}
	if !found {
		out = append(out, "SMTP:"+m)
	}
	return out
}

// SetProxyAddresses sets a user's proxyAddresses (by id or
// userPrincipalName) the way Exchange Online does for a mailbox (Graph
// cannot): tests use it to give a cloud user an alias. The addresses must be
// free in the tenant.
func (t *Tenant) SetProxyAddresses(idOrUPN string, proxies []string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	u := t.lookup(idOrUPN)
	if u == nil {
		return fmt.Errorf("tenant: no user %s", idOrUPN)
	}
	addrs := addresses(proxies, u.Mail)
	if t.proxyConflictLocked(u.ID, addrs) {
		return fmt.Errorf("tenant: an address of %v is already taken", proxies)
	}
	t.unindex(u)
	u.ProxyAddresses = append([]string{}, proxies...)
	t.index(u, addrs)
	t.changedLocked()
	return nil
}
