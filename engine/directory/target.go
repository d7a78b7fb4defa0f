package directory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
)

// Security is how the connection to the domain controller is protected.
type Security string

const (
	// LDAPS is LDAP over TLS on port 636.
	LDAPS Security = "ldaps"
	// StartTLS is LDAP on port 389 upgraded to TLS before the bind.
	StartTLS Security = "starttls"
	// Insecure is plain LDAP on port 389: passwords travel in clear text.
	// Allowed only when the admin explicitly ticks it.
	Insecure Security = "insecure"
)

// Valid reports whether s is one of the three choices.
func (s Security) Valid() bool { return s == LDAPS || s == StartTLS || s == Insecure }

// Port is the default port of s.
func (s Security) Port() string {
	if s == LDAPS {
		return "636"
	}
	return "389"
}

// Encrypted reports whether s protects the connection with TLS.
func (s Security) Encrypted() bool { return s == LDAPS || s == StartTLS }

// Target says which forest to reach and how.
type Target struct {
	Forest   string        // forest (root domain) DNS name, e.g. fabrikam.com
	Host     string        // optional host[:port]; empty: DNS SRV discovery
	Security Security      // "" means LDAPS
	CAPEM    []byte        // optional CA certificate(s) to trust besides the system roots
	Resolver *net.Resolver // nil: net.DefaultResolver
}

func (t Target) security() Security {
	if t.Security == "" {
		return LDAPS
	}
	return t.Security
}

func (t Target) resolver() *net.Resolver {
	if t.Resolver != nil {
		return t.Resolver
	}
	return net.DefaultResolver
}

// SRVName is the DNS name Discover looks up for forest.
func SRVName(forest string) string { return "_ldap._tcp.dc._msdcs." + strings.TrimSuffix(forest, ".") }

// Discover finds the forest's domain controllers through DNS: the SRV records
// of _ldap._tcp.dc._msdcs.<forest> in priority/weight order, keeping the
// targets whose name resolves. It returns host:port candidates (the DC's DNS
// name, so TLS can verify it; port 636 for LDAPS, the SRV port otherwise).
func Discover(ctx context.Context, t Target) ([]string, error) {
	forest := strings.TrimSuffix(strings.TrimSpace(t.Forest), ".")
	if forest == "" {
		return nil, newError(ErrInvalidInput, nil, "Enter the forest name, for example fabrikam.com.")
	}
	name := SRVName(forest)
	r := t.resolver()
	_, srvs, err := r.LookupSRV(ctx, "", "", name)
	if err != nil || len(srvs) == 0 {
		if err == nil {
			err = errors.New("no SRV records")
		}
		return nil, newError(ErrNoDC, err,
			"No domain controller was found for %s: the DNS lookup of %s failed. Check the forest name and that this server uses a DNS server that knows the forest, or enter a domain controller's name.", forest, name)
	}
	// net.Resolver sorts by priority and shuffles by weight already; sort
	// stably by priority again so the order never depends on the resolver.
	sort.SliceStable(srvs, func(i, j int) bool { return srvs[i].Priority < srvs[j].Priority })
	var out []string
	var lookupErrs []error
	seen := map[string]bool{}
	for _, s := range srvs {
		host := strings.TrimSuffix(s.Target, ".")
		if host == "" || seen[host] {
			continue
		}
		if _, err := r.LookupHost(ctx, host); err != nil {
			lookupErrs = append(lookupErrs, err)
			continue
		}
		seen[host] = true
		port := strconv.Itoa(int(s.Port))
		if t.security() == LDAPS || s.Port == 0 {
			port = t.security().Port()
		}
		out = append(out, net.JoinHostPort(host, port))
	}
	if len(out) == 0 {
		return nil, newError(ErrNoDC, errors.Join(lookupErrs...),
			"The DNS records of %s name domain controllers whose addresses could not be resolved.", name)
	}
	return out, nil
}

// candidates are the host:port addresses Dial tries.
func (t Target) candidates(ctx context.Context) ([]string, error) {
	h := strings.TrimSpace(t.Host)
	if h == "" {
		return Discover(ctx, t)
	}
	if _, _, err := net.SplitHostPort(h); err != nil {
		h = net.JoinHostPort(strings.Trim(h, "[]"), t.security().Port())
	}
	return []string{h}, nil
}

// tlsConfig verifies against the system roots plus t.CAPEM, with the DC's
// DNS name (or the IP the admin gave) as ServerName.
func (t Target) tlsConfig(hostport string) (*tls.Config, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if len(t.CAPEM) > 0 && !pool.AppendCertsFromPEM(t.CAPEM) {
		return nil, newError(ErrInvalidInput, nil, "The CA certificate is not a PEM-encoded certificate.")
	}
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		RootCAs:    pool,
		ServerName: host,
	}, nil
}

// tlsError explains a failed handshake.
func tlsError(err error, dc string) *Error {
	var unknown x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(err, &unknown):
		return newError(ErrTLS, err,
			"The certificate of %s is not trusted: it was not issued by a certificate authority this server trusts. Provide your CA certificate (PEM) and try again.", dc)
	case errors.As(err, &hostErr):
		return newError(ErrTLS, err,
			"The certificate of %s does not match the name used to connect. Connect with the name the certificate was issued for, or provide a certificate that includes this name.", dc)
	case errors.As(err, &invalid):
		return newError(ErrTLS, err,
			"The certificate of %s is not valid (expired, not yet valid, or not for a server). Renew it or provide the right CA certificate.", dc)
	}
	return newError(ErrTLS, err,
		"The secure connection to %s failed. Check that the domain controller has a certificate for LDAPS/StartTLS, or provide your CA certificate.", dc)
}

func describeCandidates(c []string) string {
	if len(c) == 1 {
		return c[0]
	}
	return fmt.Sprintf("%d domain controllers (%s)", len(c), strings.Join(c, ", "))
}
