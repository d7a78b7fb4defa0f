package federation

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/e2e/dnstest"
)

func startDNS(t *testing.T, upstream ...string) *dnstest.Server {
	t.Helper()
	s, err := dnstest.Start("127.0.0.1:0", upstream...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestResolve(t *testing.T) {
	extranet := startDNS(t)
	extranet.SetA("sts.contoso.test", "127.0.0.50")
	extranet.SetA("public.contoso.test", "127.0.0.51")

	intranet := startDNS(t, extranet.Addr())
	intranet.SetA("sts.contoso.test", "127.0.0.10", "127.0.0.11")
	intranet.SetA("adfs1.contoso.test", "127.0.0.12")
	intranet.SetCNAME("fs.contoso.test", "adfs1.contoso.test")
	intranet.Remove("gone.contoso.test")
	extranet.SetA("gone.contoso.test", "127.0.0.52")

	tests := []struct {
		name      string
		resolver  string
		query     string
		addrs     []string
		cname     string
		hasA      bool
		notFound  bool
		wantError bool
	}{
		{"A record", intranet.Addr(), "sts.contoso.test", []string{"127.0.0.10", "127.0.0.11"}, "", true, false, false},
		{"A record, trailing dot", intranet.Addr(), "sts.contoso.test.", []string{"127.0.0.10", "127.0.0.11"}, "", true, false, false},
		{"same name on the extranet", extranet.Addr(), "sts.contoso.test", []string{"127.0.0.50"}, "", true, false, false},
		{"CNAME", intranet.Addr(), "fs.contoso.test", []string{"127.0.0.12"}, "adfs1.contoso.test", false, false, false},
		{"forwarded to the upstream", intranet.Addr(), "public.contoso.test", []string{"127.0.0.51"}, "", true, false, false},
		{"removed", intranet.Addr(), "gone.contoso.test", nil, "", false, true, true},
		{"nothing", intranet.Addr(), "none.contoso.test", nil, "", false, true, true},
		{"server failure", intranet.Addr(), "www.example.test", nil, "", false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			got := Resolve(ctx, ResolverAt(tt.resolver), tt.query)
			if (got.Err != nil) != tt.wantError {
				t.Fatalf("Err = %v, want an error: %v", got.Err, tt.wantError)
			}
			if !slices.Equal(got.Addrs, tt.addrs) {
				t.Errorf("Addrs = %q, want %q", got.Addrs, tt.addrs)
			}
			if got.CNAME != tt.cname {
				t.Errorf("CNAME = %q, want %q", got.CNAME, tt.cname)
			}
			if got.HasA() != tt.hasA {
				t.Errorf("HasA = %v, want %v", got.HasA(), tt.hasA)
			}
			if got.NotFound() != tt.notFound {
				t.Errorf("NotFound = %v, want %v (Err %v)", got.NotFound(), tt.notFound, got.Err)
			}
		})
	}
}

func TestResolveTimeout(t *testing.T) {
	s := startDNS(t)
	addr := s.Addr()
	s.Close() // nobody answers on addr any more
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	got := Resolve(ctx, ResolverAt(addr), "sts.contoso.test")
	if got.Err == nil {
		t.Fatal("resolved through a server that is gone")
	}
	if got.NotFound() {
		t.Errorf("NotFound for a server that didn't answer: %v", got.Err)
	}
}

func TestResolverAtEmpty(t *testing.T) {
	if ResolverAt("") != nil {
		t.Error(`ResolverAt("") is not nil (the system's resolver)`)
	}
}
