package directory

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// Timeout bounds connecting, the TLS handshake and each LDAP request.
const Timeout = 10 * time.Second

// Conn is a bound LDAP connection to one domain controller of a forest. It is
// safe for concurrent use. Cancelling the context of a call that is waiting on
// the DC closes the Conn.
type Conn struct {
	l        *ldap.Conn
	dc       string
	target   Target
	bindName string

	// probeOnly makes Children use per-node probes (tests of that path).
	probeOnly bool

	mu     sync.Mutex
	forest *ForestInfo
	root   *rootDSE
}

// DC is the host:port of the domain controller in use.
func (c *Conn) DC() string { return c.dc }

// Security is how the connection is protected.
func (c *Conn) Security() Security { return c.target.security() }

// BindName is the name the connection is bound with (user@dnsdomain).
func (c *Conn) BindName() string { return c.bindName }

// Close closes the connection.
func (c *Conn) Close() error {
	if c == nil || c.l == nil {
		return nil
	}
	return c.l.Close()
}

// Dial finds a domain controller of t (t.Host, or DNS SRV discovery), connects
// with t.Security and simple-binds as user (see ParseUser for the accepted
// forms). Every error is an *Error with a message for the admin.
func Dial(ctx context.Context, t Target, user, password string) (*Conn, error) {
	sec := t.security()
	if !sec.Valid() {
		return nil, newError(ErrInvalidInput, nil, "Choose how to connect: LDAPS, StartTLS or (insecure) plain LDAP.")
	}
	t.Security = sec
	bind, netbios, err := parseUser(user, t.Forest)
	if err != nil {
		return nil, err
	}
	if password == "" {
		return nil, newError(ErrInvalidInput, nil, "Enter the password of %s.", strings.TrimSpace(user))
	}
	cands, err := t.candidates(ctx)
	if err != nil {
		return nil, err
	}
	var dialErrs []error
	for _, dc := range cands {
		l, err := connect(ctx, t, dc)
		if err != nil {
			var de *Error
			if errors.As(err, &de) && errors.Is(de, ErrTLS) {
				return nil, err // a certificate problem is not fixed by another DC
			}
			dialErrs = append(dialErrs, err)
			continue
		}
		c := &Conn{l: l, dc: dc, target: t, bindName: bind}
		if err := c.bind(ctx, bind, password); err != nil {
			l.Close()
			return nil, err
		}
		if netbios != "" {
			if err := c.checkNetBIOS(ctx, netbios); err != nil {
				l.Close()
				return nil, err
			}
		}
		return c, nil
	}
	return nil, newError(ErrUnreachable, errors.Join(dialErrs...),
		"Could not reach %s on the %s port. Check that the domain controller is running and that no firewall blocks the connection.",
		describeCandidates(cands), strings.ToUpper(string(sec)))
}

// connect opens the TCP connection and, for LDAPS and StartTLS, the TLS session.
func connect(ctx context.Context, t Target, dc string) (*ldap.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	d := &net.Dialer{Timeout: Timeout, Resolver: t.Resolver}
	raw, err := d.DialContext(ctx, "tcp", dc)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", dc, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(dl)
	}
	sec := t.security()
	var conn net.Conn = raw
	if sec == StartTLS {
		if err := startTLSExchange(raw); err != nil {
			raw.Close()
			var le *ldap.Error
			if errors.As(err, &le) {
				return nil, newError(ErrTLS, err, "%s refused StartTLS. Check that the domain controller has a certificate, or choose LDAPS.", dc)
			}
			return nil, fmt.Errorf("starttls with %s: %w", dc, err)
		}
	}
	if sec.Encrypted() {
		cfg, err := t.tlsConfig(dc)
		if err != nil {
			raw.Close()
			return nil, err
		}
		tc := tls.Client(raw, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, tlsError(err, dc)
		}
		conn = tc
	}
	_ = raw.SetDeadline(time.Time{})
	l := ldap.NewConn(conn, sec.Encrypted())
	l.Start()
	l.SetTimeout(Timeout)
	return l, nil
}

// startTLSExchange sends the StartTLS extended request (RFC 4511 4.14) on a
// fresh connection and reads the answer, so the handshake that follows can be
// done here with typed certificate errors (go-ldap's Conn.StartTLS flattens
// them into text).
func startTLSExchange(raw net.Conn) error {
	packet := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Request")
	packet.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(1), "MessageID"))
	req := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationExtendedRequest, nil, "Start TLS")
	req.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, "1.3.6.1.4.1.1466.20037", "TLS Extended Command"))
	packet.AppendChild(req)
	if _, err := raw.Write(packet.Bytes()); err != nil {
		return err
	}
	resp, err := ber.ReadPacket(raw)
	if err != nil {
		return err
	}
	return ldap.GetLDAPError(resp)
}

func (c *Conn) bind(ctx context.Context, user, password string) error {
	var err error
	c.guard(ctx, func() { err = c.l.Bind(user, password) })
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return newError(ErrUnreachable, ctx.Err(), "The sign-in to %s was cancelled or timed out.", c.dc)
	}
	if ldap.IsErrorAnyOf(err, ldap.ErrorNetwork, ldap.LDAPResultServerDown) {
		return newError(ErrUnreachable, err, "The connection to %s was lost during sign-in.", c.dc)
	}
	return bindError(err, user)
}

