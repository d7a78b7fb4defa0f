package dnstest

import (
	"slices"
	"testing"

	"github.com/miekg/dns"
)

func start(t *testing.T, upstream ...string) *Server {
	t.Helper()
	s, err := Start("127.0.0.1:0", upstream...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// ask sends one query over network ("udp" or "tcp") and returns the answer.
func ask(t *testing.T, network, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	c := &dns.Client{Net: network}
	resp, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s query %s: %v", network, name, err)
	}
	return resp
}

// flat renders an answer section as "type value" strings.
func flat(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		switch v := rr.(type) {
		case *dns.A:
			out = append(out, v.Hdr.Name+" A "+v.A.String())
		case *dns.AAAA:
			out = append(out, v.Hdr.Name+" AAAA "+v.AAAA.String())
		case *dns.CNAME:
			out = append(out, v.Hdr.Name+" CNAME "+v.Target)
		default:
			out = append(out, rr.String())
		}
	}
	return out
}

func TestAnswers(t *testing.T) {
	up := start(t)
	up.SetA("public.fabrikam.test", "127.0.0.9")
	up.SetA("sts.contoso.test", "127.0.0.99") // shadowed by the local record
	up.SetA("removed.contoso.test", "127.0.0.98")

	s := start(t, up.Addr())
	s.SetA("sts.contoso.test", "127.0.0.10", "::1")
	s.SetA("multi.contoso.test", "127.0.0.11", "127.0.0.12")
	s.SetCNAME("alias.contoso.test", "sts.contoso.test")
	s.SetCNAME("outside.contoso.test", "public.fabrikam.test")
	s.SetA("removed.contoso.test", "127.0.0.13")
	s.Remove("removed.contoso.test")
	s.SetA("replaced.contoso.test", "127.0.0.14")
	s.SetCNAME("replaced.contoso.test", "multi.contoso.test")

	tests := []struct {
		name  string
		qname string
		qtype uint16
		rcode int
		want  []string
	}{
		{"A record", "sts.contoso.test", dns.TypeA, dns.RcodeSuccess, []string{"sts.contoso.test. A 127.0.0.10"}},
		{"AAAA record", "sts.contoso.test", dns.TypeAAAA, dns.RcodeSuccess, []string{"sts.contoso.test. AAAA ::1"}},
		{"case-insensitive", "STS.Contoso.Test", dns.TypeA, dns.RcodeSuccess, []string{"STS.Contoso.Test. A 127.0.0.10"}},
		{"two addresses", "multi.contoso.test", dns.TypeA, dns.RcodeSuccess, []string{"multi.contoso.test. A 127.0.0.11", "multi.contoso.test. A 127.0.0.12"}},
		{"CNAME with the target's A", "alias.contoso.test", dns.TypeA, dns.RcodeSuccess, []string{"alias.contoso.test. CNAME sts.contoso.test.", "sts.contoso.test. A 127.0.0.10"}},
		{"CNAME asked as CNAME", "alias.contoso.test", dns.TypeCNAME, dns.RcodeSuccess, []string{"alias.contoso.test. CNAME sts.contoso.test."}},
		{"CNAME to an upstream's name", "outside.contoso.test", dns.TypeA, dns.RcodeSuccess, []string{"outside.contoso.test. CNAME public.fabrikam.test.", "public.fabrikam.test. A 127.0.0.9"}},
		{"CNAME replaces A", "replaced.contoso.test", dns.TypeA, dns.RcodeSuccess, []string{"replaced.contoso.test. CNAME multi.contoso.test.", "multi.contoso.test. A 127.0.0.11", "multi.contoso.test. A 127.0.0.12"}},
		{"removed, though upstream knows it", "removed.contoso.test", dns.TypeA, dns.RcodeNameError, nil},
		{"forwarded", "public.fabrikam.test", dns.TypeA, dns.RcodeSuccess, []string{"public.fabrikam.test. A 127.0.0.9"}},
		{"unknown in a known zone", "nothing.contoso.test", dns.TypeA, dns.RcodeNameError, nil},
		{"unknown in a zone the upstream knows", "nothing.fabrikam.test", dns.TypeA, dns.RcodeNameError, nil},
		{"unknown anywhere", "nothing.example.test", dns.TypeA, dns.RcodeServerFailure, nil},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tt := range tests {
			t.Run(network+"/"+tt.name, func(t *testing.T) {
				resp := ask(t, network, s.Addr(), tt.qname, tt.qtype)
				if resp.Rcode != tt.rcode {
					t.Fatalf("rcode = %s, want %s", dns.RcodeToString[resp.Rcode], dns.RcodeToString[tt.rcode])
				}
				if got := flat(resp.Answer); !slices.Equal(got, tt.want) {
					t.Errorf("answer = %q, want %q", got, tt.want)
				}
			})
		}
	}
}

func TestSetAfterRemove(t *testing.T) {
	s := start(t)
	s.SetA("sts.contoso.test", "127.0.0.10")
	s.Remove("sts.contoso.test")
	if resp := ask(t, "udp", s.Addr(), "sts.contoso.test", dns.TypeA); resp.Rcode != dns.RcodeNameError {
		t.Fatalf("after Remove: rcode %s, want NXDOMAIN", dns.RcodeToString[resp.Rcode])
	}
	s.SetA("sts.contoso.test", "127.0.0.11")
	resp := ask(t, "udp", s.Addr(), "sts.contoso.test", dns.TypeA)
	if got, want := flat(resp.Answer), []string{"sts.contoso.test. A 127.0.0.11"}; !slices.Equal(got, want) {
		t.Errorf("after SetA: %q, want %q", got, want)
	}
}

func TestUpstreamOrder(t *testing.T) {
	failing := start(t) // knows no zone: SERVFAIL for everything
	second := start(t)
	second.SetA("www.fabrikam.test", "127.0.0.20")
	s := start(t, failing.Addr(), second.Addr())
	resp := ask(t, "udp", s.Addr(), "www.fabrikam.test", dns.TypeA)
	if got, want := flat(resp.Answer), []string{"www.fabrikam.test. A 127.0.0.20"}; !slices.Equal(got, want) {
		t.Errorf("answer %q, want %q (the second upstream's, after the first's SERVFAIL)", got, want)
	}
}

func TestStartRefusesOtherAddresses(t *testing.T) {
	for _, tt := range []struct{ addr, upstream string }{
		{"0.0.0.0:0", ""},
		{"192.0.2.1:53", ""},
		{"127.0.0.1", ""},
		{"127.0.0.1:0", "8.8.8.8:53"},
	} {
		var ups []string
		if tt.upstream != "" {
			ups = append(ups, tt.upstream)
		}
		if s, err := Start(tt.addr, ups...); err == nil {
			s.Close()
			t.Errorf("Start(%q, %q) succeeded, want a refusal", tt.addr, tt.upstream)
		}
	}
}

func TestClose(t *testing.T) {
	s, err := Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := s.Addr()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// The port is free again.
	s2, err := Start(addr)
	if err != nil {
		t.Fatalf("restart on %s: %v", addr, err)
	}
	s2.Close()
}
