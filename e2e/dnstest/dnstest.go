// Package dnstest is a small DNS server on loopback that stands for the
// "intranet" resolver and the "extranet" (public DNS) resolver in tests and in
// `make run`. It answers A, AAAA and CNAME queries from records set in code,
// over UDP and TCP, and forwards the names it doesn't hold to upstream
// servers (themselves on loopback: another dnstest instance, Samba's DNS).
//
// Answers for names it holds are authoritative. For a name it doesn't hold:
//
//   - the first upstream that answers (anything but SERVFAIL or REFUSED)
//     gives the answer, relayed as it is;
//   - with no upstream answer, a name under a zone the server knows (the
//     parent domain of any name set here, e.g. contoso.test for
//     sts.contoso.test) is NXDOMAIN, any other name SERVFAIL — so that a test
//     can tell "this name does not exist" from "the resolver could not find
//     out".
//
// A name given to Remove answers NXDOMAIN, even if an upstream knows it,
// until it is set again.
package dnstest

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// ttl is the time to live of every record served: short, as tests change
// records while resolvers run.
const ttl = 5

// maxChain bounds how many CNAMEs are followed inside the server's records.
const maxChain = 8

type record struct {
	ips   []net.IP // A (IPv4) and AAAA (IPv6) records
	cname string   // canonical name, fully qualified, lower case
}

// Server is a running DNS server. Its methods are safe for concurrent use.
type Server struct {
	addr      string
	upstreams []string
	udp, tcp  *dns.Server
	done      chan struct{}

	mu      sync.RWMutex
	records map[string]record   // key: fully qualified lower-case name
	removed map[string]struct{} // names that answer NXDOMAIN
	zones   map[string]struct{} // parent domains of the names set here

	closeOnce sync.Once
	closeErr  error
}

// Start listens on addr (host:port, loopback only; port 0 picks a free port
// for both UDP and TCP) and serves until Close. Names it doesn't hold are
// forwarded to the upstreams (host:port, loopback only), in order.
func Start(addr string, upstream ...string) (*Server, error) {
	if err := checkLoopback(addr); err != nil {
		return nil, fmt.Errorf("dnstest: listen address: %w", err)
	}
	for _, u := range upstream {
		if err := checkLoopback(u); err != nil {
			return nil, fmt.Errorf("dnstest: upstream: %w", err)
		}
	}
	pc, l, err := listenBoth(addr)
	if err != nil {
		return nil, err
	}
	s := &Server{
		addr:      pc.LocalAddr().String(),
		upstreams: append([]string(nil), upstream...),
		done:      make(chan struct{}),
		records:   map[string]record{},
		removed:   map[string]struct{}{},
		zones:     map[string]struct{}{},
	}
	h := dns.HandlerFunc(s.serve)
	s.udp = &dns.Server{PacketConn: pc, Handler: h}
	s.tcp = &dns.Server{Listener: l, Handler: h}
	started := make(chan struct{}, 2)
	s.udp.NotifyStartedFunc = func() { started <- struct{}{} }
	s.tcp.NotifyStartedFunc = func() { started <- struct{}{} }
	var wg sync.WaitGroup
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.ActivateAndServe(); err != nil {
				slog.Debug("dnstest: server stopped", "addr", s.addr, "err", err)
			}
		}()
	}
	go func() { wg.Wait(); close(s.done) }()
	for range 2 {
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			s.Close()
			return nil, fmt.Errorf("dnstest: the server on %s did not start", s.addr)
		}
	}
	return s, nil
}

// listenBoth opens UDP and TCP on the same port. With port 0 the UDP port is
// chosen first; if TCP can't have the same port, it tries again.
func listenBoth(addr string) (net.PacketConn, net.Listener, error) {
	_, port, _ := net.SplitHostPort(addr)
	tries := 1
	if port == "0" {
		tries = 20
	}
	var lastErr error
	for range tries {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("dnstest: listen udp %s: %w", addr, err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l, nil
		}
		pc.Close()
		lastErr = err
	}
	return nil, nil, fmt.Errorf("dnstest: listen tcp %s: %w", addr, lastErr)
}

// checkLoopback accepts host:port where host is a loopback IP or "localhost".
func checkLoopback(hostport string) error {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %w", hostport, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address", hostport)
	}
	return nil
}

// Addr is the address the server listens on (host:port), for UDP and TCP.
func (s *Server) Addr() string { return s.addr }

// SetA gives name the addresses ips (IPv4 as A, IPv6 as AAAA records),
// replacing whatever the name had. An address that doesn't parse panics: it
// is a mistake in the test.
func (s *Server) SetA(name string, ips ...string) {
	r := record{}
	for _, ip := range ips {
		p := net.ParseIP(ip)
		if p == nil {
			panic(fmt.Sprintf("dnstest: SetA(%q): %q is not an IP address", name, ip))
		}
		r.ips = append(r.ips, p)
	}
	s.set(name, r)
}

