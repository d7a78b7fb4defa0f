package setup

import (
	"context"
	"strings"
	"time"

	"github.com/hybridsync/hybridsync/engine/entra"
)

// Federation is what the AD FS and PingFederate pages collect. It never
// holds a password or a private key: a certificate's public facts, server
// names, the results of the checks, and the domain to federate.
type Federation struct {
	// AD FS farm.
	Farm string `json:"farm,omitempty"` // FarmNew or FarmExisting
	// Cert is the new farm's TLS certificate as read from the uploaded
	// PKCS#12 file (the file and its password are held in memory only, until
	// the page has read them).
	Cert *FarmCert `json:"cert,omitempty"`
	// ServiceName is the federation service name (sts.contoso.com).
	ServiceName string `json:"serviceName,omitempty"`
	// ExistingServer is the existing farm's server (host or host:port).
	ExistingServer string `json:"existingServer,omitempty"`
	// Metadata is the federation server's metadata as last read: the
	// existing AD FS farm's, or the PingFederate server's.
	Metadata *FedMetadata `json:"metadata,omitempty"`

	// Federation servers and Web Application Proxy servers, each as checked
	// when it was added.
	Servers     []FedServer `json:"servers,omitempty"`
	ServerDraft string      `json:"serverDraft,omitempty"`
	Proxies     []FedServer `json:"proxies,omitempty"`
	ProxyDraft  string      `json:"proxyDraft,omitempty"`
	// ProxyCredsAs is the local administrator of the AD FS server entered
	// for the proxies; the vault holds the password.
	ProxyUser    string `json:"proxyUser,omitempty"`
	ProxyCredsAs string `json:"proxyCredsAs,omitempty"`
	// ProxyCredsUsed says an earlier Configure took them and dropped them:
	// they are not asked for again.
	ProxyCredsUsed string `json:"proxyCredsUsed,omitempty"`

	// AD FS service account.
	AccountType string `json:"accountType,omitempty"` // FedAccountGMSA or FedAccountUser
	GMSA        string `json:"gmsa,omitempty"`        // e.g. CORP\adfs-gmsa$ (created by the script if missing)
	// KDS is what the forest said about its KDS root keys.
	KDS *KDSResult `json:"kds,omitempty"`
	// CreateKDSKey: the primary server's script creates the KDS root key.
	CreateKDSKey bool `json:"createKdsKey,omitempty"`
	// ServiceUser is the domain user account; UserCheckedAt when its
	// password was checked by a bind (the password is never kept).
	ServiceUser   string `json:"serviceUser,omitempty"`
	UserCheckedAt string `json:"userCheckedAt,omitempty"`
	UserCheckedAs string `json:"userCheckedAs,omitempty"`

	// Domain is the Microsoft Entra domain to federate.
	Domain string `json:"domain,omitempty"`

	// PingFederate server.
	PingServer string `json:"pingServer,omitempty"`
	PingPort   string `json:"pingPort,omitempty"` // as typed (an error keeps it)
	// PingMissing: the server answered but has no enabled SP connection for
	// Microsoft Entra ID.
	PingMissing bool `json:"pingMissing,omitempty"`
	// ExportedAt is when the PingFederate settings were last downloaded.
	ExportedAt string `json:"exportedAt,omitempty"`
	// Connectivity is the last check of the metadata's endpoints.
	Connectivity []EndpointCheck `json:"connectivity,omitempty"`
}

// Farm choices and service account types.
const (
	FarmNew        = "new"
	FarmExisting   = "existing"
	FedAccountGMSA = "gmsa"
	FedAccountUser = "user"
)

// FarmCert is the public part of the new farm's TLS certificate.
type FarmCert struct {
	FileName   string   `json:"fileName"`
	Subject    string   `json:"subject"`
	Issuer     string   `json:"issuer"`
	Names      []string `json:"names"`
	NotBefore  string   `json:"notBefore"`
	NotAfter   string   `json:"notAfter"`
	Thumbprint string   `json:"thumbprint"`
	Key        string   `json:"key"` // "RSA 2048"
	// Problems are what rules the certificate fails; none to go on.
	Problems []string `json:"problems,omitempty"`
}

