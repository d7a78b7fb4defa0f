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
	"github.com/hybridsync/hybridsync/engine/federation"
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

// TestDeploymentScripts: the answers of each AD FS set-up make scripts
// (an existing farm's trust script runs on the server the admin named).
func TestDeploymentScripts(t *testing.T) {
	newFarm := plainAnswers()
	newFarm.SignIn.Method = setup.MethodADFS
	newFarm.Federation = setup.Federation{Farm: setup.FarmNew, ServiceName: "sts.contoso.com", Domain: "contoso.com",
		Cert:    &setup.FarmCert{FileName: "sts.pfx", Thumbprint: "0123456789ABCDEF0123456789ABCDEF01234567"},
		Servers: []setup.FedServer{{Name: "adfs1.contoso.com"}}, Proxies: []setup.FedServer{{Name: "wap1.contoso.com"}},
		AccountType: setup.FedAccountUser, ServiceUser: `CONTOSO\svc-adfs`}
	existing := plainAnswers()
	existing.SignIn.Method = setup.MethodADFS
	existing.Federation = setup.Federation{Farm: setup.FarmExisting, ExistingServer: "adfs.contoso.com:443", Domain: "contoso.com",
		Metadata: &setup.FedMetadata{PassiveSignInURI: "https://sts.contoso.com/adfs/ls/"}}
	for _, tt := range []struct {
		name  string
		a     setup.Answers
		files []string
	}{
		{"new farm", newFarm, []string{"1-primary-adfs1.contoso.com.ps1", "2-proxy-wap1.contoso.com.ps1"}},
		{"existing farm", existing, []string{"1-trust-adfs.contoso.com.ps1"}},
	} {
		scripts, err := federation.Scripts(Deployment(tt.a))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var got []string
		for _, s := range scripts {
			got = append(got, s.FileName)
			if !strings.Contains(s.Text, "sts.contoso.com") {
				t.Errorf("%s: %s doesn't name the federation service", tt.name, s.FileName)
			}
		}
		if strings.Join(got, " ") != strings.Join(tt.files, " ") {
			t.Errorf("%s: scripts %v, want %v", tt.name, got, tt.files)
		}
	}
}
