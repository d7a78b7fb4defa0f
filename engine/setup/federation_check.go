package setup

import (
	"context"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hybridsync/hybridsync/engine/directory"
	"github.com/hybridsync/hybridsync/engine/entra"
	"github.com/hybridsync/hybridsync/engine/federation"
)

// FedVault holds what the federation pages need in memory only: an uploaded
// certificate file waiting for its password, and the AD FS server's local
// administrator for the proxies. Nothing of it is ever stored.
type FedVault struct {
	mu       sync.Mutex
	pfxName  string
	pfx      []byte
	pfxAt    time.Time
	proxy    ForestCredentials
	proxyAt  time.Time
	proxySet bool
}

// fedVaultTTL is how long the vault keeps what it holds.
const fedVaultTTL = 2 * time.Hour

// WinRMPort is Windows Remote Management over HTTP, the port Entra Connect
// uses for the AD FS and proxy servers.
const WinRMPort = "5985"

func (s *StoreChecker) fedVault() *FedVault {
	s.schemaMu.Lock()
	defer s.schemaMu.Unlock()
	if s.Fed == nil {
		s.Fed = &FedVault{}
	}
	return s.Fed
}

// ReadFarmCert reads an uploaded PKCS#12 file and judges it by the rules for
// an AD FS farm's TLS certificate.
func (s *StoreChecker) ReadFarmCert(name string, data []byte, password string) (*FarmCert, error) {
	c, err := federation.ParsePFX(data, password)
	if err != nil {
		return nil, &CheckError{Msg: err.Error(), Err: err}
	}
	fc := &FarmCert{
		FileName: name, Subject: c.Subject, Issuer: c.Issuer, Names: c.DNSNames,
		NotBefore: c.NotBefore.UTC().Format(time.RFC3339), NotAfter: c.NotAfter.UTC().Format(time.RFC3339),
		Thumbprint: c.Thumbprint, Key: fmt.Sprintf("%s %d", c.KeyAlgorithm, c.KeyBits),
		Problems: c.Problems(time.Now()),
	}
	for i, n := range fc.Names {
		fc.Names[i] = strings.ToLower(n)
	}
	return fc, nil
}

// HoldPFX keeps a protected certificate file until its password is typed.
func (s *StoreChecker) HoldPFX(name string, data []byte) {
	v := s.fedVault()
	v.mu.Lock()
	defer v.mu.Unlock()
	v.pfxName, v.pfx, v.pfxAt = name, data, time.Now()
}

// HeldPFX gives back the file HoldPFX kept.
func (s *StoreChecker) HeldPFX() (string, []byte, bool) {
	v := s.fedVault()
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.pfx == nil || time.Since(v.pfxAt) > fedVaultTTL {
		return "", nil, false
	}
	return v.pfxName, v.pfx, true
}

// DropPFX forgets the held file.
func (s *StoreChecker) DropPFX() {
	v := s.fedVault()
	v.mu.Lock()
	defer v.mu.Unlock()
	clear(v.pfx)
	v.pfxName, v.pfx = "", nil
}

// HoldProxyCreds keeps the AD FS server's local administrator in memory.
func (s *StoreChecker) HoldProxyCreds(user, password string) {
	v := s.fedVault()
	v.mu.Lock()
	defer v.mu.Unlock()
	v.proxy, v.proxyAt, v.proxySet = ForestCredentials{User: user, Password: password}, time.Now(), true
}

// HasProxyCreds reports whether they are still held.
func (s *StoreChecker) HasProxyCreds() bool {
	v := s.fedVault()
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.proxySet && time.Since(v.proxyAt) <= fedVaultTTL
}

// ForgetProxyCreds drops them.
func (s *StoreChecker) ForgetProxyCreds() {
	v := s.fedVault()
	v.mu.Lock()
	defer v.mu.Unlock()
	v.proxy, v.proxySet = ForestCredentials{}, false
}

