package federation

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// TLSCert is the TLS certificate of a new AD FS farm, read from the PKCS#12
// (.pfx) file the administrator uploads.
type TLSCert struct {
	Subject string
	Issuer  string
	// DNSNames are the names the certificate is for: its subject alternative
	// names of type dNSName or, when it has none, its subject common name —
	// the rule the Entra Connect prerequisites state.
	DNSNames  []string
	NotBefore time.Time
	NotAfter  time.Time
	// Thumbprint is the SHA-1 of the DER certificate, 40 uppercase hex
	// digits: what Install-AdfsFarm -CertificateThumbprint takes.
	Thumbprint   string
	KeyAlgorithm string // "RSA", "ECDSA", "Ed25519" or x509's name for another
	KeyBits      int
	// HasPrivateKey: the file holds the certificate's private key, which AD
	// FS needs to serve TLS.
	HasPrivateKey bool
	// ServerAuth: the certificate may be used for TLS server authentication.
	// Per RFC 5280 §4.2.1.12 a certificate without an extended key usage
	// extension may be used for any purpose, so it counts; one whose EKU
	// lists anyEKU counts too.
	ServerAuth bool
	SelfSigned bool
	Leaf       *x509.Certificate
}

var (
	// ErrPFXPasswordNeeded: the file is protected and no password was given.
	ErrPFXPasswordNeeded = errors.New("This certificate is protected by a password. Enter its password.")
	// ErrPFXPasswordWrong: the password given does not open the file.
	ErrPFXPasswordWrong = errors.New("The password doesn't open this certificate file. Check the password and try again.")
)

// Messages for files that are not what the page needs.
const (
	msgNotPFX = "This file is not a PKCS#12 (.pfx) certificate file."
	msgPEM    = "This file is a PEM certificate. Upload a PKCS#12 (.pfx) file that holds the certificate with its private key: export it from the certificate store with its private key."
)

// ParsePFX reads a PKCS#12 file. A file without a password opens with an
// empty password; a protected one needs its password (ErrPFXPasswordNeeded,
// ErrPFXPasswordWrong). A file with certificates only opens too, with
// HasPrivateKey false (Problems says so). The first certificate is the leaf.
func ParsePFX(data []byte, password string) (*TLSCert, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("This file is empty. " + msgNotPFX)
	}
	if bytes.HasPrefix(trimmed, []byte("-----BEGIN")) {
		return nil, errors.New(msgPEM)
	}
	key, leaf, _, err := pkcs12.DecodeChain(data, password)
	if err != nil && password != "" && isNoMAC(err) {
		// A file without a password: the one typed doesn't matter.
		key, leaf, _, err = pkcs12.DecodeChain(data, "")
	}
	switch {
	case err == nil:
	case errors.Is(err, pkcs12.ErrIncorrectPassword) || errors.Is(err, pkcs12.ErrDecryption):
		if password == "" {
			return nil, ErrPFXPasswordNeeded
		}
		return nil, ErrPFXPasswordWrong
	case isKeyMissing(err):
		leaf, err = certsOnly(data, password)
		if err != nil {
			return nil, fmt.Errorf("This .pfx file holds no private key, and its certificate could not be read (%v). Export the certificate with its private key.", err)
		}
	default:
		return nil, fmt.Errorf("%s (%v)", msgNotPFX, err)
	}
	c := newTLSCert(leaf)
	c.HasPrivateKey = key != nil
	return c, nil
}

// isNoMAC: the file has no MAC (a file made without a password) and a
// password was given. go-pkcs12 has no error value for it.
func isNoMAC(err error) bool { return strings.Contains(err.Error(), "no MAC in data") }

// isKeyMissing: DecodeChain read the file but found no private key.
func isKeyMissing(err error) bool { return strings.Contains(err.Error(), "private key missing") }