// SetCNAME makes name an alias of target, replacing whatever the name had.
// The answer carries the CNAME and, when the target is known here (or to an
// upstream), the target's addresses, as a recursive resolver's answer does.
func (s *Server) SetCNAME(name, target string) {
	s.set(name, record{cname: fqdn(target)})
}

func (s *Server) set(name string, r record) {
	n := fqdn(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[n] = r
	delete(s.removed, n)
	s.zones[parent(n)] = struct{}{}
}

// Remove makes name answer NXDOMAIN from then on, even if an upstream knows
// it.
func (s *Server) Remove(name string) {
	n := fqdn(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.records, n)
	s.removed[n] = struct{}{}
	s.zones[parent(n)] = struct{}{}
}

// Close stops the server and waits for it to stop.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = errors.Join(s.udp.Shutdown(), s.tcp.Shutdown())
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
		}
	})
	return s.closeErr
}

func fqdn(name string) string { return dns.Fqdn(strings.ToLower(strings.TrimSpace(name))) }

// parent is the domain above n ("contoso.test." for "sts.contoso.test.").
func parent(n string) string {
	if i := strings.IndexByte(n, '.'); i >= 0 && i+1 < len(n) {
		return n[i+1:]
	}
	return "."
}

// serve answers one query.
func (s *Server) serve(w dns.ResponseWriter, req *dns.Msg) {
	resp := s.answer(req, w.RemoteAddr().Network())
	if err := w.WriteMsg(resp); err != nil {
		slog.Debug("dnstest: write answer", "err", err)
	}
}

func (s *Server) answer(req *dns.Msg, network string) *dns.Msg {
	resp := new(dns.Msg)
	resp.SetReply(req)
	resp.RecursionAvailable = true
	if len(req.Question) != 1 {
		resp.Rcode = dns.RcodeFormatError
		return resp
	}
	q := req.Question[0]
	name := fqdn(q.Name)

	s.mu.RLock()
	_, gone := s.removed[name]
	_, held := s.records[name]
	s.mu.RUnlock()
	switch {
	case gone:
		resp.Authoritative = true
		resp.Rcode = dns.RcodeNameError
		return resp
	case held:
		resp.Authoritative = true
		resp.Answer = s.local(name, q.Qtype, q.Name, network)
		return resp
	}
	if up := s.forward(req, network); up != nil {
		up.Id = req.Id
		return up
	}
	if s.knowsZoneOf(name) {
		resp.Rcode = dns.RcodeNameError
	} else {
		resp.Rcode = dns.RcodeServerFailure
	}
	return resp
}

// local builds the answer for a name held here, following CNAMEs through
// the records here and, for a target held elsewhere, through the upstreams.
// owner is the name as asked (its case kept in the answer).
func (s *Server) local(name string, qtype uint16, owner, network string) []dns.RR {
	var out []dns.RR
	for range maxChain {
		s.mu.RLock()
		r, ok := s.records[name]
		_, gone := s.removed[name]
		s.mu.RUnlock()
		if !ok {
			if gone {
				return out
			}
			// The target is not held here: ask the upstreams for it, as a
			// recursive resolver would.
			m := new(dns.Msg)
			m.SetQuestion(name, qtype)
			if up := s.forward(m, network); up != nil && up.Rcode == dns.RcodeSuccess {
				out = append(out, up.Answer...)
			}
			return out
		}
		hdr := dns.RR_Header{Name: owner, Class: dns.ClassINET, Ttl: ttl}
		if r.cname != "" {
			hdr.Rrtype = dns.TypeCNAME
			out = append(out, &dns.CNAME{Hdr: hdr, Target: r.cname})
			if qtype == dns.TypeCNAME {
				return out
			}
			name, owner = r.cname, r.cname
			continue
		}
		for _, ip := range r.ips {
			switch v4 := ip.To4(); {
			case v4 != nil && (qtype == dns.TypeA || qtype == dns.TypeANY):
				hdr.Rrtype = dns.TypeA
				out = append(out, &dns.A{Hdr: hdr, A: v4})
			case v4 == nil && (qtype == dns.TypeAAAA || qtype == dns.TypeANY):
				hdr.Rrtype = dns.TypeAAAA
				out = append(out, &dns.AAAA{Hdr: hdr, AAAA: ip})
			}
		}
		return out
	}
	return out
}

// forward asks the upstreams in order and returns the first real answer, or
// nil.
func (s *Server) forward(req *dns.Msg, network string) *dns.Msg {
	if network != "tcp" {
		network = "udp"
	}
	c := &dns.Client{Net: network, Timeout: 2 * time.Second}
	for _, up := range s.upstreams {
		m := req.Copy()
		resp, _, err := c.Exchange(m, up)
		if err != nil {
			slog.Debug("dnstest: upstream did not answer", "upstream", up, "err", err)
			continue
		}
		if resp.Rcode == dns.RcodeServerFailure || resp.Rcode == dns.RcodeRefused {
			continue
		}
		return resp
	}
	return nil
}

func (s *Server) knowsZoneOf(name string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for z := range s.zones {
		if z != "." && dns.IsSubDomain(z, name) {
			return true
		}
	}
	return false
}