// FedHTTPClient is the client that reads federation servers: through the
// intranet resolver, trusting the configured CAs.
func (s *StoreChecker) FedHTTPClient() *http.Client {
	return federation.HTTPClient(s.Resolver, s.FedRoots, 2*s.timeout())
}

// ReadADFSMetadata reads an AD FS farm's federation metadata.
func (s *StoreChecker) ReadADFSMetadata(ctx context.Context, farm string) (*FedMetadata, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*s.timeout())
	defer cancel()
	md, _, err := federation.FetchADFS(ctx, s.FedHTTPClient(), farm)
	if err != nil {
		return nil, fetchError(err, "hybridsync can't read the federation metadata of "+farm+".")
	}
	return FedMetadataOf(md, "https://"+farm+"/FederationMetadata/2007-06/FederationMetadata.xml"), nil
}

// ReadPingMetadata reads a PingFederate server's metadata for Microsoft Entra ID.
func (s *StoreChecker) ReadPingMetadata(ctx context.Context, server string, port int) (*FedMetadata, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*s.timeout())
	defer cancel()
	md, _, err := federation.FetchPing(ctx, s.FedHTTPClient(), server, port)
	if errors.Is(err, federation.ErrNoSPConnection) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, fetchError(err, "hybridsync can't read the PingFederate server's metadata.")
	}
	u, _ := federation.PingMetadataURL(server, port)
	return FedMetadataOf(md, u), false, nil
}

func fetchError(err error, fallback string) error {
	var fe *federation.FetchError
	if errors.As(err, &fe) && fe.Msg != "" {
		return &CheckError{Msg: fe.Msg, Err: err}
	}
	return &CheckError{Msg: fallback + " " + err.Error(), Err: err}
}

// FedMetadataOf is what the pages keep of a federation server's metadata.
func FedMetadataOf(md *federation.Metadata, url string) *FedMetadata {
	out := &FedMetadata{
		URL: url, EntityID: md.EntityID, Protocol: md.Protocol,
		PassiveSignInURI: md.PassiveSignInURI, SignOutURI: md.SignOutURI, ActiveSignInURI: md.ActiveSignInURI,
		MetadataExchangeURI: md.MetadataExchangeURI, Endpoints: md.Endpoints, Problems: md.Problems(),
		ReadAt: nowText(),
	}
	if len(md.SigningCertificates) > 0 {
		out.SigningCertificate = md.SigningCertificates[0]
		out.SigningThumbprint, out.SigningNotAfter = certFacts(out.SigningCertificate)
	}
	if len(md.SigningCertificates) > 1 {
		out.NextSigningCertificate = md.SigningCertificates[1]
	}
	return out
}

// certFacts are a base64 DER certificate's thumbprint and expiry.
func certFacts(b64 string) (string, string) {
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", ""
	}
	sum := sha1.Sum(der)
	tp := strings.ToUpper(hex.EncodeToString(sum[:]))
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return tp, ""
	}
	return tp, c.NotAfter.UTC().Format(time.RFC3339)
}

// CheckServer resolves a server, finds its computer account (for an AD FS
// server) and probes WinRM.
func (s *StoreChecker) CheckServer(ctx context.Context, a *Answers, name string, domainJoined bool) (FedServer, error) {
	out := FedServer{Name: name, CheckedAt: nowText()}
	res := federation.Resolve(ctx, s.Resolver, name)
	if res.Err != nil {
		return out, &CheckError{Msg: name + " doesn't resolve in your DNS (" + resolveText(res) + "). Add its DNS record, or check the name.", Err: res.Err}
	}
	out.Addrs = res.Addrs
	if domainJoined {
		dn, err := s.findComputer(ctx, a, name)
		if err != nil {
			return out, err
		}
		if dn == "" {
			return out, &CheckError{Msg: name + " is not a computer of the forests you connected (" + strings.Join(forestNames(a), ", ") +
				"). Join all AD FS servers to Active Directory before you add them."}
		}
		out.ComputerDN = dn
	}
	answer, err := probeWinRM(ctx, res.Addrs[0])
	if err != nil {
		return out, &CheckError{Msg: "Windows Remote Management doesn't answer on " + name + " (port " + WinRMPort + "): " + err.Error() +
			". Enable it on the server (Enable-PSRemoting -Force) and allow the port through its firewall.", Err: err}
	}
	out.WinRM = answer
	return out, nil
}

