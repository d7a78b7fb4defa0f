package handlers

import (
	"context"
	"strings"
	"testing"

	"github.com/hybridsync/hybridsync/e2e/tenant"
)

// The console's OpenID Connect client trusts the roots it is given
// (hybridsync serve --entra-ca), and only the system's without them.
func TestOIDCClientRootCAs(t *testing.T) {
	t.Parallel()
	tn, err := tenant.New(tenant.DefaultSeed(), tenant.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv, files, err := tenant.StartTLSServer(tn, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	issuer := srv.URL + "/" + tenant.DefaultSeed().TenantID + "/v2.0"

	p, err := newOIDCClient(files.Pool()).discover(context.Background(), issuer)
	if err != nil {
		t.Fatalf("discovery trusting the test CA: %v", err)
	}
	if !strings.HasPrefix(p.Endpoint().TokenURL, "https://") {
		t.Errorf("token endpoint %s", p.Endpoint().TokenURL)
	}
	_, err = newOIDCClient(nil).discover(context.Background(), issuer)
	if err == nil {
		t.Fatal("discovery with the system's roots trusted the test CA")
	}
	if msg := discoveryMessage(issuer, err); !strings.Contains(msg, "--entra-ca") {
		t.Errorf("message %q", msg)
	}
}
