package configure

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hybridsync/hybridsync/e2e/fedserver"
	"github.com/hybridsync/hybridsync/e2e/tenant"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/setup"
)

// TestConfigureFederatesWithPingFederate runs Configure with PingFederate
// against the tenant emulator and a loopback PingFederate stand-in: the
// roles that may federate do, and a Hybrid Identity Administrator alone
// fails the step with the reason, not a raw 403; a missing SP connection
// fails with the seed's words and changes nothing.
func TestConfigureFederatesWithPingFederate(t *testing.T) {
	for _, tt := range []struct {
		name, user, password string
		noConnection         bool
		want                 string // "" for success, else what the failed step says
	}{
		{"Global Administrator", "global.admin@contoso.onmicrosoft.com", "Passw0rd!global", false, ""},
		{"Hybrid Identity and Domain Name Administrator", "fed.admin@contoso.onmicrosoft.com", "Passw0rd!fed", false, ""},
		{"Hybrid Identity Administrator alone", "hybrid.admin@contoso.onmicrosoft.com", "Passw0rd!hybrid", false, setup.MsgFedRoles},
		{"no SP connection", "global.admin@contoso.onmicrosoft.com", "Passw0rd!global", true, setup.MsgPingMissing},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newCloudEnv(t)
			ping, host, port := startPing(t, tt.noConnection)
			e.chk.FedRoots = ping
			sess, err := e.chk.EntraPasswordSignIn(context.Background(), tt.user, tt.password)
			if err != nil {
				t.Fatal(err)
			}
			a := plainAnswers()
			a.SignIn.Method = setup.MethodPing
			tn := sess.Tenant
			a.ConnectEntra = setup.ConnectEntra{SignedInAs: sess.User, Roles: sess.Roles, Tenant: &tn}
			a.Federation = setup.Federation{Domain: "contoso.example.test", PingServer: host, PingPort: fmt.Sprint(port)}
			e.saveWizard(t, a)

			j := e.configure(t, a, "alice")
			msgs := messages(t, e.st, j.ID)
			ga, err := e.cfg.PasswordSignIn(context.Background(), "global.admin@contoso.onmicrosoft.com", "Passw0rd!global")
			if err != nil {
				t.Fatal(err)
			}
			g, err := e.cfg.Graph(ga.TokenSource())
			if err != nil {
				t.Fatal(err)
			}
			fcs, _ := g.FederationConfigurations(context.Background(), "contoso.example.test")
			if tt.want == "" {
				if j.Status != jobs.Succeeded && j.Status != jobs.Warnings {
					t.Fatalf("configure %s: %s\n%s", j.Status, j.Error, msgs)
				}
				if len(fcs) != 1 || fcs[0].PreferredAuthenticationProtocol != "saml" || !strings.HasPrefix(fcs[0].PassiveSignInURI, "https://"+host) {
					t.Fatalf("the domain's federation: %+v", fcs)
				}
				if _, live := e.chk.EntraSession(); live {
					t.Error("the administrator's sign-in stays in memory after Configure")
				}
				return
			}
			if j.Status != jobs.Failed || !strings.Contains(j.Error, tt.want) {
				t.Fatalf("configure %s: %q, want it to fail with %q\n%s", j.Status, j.Error, tt.want, msgs)
			}
			if strings.Contains(j.Error, "403") || strings.Contains(j.Error, "Authorization_RequestDenied") {
				t.Errorf("the raw refusal reaches the admin: %q", j.Error)
			}
			if len(fcs) != 0 {
				t.Errorf("a failed Configure federated the domain: %+v", fcs)
			}
		})
	}
}

// startPing runs the PingFederate stand-in on a loopback HTTPS port.
func startPing(t *testing.T, noConnection bool) (roots *x509.CertPool, host string, port int) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	host, p, _ := net.SplitHostPort(srv.Listener.Addr().String())
	fmt.Sscan(p, &port)
	fs, err := fedserver.New(fedserver.Config{PingHost: net.JoinHostPort(host, p), PingNoSPConnection: noConnection,
		RelyingParty: "https://127.0.0.1/" + strings.TrimPrefix(tenant.LoginSRFPath, "/"), TLSCert: srv.TLS.Certificates[0],
		Authenticate: func(context.Context, string, string) (fedserver.Identity, error) {
			return fedserver.Identity{}, fedserver.ErrBadCredentials
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = fs.Handler()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return pool, host, port
}