// certsOnly reads the first certificate of a PKCS#12 file that holds no key:
// a trust store as Java and go-pkcs12 write it, or a certificates-only file.
func certsOnly(data []byte, password string) (*x509.Certificate, error) {
	certs, err := pkcs12.DecodeTrustStore(data, password)
	if err == nil && len(certs) > 0 {
		return certs[0], nil
	}
	// ToPEM is deprecated for its key blocks; it is the one reader of
	// certificate bags without Java's trust attribute, and only those are
	// used here.
	blocks, perr := pkcs12.ToPEM(data, password)
	if perr != nil {
		if err == nil {
			err = perr
		}
		return nil, err
	}
	for _, b := range blocks {
		if b.Type == "CERTIFICATE" {
			return x509.ParseCertificate(b.Bytes)
		}
	}
	return nil, errors.New("no certificate in the file")
}

func newTLSCert(leaf *x509.Certificate) *TLSCert {
	sum := sha1.Sum(leaf.Raw)
	c := &TLSCert{
		Subject:    leaf.Subject.String(),
		Issuer:     leaf.Issuer.String(),
		NotBefore:  leaf.NotBefore,
		NotAfter:   leaf.NotAfter,
		Thumbprint: strings.ToUpper(hex.EncodeToString(sum[:])),
		Leaf:       leaf,
	}
	c.DNSNames = append([]string(nil), leaf.DNSNames...)
	if len(c.DNSNames) == 0 && leaf.Subject.CommonName != "" {
		c.DNSNames = []string{leaf.Subject.CommonName}
	}
	switch k := leaf.PublicKey.(type) {
	case *rsa.PublicKey:
		c.KeyAlgorithm, c.KeyBits = "RSA", k.N.BitLen()
	case *ecdsa.PublicKey:
		c.KeyAlgorithm, c.KeyBits = "ECDSA", k.Curve.Params().BitSize
	case ed25519.PublicKey:
		c.KeyAlgorithm, c.KeyBits = "Ed25519", 256
	default:
		c.KeyAlgorithm = leaf.PublicKeyAlgorithm.String()
	}
	c.ServerAuth = len(leaf.ExtKeyUsage) == 0 && len(leaf.UnknownExtKeyUsage) == 0
	for _, u := range leaf.ExtKeyUsage {
		if u == x509.ExtKeyUsageServerAuth || u == x509.ExtKeyUsageAny {
			c.ServerAuth = true
		}
	}
	c.SelfSigned = bytes.Equal(leaf.RawSubject, leaf.RawIssuer) && leaf.CheckSignatureFrom(leaf) == nil
	return c
}

// minRSABits is the smallest RSA key accepted.
// Guess: Entra Connect's documentation requires a CSP (RSA) key but names no
// size; 2048 bits is what current CAs and Windows issue and accept.
const minRSABits = 2048

// Problems lists what keeps the certificate from serving an AD FS farm at
// now, each a sentence for the administrator; none when it is fit.
//
// A CNG/KSP private key (which AD FS doesn't support) can't be told from a
// CSP one in a PFX file — the provider is chosen when the file is imported
// on the server — so no problem is reported for it; the page says so.
func (c *TLSCert) Problems(now time.Time) []string {
	var out []string
	if !c.HasPrivateKey {
		out = append(out, "The file holds no private key. Export the certificate with its private key (a .pfx file) and upload that.")
	}
	const day = "2 January 2006"
	if now.Before(c.NotBefore) {
		out = append(out, fmt.Sprintf("The certificate is not valid yet: it is valid from %s to %s.", c.NotBefore.UTC().Format(day), c.NotAfter.UTC().Format(day)))
	}
	if now.After(c.NotAfter) {
		out = append(out, fmt.Sprintf("The certificate expired on %s.", c.NotAfter.UTC().Format(day)))
	}
	switch {
	case c.KeyAlgorithm != "RSA":
		out = append(out, fmt.Sprintf("The certificate has an %s key. AD FS needs a certificate with an RSA key (from a cryptographic service provider).", c.KeyAlgorithm))
	case c.KeyBits < minRSABits:
		out = append(out, fmt.Sprintf("The certificate's RSA key is %d bits long. Use a certificate with an RSA key of at least %d bits.", c.KeyBits, minRSABits))
	}
	if !c.ServerAuth {
		out = append(out, "The certificate is not for server authentication: its enhanced key usage doesn't include Server Authentication (1.3.6.1.5.5.7.3.1).")
	}
	if len(c.DNSNames) == 0 {
		out = append(out, "The certificate names no DNS name: it has no subject alternative name and no common name.")
	}
	return out
}

