package metaverse

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/engine/connector"
)

// TestReadOnlyInGraph: the metaverse computes proxyAddresses and the
// on-premises properties (the object lookup shows them), and says which ones
// Graph v1.0 refuses to write, so that the export leaves them out.
func TestReadOnlyInGraph(t *testing.T) {
	cfg := baseConfig()
	u := user(corp, 1, "ann", "mail=ann@example.test", "proxyaddresses=SMTP:ann@example.test", "proxyaddresses=smtp:a@example.test")
	g := obj(corp, connector.ClassGroup, 2, "CN=Staff,OU=Groups,DC=corp,DC=example,DC=test", "grouptype=-2147483646",
		"samaccountname=Staff", "mail=staff@example.test", "proxyaddresses=SMTP:staff@example.test")
	e := sync(t, cfg, u, g)
	cloud := why(t, e, u).Cloud
	if !slices.Equal(cloud["proxyAddresses"], []string{"SMTP:ann@example.test", "smtp:a@example.test"}) || cloud["onPremisesSamAccountName"] == nil {
		t.Fatalf("computed user attributes %v: proxyAddresses and onPremisesSamAccountName should stay visible", cloud)
	}
	if gc := why(t, e, g).Cloud; !slices.Equal(gc["proxyAddresses"], []string{"SMTP:staff@example.test"}) {
		t.Fatalf("computed group attributes %v", gc)
	}
	tests := []struct {
		kind, prop string
		writable   bool
	}{
		{KindUser, "proxyAddresses", false},
		{KindUser, "onPremisesSamAccountName", false},
		{KindUser, "onPremisesUserPrincipalName", false},
		{KindUser, "onPremisesDistinguishedName", false},
		{KindUser, "onPremisesDomainName", false},
		{KindUser, "onPremisesSecurityIdentifier", false},
		{KindUser, "onPremisesImmutableId", true},
		{KindUser, "mail", true},
		{KindUser, "userPrincipalName", true},
		{KindUser, "extension_0123_division", true},
		{KindGroup, "proxyAddresses", false},
		{KindGroup, "mail", false},
		{KindGroup, "description", true},
		{KindContact, "displayName", false},
		{KindDevice, "displayName", true},
		{KindDevice, "trustType", false},
	}
	for _, tt := range tests {
		if got := GraphWritable(tt.kind, tt.prop); got != tt.writable {
			t.Errorf("GraphWritable(%s, %s) = %v, want %v", tt.kind, tt.prop, got, tt.writable)
		}
	}
}

// deviceCert is a self-signed certificate with subject CN=cn, as Windows
// writes into a hybrid-joined computer's userCertificate (Base64 of DER).
func deviceCert(t testing.TB, cn string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

func TestDeviceIdentity(t *testing.T) {
	devID := "6f1b6c2e-7a3d-4c55-9e1a-0b2c3d4e5f60"
	c1, c2 := deviceCert(t, devID), deviceCert(t, "not-a-guid")
	der, _ := base64.StdEncoding.DecodeString(c1)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	// The key decodes to X509:<SHA1-TP-PUBKEY><thumbprint><hash>, UTF-16LE.
	raw, err := base64.StdEncoding.DecodeString(AlternativeSecurityKey(cert))
	if err != nil || len(raw)%2 != 0 {
		t.Fatalf("key %v", err)
	}
	var text []rune
	for i := 0; i < len(raw); i += 2 {
		text = append(text, rune(binary.LittleEndian.Uint16(raw[i:])))
	}
	thumb := sha1.Sum(der)
	if got := string(text); !strings.HasPrefix(got, "X509:<SHA1-TP-PUBKEY>"+strings.ToUpper(hex.EncodeToString(thumb[:]))) || len(got) != len("X509:<SHA1-TP-PUBKEY>")+40+44 {
		t.Fatalf("key text %q", got)
	}
	tests := []struct {
		name  string
		certs []string
		id    string
		keys  int
	}{
		{"certificate named after the device", []string{c1}, devID, 1},
		{"another subject: objectGUID", []string{c2}, guid(5), 1},
		{"two certificates", []string{c2, c1}, devID, 2},
		{"not a certificate", []string{"MIIB"}, guid(5), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := obj(corp, connector.ClassComputer, 5, "CN=PC,DC=corp")
			o.Attrs["usercertificate"] = tt.certs
			c, _ := compact(&o, nil)
			id, keys := deviceIdentity(&c)
			if id != tt.id || len(keys) != tt.keys {
				t.Errorf("deviceIdentity = %s, %d keys; want %s, %d", id, len(keys), tt.id, tt.keys)
			}
		})
	}
	for in, want := range map[string]string{"10.0 (22631)": "10.0.22631", "": "0.0", "6.3": "6.3"} {
		if got := deviceOSVersion(in); got != want {
			t.Errorf("deviceOSVersion(%q) = %q, want %q", in, got, want)
		}
	}
}
