package setup

import (
	"context"
	"net/url"
	"strings"

	"github.com/hybridsync/hybridsync/engine/federation"
)

// The Verify page of a federation Configure (the seed's "Verify your
// federation configuration"): intranet — the federation FQDN resolves, by an
// A record, not a CNAME; extranet — it resolves.

// DNSCheck is one of the Verify page's checks.
type DNSCheck struct {
	Where  string // "Intranet" or "Extranet"
	Check  string // "Resolve federation FQDN" or "DNS A record"
	OK     bool
	Result string // what was found
	Fix    string // the seed's words, when it failed
}

// The seed's words for each check.
const (
	MsgVerifyResolve = "hybridsync checks whether the DNS can resolve the federation FQDN to ensure connectivity. If hybridsync can't resolve the FQDN, " +
		"then the verification fails. To complete the verification, ensure that a DNS record is present for the federation service FQDN."
	MsgVerifyARecord = "hybridsync checks whether your federation service has an A record. In the absence of an A record, the verification fails. " +
		"To complete the verification, create an A record (not a CNAME record) for your federation FQDN."
	MsgVerifyExtranet = "hybridsync checks whether the DNS can resolve the federation FQDN to ensure connectivity. To complete the verification, " +
		"ensure that a DNS record is present for the federation service FQDN in your public DNS."
)

// FederationFQDN is the federation service's name for these answers: the new
// farm's federation service name, or the host of the sign-in endpoint the
// server's metadata gave.
func FederationFQDN(a *Answers) string {
	fd := a.Federation
	if a.SignIn.Method == MethodADFS && fd.Farm != FarmExisting {
		return fd.ServiceName
	}
	if fd.Metadata != nil {
		if u, err := url.Parse(fd.Metadata.PassiveSignInURI); err == nil && u.Hostname() != "" {
			return strings.ToLower(u.Hostname())
		}
	}
	if a.SignIn.Method == MethodADFS {
		host, _, _ := strings.Cut(fd.ExistingServer, ":")
		return host
	}
	host, _, _ := pingTarget(fd)
	return host
}

// VerifyFederationDNS runs the Verify page's checks for fqdn.
func (s *StoreChecker) VerifyFederationDNS(ctx context.Context, fqdn string) []DNSCheck {
	in := federation.Resolve(ctx, s.Resolver, fqdn)
	ex := federation.Resolve(ctx, s.Extranet, fqdn)
	return dnsChecks(in, ex)
}

func dnsChecks(in, ex federation.Resolution) []DNSCheck {
	resolve := DNSCheck{Where: "Intranet", Check: "Resolve federation FQDN", OK: in.Err == nil}
	if resolve.OK {
		resolve.Result = "Resolves to " + strings.Join(in.Addrs, ", ")
	} else {
		resolve.Result, resolve.Fix = "Doesn't resolve: "+resolveText(in), MsgVerifyResolve
	}
	arec := DNSCheck{Where: "Intranet", Check: "DNS A record", OK: in.HasA()}
	switch {
	case arec.OK:
		arec.Result = "An A record"
	case in.Err != nil:
		arec.Result, arec.Fix = "No record", MsgVerifyARecord
	default:
		arec.Result, arec.Fix = "A CNAME record, to "+in.CNAME, MsgVerifyARecord
	}
	extra := DNSCheck{Where: "Extranet", Check: "Resolve federation FQDN", OK: ex.Err == nil}
	if extra.OK {
		extra.Result = "Resolves to " + strings.Join(ex.Addrs, ", ")
	} else {
		extra.Result, extra.Fix = "Doesn't resolve: "+resolveText(ex), MsgVerifyExtranet
	}
	return []DNSCheck{resolve, arec, extra}
}