// ServiceNameChoices are the names an administrator can choose as the
// federation service name: the certificate's DNS names, in its order. A
// wildcard ("*.contoso.com") is returned as it is; the page then asks for the
// host part.
func (c *TLSCert) ServiceNameChoices() []string {
	var out []string
	seen := map[string]bool{}
	for _, n := range c.DNSNames {
		k := strings.ToLower(n)
		if n == "" || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, n)
	}
	return out
}

// Matches reports whether the certificate is valid for the federation
// service name fsName (an FQDN: no scheme, no port), with the semantics of
// x509's VerifyHostname: subject alternative names, wildcards in the first
// label. When the certificate has no SAN dNSName its common name counts, as
// the Entra Connect prerequisites say (Go's VerifyHostname ignores the CN).
func (c *TLSCert) Matches(fsName string) bool {
	if ValidFSName(fsName) != nil {
		return false
	}
	if c.Leaf != nil && len(c.Leaf.DNSNames) > 0 {
		return c.Leaf.VerifyHostname(fsName) == nil
	}
	for _, pattern := range c.DNSNames {
		if matchHostname(pattern, fsName) {
			return true
		}
	}
	return false
}

// matchHostname is VerifyHostname's rule for one name (used for the common
// name, which VerifyHostname ignores): case-insensitive, a
// "*" only as the whole first label, matching exactly one label.
func matchHostname(pattern, host string) bool {
	pattern = strings.ToLower(strings.TrimSuffix(pattern, "."))
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if pattern == "" || host == "" {
		return false
	}
	if !strings.HasPrefix(pattern, "*.") {
		return pattern == host
	}
	ps := strings.Split(pattern, ".")
	hs := strings.Split(host, ".")
	if len(ps) != len(hs) || len(ps) < 3 {
		// "*.com" doesn't cover a domain: x509 refuses such patterns too.
		return false
	}
	for i := 1; i < len(ps); i++ {
		if ps[i] != hs[i] {
			return false
		}
	}
	return hs[0] != ""
}

// ValidFSName checks a federation service name: a DNS name of at least two
// labels, each of letters, digits and hyphens (not at either end), at most
// 253 characters. The error is worded for the administrator.
func ValidFSName(name string) error {
	if name == "" {
		return errors.New("Enter the federation service name, for example sts.contoso.com.")
	}
	if strings.Contains(name, "://") || strings.ContainsAny(name, "/:") {
		return fmt.Errorf("%q is not a federation service name: enter the name alone (for example sts.contoso.com), without https:// , a port or a path.", name)
	}
	if len(name) > 253 {
		return fmt.Errorf("The federation service name is %d characters long; a DNS name has at most 253.", len(name))
	}
	labels := strings.Split(name, ".")
	if len(labels) < 2 {
		return fmt.Errorf("%q is not a fully qualified name: enter a name with its domain, for example sts.contoso.com.", name)
	}
	for _, l := range labels {
		if !validLabel(l) {
			return fmt.Errorf("%q is not a valid DNS name: each part between dots must be 1 to 63 letters, digits or hyphens, not starting or ending with a hyphen.", name)
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return fmt.Errorf("%q is an IP address or ends in a number; the federation service needs a DNS name, for example sts.contoso.com.", name)
	}
	return nil
}

func validLabel(l string) bool {
	if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for _, r := range l {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}