// checkNetBIOS verifies, after a bind typed as NETBIOS\user, that the NetBIOS
// name is a domain of the forest we are connected to.
func (c *Conn) checkNetBIOS(ctx context.Context, netbios string) error {
	fi, err := c.Forest(ctx)
	if err != nil {
		return err
	}
	for _, d := range fi.Domains {
		if strings.EqualFold(d.NetBIOS, netbios) {
			return nil
		}
	}
	var names []string
	for _, d := range fi.Domains {
		names = append(names, d.NetBIOS)
	}
	return newError(ErrWrongDomain, nil,
		"%s is not a domain of the forest %s (its domains: %s). Enter the user name with one of them, or as user@domain.",
		netbios, fi.Name, strings.Join(names, ", "))
}

// guard runs f, closing the connection if ctx ends first (go-ldap's blocking
// calls take no context).
func (c *Conn) guard(ctx context.Context, f func()) {
	stop := context.AfterFunc(ctx, func() { c.l.Close() })
	defer stop()
	f()
}

// search runs one (optionally paged) search under ctx. A size-limit stop
// returns what was received and no error.
func (c *Conn) search(ctx context.Context, req *ldap.SearchRequest, paged bool) ([]*ldap.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok && req.TimeLimit == 0 {
		if s := int(time.Until(dl).Seconds()); s > 0 {
			req.TimeLimit = s
		}
	}
	var res *ldap.SearchResult
	var err error
	c.guard(ctx, func() {
		if paged {
			res, err = c.l.SearchWithPaging(req, 1000)
		} else {
			res, err = c.l.Search(req)
		}
	})
	if err != nil && ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) && res != nil {
		return res.Entries, nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return nil, err
	}
	return res.Entries, nil
}

// searchAll returns every entry of req, cheaply on both kinds of DC: one
// plain search first, and only when the DC stops it at its size limit (Windows
// AD caps a non-paged search at MaxPageSize, 1,000) the same search again,
// paged 1,000 a page. Samba has no such cap but pages slowly (about 0.2 ms an
// entry against 0.05 ms for a plain search here), so the plain search is what
// keeps a 2,000-OU level fast; on Windows AD paging is cheap.
func (c *Conn) searchAll(ctx context.Context, req *ldap.SearchRequest) ([]*ldap.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var res *ldap.SearchResult
	var err error
	plain := *req
	c.guard(ctx, func() { res, err = c.l.Search(&plain) })
	if err == nil {
		return res.Entries, nil
	}
	if !ldap.IsErrorAnyOf(err, ldap.LDAPResultSizeLimitExceeded, ldap.LDAPResultAdminLimitExceeded) {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return nil, err
	}
	paged := *req
	return c.search(ctx, &paged, true)
}

// readEntry is a base-scope read of dn.
func (c *Conn) readEntry(ctx context.Context, dn string, attrs []string, controls ...ldap.Control) (*ldap.Entry, error) {
	req := ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", attrs, controls)
	entries, err := c.search(ctx, req, false)
	if err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return nil, ldap.NewError(ldap.LDAPResultNoSuchObject, fmt.Errorf("%s not returned", dn))
	}
	return entries[0], nil
}

func (c *Conn) add(ctx context.Context, r *ldap.AddRequest) error {
	var err error
	c.guard(ctx, func() { err = c.l.Add(r) })
	return err
}

func (c *Conn) modify(ctx context.Context, r *ldap.ModifyRequest) error {
	var err error
	c.guard(ctx, func() { err = c.l.Modify(r) })
	return err
}

func (c *Conn) del(ctx context.Context, dn string) error {
	var err error
	c.guard(ctx, func() { err = c.l.Del(ldap.NewDelRequest(dn, nil)) })
	return err
}

// rootDSE holds what we read from the root DSE.
type rootDSE struct {
	DefaultNC, RootDomainNC, ConfigurationNC, SchemaNC, DNSHostName string
}

func (c *Conn) rootDSE(ctx context.Context) (*rootDSE, error) {
	c.mu.Lock()
	r := c.root
	c.mu.Unlock()
	if r != nil {
		return r, nil
	}
	e, err := c.readEntry(ctx, "", []string{"defaultNamingContext", "rootDomainNamingContext",
		"configurationNamingContext", "schemaNamingContext", "dnsHostName"})
	if err != nil {
		return nil, opError(err, "read the domain controller's root DSE")
	}
	r = &rootDSE{
		DefaultNC:       e.GetAttributeValue("defaultNamingContext"),
		RootDomainNC:    e.GetAttributeValue("rootDomainNamingContext"),
		ConfigurationNC: e.GetAttributeValue("configurationNamingContext"),
		SchemaNC:        e.GetAttributeValue("schemaNamingContext"),
		DNSHostName:     e.GetAttributeValue("dnsHostName"),
	}
	if r.ConfigurationNC == "" || r.SchemaNC == "" {
		return nil, newError(nil, nil, "%s does not look like an Active Directory domain controller (its root DSE has no configuration or schema naming context).", c.dc)
	}
	c.mu.Lock()
	c.root = r
	c.mu.Unlock()
	return r, nil
}
