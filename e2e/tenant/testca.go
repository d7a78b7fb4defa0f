package tenant

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The emulator is served over HTTPS, as the real sign-in service and Graph
// are (Microsoft's clients refuse a plain-http authority), with a server
// certificate from a test CA of its own that clients are told to trust
// (hybridsync serve --entra-ca). The CA signs loopback names only: its name
// constraints permit localhost, 127.0.0.0/8 and ::1, so a copy imported into
// a browser vouches for nothing else, even if its key got out.

// Files of a test CA directory.
const (
	CAFile        = "ca.pem"
	CAKeyFile     = "ca-key.pem"
	ServerFile    = "server.pem"
	ServerKeyFile = "server-key.pem"
)

// Lifetimes of what TestCA makes, and how long before the end it makes anew.
const (
	caLifetime     = 5 * 365 * 24 * time.Hour
	serverLifetime = 397 * 24 * time.Hour // browsers' limit for server certificates
	renewBefore    = 30 * 24 * time.Hour
)

// DefaultTLSHosts are the names every emulator certificate covers.
var DefaultTLSHosts = []string{"127.0.0.1", "::1", "localhost"}

// TLSFiles are a test CA and the server certificate it signed, as files in
// Dir, and the same parsed.
type TLSFiles struct {
	Dir    string
	CA     string // PEM file of the CA certificate: the one to trust
	CAKey  string
	Cert   string // PEM file of the server certificate
	Key    string
	CACert *x509.Certificate
	Leaf   *x509.Certificate
	// Config serves the certificate (TLS 1.2 at least).
	Config *tls.Config
}

// Pool is a certificate pool that holds the test CA alone.
func (f *TLSFiles) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(f.CACert)
	return p
}

// SPKIHash is the base64 SHA-256 of the server certificate's public key
// (SubjectPublicKeyInfo), as Chromium's --ignore-certificate-errors-spki-list
// and HTTP public key pinning name a key.
func (f *TLSFiles) SPKIHash() string {
	sum := sha256.Sum256(f.Leaf.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// TestCA loads the test CA and server certificate kept in dir, or makes them
// (and dir, 0700): a CA whose certificate or key is missing, unreadable or
// about to expire is made anew, and so is a server certificate that is not
// the CA's, is about to expire or does not cover every one of hosts (host or
// host:port) and DefaultTLSHosts. Keys are ECDSA P-256, written 0600.
// Hosts must be loopback names: the CA signs nothing else.
//
// Two processes making the files in one directory at once may each write
// their own; make them first, then start the processes that load them.
func TestCA(dir string, hosts ...string) (*TLSFiles, error) {
	return testCA(dir, time.Now(), hosts)
}

func testCA(dir string, now time.Time, extra []string) (*TLSFiles, error) {
	hosts, err := tlsHosts(extra)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("tenant: unable to create the test CA directory: %w", err)
	}
	f := &TLSFiles{Dir: dir, CA: filepath.Join(dir, CAFile), CAKey: filepath.Join(dir, CAKeyFile),
		Cert: filepath.Join(dir, ServerFile), Key: filepath.Join(dir, ServerKeyFile)}

	ca, err := loadPair(f.CA, f.CAKey)
	if err == nil {
		err = caUsable(ca.Leaf, now)
	}
	fresh := false
	if err != nil {
		if ca, err = newCA(now); err != nil {
			return nil, err
		}
		if err := writePair(f.CA, f.CAKey, ca); err != nil {
			return nil, err
		}
		fresh = true
	}
	srv, err := loadPair(f.Cert, f.Key)
	if err == nil && !fresh {
		err = serverUsable(srv.Leaf, ca.Leaf, hosts, now)
	}
	if err != nil || fresh {
		if srv, err = newServerCert(ca, hosts, now); err != nil {
			return nil, err
		}
		if err := writePair(f.Cert, f.Key, srv); err != nil {
			return nil, err
		}
	}
	f.CACert, f.Leaf = ca.Leaf, srv.Leaf
	f.Config = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{srv}}
	return f, nil
}

