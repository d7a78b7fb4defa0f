// Package fedserver is hybridsync's loopback stand-in for an AD FS farm and a
// PingFederate server: it publishes their metadata, shows a sign-in form,
// checks the password with a simple bind to the test forest over LDAPS and
// posts a signed token (WS-Federation with a SAML 1.1 assertion, or a SAML
// 2.0 Response) to the tenant emulator, as the real products do for the
// relying party urn:federation:MicrosoftOnline. The product code never
// imports it: it reads the metadata over HTTPS like any federation server's.
package fedserver

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// MicrosoftOnline is the identifier of Microsoft Entra ID as a relying party
// (the AD FS relying party trust, the PingFederate SP connection).
const MicrosoftOnline = "urn:federation:MicrosoftOnline"

// Config says which roles the server plays and where it sends tokens.
type Config struct {
	ADFSName           string // federation service name, e.g. sts.corp.example.test ("" = no AD FS role); may carry :port
	PingHost           string // PingFederate host ("" = no PingFederate role); may carry :port, else the listener's
	PingNoSPConnection bool   // start with the SP connection for urn:federation:MicrosoftOnline missing
	Issuer             string // AD FS token issuer override (default http://<fsname>/adfs/services/trust)
	PingEntityID       string // PingFederate's SAML entity ID (default https://<host>:<port>/idp)
	RelyingParty       string // where tokens go, e.g. https://127.0.0.1:8443/login.srf

	LDAPURL, BaseDN string
	LDAPRootCAs     *x509.CertPool
	SourceAnchor    string // AnchorObjectGUID (default) or AnchorConsistencyGUID

	// Authenticate replaces the LDAP bind (unit tests). Nil: LDAPAuthenticator
	// over LDAPURL, BaseDN, LDAPRootCAs and SourceAnchor.
	Authenticate Authenticator

	TLSCert     tls.Certificate
	SigningKey  *rsa.PrivateKey
	SigningCert *x509.Certificate // both nil: generated (not stable across restarts)

	TokenLifetime time.Duration // 0: one hour, AD FS's default for this relying party
	Log           *slog.Logger
}

// Server is the federation server. Its handler may serve several listeners.
type Server struct {
	cfg    Config
	log    *slog.Logger
	sign   signer
	auth   Authenticator
	pingSP atomic.Bool
	port   atomic.Int32 // the listener's port, once Serve has one

	mu  sync.Mutex
	srv []*http.Server
	h   http.Handler
}

