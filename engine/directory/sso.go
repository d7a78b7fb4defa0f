package directory

import (
	"context"
	"strconv"

	"github.com/go-ldap/ldap/v3"
)

// Seamless single sign-on's computer account.
const (
	SSOAccountName = "AZUREADSSOACC"
	SSOAccountSAM  = "AZUREADSSOACC$"
	SSOAccountSPN  = "HTTP/autologon.microsoftazuread-sso.com"
)

// SSOAccount says what EnsureSSOAccount did.
type SSOAccount struct {
	DN      string
	Updated bool // it existed; its SPN and password were reset
}

// CreateSSOAccount creates (or updates) the AZUREADSSOACC computer account;
// see EnsureSSOAccount.
func (c *Conn) CreateSSOAccount(ctx context.Context, domain Domain) error {
	_, err := c.EnsureSSOAccount(ctx, domain)
	return err
}

// EnsureSSOAccount creates the computer account AZUREADSSOACC (sAMAccountName
// AZUREADSSOACC$) in CN=Computers of domain with the SPN
// HTTP/autologon.microsoftazuread-sso.com and a random password. When it
// exists already (anywhere in the domain) its SPN and password are reset and
// Updated is true. The password is sent, so the connection must be encrypted;
// it is not returned (the cloud side is out of scope here).
func (c *Conn) EnsureSSOAccount(ctx context.Context, domain Domain) (SSOAccount, error) {
	if !c.Security().Encrypted() {
		return SSOAccount{}, newError(ErrNotSecure, nil,
			"Creating the single sign-on computer account sets its password, which is only ever sent over an encrypted connection. Connect with LDAPS or StartTLS.")
	}
	domain, err := c.fillDomain(ctx, domain)
	if err != nil {
		return SSOAccount{}, err
	}
	pw, err := RandomPassword(64)
	if err != nil {
		return SSOAccount{}, err
	}
	req := ldap.NewSearchRequest(domain.DN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 1, 0, false,
		"(sAMAccountName="+ldap.EscapeFilter(SSOAccountSAM)+")", []string{"1.1"}, nil)
	found, err := c.search(ctx, req, false)
	if err != nil {
		return SSOAccount{}, opError(err, "look for the computer account %s", SSOAccountSAM)
	}
	if len(found) > 0 {
		dn := found[0].DN
		m := ldap.NewModifyRequest(dn, nil)
		m.Replace("servicePrincipalName", []string{SSOAccountSPN})
		m.Replace("unicodePwd", []string{UnicodePwd(pw)})
		if err := c.modify(ctx, m); err != nil {
			return SSOAccount{}, opError(err, "update the computer account %s", dn)
		}
		return SSOAccount{DN: dn, Updated: true}, nil
	}
	dn := "CN=" + SSOAccountName + ",CN=Computers," + domain.DN
	add := ldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user", "computer"})
	add.Attribute("sAMAccountName", []string{SSOAccountSAM})
	add.Attribute("userAccountControl", []string{strconv.Itoa(uacWorkstationTrust)})
	add.Attribute("servicePrincipalName", []string{SSOAccountSPN})
	add.Attribute("description", []string{"Computer account for Microsoft Entra seamless single sign-on (created by hybridsync)."})
	add.Attribute("unicodePwd", []string{UnicodePwd(pw)})
	if err := c.add(ctx, add); err != nil {
		return SSOAccount{}, opError(err, "create the computer account %s", dn)
	}
	return SSOAccount{DN: dn}, nil
}
