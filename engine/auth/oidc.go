package auth

import (
	"encoding/json"
	"slices"
	"strings"
)

// GroupMap says, for each role, which values of the identity provider's groups
// claim grant it: group object ids or group names, as the provider sends them.
type GroupMap map[Role][]string

// RolesFor returns the roles that the groups claim's values grant, in the order
// of Roles. Values are compared without regard to case or surrounding space
// (Entra sends object ids in lower case, an administrator may paste them in
// upper case).
func RolesFor(groups []string, m GroupMap) []string {
	have := map[string]bool{}
	for _, g := range groups {
		if g = strings.ToLower(strings.TrimSpace(g)); g != "" {
			have[g] = true
		}
	}
	var out []string
	for _, r := range Roles {
		for _, v := range m[r] {
			if have[strings.ToLower(strings.TrimSpace(v))] {
				out = append(out, string(r))
				break
			}
		}
	}
	return out
}

// Empty reports whether no value grants any role.
func (m GroupMap) Empty() bool {
	for _, vs := range m {
		if len(vs) > 0 {
			return false
		}
	}
	return true
}

// GroupLines reads a textarea of claim values, one a line: trimmed, without
// blank lines or repeats (compared without regard to case).
func GroupLines(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		v := strings.TrimSpace(line)
		if v == "" || slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, v) }) {
			continue
		}
		out = append(out, v)
	}
	return out
}

// GroupsClaim reads a groups claim: an array of strings (Entra, Okta, Keycloak)
// or a single string. Anything else, or no claim, is no groups.
func GroupsClaim(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var list []any
	if err := json.Unmarshal(raw, &list); err == nil {
		var out []string
		for _, v := range list {
			if s, ok := v.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil && one != "" {
		return []string{one}
	}
	return nil
}
