package federation

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
)

// Resolution is what one DNS server says about a name: the Verify page asks
// the intranet resolver whether the federation service name has an A record
// of its own (a CNAME fails: Windows authentication from domain-joined
// machines needs an A record), and both the intranet and the extranet
// resolvers whether it resolves at all.
type Resolution struct {
	Name  string
	Addrs []string // the final addresses
	CNAME string   // the canonical name when Name is an alias; "" when Name has its own A/AAAA records
	Err   error    // nil when the name resolved; a *net.DNSError inside when DNS said so
}

// Resolve asks r (nil: the system's resolver) for name's addresses and its
// canonical name. With the pure-Go resolver LookupCNAME returns the name
// itself when there is no CNAME.
func Resolve(ctx context.Context, r *net.Resolver, name string) Resolution {
	if r == nil {
		r = net.DefaultResolver
	}
	name = strings.TrimSuffix(strings.TrimSpace(name), ".")
	res := Resolution{Name: name}
	addrs, err := r.LookupHost(ctx, name)
	if err != nil {
		res.Err = err
		return res
	}
	res.Addrs = addrs
	slices.Sort(res.Addrs)
	cname, err := r.LookupCNAME(ctx, name)
	if err != nil {
		// The name has addresses; a failed CNAME lookup right after is a
		// resolver hiccup, not an answer about the name.
		res.Err = err
		return res
	}
	if c := strings.TrimSuffix(cname, "."); c != "" && !strings.EqualFold(c, name) {
		res.CNAME = c
	}
	return res
}

// NotFound reports whether DNS answered that the name does not exist (or has
// no address), as opposed to not answering (a timeout, a server failure).
func (r Resolution) NotFound() bool {
	var de *net.DNSError
	return errors.As(r.Err, &de) && de.IsNotFound
}

// HasA reports whether the name resolved to addresses of its own, not
// through a CNAME: the intranet check of the Verify page.
func (r Resolution) HasA() bool { return r.Err == nil && r.CNAME == "" && len(r.Addrs) > 0 }

// ResolverAt returns a pure-Go resolver that sends every query to addr
// (host:port), or nil (the system's resolver) for "". It is how the console
// asks a chosen DNS server, like cmd/hybridsync's --dns-server.
func ResolverAt(addr string) *net.Resolver {
	if addr == "" {
		return nil
	}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}
