package federation

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// certSpec describes a test certificate.
type certSpec struct {
	cn        string
	dnsNames  []string
	notBefore time.Time
	notAfter  time.Time
	eku       []x509.ExtKeyUsage // nil: serverAuth; use noEKU for none
	noEKU     bool
	key       crypto.Signer // nil: a shared RSA-2048 key
	issuer    *x509.Certificate
	issuerKey crypto.Signer
}

var (
	rsaOnce sync.Once
	rsa2048 *rsa.PrivateKey
)

func testRSAKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	rsaOnce.Do(func() {
		var err error
		if rsa2048, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return rsa2048
}

func makeCert(t *testing.T, s certSpec) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	key := s.key
	if key == nil {
		key = testRSAKey(t)
	}
	now := time.Now()
	if s.notBefore.IsZero() {
		s.notBefore = now.Add(-time.Hour)
	}
	if s.notAfter.IsZero() {
		s.notAfter = now.Add(365 * 24 * time.Hour)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: s.cn, Organization: []string{"Contoso"}},
		DNSNames:     s.dnsNames,
		NotBefore:    s.notBefore,
		NotAfter:     s.notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:  s.eku,
	}
	if s.eku == nil && !s.noEKU {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	parent, parentKey := tmpl, key
	if s.issuer != nil {
		parent, parentKey = s.issuer, s.issuerKey
	} else {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

func makePFX(t *testing.T, cert *x509.Certificate, key crypto.Signer, password string) []byte {
	t.Helper()
	enc := pkcs12.Modern
	if password == "" {
		enc = pkcs12.Passwordless
	}
	data, err := enc.Encode(key, cert, nil, password)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParsePFX(t *testing.T) {
	cert, key := makeCert(t, certSpec{cn: "sts.contoso.com", dnsNames: []string{"sts.contoso.com", "enterpriseregistration.contoso.com"}})
	protected := makePFX(t, cert, key, "P@ssw0rd!")
	open := makePFX(t, cert, key, "")
	trust, err := pkcs12.Passwordless.EncodeTrustStore([]*x509.Certificate{cert}, "")
	if err != nil {
		t.Fatal(err)
	}
	pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	sum := sha1.Sum(cert.Raw)
	thumb := strings.ToUpper(hex.EncodeToString(sum[:]))

	tests := []struct {
		name     string
		data     []byte
		password string
		wantErr  error  // a sentinel, or nil
		errText  string // part of the message, when wantErr is nil and an error is expected
		hasKey   bool
	}{
		{"protected, right password", protected, "P@ssw0rd!", nil, "", true},
		{"protected, no password", protected, "", ErrPFXPasswordNeeded, "", false},
		{"protected, wrong password", protected, "nope", ErrPFXPasswordWrong, "", false},
		{"unprotected, no password", open, "", nil, "", true},
		{"unprotected, a password typed anyway", open, "whatever", nil, "", true},
		{"certificates only", trust, "", nil, "", false},
		{"garbage", []byte("this is not a certificate"), "", nil, "not a PKCS#12 (.pfx)", false},
		{"empty", nil, "", nil, "empty", false},
		{"PEM", pemCert, "", nil, "with its private key", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParsePFX(tt.data, tt.password)
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			case tt.errText != "":
				if err == nil || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("err = %v, want one saying %q", err, tt.errText)
				}
				return
			case err != nil:
				t.Fatalf("ParsePFX: %v", err)
			}
			if c.HasPrivateKey != tt.hasKey {
				t.Errorf("HasPrivateKey = %v, want %v", c.HasPrivateKey, tt.hasKey)
			}
			if c.Thumbprint != thumb {
				t.Errorf("Thumbprint = %s, want %s", c.Thumbprint, thumb)
			}
			if want := []string{"sts.contoso.com", "enterpriseregistration.contoso.com"}; !slices.Equal(c.DNSNames, want) {
				t.Errorf("DNSNames = %q, want %q", c.DNSNames, want)
			}
			if c.KeyAlgorithm != "RSA" || c.KeyBits != 2048 || !c.ServerAuth || !c.SelfSigned {
				t.Errorf("key %s/%d, serverAuth %v, self-signed %v; want RSA/2048, true, true", c.KeyAlgorithm, c.KeyBits, c.ServerAuth, c.SelfSigned)
			}
			if !strings.Contains(c.Subject, "CN=sts.contoso.com") {
				t.Errorf("Subject = %q", c.Subject)
			}
			problems := c.Problems(time.Now())
			if hasKeyProblem := slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, "no private key") }); hasKeyProblem == tt.hasKey {
				t.Errorf("Problems = %q; a private-key problem expected: %v", problems, !tt.hasKey)
			}
		})
	}
}

