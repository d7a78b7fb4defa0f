package fedserver

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Identity is what a sign-in yields: the user's UPN and the ImmutableID
// issued for it.
type Identity struct {
	UPN         string
	ImmutableID string
}

// Authenticator checks a user name and password and returns the user's
// identity, or an error matching ErrBadCredentials when they are wrong.
// Implementations must never log or keep the password.
type Authenticator func(ctx context.Context, upn, password string) (Identity, error)

// ErrBadCredentials is what an Authenticator returns for a wrong user name or
// password; the sign-in form then shows the role's wording.
var ErrBadCredentials = errors.New("fedserver: wrong user name or password")

// The source anchors the wizard offers (Config.SourceAnchor).
const (
	AnchorObjectGUID      = "objectGUID"
	AnchorConsistencyGUID = "mS-DS-ConsistencyGuid"
)

// LDAPAuthenticator binds to the forest over LDAPS as the user (a simple
// bind with the UPN and the password typed), then, still as the user, reads
// the user's entry to issue the ImmutableID from the source anchor.
type LDAPAuthenticator struct {
	URL          string // ldaps://127.0.0.2:636
	BaseDN       string
	TLS          *tls.Config
	SourceAnchor string // AnchorObjectGUID (default) or AnchorConsistencyGUID
}

// Authenticate implements Authenticator.
func (a LDAPAuthenticator) Authenticate(ctx context.Context, upn, password string) (Identity, error) {
	if upn == "" || password == "" {
		// An empty password would be an unauthenticated bind, which AD
		// accepts: never treat it as a sign-in.
		return Identity{}, ErrBadCredentials
	}
	conn, err := a.dial(ctx)
	if err != nil {
		return Identity{}, err
	}
	defer conn.Close()
	if err := conn.Bind(upn, password); err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			return Identity{}, ErrBadCredentials
		}
		return Identity{}, fmt.Errorf("fedserver: unable to bind as %s: %w", upn, err)
	}
	res, err := conn.Search(ldap.NewSearchRequest(a.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, 30, false,
		"(&(objectClass=user)(userPrincipalName="+ldap.EscapeFilter(upn)+"))",
		[]string{"objectGUID", "mS-DS-ConsistencyGuid", "userPrincipalName"}, nil))
	if err != nil {
		return Identity{}, fmt.Errorf("fedserver: unable to read %s under %s: %w", upn, a.BaseDN, err)
	}
	if len(res.Entries) != 1 {
		// Guess: AD FS refuses a UPN it finds no (or more than one) account
		// for with the same wording as a wrong password.
		return Identity{}, fmt.Errorf("%w: %d entries for %s under %s", ErrBadCredentials, len(res.Entries), upn, a.BaseDN)
	}
	e := res.Entries[0]
	id, err := ImmutableID(a.SourceAnchor, e.GetRawAttributeValue("objectGUID"), e.GetRawAttributeValue("mS-DS-ConsistencyGuid"))
	if err != nil {
		return Identity{}, fmt.Errorf("fedserver: %s: %w", upn, err)
	}
	return Identity{UPN: e.GetAttributeValue("userPrincipalName"), ImmutableID: id}, nil
}

func (a LDAPAuthenticator) dial(ctx context.Context) (*ldap.Conn, error) {
	u, err := url.Parse(a.URL)
	if err != nil {
		return nil, fmt.Errorf("fedserver: bad LDAP URL %q: %w", a.URL, err)
	}
	if u.Scheme != "ldaps" {
		return nil, fmt.Errorf("fedserver: the LDAP URL %q is not ldaps://: passwords go over TLS only", a.URL)
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("fedserver: the LDAP server %q is not a loopback address", u.Hostname())
	}
	d := &net.Dialer{Timeout: 10 * time.Second}
	if dl, ok := ctx.Deadline(); ok {
		d.Deadline = dl
	}
	cfg := a.TLS
	if cfg == nil {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if cfg.ServerName == "" {
		cfg = cfg.Clone()
		cfg.ServerName = u.Hostname() // the DC's certificate names its IP
	}
	conn, err := ldap.DialURL(a.URL, ldap.DialWithDialer(d), ldap.DialWithTLSConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("fedserver: unable to reach %s: %w", a.URL, err)
	}
	conn.SetTimeout(30 * time.Second)
	return conn, nil
}

// ImmutableID is the claim Entra Connect's rules issue: base64 of the
// source anchor's 16 bytes. With mS-DS-ConsistencyGuid chosen, an empty
// value falls back to objectGUID ("Issue objectGuidRule if
// msdsConsistencyGuid rule does not exist").
func ImmutableID(anchor string, objectGUID, consistencyGUID []byte) (string, error) {
	raw := objectGUID
	switch {
	case anchor == "" || strings.EqualFold(anchor, AnchorObjectGUID):
	case strings.EqualFold(anchor, AnchorConsistencyGUID):
		if len(consistencyGUID) > 0 {
			raw = consistencyGUID
		}
	default:
		return "", fmt.Errorf("unknown source anchor %q", anchor)
	}
	if len(raw) != 16 {
		return "", fmt.Errorf("the source anchor has %d bytes, not 16", len(raw))
	}
	return base64.StdEncoding.EncodeToString(raw), nil
}