// tlsHosts are DefaultTLSHosts and extra (without ports, deduplicated),
// each a loopback name.
func tlsHosts(extra []string) ([]string, error) {
	hosts := slices.Clone(DefaultTLSHosts)
	for _, h := range extra {
		if host, _, err := net.SplitHostPort(h); err == nil {
			h = host
		}
		h = strings.ToLower(strings.Trim(h, "[]"))
		if h == "" {
			continue
		}
		if !loopbackName(h) {
			return nil, fmt.Errorf("tenant: %q is not a loopback name: the test CA signs localhost, 127.0.0.0/8 and ::1 only", h)
		}
		if ip := net.ParseIP(h); ip != nil {
			h = ip.String()
		}
		if !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	return hosts, nil
}

func loopbackName(h string) bool {
	if ip := net.ParseIP(h); ip != nil {
		return ip.IsLoopback()
	}
	return h == "localhost" || strings.HasSuffix(h, ".localhost")
}

// loadPair reads a certificate (its first PEM block) and the key that goes
// with it.
func loadPair(certFile, keyFile string) (tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	if c.Leaf == nil { // filled in since Go 1.23; not relied on
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return tls.Certificate{}, err
		}
	}
	return c, nil
}

func caUsable(ca *x509.Certificate, now time.Time) error {
	switch {
	case !ca.IsCA || ca.KeyUsage&x509.KeyUsageCertSign == 0:
		return errors.New("not a CA certificate")
	case now.Before(ca.NotBefore) || now.Add(renewBefore).After(ca.NotAfter):
		return errors.New("expired or about to expire")
	}
	return nil
}

func serverUsable(leaf, ca *x509.Certificate, hosts []string, now time.Time) error {
	if now.Add(renewBefore).After(leaf.NotAfter) {
		return errors.New("expired or about to expire")
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	for _, h := range hosts {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: h, Roots: roots, CurrentTime: now,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			return err
		}
	}
	return nil
}

func newCA(now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tenant: unable to make the test CA's key: %w", err)
	}
	host, _ := os.Hostname()
	_, v4, _ := net.ParseCIDR("127.0.0.0/8")
	_, v6, _ := net.ParseCIDR("::1/128")
	tmpl := &x509.Certificate{
		Subject: pkix.Name{
			Organization: []string{"hybridsync tenant emulator (testing only)"},
			CommonName:   fmt.Sprintf("hybridsync tenant emulator test CA %s %s", host, now.UTC().Format("2006-01-02 15:04")),
		},
		NotBefore:                   now.Add(-time.Hour),
		NotAfter:                    now.Add(caLifetime),
		KeyUsage:                    x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid:       true,
		IsCA:                        true,
		MaxPathLenZero:              true,
		PermittedDNSDomainsCritical: true,
		PermittedDNSDomains:         []string{"localhost"},
		PermittedIPRanges:           []*net.IPNet{v4, v6},
	}
	return sign(tmpl, nil, key, key)
}

func newServerCert(ca tls.Certificate, hosts []string, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tenant: unable to make the server key: %w", err)
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{Organization: []string{"hybridsync tenant emulator (testing only)"}, CommonName: hosts[0]},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(serverLifetime),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return sign(tmpl, ca.Leaf, key, ca.PrivateKey)
}

// sign makes tmpl's certificate for key, signed by parent's key (a
// self-signed one when parent is nil).
func sign(tmpl, parent *x509.Certificate, key *ecdsa.PrivateKey, parentKey any) (tls.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tenant: no randomness: %w", err)
	}
	tmpl.SerialNumber = serial
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tenant: unable to sign the certificate for %s: %w", tmpl.Subject.CommonName, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tenant: unable to read back the certificate for %s: %w", tmpl.Subject.CommonName, err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// writePair writes the certificate (0644) and its key (0600), each through a
// temporary file renamed into place, so that a reader finds the old file or
// the new one, never half of one.
func writePair(certFile, keyFile string, c tls.Certificate) error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		return fmt.Errorf("tenant: unable to encode the key for %s: %w", certFile, err)
	}
	if err := writePEMFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return writePEMFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o644)
}

// writePEMFile writes data to a temporary file beside path, with mode, and
// renames it over path.
func writePEMFile(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("tenant: unable to write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after the rename: nothing there
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("tenant: unable to write %s: %w", path, err)
	}
	return nil
}

// StartTLSServer serves h over HTTPS on loopback with a test CA made in dir
// (TestCA), for tests that talk to the emulator as to the real, TLS-only
// cloud. Refused handshakes (a client that doesn't trust the CA, on
// purpose) are not logged.
func StartTLSServer(h http.Handler, dir string) (*httptest.Server, *TLSFiles, error) {
	files, err := TestCA(dir)
	if err != nil {
		return nil, nil, err
	}
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = files.Config
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	return srv, files, nil
}