// New checks cfg and makes a server.
func New(cfg Config) (*Server, error) {
	if cfg.ADFSName == "" && cfg.PingHost == "" {
		return nil, errors.New("fedserver: give an AD FS federation service name, a PingFederate host, or both")
	}
	rp, err := url.Parse(cfg.RelyingParty)
	if err != nil || rp.Scheme != "https" || rp.Host == "" {
		return nil, fmt.Errorf("fedserver: the relying party endpoint %q is not an https URL", cfg.RelyingParty)
	}
	switch cfg.SourceAnchor {
	case "":
		cfg.SourceAnchor = AnchorObjectGUID
	case AnchorObjectGUID, AnchorConsistencyGUID:
	default:
		return nil, fmt.Errorf("fedserver: unknown source anchor %q (objectGUID or mS-DS-ConsistencyGuid)", cfg.SourceAnchor)
	}
	if cfg.TokenLifetime <= 0 {
		cfg.TokenLifetime = time.Hour
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if (cfg.SigningKey == nil) != (cfg.SigningCert == nil) {
		return nil, errors.New("fedserver: give both the token-signing key and its certificate, or neither")
	}
	if cfg.SigningKey == nil {
		name := cfg.ADFSName
		if name == "" {
			name = cfg.PingHost
		}
		cfg.SigningKey, cfg.SigningCert, err = NewSigning(hostOnly(name))
		if err != nil {
			return nil, err
		}
	}
	s := &Server{cfg: cfg, log: cfg.Log, sign: signer{key: cfg.SigningKey, cert: cfg.SigningCert}, auth: cfg.Authenticate}
	if s.auth == nil {
		if cfg.LDAPURL == "" || cfg.BaseDN == "" {
			return nil, errors.New("fedserver: give the forest's LDAPS URL and base DN (or an Authenticate function)")
		}
		a := LDAPAuthenticator{URL: cfg.LDAPURL, BaseDN: cfg.BaseDN, SourceAnchor: cfg.SourceAnchor,
			TLS: &tls.Config{RootCAs: cfg.LDAPRootCAs, MinVersion: tls.VersionTLS12}}
		s.auth = a.Authenticate
	}
	s.pingSP.Store(!cfg.PingNoSPConnection)
	s.h = s.routes()
	return s, nil
}

// Handler serves every route of the roles configured.
func (s *Server) Handler() http.Handler { return s.h }

// SigningCertificate is the token-signing certificate (the one in the
// metadata and in every signature's KeyInfo).
func (s *Server) SigningCertificate() *x509.Certificate { return s.sign.cert }

// SetPingSPConnection switches PingFederate's SP connection for
// urn:federation:MicrosoftOnline on or off.
func (s *Server) SetPingSPConnection(enabled bool) {
	s.pingSP.Store(enabled)
	s.log.Info("PingFederate SP connection", "partner", MicrosoftOnline, "enabled", enabled)
}

// Serve serves HTTPS with cfg.TLSCert on l, which must be a loopback
// address, until Close.
func (s *Server) Serve(l net.Listener) error {
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok || !addr.IP.IsLoopback() {
		return fmt.Errorf("fedserver: refusing to serve on %s: loopback addresses only", l.Addr())
	}
	if len(s.cfg.TLSCert.Certificate) == 0 {
		return errors.New("fedserver: no TLS certificate")
	}
	s.port.Store(int32(addr.Port))
	srv := &http.Server{
		Handler:           s.h,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{s.cfg.TLSCert}, MinVersion: tls.VersionTLS12},
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	s.mu.Lock()
	s.srv = append(s.srv, srv)
	s.mu.Unlock()
	err := srv.ServeTLS(l, "", "")
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops every listener Serve was given.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for _, srv := range s.srv {
		errs = append(errs, srv.Shutdown(ctx))
	}
	s.srv = nil
	return errors.Join(errs...)
}

// adfsBase is https://<fsname> (AD FS listens on 443; a port in ADFSName is kept).
func (s *Server) adfsBase() string { return "https://" + s.cfg.ADFSName }

// adfsIssuer is AD FS's identifier, the Issuer of its tokens.
func (s *Server) adfsIssuer() string {
	if s.cfg.Issuer != "" {
		return s.cfg.Issuer
	}
	return "http://" + hostOnly(s.cfg.ADFSName) + "/adfs/services/trust"
}

// pingBase is https://<host>:<port> of PingFederate's runtime: the port in
// PingHost, else the listener's, else the one the request came to.
func (s *Server) pingBase(r *http.Request) string {
	if _, _, err := net.SplitHostPort(s.cfg.PingHost); err == nil {
		return "https://" + s.cfg.PingHost
	}
	port := int(s.port.Load())
	if port == 0 && r != nil {
		if _, p, err := net.SplitHostPort(r.Host); err == nil {
			port, _ = strconv.Atoi(p)
		}
	}
	if port == 0 || port == 443 {
		return "https://" + s.cfg.PingHost
	}
	return "https://" + net.JoinHostPort(s.cfg.PingHost, strconv.Itoa(port))
}

// pingEntityID is PingFederate's SAML 2.0 entity ID, the Issuer of its tokens.
func (s *Server) pingEntityID(r *http.Request) string {
	if s.cfg.PingEntityID != "" {
		return s.cfg.PingEntityID
	}
	// Guess: PingFederate's entity ID is whatever its admin typed; the
	// runtime URL plus /idp is a common choice and unique per server.
	return s.pingBase(r) + "/idp"
}

// hostOnly drops a port from host[:port].
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.TrimSuffix(hostport, ".")
}
