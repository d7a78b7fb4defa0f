package setup

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/hybridsync/hybridsync/engine/entra"
	"github.com/hybridsync/hybridsync/engine/federation"
)

func fedAnswers(method string) Answers {
	a := Defaults()
	a.SignIn.Method = method
	a.ConnectEntra.SignedInAs = "admin@contoso.onmicrosoft.com"
	a.ConnectEntra.Roles = []string{entra.RoleNameGlobalAdministrator}
	a.ConnectEntra.Tenant = &entra.Tenant{InitialDomain: "contoso.onmicrosoft.com", Domains: []entra.Domain{
		{Name: "contoso.onmicrosoft.com", Verified: true, Initial: true},
		{Name: "contoso.com", Verified: true},
		{Name: "fabrikam.com", VerifyTXT: "MS=ms12345678"},
	}}
	return a
}

// TestFedDomainRules: the Microsoft Entra domain pages' rules, as the seed
// and Entra's documentation state them.
func TestFedDomainRules(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(a *Answers)
		field  string
		want   string
	}{
		{"a verified custom domain", func(a *Answers) { a.Federation.Domain = "contoso.com" }, "", ""},
		{"none chosen", func(a *Answers) {}, "fed_domain", MsgFedNoDomain},
		{"not in the tenant", func(a *Answers) { a.Federation.Domain = "northwind.com" }, "fed_domain", MsgFedUnknown},
		{"the initial domain", func(a *Answers) { a.Federation.Domain = "contoso.onmicrosoft.com" }, "fed_domain", MsgFedInitial},
		{"not verified", func(a *Answers) { a.Federation.Domain = "fabrikam.com" }, "fed_domain", MsgFedNotVerify},
		{"the admin's own domain", func(a *Answers) {
			a.ConnectEntra.SignedInAs = "admin@contoso.com"
			a.Federation.Domain = "Contoso.com"
		}, "fed_domain", MsgFedOwnDomain},
		{"no tenant yet", func(a *Answers) { a.ConnectEntra = ConnectEntra{}; a.Federation.Domain = "contoso.com" }, "", MsgFedNeedEntra},
		{"no custom domain at all", func(a *Answers) { a.ConnectEntra.Tenant.Domains = a.ConnectEntra.Tenant.Domains[:1] }, "fed_domain", MsgFedNoDomains},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := fedAnswers(MethodADFS)
			tt.change(&a)
			e := validateFedDomain(&a)
			if tt.want == "" {
				if len(e) != 0 {
					t.Fatalf("refused: %v", e)
				}
				return
			}
			if got := e[tt.field]; got != tt.want {
				t.Fatalf("%s: %q, want %q (all: %v)", tt.field, got, tt.want, e)
			}
		})
	}
}

// TestFedRoleNotices: a Hybrid Identity Administrator alone is warned on
// the domain pages; the roles that may federate are not.
func TestFedRoleNotices(t *testing.T) {
	for _, tt := range []struct {
		roles []string
		warn  bool
	}{
		{[]string{entra.RoleNameHybridIdentityAdministrator}, true},
		{[]string{entra.RoleNameGlobalAdministrator}, false},
		{[]string{entra.RoleNameHybridIdentityAdministrator, entra.RoleNameDomainNameAdministrator}, false},
	} {
		a := fedAnswers(MethodPing)
		a.ConnectEntra.Roles = tt.roles
		n := fedRoleNotices(&a)
		if got := len(n) == 1 && n[0].Text == MsgFedRoles; got != tt.warn {
			t.Errorf("%v: notices %+v", tt.roles, n)
		}
	}
}

func TestPingTarget(t *testing.T) {
	for _, tt := range []struct {
		server, port string
		host         string
		wantPort     int
		msg          string
	}{
		{"ping.contoso.com", "9031", "ping.contoso.com", 9031, ""},
		{"https://Ping.Contoso.com/", "9031", "ping.contoso.com", 9031, ""},
		{"https://ping.contoso.com:9999", "9031", "ping.contoso.com", 9031, ""},
		{"", "9031", "", 0, MsgPingNeedServer},
		{"http://ping.contoso.com", "9031", "", 0, MsgPingBadServer},
		{"https://ping.contoso.com/pf/heartbeat.ping", "9031", "", 0, MsgPingBadServer},
		{"ping contoso", "9031", "", 0, MsgPingBadServer},
		{"ping.contoso.com", "", "", 0, MsgPingBadPort},
		{"ping.contoso.com", "70000", "", 0, MsgPingBadPort},
		{"ping.contoso.com", "nine", "", 0, MsgPingBadPort},
	} {
		host, port, msg := pingTarget(Federation{PingServer: tt.server, PingPort: tt.port})
		if host != tt.host || port != tt.wantPort || msg != tt.msg {
			t.Errorf("%q:%q → %q %d %q, want %q %d %q", tt.server, tt.port, host, port, msg, tt.host, tt.wantPort, tt.msg)
		}
	}
}

