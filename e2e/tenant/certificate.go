package tenant

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" // x5t is a SHA-1 thumbprint by definition (RFC 7515 §4.1.7)
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"time"
)

// The token-signing key is published the way the identity platform publishes
// its keys (its JWKS at .../discovery/v2.0/keys, as captured in public
// copies of it): each key carries its self-signed certificate in x5c
// (standard base64 DER), the certificate's SHA-1 thumbprint in x5t (base64url)
// and the same thumbprint as kid. Microsoft's certificates are issued to and
// by CN=accounts.accesscontrol.windows.net, valid five years, with only a
// subject key identifier; the emulator's is made the same way, from the
// tenant's RSA key, on first use. Keys, and so the certificate, are new at
// every start.
//
// Headers (access-token-claims-reference, id-token-claims-reference): v1.0
// tokens carry both kid and x5t ("x5t ... a legacy claim emitted only in v1.0
// access tokens"); v2.0 tokens carry kid only.

// signingCert is the tenant's signing key with its certificate.
type signingCert struct {
	der        []byte // the certificate, DER
	thumbprint string // base64url SHA-1 of der: x5t and kid
}

const (
	signingCertSubject  = "accounts.accesscontrol.windows.net"
	signingCertValidity = 5 * 365 * 24 * time.Hour
)

// cert returns the signing certificate, made on first use from t.key.
func (t *Tenant) cert() *signingCert {
	t.idp.certOnce.Do(func() {
		c, err := newSigningCert(t.key, t.now())
		if err != nil {
			// Only a broken random source gets here; nothing can be signed then.
			panic("tenant: unable to make the signing certificate: " + err.Error())
		}
		t.idp.signing = c
	})
	return t.idp.signing
}

func newSigningCert(key *rsa.PrivateKey, now time.Time) (*signingCert, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	ski := sha1.Sum(pubDER) // a subject key identifier: SHA-1 of the public key
	name := pkix.Name{CommonName: signingCertSubject}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      name,
		Issuer:       name,
		NotBefore:    now.Add(-time.Hour).UTC().Truncate(time.Second),
		NotAfter:     now.Add(signingCertValidity).UTC().Truncate(time.Second),
		SubjectKeyId: ski[:],
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	sum := sha1.Sum(der)
	return &signingCert{der: der, thumbprint: b64(sum[:])}, nil
}

// jwk is the key as the JWKS lists it; issuer is set on the v2.0 keys
// endpoint only.
func (t *Tenant) jwk(issuer string) map[string]any {
	c := t.cert()
	pub := t.key.PublicKey
	k := map[string]any{
		"kty": "RSA",
		"use": "sig",
		"kid": c.thumbprint,
		"x5t": c.thumbprint,
		"n":   b64(pub.N.Bytes()),
		"e":   b64(big.NewInt(int64(pub.E)).Bytes()),
		"x5c": []string{base64.StdEncoding.EncodeToString(c.der)},
	}
	if issuer != "" {
		k["issuer"] = issuer
	}
	return k
}

// Token formats.
const (
	v1 = "1.0"
	v2 = "2.0"
)

// sign signs claims as a JWT of format ver: the header names the key by kid,
// and a v1.0 token by x5t too.
func (t *Tenant) sign(ver string, claims map[string]any) (string, error) {
	c := t.cert()
	h := map[string]string{"typ": "JWT", "alg": "RS256", "kid": c.thumbprint}
	if ver == v1 {
		h["x5t"] = c.thumbprint
	}
	hdr, _ := json.Marshal(h)
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signing := b64(hdr) + "." + b64(payload)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(nil, t.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signing + "." + b64(sig), nil
}