// FedMetadata is what a federation server's metadata said.
type FedMetadata struct {
	URL                    string   `json:"url"`
	EntityID               string   `json:"entityId"`
	Protocol               string   `json:"protocol"` // wsFed or saml
	PassiveSignInURI       string   `json:"passiveSignInUri"`
	SignOutURI             string   `json:"signOutUri,omitempty"`
	ActiveSignInURI        string   `json:"activeSignInUri,omitempty"`
	MetadataExchangeURI    string   `json:"metadataExchangeUri,omitempty"`
	SigningCertificate     string   `json:"signingCertificate"` // base64 DER (public)
	NextSigningCertificate string   `json:"nextSigningCertificate,omitempty"`
	SigningThumbprint      string   `json:"signingThumbprint"`
	SigningNotAfter        string   `json:"signingNotAfter,omitempty"`
	Endpoints              []string `json:"endpoints,omitempty"`
	Problems               []string `json:"problems,omitempty"`
	ReadAt                 string   `json:"readAt"`
}

// FedServer is a federation or proxy server as checked when it was added.
type FedServer struct {
	Name       string   `json:"name"`
	Addrs      []string `json:"addrs,omitempty"`
	ComputerDN string   `json:"computerDn,omitempty"`
	WinRM      string   `json:"winrm,omitempty"` // what answered on the WinRM port
	CheckedAt  string   `json:"checkedAt"`
}

// KDSResult is what the forest said about KDS root keys.
type KDSResult struct {
	Forest       string `json:"forest"`
	SchemaHasKDS bool   `json:"schemaHasKds"`
	Keys         int    `json:"keys"`
	UsableFrom   string `json:"usableFrom,omitempty"`
	ReadAt       string `json:"readAt"`
}

// EndpointCheck is one endpoint's name resolution, through the intranet
// resolver then the extranet one.
type EndpointCheck struct {
	URL      string `json:"url"`
	Host     string `json:"host"`
	Intranet string `json:"intranet"` // addresses, or "" when it failed
	IntraErr string `json:"intraErr,omitempty"`
	Extranet string `json:"extranet"`
	ExtraErr string `json:"extraErr,omitempty"`
}

// OK reports whether both resolvers resolved the endpoint.
func (e EndpointCheck) OK() bool { return e.IntraErr == "" && e.ExtraErr == "" }

// Federates reports whether the answers configure federation, and with which
// server ("AD FS", "PingFederate"; "" otherwise).
func Federates(a *Answers) string { return federationServer[a.SignIn.Method] }

var federationServer = map[string]string{MethodADFS: "AD FS", MethodPing: "PingFederate"}

func usesADFS(a *Answers) bool    { return a.SignIn.Method == MethodADFS }
func usesPing(a *Answers) bool    { return a.SignIn.Method == MethodPing }
func usesNewFarm(a *Answers) bool { return usesADFS(a) && a.Federation.Farm != FarmExisting }

// Messages shared by the federation pages.
const (
	MsgFedRoles = "Federation needs more than a Hybrid Identity Administrator: sign in on Connect to Microsoft Entra ID with a Global Administrator, " +
		"or a Hybrid Identity Administrator who is also Domain Name Administrator. The configurations related to federation require permissions " +
		"that the Hybrid Identity Administrator role doesn't have but the Domain Name Administrator role does."
	MsgFedNeedEntra = "Sign in on Connect to Microsoft Entra ID first: the domains to federate are your tenant's."
	MsgFedOwnDomain = "You signed in to Microsoft Entra ID with an account in this domain. Don't sign in with an account that's in a domain you plan to enable for federation: " +
		"sign in on Connect to Microsoft Entra ID with an account in the default onmicrosoft.com domain, or choose another domain."
	MsgFedInitial   = "You can't federate the default domain that is provided by Microsoft (it ends with onmicrosoft.com). Choose a custom domain."
	MsgFedNoDomain  = "Choose the Microsoft Entra domain to federate."
	MsgFedUnknown   = "Your tenant has no such domain. Add it in Microsoft Entra ID first, then refresh the list."
	MsgFedNotVerify = "This domain isn't verified yet. Publish the TXT record below in your public DNS, then select Verify. " +
		"hybridsync tries to verify the domain again during Configure; if the DNS record is not there, the configuration can't be completed."
	MsgFedNoDomains = "Your tenant has no custom domain. Add the domain you want to federate in Microsoft Entra ID, verify it, then refresh the list."
	MsgFedNameRes   = "If you configured federation, then make sure that you have also configured Name resolution for federation servers before you continue the installation: " +
		"the federation service name needs an A record (not a CNAME) in your internal DNS and a record in your public DNS."
)