// probeWinRM asks the WS-Management endpoint of a server; any HTTP answer
// (WinRM answers 401 or 405 to an anonymous request) means it listens.
func probeWinRM(ctx context.Context, addr string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+net.JoinHostPort(addr, WinRMPort)+"/wsman", strings.NewReader(""))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	hc := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := hc.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return "", errors.New("no answer within 5 seconds")
		}
		return "", errors.New("nothing answers")
	}
	resp.Body.Close()
	return fmt.Sprintf("answers (HTTP %d%s)", resp.StatusCode, authScheme(resp.Header.Get("WWW-Authenticate"))), nil
}

func authScheme(h string) string {
	if h == "" {
		return ""
	}
	scheme, _, _ := strings.Cut(h, " ")
	return ", " + scheme
}

func resolveText(r federation.Resolution) string {
	if r.NotFound() {
		return "no such name"
	}
	return r.Err.Error()
}

func forestNames(a *Answers) []string {
	var n []string
	for _, fc := range a.Directories.Forests {
		n = append(n, fc.Forest)
	}
	return n
}

// findComputer looks for a computer account in every connected forest.
func (s *StoreChecker) findComputer(ctx context.Context, a *Answers, host string) (string, error) {
	if len(a.Directories.Forests) == 0 {
		return "", &CheckError{Msg: "Connect your directories first: an AD FS server must be a computer of a forest you connected."}
	}
	for _, fc := range a.Directories.Forests {
		dn, err := onForest(ctx, s, fc, "look for the computer "+host+" in "+fc.Forest, func(ctx context.Context, c *directory.Conn) (string, error) {
			dn, found, err := c.FindComputer(ctx, host)
			if !found {
				return "", err
			}
			return dn, err
		})
		if err != nil {
			return "", err
		}
		if dn != "" {
			return dn, nil
		}
	}
	return "", nil
}

// adfsForest is the forest the AD FS servers and service account belong to:
// the forest of the first AD FS server, else the first forest.
func adfsForest(a *Answers) (ForestConn, bool) {
	if len(a.Directories.Forests) == 0 {
		return ForestConn{}, false
	}
	for _, srv := range a.Federation.Servers {
		for _, fc := range a.Directories.Forests {
			if strings.HasSuffix(strings.ToLower(srv.ComputerDN), strings.ToLower(fc.RootDN)) {
				return fc, true
			}
		}
	}
	return a.Directories.Forests[0], true
}

// ReadKDS reads the forest's KDS root keys.
func (s *StoreChecker) ReadKDS(ctx context.Context, a *Answers) (*KDSResult, error) {
	fc, ok := adfsForest(a)
	if !ok {
		return nil, &CheckError{Msg: "Connect your directories first."}
	}
	st, err := onForest(ctx, s, fc, "read the KDS root keys of "+fc.Forest, func(ctx context.Context, c *directory.Conn) (directory.KDSState, error) {
		return c.KDSRootKeys(ctx)
	})
	if err != nil {
		return nil, err
	}
	out := &KDSResult{Forest: fc.Forest, SchemaHasKDS: st.SchemaHasKDS, Keys: len(st.Keys), ReadAt: nowText()}
	for _, k := range st.Keys {
		if !k.UsableFrom.IsZero() && (out.UsableFrom == "" || k.UsableFrom.UTC().Format(time.RFC3339) < out.UsableFrom) {
			out.UsableFrom = k.UsableFrom.UTC().Format(time.RFC3339)
		}
	}
	return out, nil
}