func TestProblems(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ca, caKey := makeCert(t, certSpec{cn: "Contoso CA"})
	tests := []struct {
		name string
		spec certSpec
		want []string // a part of each problem expected, in order; none for a fit certificate
	}{
		{"fit", certSpec{dnsNames: []string{"sts.contoso.com"}, notBefore: now.AddDate(0, -1, 0), notAfter: now.AddDate(1, 0, 0)}, nil},
		{"issued by a CA", certSpec{dnsNames: []string{"sts.contoso.com"}, notBefore: now.AddDate(0, -1, 0), notAfter: now.AddDate(1, 0, 0), issuer: ca, issuerKey: caKey}, nil},
		{"no EKU at all (any use)", certSpec{dnsNames: []string{"sts.contoso.com"}, noEKU: true, notBefore: now.AddDate(0, -1, 0), notAfter: now.AddDate(1, 0, 0)}, nil},
		{"expired", certSpec{dnsNames: []string{"sts.contoso.com"}, notBefore: now.AddDate(-2, 0, 0), notAfter: time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)}, []string{"expired on 4 March 2026"}},
		{"not yet valid", certSpec{dnsNames: []string{"sts.contoso.com"}, notBefore: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), notAfter: now.AddDate(1, 0, 0)}, []string{"not valid yet: it is valid from 1 July 2026"}},
		{"RSA 1024", certSpec{dnsNames: []string{"sts.contoso.com"}, key: small, notBefore: now.AddDate(0, -1, 0), notAfter: now.AddDate(1, 0, 0)}, []string{"1024 bits"}},
		{"ECDSA", certSpec{dnsNames: []string{"sts.contoso.com"}, key: ec, notBefore: now.AddDate(0, -1, 0), notAfter: now.AddDate(1, 0, 0)}, []string{"an ECDSA key"}},
		{"client auth only", certSpec{dnsNames: []string{"sts.contoso.com"}, eku: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, notBefore: now.AddDate(0, -1, 0), notAfter: now.AddDate(1, 0, 0)}, []string{"not for server authentication"}},
		{"everything wrong", certSpec{key: ec, eku: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, notBefore: now.AddDate(-2, 0, 0), notAfter: now.AddDate(-1, 0, 0)}, []string{"expired", "ECDSA", "server authentication", "no DNS name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, key := makeCert(t, tt.spec)
			c, err := ParsePFX(makePFX(t, cert, key, "pw"), "pw")
			if err != nil {
				t.Fatal(err)
			}
			got := c.Problems(now)
			if len(got) != len(tt.want) {
				t.Fatalf("Problems = %q, want %d: %q", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %d = %q, want it to say %q", i, got[i], w)
				}
			}
		})
	}
}

func TestMatches(t *testing.T) {
	tests := []struct {
		name     string
		cn       string
		dnsNames []string
		choices  []string
		match    map[string]bool
	}{
		{
			name: "SAN", cn: "ignored.contoso.com", dnsNames: []string{"sts.contoso.com", "enterpriseregistration.contoso.com"},
			choices: []string{"sts.contoso.com", "enterpriseregistration.contoso.com"},
			match: map[string]bool{
				"sts.contoso.com": true, "STS.Contoso.COM": true, "enterpriseregistration.contoso.com": true,
				"ignored.contoso.com": false, // the CN doesn't count when there are SANs
				"fs.contoso.com":      false, "https://sts.contoso.com": false, "sts.contoso.com:443": false,
			},
		},
		{
			name: "CN only", cn: "sts.contoso.com",
			choices: []string{"sts.contoso.com"},
			match:   map[string]bool{"sts.contoso.com": true, "fs.contoso.com": false},
		},
		{
			name: "wildcard", cn: "contoso", dnsNames: []string{"*.contoso.com"},
			choices: []string{"*.contoso.com"},
			match: map[string]bool{
				"sts.contoso.com": true, "adfs.contoso.com": true,
				"contoso.com": false, "a.sts.contoso.com": false, "sts.fabrikam.com": false, "*.contoso.com": false,
			},
		},
		{
			name: "wildcard CN", cn: "*.contoso.com",
			choices: []string{"*.contoso.com"},
			match:   map[string]bool{"sts.contoso.com": true, "contoso.com": false, "a.b.contoso.com": false},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, key := makeCert(t, certSpec{cn: tt.cn, dnsNames: tt.dnsNames})
			c, err := ParsePFX(makePFX(t, cert, key, ""), "")
			if err != nil {
				t.Fatal(err)
			}
			if got := c.ServiceNameChoices(); !slices.Equal(got, tt.choices) {
				t.Errorf("ServiceNameChoices = %q, want %q", got, tt.choices)
			}
			for name, want := range tt.match {
				if got := c.Matches(name); got != want {
					t.Errorf("Matches(%q) = %v, want %v", name, got, want)
				}
			}
		})
	}
}

func TestValidFSName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"sts.contoso.com", true},
		{"STS.Contoso.com", true},
		{"adfs-01.corp.contoso.com", true},
		{"x1.y2", true},
		{"", false},
		{"sts", false},
		{"https://sts.contoso.com", false},
		{"sts.contoso.com:443", false},
		{"sts.contoso.com/adfs", false},
		{"sts..contoso.com", false},
		{"-sts.contoso.com", false},
		{"sts-.contoso.com", false},
		{"sts_1.contoso.com", false},
		{"*.contoso.com", false},
		{"sts.contoso.com.", false},
		{"127.0.0.1", false},
		{strings.Repeat("a", 64) + ".com", false},
		{strings.Repeat(strings.Repeat("a", 63)+".", 4) + "com", false}, // 259 characters
	}
	for _, tt := range tests {
		err := ValidFSName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("ValidFSName(%q) = %v, want ok %v", tt.name, err, tt.ok)
		}
		if err != nil && strings.HasPrefix(err.Error(), "federation:") {
			t.Errorf("ValidFSName(%q): %q is not worded for the admin", tt.name, err)
		}
	}
}
