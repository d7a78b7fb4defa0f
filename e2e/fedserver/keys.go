package fedserver

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// The file names LoadOrCreateSigning uses in its folder.
const (
	SigningCertFile = "token-signing.crt"
	SigningKeyFile  = "token-signing.key"
)

// NewSigning makes a token-signing key pair as AD FS does for a new farm: an
// RSA-2048 key and a self-signed certificate (CN=ADFS Signing - <name>).
func NewSigning(name string) (*rsa.PrivateKey, *x509.Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, fmt.Errorf("fedserver: unable to generate the token-signing key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, fmt.Errorf("fedserver: unable to pick a serial number: %w", err)
	}
	now := time.Now().Add(-time.Hour)
	tmpl := &x509.Certificate{
		SerialNumber:          serial.Add(serial, big.NewInt(1)),
		Subject:               pkix.Name{CommonName: "ADFS Signing - " + name},
		NotBefore:             now,
		NotAfter:              now.AddDate(1, 0, 0), // AD FS: one year by default
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("fedserver: unable to create the token-signing certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("fedserver: unable to parse the token-signing certificate: %w", err)
	}
	return key, cert, nil
}

// LoadOrCreateSigning reads the token-signing key and certificate from dir,
// or creates them there on first use, so that the metadata (and the
// certificate a tenant was told about) stays the same across restarts.
func LoadOrCreateSigning(dir, name string) (*rsa.PrivateKey, *x509.Certificate, error) {
	certPath, keyPath := filepath.Join(dir, SigningCertFile), filepath.Join(dir, SigningKeyFile)
	key, cert, err := LoadSigning(certPath, keyPath)
	if err == nil {
		return key, cert, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("fedserver: unable to create %s: %w", dir, err)
	}
	key, cert, err = NewSigning(name)
	if err != nil {
		return nil, nil, err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		return nil, nil, fmt.Errorf("fedserver: unable to write %s: %w", keyPath, err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	if err := os.WriteFile(certPath, certPEM, 0o644); err != nil {
		return nil, nil, fmt.Errorf("fedserver: unable to write %s: %w", certPath, err)
	}
	return key, cert, nil
}

// LoadSigning reads an RSA key and its certificate from PEM files. An error
// matching os.ErrNotExist means one of them is missing.
func LoadSigning(certPath, keyPath string) (*rsa.PrivateKey, *x509.Certificate, error) {
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, nil, fmt.Errorf("fedserver: unable to load the token-signing key pair: %w", err)
	}
	key, ok := pair.PrivateKey.(*rsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("fedserver: the token-signing key in %s is not an RSA key", keyPath)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, nil, fmt.Errorf("fedserver: unable to parse %s: %w", certPath, err)
	}
	return key, cert, nil
}

// signer signs XML with the token-signing key: enveloped XML-DSig,
// exclusive c14n, RSA-SHA256 with SHA-256 digests, the certificate in
// KeyInfo/X509Data — what AD FS and PingFederate send once SHA-1 is off.
type signer struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
}

// sign returns a copy of el with an enveloped signature referencing its
// idAttr attribute (ID for SAML 2.0 and metadata, AssertionID for SAML
// 1.1), placed as first child when first is set (where the metadata schema
// wants it) and as last child otherwise (SAML 1.1).
func (s signer) sign(el *etree.Element, idAttr string, first bool) (*etree.Element, error) {
	ctx := dsig.NewDefaultSigningContext(dsig.TLSCertKeyStore(tls.Certificate{
		Certificate: [][]byte{s.cert.Raw},
		PrivateKey:  s.key,
		Leaf:        s.cert,
	}))
	ctx.IdAttribute = idAttr
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := ctx.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		return nil, fmt.Errorf("fedserver: unable to choose RSA-SHA256: %w", err)
	}
	sig, err := ctx.ConstructSignature(el, true)
	if err != nil {
		return nil, fmt.Errorf("fedserver: unable to sign <%s>: %w", el.Tag, err)
	}
	out := el.Copy()
	if first {
		out.InsertChildAt(0, sig)
	} else {
		out.AddChild(sig)
	}
	return out, nil
}
