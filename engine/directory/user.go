package directory

import (
	"strings"
)

// ParseUser turns what the admin typed into what to simple-bind with:
//
//   - "user@suffix" (a UPN) binds as given;
//   - "fabrikam.com\user" (a DNS domain) binds as user@fabrikam.com;
//   - "FABRIKAM\user" (a NetBIOS name: no dot) binds as user@<forest>, and the
//     NetBIOS name is returned so Dial can check, once bound, that it names a
//     domain of the forest.
//
// AD accepts "sAMAccountName@dnsdomain" for any account even without a
// userPrincipalName. NTLM binds ("DOMAIN\user") are not used: Samba drops them.
func ParseUser(input, forest string) (bind string, err error) {
	bind, _, err = parseUser(input, forest)
	return bind, err
}

func parseUser(input, forest string) (bind, netbios string, err error) {
	s := strings.TrimSpace(input)
	forest = strings.TrimSuffix(strings.TrimSpace(forest), ".")
	bad := func(format string, args ...any) (string, string, error) {
		return "", "", newError(ErrInvalidInput, nil, format, args...)
	}
	if s == "" {
		return bad("Enter a user name, for example FABRIKAM\\syncuser, fabrikam.com\\syncuser or syncuser@fabrikam.com.")
	}
	if strings.ContainsAny(s, "\x00\r\n") {
		return bad("The user name contains characters that are not allowed.")
	}
	if dom, user, ok := strings.Cut(s, `\`); ok {
		dom, user = strings.TrimSpace(dom), strings.TrimSpace(user)
		if dom == "" || user == "" || strings.ContainsAny(user, `\@`) {
			return bad("Enter the user name as DOMAIN\\user, domain.com\\user or user@domain.com.")
		}
		if strings.Contains(dom, ".") {
			if !validDNSName(dom) {
				return bad("%q is not a valid domain name.", dom)
			}
			return user + "@" + strings.ToLower(strings.TrimSuffix(dom, ".")), "", nil
		}
		if len(dom) > 15 || strings.ContainsAny(dom, `/:*?"<>| ,`) {
			return bad("%q is not a valid NetBIOS domain name.", dom)
		}
		if forest == "" {
			return bad("Enter the forest name before a user name in DOMAIN\\user form.")
		}
		if !validDNSName(forest) {
			// The bind name is user@forest: a forest name that is not a DNS
			// name (a line break, an "@") would make it another name.
			return bad("%q is not a valid forest name.", forest)
		}
		return user + "@" + strings.ToLower(forest), strings.ToUpper(dom), nil
	}
	if user, suffix, ok := strings.Cut(s, "@"); ok {
		if user == "" || suffix == "" || strings.Contains(suffix, "@") || !validDNSName(suffix) {
			return bad("Enter the user name as DOMAIN\\user, domain.com\\user or user@domain.com.")
		}
		return s, "", nil
	}
	return bad("Include the domain in the user name: FABRIKAM\\%s, fabrikam.com\\%s or %s@fabrikam.com.", s, s, s)
}

// validDNSName is a loose check: labels of letters, digits and hyphens.
func validDNSName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 127) {
				return false
			}
		}
	}
	return true
}