// Page actions shared by the domain pages.
const (
	ActionFedRefreshDomains = "fed_refresh_domains"
	ActionFedVerifyDomain   = "fed_verify_domain"
)

// fedChecker is what the federation pages need from the world outside:
// StoreChecker has it (federation_check.go); unit tests give a fake.
type fedChecker interface {
	// ReadFarmCert reads an uploaded PKCS#12 file (the password "" for none).
	ReadFarmCert(name string, data []byte, password string) (*FarmCert, error)
	// HoldPFX keeps an uploaded certificate file in memory until its
	// password is typed; HeldPFX gives it back.
	HoldPFX(name string, data []byte)
	HeldPFX() (string, []byte, bool)
	DropPFX()
	// ReadADFSMetadata reads an AD FS farm's federation metadata over HTTPS.
	ReadADFSMetadata(ctx context.Context, farm string) (*FedMetadata, error)
	// ReadPingMetadata reads a PingFederate server's metadata for the SP
	// connection to Microsoft Entra ID; missing reports the server answered
	// without that connection.
	ReadPingMetadata(ctx context.Context, server string, port int) (md *FedMetadata, missing bool, err error)
	// CheckServer resolves a server, finds its computer account in the
	// forests (when domainJoined) and probes its WinRM port.
	CheckServer(ctx context.Context, a *Answers, name string, domainJoined bool) (FedServer, error)
	// ReadKDS reads the forest's KDS root keys.
	ReadKDS(ctx context.Context, a *Answers) (*KDSResult, error)
	// SPNOwners finds the accounts that hold HOST/<fs> or HTTP/<fs>.
	SPNOwners(ctx context.Context, a *Answers, fsName string) ([]string, error)
	// CheckServiceUser binds as the AD FS service account (the password is
	// used once and dropped).
	CheckServiceUser(ctx context.Context, a *Answers, user, password string) error
	// FindAccount finds an account in the forests; "" when there is none.
	FindAccount(ctx context.Context, a *Answers, name string) (string, error)
	// HoldProxyCreds keeps the AD FS server's local administrator in memory.
	HoldProxyCreds(user, password string)
	HasProxyCreds() bool
	ForgetProxyCreds()
	// VerifyDomain asks Microsoft Entra ID to verify a domain and reads the
	// tenant again.
	VerifyDomain(ctx context.Context, c ConnectEntra, domain string) (entra.Tenant, error)
	// ResolveBoth resolves a host through the intranet and the extranet resolvers.
	ResolveBoth(ctx context.Context, host string) EndpointCheck
}

// FedDomainChoices are the tenant's domains an admin may pick to federate:
// its custom domains, verified or not.
func FedDomainChoices(a *Answers) []entra.Domain {
	t := a.ConnectEntra.Tenant
	if t == nil {
		return nil
	}
	var out []entra.Domain
	for _, d := range t.Domains {
		if d.Initial || strings.HasSuffix(strings.ToLower(d.Name), ".onmicrosoft.com") {
			continue
		}
		out = append(out, d)
	}
	return out
}

// validateFedDomain checks the chosen domain against the tenant and the
// signed-in administrator: the rules of the Microsoft Entra domain pages.
func validateFedDomain(a *Answers) Errors {
	e := Errors{}
	if a.ConnectEntra.SignedInAs == "" || a.ConnectEntra.Tenant == nil {
		e.Add("", MsgFedNeedEntra)
		return e
	}
	name := strings.ToLower(strings.TrimSpace(a.Federation.Domain))
	if name == "" {
		if len(FedDomainChoices(a)) == 0 {
			e.Add("fed_domain", MsgFedNoDomains)
		} else {
			e.Add("fed_domain", MsgFedNoDomain)
		}
		return e
	}
	d, ok := a.ConnectEntra.Tenant.Domain(name)
	switch {
	case !ok:
		e.Add("fed_domain", MsgFedUnknown)
	case d.Initial || strings.HasSuffix(name, ".onmicrosoft.com"):
		e.Add("fed_domain", MsgFedInitial)
	case adminDomain(a) == name:
		e.Add("fed_domain", MsgFedOwnDomain)
	case !d.Verified:
		e.Add("fed_domain", MsgFedNotVerify)
	}
	return e
}

