package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// The federation servers of the e2e tests: one AD FS farm and one
// PingFederate server, played by e2e/fedserver on loopback addresses of
// their own, under names the test DNS answers (and Chromium maps, see
// browserArgs).
const (
	fedADFSName = "sts.corp.example.test"
	fedPingName = "ping.corp.example.test"
	fedPingPort = 9031
	// The AD FS server and the Web Application Proxy the wizard checks:
	// srv01 is a computer of corp (the seed's SRV01); wap1 is not joined.
	fedServerName = "srv01.corp.example.test"
	fedProxyName  = "wap1.corp.example.com"
)

// fedAddr are their loopback addresses.
var fedAddr = map[string]string{
	fedADFSName:   "127.0.0.44",
	fedPingName:   "127.0.0.45",
	fedServerName: "127.0.0.46",
	fedProxyName:  "127.0.0.47",
}

// fedTLS is the federation servers' TLS certificate (both names), an RSA
// key as AD FS needs, signed by the run's test CA; made by TestMain so that
// the browser can be told to trust its key.
var fedTLS *fedCert

// fedCert is a certificate with its key, and the same as a PKCS#12 file.
type fedCert struct {
	TLS  tls.Certificate
	Leaf *x509.Certificate
	// The CA that issued it, and its PEM file (what the console trusts).
	CA     *x509.Certificate
	CAKey  any
	CAFile string
}

// SPKIHash names the certificate's key for Chromium's
// --ignore-certificate-errors-spki-list.
func (c *fedCert) SPKIHash() string {
	sum := sha256.Sum256(c.Leaf.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// PFX is the certificate and key as a PKCS#12 file protected by password
// ("" for none).
func (c *fedCert) PFX(password string) ([]byte, error) {
	if password == "" {
		return pkcs12.Passwordless.Encode(c.TLS.PrivateKey, c.Leaf, nil, "")
	}
	return pkcs12.Modern.WithRand(rand.Reader).Encode(c.TLS.PrivateKey, c.Leaf, nil, password)
}

// newFedTLS makes the federation servers' own test CA (the tenant's CA is
// constrained to loopback names) in dir, and an RSA-2048 server
// certificate it issues for names.
func newFedTLS(dir string, names ...string) (*fedCert, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "hybridsync e2e federation test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	caFile := filepath.Join(dir, "federation-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	c, err := issueRSA(ca, key, now, names...)
	if err != nil {
		return nil, err
	}
	c.CA, c.CAKey, c.CAFile = ca, key, caFile
	return c, nil
}

// issueRSA makes an RSA-2048 server certificate for names, signed by parent.
func issueRSA(parent *x509.Certificate, parentKey any, now time.Time, names ...string) (*fedCert, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: names[0], Organization: []string{"hybridsync e2e"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: names,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &fedCert{TLS: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, Leaf: leaf}, nil
}