// SPNOwners finds the accounts of every connected forest that hold
// HOST/<fs> or HTTP/<fs>.
func (s *StoreChecker) SPNOwners(ctx context.Context, a *Answers, fsName string) ([]string, error) {
	var owners []string
	for _, fc := range a.Directories.Forests {
		got, err := onForest(ctx, s, fc, "look for the SPN of "+fsName+" in "+fc.Forest, func(ctx context.Context, c *directory.Conn) (map[string][]string, error) {
			return c.SPNOwners(ctx, directory.FederationSPNs(fsName)...)
		})
		if err != nil {
			return nil, err
		}
		for _, dns := range got {
			for _, dn := range dns {
				if !slices.ContainsFunc(owners, func(o string) bool { return strings.EqualFold(o, dn) }) {
					owners = append(owners, dn)
				}
			}
		}
	}
	return owners, nil
}

// FindAccount finds an account in the AD FS forest; "" when there is none.
func (s *StoreChecker) FindAccount(ctx context.Context, a *Answers, name string) (string, error) {
	fc, ok := adfsForest(a)
	if !ok {
		return "", nil
	}
	return onForest(ctx, s, fc, "look for "+name+" in "+fc.Forest, func(ctx context.Context, c *directory.Conn) (string, error) {
		dn, _, found, err := c.FindAccount(ctx, name)
		if !found {
			return "", err
		}
		return dn, err
	})
}

// CheckServiceUser binds as the AD FS service account once; the password is
// then dropped.
func (s *StoreChecker) CheckServiceUser(ctx context.Context, a *Answers, user, password string) error {
	fc, ok := adfsForest(a)
	if !ok {
		return &CheckError{Msg: "Connect your directories first."}
	}
	ctx, cancel := context.WithTimeout(ctx, 2*s.timeout())
	defer cancel()
	if err := directory.CheckPassword(ctx, fc.DirectoryTarget(s.Resolver), user, password); err != nil {
		return adminError(err, "hybridsync can't sign in to "+fc.Forest+" as "+user+".")
	}
	return nil
}

// VerifyDomain asks Microsoft Entra ID to verify a domain, with the signed-in
// administrator's session, and reads the tenant again.
func (s *StoreChecker) VerifyDomain(ctx context.Context, c ConnectEntra, domain string) (entra.Tenant, error) {
	sess, ok := s.EntraSession()
	if !ok {
		return entra.Tenant{}, &CheckError{Msg: MsgEntraGone}
	}
	g, err := s.Entra.Graph(sess.TokenSource())
	if err != nil {
		return entra.Tenant{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*s.timeout())
	defer cancel()
	_, verr := g.VerifyDomain(ctx, domain)
	t, err := entra.ReadTenant(ctx, g)
	if err != nil {
		return entra.Tenant{}, err
	}
	if verr != nil {
		return t, &CheckError{Msg: "Microsoft Entra ID couldn't verify " + domain + ": it didn't find the TXT record in the domain's public DNS. " +
			"Add the record, wait for DNS to update (it can take up to 72 hours), then select Verify again.", Err: verr}
	}
	return t, nil
}

// ResolveBoth resolves a host through the intranet resolver, then the
// extranet one.
func (s *StoreChecker) ResolveBoth(ctx context.Context, host string) EndpointCheck {
	out := EndpointCheck{Host: host}
	in := federation.Resolve(ctx, s.Resolver, host)
	if in.Err != nil {
		out.IntraErr = "Doesn't resolve: " + resolveText(in)
	} else {
		out.Intranet = strings.Join(in.Addrs, ", ")
	}
	ex := federation.Resolve(ctx, s.Extranet, host)
	if ex.Err != nil {
		out.ExtraErr = "Doesn't resolve: " + resolveText(ex)
	} else {
		out.Extranet = strings.Join(ex.Addrs, ", ")
	}
	return out
}