// fedRoleNotices warn, on the pages that need the tenant, when the signed-in
// administrator can't federate a domain: Configure would fail for it.
func fedRoleNotices(a *Answers) []Notice {
	if Federates(a) == "" || a.ConnectEntra.SignedInAs == "" || entra.CanFederate(a.ConnectEntra.Roles) {
		return nil
	}
	return []Notice{{Level: "warn", Text: MsgFedRoles}}
}

// adminDomain is the domain of the signed-in administrator's account.
func adminDomain(a *Answers) string {
	_, dom, _ := strings.Cut(strings.ToLower(a.ConnectEntra.SignedInAs), "@")
	return dom
}

// actFedDomain handles the domain pages' Refresh and Verify buttons.
func actFedDomain(ctx context.Context, a *Answers, action string, f Form, chk Checker) Errors {
	e := Errors{}
	a.Federation.Domain = f.str("fed_domain")
	switch action {
	case ActionFedRefreshDomains:
		tr, ok := chk.(tenantRefresher)
		if !ok {
			return e
		}
		t, err := tr.EntraRefreshTenant(ctx, a.ConnectEntra)
		if err != nil {
			e.Add("fed_domain", CheckMessage(err))
			return e
		}
		a.ConnectEntra.Tenant = &t
	case ActionFedVerifyDomain:
		fc, ok := chk.(fedChecker)
		if !ok {
			return e
		}
		if a.Federation.Domain == "" {
			e.Add("fed_domain", MsgFedNoDomain)
			return e
		}
		t, err := fc.VerifyDomain(ctx, a.ConnectEntra, a.Federation.Domain)
		if t.ID != "" {
			a.ConnectEntra.Tenant = &t
		}
		if err != nil {
			e.Add("fed_domain", CheckMessage(err))
		}
	default:
		return Errors{"": "This page has no such button. Reload the page and try again."}
	}
	return e
}

func nowText() string { return time.Now().UTC().Format(time.RFC3339) }

// summarizeFederation is the federation pages' part of the summary.
func summarizeFederation(a Answers) []SummaryRow {
	fd := a.Federation
	switch a.SignIn.Method {
	case MethodADFS:
		rows := []SummaryRow{}
		if fd.Farm == FarmExisting {
			rows = append(rows, SummaryRow{"AD FS farm", "Existing farm " + fd.ExistingServer + " (the trust with Microsoft Entra ID is re-created from scratch)"})
		} else {
			rows = append(rows, SummaryRow{"AD FS farm", "New farm " + fd.ServiceName})
			if fd.Cert != nil {
				rows = append(rows, SummaryRow{"TLS certificate", fd.Cert.Subject + " (thumbprint " + fd.Cert.Thumbprint + ", until " + fd.Cert.NotAfter + ")"})
			}
			rows = append(rows, SummaryRow{"Federation servers", serverNames(fd.Servers)})
			rows = append(rows, SummaryRow{"Web Application Proxy servers", serverNames(fd.Proxies)})
			if fd.AccountType == FedAccountUser {
				rows = append(rows, SummaryRow{"AD FS service account", "Domain user account " + fd.ServiceUser})
			} else {
				rows = append(rows, SummaryRow{"AD FS service account", "Group managed service account " + fd.GMSA})
			}
		}
		rows = append(rows, SummaryRow{"Domain to federate", fd.Domain})
		return rows
	case MethodPing:
		return []SummaryRow{
			{"Domain to federate", fd.Domain},
			{"PingFederate server", fd.PingServer + ":" + fd.PingPort},
		}
	}
	return nil
}

func serverNames(ss []FedServer) string {
	var n []string
	for _, s := range ss {
		n = append(n, s.Name)
	}
	if len(n) == 0 {
		return "None"
	}
	return strings.Join(n, ", ")
}