func TestCertCovers(t *testing.T) {
	c := &FarmCert{Names: []string{"sts.contoso.com", "*.fabrikam.com"}}
	for name, want := range map[string]bool{
		"sts.contoso.com": true, "STS.contoso.com": true, "adfs.contoso.com": false,
		"sts.fabrikam.com": true, "a.b.fabrikam.com": false, "fabrikam.com": false,
	} {
		if got := certCovers(c, name); got != want {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
}

func TestEndpointHosts(t *testing.T) {
	got := endpointHosts([]string{"https://ping.contoso.com:9031/idp/SSO.saml2", "https://PING.contoso.com:9031/idp/SLO.saml2", "https://sts.contoso.com/x", "not a url", ""})
	if strings.Join(got, ",") != "ping.contoso.com,sts.contoso.com" {
		t.Errorf("hosts %v", got)
	}
}

// TestDNSChecks: the Verify page's three checks and the seed's words for
// each failure.
func TestDNSChecks(t *testing.T) {
	nx := &net.DNSError{Err: "no such host", Name: "sts.contoso.com", IsNotFound: true}
	for _, tt := range []struct {
		name   string
		in, ex federation.Resolution
		ok     [3]bool
		fixes  [3]string
	}{
		{"an A record everywhere", federation.Resolution{Addrs: []string{"10.0.0.1"}}, federation.Resolution{Addrs: []string{"203.0.113.1"}},
			[3]bool{true, true, true}, [3]string{}},
		{"a CNAME on the intranet", federation.Resolution{Addrs: []string{"10.0.0.1"}, CNAME: "node1.contoso.com"}, federation.Resolution{Addrs: []string{"203.0.113.1"}},
			[3]bool{true, false, true}, [3]string{"", MsgVerifyARecord, ""}},
		{"nothing anywhere", federation.Resolution{Err: nx}, federation.Resolution{Err: nx},
			[3]bool{false, false, false}, [3]string{MsgVerifyResolve, MsgVerifyARecord, MsgVerifyExtranet}},
		{"a failing extranet", federation.Resolution{Addrs: []string{"10.0.0.1"}}, federation.Resolution{Err: errors.New("i/o timeout")},
			[3]bool{true, true, false}, [3]string{"", "", MsgVerifyExtranet}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cs := dnsChecks(tt.in, tt.ex)
			if len(cs) != 3 {
				t.Fatalf("%d checks", len(cs))
			}
			for i, c := range cs {
				if c.OK != tt.ok[i] || c.Fix != tt.fixes[i] || c.Result == "" {
					t.Errorf("check %d (%s %s): %+v", i, c.Where, c.Check, c)
				}
			}
		})
	}
}

// TestFederationFQDN: the name Verify checks, for each way federation is set up.
func TestFederationFQDN(t *testing.T) {
	a := fedAnswers(MethodADFS)
	a.Federation.ServiceName = "sts.contoso.com"
	if got := FederationFQDN(&a); got != "sts.contoso.com" {
		t.Errorf("new farm: %q", got)
	}
	a.Federation.Farm, a.Federation.ExistingServer = FarmExisting, "adfs.contoso.com:443"
	if got := FederationFQDN(&a); got != "adfs.contoso.com" {
		t.Errorf("existing farm, no metadata: %q", got)
	}
	a.Federation.Metadata = &FedMetadata{PassiveSignInURI: "https://STS2.contoso.com/adfs/ls/"}
	if got := FederationFQDN(&a); got != "sts2.contoso.com" {
		t.Errorf("existing farm: %q", got)
	}
	p := fedAnswers(MethodPing)
	p.Federation.PingServer, p.Federation.PingPort = "ping.contoso.com", "9031"
	if got := FederationFQDN(&p); got != "ping.contoso.com" {
		t.Errorf("PingFederate: %q", got)
	}
}

// TestFederationPagesShown: the AD FS pages only with AD FS, the new-farm
// pages only for a new farm, the PingFederate pages only with PingFederate.
func TestFederationPagesShown(t *testing.T) {
	for _, tt := range []struct {
		method, farm  string
		shown, hidden []string
	}{
		{MethodADFS, FarmNew, []string{PageADFSFarm, PageADFSServers, PageADFSProxies, PageADFSAccount, PageADFSDomain}, []string{PagePingDomain}},
		{MethodADFS, FarmExisting, []string{PageADFSFarm, PageADFSDomain}, []string{PageADFSServers, PageADFSProxies, PageADFSAccount}},
		{MethodPing, "", []string{PagePingDomain, PagePingSettings, PagePingConnectivity, PagePingLogin}, []string{PageADFSFarm}},
		{MethodPHS, "", nil, []string{PageADFSFarm, PagePingDomain}},
	} {
		a := fedAnswers(tt.method)
		a.Federation.Farm = tt.farm
		for _, id := range tt.shown {
			if !IsVisible(&a, id) {
				t.Errorf("%s %s: %s hidden", tt.method, tt.farm, id)
			}
		}
		for _, id := range tt.hidden {
			if IsVisible(&a, id) {
				t.Errorf("%s %s: %s shown", tt.method, tt.farm, id)
			}
		}
	}
}

// TestADFSAccountRules: the service account page before its live checks.
func TestADFSAccountRules(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name  string
		fd    Federation
		field string
		want  string
	}{
		{"no choice", Federation{}, "adfs_account", MsgADFSNeedType},
		{"gMSA without a name", Federation{AccountType: FedAccountGMSA, KDS: &KDSResult{SchemaHasKDS: true, Keys: 1}}, "adfs_gmsa", MsgADFSNeedGMSA},
		{"gMSA, KDS not read", Federation{AccountType: FedAccountGMSA, GMSA: `CORP\adfs$`}, "adfs_kds", MsgADFSReadKDS},
		{"gMSA, no KDS key", Federation{AccountType: FedAccountGMSA, GMSA: `CORP\adfs$`, KDS: &KDSResult{SchemaHasKDS: true}}, "adfs_kds", MsgADFSNoKDS},
		{"gMSA, no KDS in the schema", Federation{AccountType: FedAccountGMSA, GMSA: `CORP\adfs$`, KDS: &KDSResult{}}, "adfs_kds", MsgADFSNoKDSSchema},
		{"gMSA, the script creates the key", Federation{AccountType: FedAccountGMSA, GMSA: `CORP\adfs$`, KDS: &KDSResult{SchemaHasKDS: true}, CreateKDSKey: true}, "", ""},
		{"user, not checked", Federation{AccountType: FedAccountUser, ServiceUser: `CORP\svc-adfs`}, "adfs_user", MsgADFSCheckUser},
		{"user, checked as another", Federation{AccountType: FedAccountUser, ServiceUser: `CORP\svc-adfs`, UserCheckedAs: `CORP\other`}, "adfs_user", MsgADFSCheckUser},
		{"user, checked", Federation{AccountType: FedAccountUser, ServiceUser: `CORP\svc-adfs`, UserCheckedAs: `CORP\svc-adfs`}, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := fedAnswers(MethodADFS)
			a.Federation = tt.fd
			e := adfsAccountPage.Validate(ctx, &a, nil)
			if tt.want == "" {
				if len(e) != 0 {
					t.Fatalf("refused: %v", e)
				}
				return
			}
			if e[tt.field] != tt.want {
				t.Fatalf("%s: %q, want %q (all %v)", tt.field, e[tt.field], tt.want, e)
			}
		})
	}
}

// TestProxyCredsRules: the AD FS server's administrator is asked for once;
// after Configure took and dropped it, not again.
func TestProxyCredsRules(t *testing.T) {
	for _, tt := range []struct {
		name string
		fd   Federation
		want string
	}{
		{"never entered", Federation{Proxies: []FedServer{{Name: "wap1"}}}, MsgProxyNeedCreds},
		{"dropped by Configure", Federation{Proxies: []FedServer{{Name: "wap1"}}, ProxyCredsUsed: `SRV01\administrator, dropped by Configure`}, ""},
	} {
		a := fedAnswers(MethodADFS)
		a.Federation = tt.fd
		if got := adfsProxiesPage.Validate(context.Background(), &a, nil)["proxy_user"]; got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
