// Command fedcert makes the federation demo's TLS files for `make run`: a
// test CA of its own (RSA, no name constraints, unlike the tenant
// emulator's) and one RSA-2048 server certificate it issues for the names
// given, as AD FS needs an RSA key:
//
//	fedcert -dir DIR name...
//
// DIR gets ca.pem, ca-key.pem, server.pem, server.key and server.pfx (the
// certificate and key as PKCS#12 with no password, what the AD FS farm page
// takes). Files already there are reused while they are valid: the CA for as
// long as it lasts, the server certificate while it is from that CA, names
// exactly these names, and has more than a week left; otherwise what is
// stale is made anew (a browser that imported ca.pem keeps trusting it).
package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

func main() {
	if err := run(os.Args[1:], time.Now(), os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "fedcert:", err)
		os.Exit(1)
	}
}

const (
	caLife     = 5 * 365 * 24 * time.Hour
	serverLife = 365 * 24 * time.Hour // browsers refuse server certificates of more than 398 days
	minLeft    = 7 * 24 * time.Hour   // reissue what expires sooner
)

func run(args []string, now time.Time, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("fedcert", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "the `folder` to keep the CA and the server certificate in")
	if err := fs.Parse(args); err != nil {
		return err
	}
	names := fs.Args()
	if *dir == "" || len(names) == 0 {
		return errors.New("usage: fedcert -dir DIR name...")
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return fmt.Errorf("unable to create %s: %w", *dir, err)
	}
	ca, caKey, made, err := loadOrMakeCA(*dir, now)
	if err != nil {
		return err
	}
	if !made && serverValid(*dir, ca, names, now) {
		fmt.Fprintf(stdout, "fedcert: reusing %s (CA and server certificate for %v)\n", *dir, names)
		return nil
	}
	if err := issueServer(*dir, ca, caKey, names, now); err != nil {
		return err
	}
	what := "server certificate"
	if made {
		what = "CA and server certificate"
	}
	fmt.Fprintf(stdout, "fedcert: made a new %s for %v in %s\n", what, names, *dir)
	return nil
}

// loadOrMakeCA returns the CA in dir, or a new one (made true) when it is
// missing, unreadable or about to expire.
func loadOrMakeCA(dir string, now time.Time) (*x509.Certificate, *rsa.PrivateKey, bool, error) {
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem"))
	if err == nil {
		ca := pair.Leaf
		key, isRSA := pair.PrivateKey.(*rsa.PrivateKey)
		if isRSA && ca.IsCA && ca.NotAfter.Sub(now) > serverLife+minLeft {
			return ca, key, false, nil
		}
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, false, fmt.Errorf("unable to make the CA key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, false, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "hybridsync make run federation test CA", Organization: []string{"hybridsync demo"}},
		NotBefore:    now.Add(-time.Hour), NotAfter: now.Add(caLife),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, false, fmt.Errorf("unable to make the CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, false, fmt.Errorf("unable to read the new CA certificate: %w", err)
	}
	// The key first: a ca.pem without its key would be taken for a whole CA.
	if err := writePEM(dir, "ca-key.pem", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key), 0o600); err != nil {
		return nil, nil, false, err
	}
	if err := writePEM(dir, "ca.pem", "CERTIFICATE", der, 0o644); err != nil {
		return nil, nil, false, err
	}
	return ca, key, true, nil
}

// serverValid reports whether dir's server certificate, key and PFX are
// there, belong together, come from ca and name exactly names.
func serverValid(dir string, ca *x509.Certificate, names []string, now time.Time) bool {
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key"))
	if err != nil {
		return false
	}
	leaf := pair.Leaf
	if _, isRSA := pair.PrivateKey.(*rsa.PrivateKey); !isRSA || leaf.NotAfter.Sub(now) < minLeft {
		return false
	}
	if !slices.Equal(slices.Sorted(slices.Values(leaf.DNSNames)), slices.Sorted(slices.Values(names))) {
		return false
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now, DNSName: names[0]}); err != nil {
		return false
	}
	pfx, err := os.ReadFile(filepath.Join(dir, "server.pfx"))
	if err != nil {
		return false
	}
	_, pfxCert, err := pkcs12.Decode(pfx, "")
	return err == nil && bytes.Equal(pfxCert.Raw, leaf.Raw)
}

// issueServer writes server.pem, server.key and server.pfx: a new RSA-2048
// key and a certificate from ca for names.
func issueServer(dir string, ca *x509.Certificate, caKey *rsa.PrivateKey, names []string, now time.Time) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("unable to make the server key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return err
	}
	notAfter := now.Add(serverLife)
	if notAfter.After(ca.NotAfter) {
		notAfter = ca.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: names[0], Organization: []string{"hybridsync demo"}},
		NotBefore:    now.Add(-time.Hour), NotAfter: notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    names,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("unable to issue the server certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("unable to read the new server certificate: %w", err)
	}
	pfx, err := pkcs12.Passwordless.Encode(key, leaf, nil, "")
	if err != nil {
		return fmt.Errorf("unable to make server.pfx: %w", err)
	}
	if err := writePEM(dir, "server.key", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key), 0o600); err != nil {
		return err
	}
	if err := writePEM(dir, "server.pem", "CERTIFICATE", der, 0o644); err != nil {
		return err
	}
	return writeFile(dir, "server.pfx", pfx, 0o600)
}

func newSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, fmt.Errorf("unable to make a serial number: %w", err)
	}
	return serial, nil
}

func writePEM(dir, name, typ string, der []byte, mode os.FileMode) error {
	return writeFile(dir, name, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}

// writeFile replaces dir/name through a temporary file, so that a reader
// never sees half a file.
func writeFile(dir, name string, data []byte, mode os.FileMode) error {
	path := filepath.Join(dir, name)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return fmt.Errorf("unable to write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("unable to write %s: %w", path, err)
	}
	return nil
}
