package tenant

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var testCAFiles = []string{CAFile, CAKeyFile, ServerFile, ServerKeyFile}

// readCADir reads the four files of a test CA directory (nil: missing).
func readCADir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, name := range testCAFiles {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		out[name] = b
	}
	return out
}

func TestTestCAMakesThenReuses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tenant-ca")
	f, err := TestCA(dir, "127.0.0.1:8443")
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("directory: %v, %v", fi, err)
	}
	for name, mode := range map[string]os.FileMode{CAFile: 0o644, CAKeyFile: 0o600, ServerFile: 0o644, ServerKeyFile: 0o600} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v, %v, want mode %o", name, fi, err, mode)
		}
	}
	if f.CA != filepath.Join(dir, CAFile) || f.Cert != filepath.Join(dir, ServerFile) {
		t.Errorf("paths %+v", f)
	}
	if f.CACert.PublicKeyAlgorithm != x509.ECDSA || f.Leaf.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("key algorithms %v, %v", f.CACert.PublicKeyAlgorithm, f.Leaf.PublicKeyAlgorithm)
	}
	for _, h := range DefaultTLSHosts {
		if _, err := f.Leaf.Verify(x509.VerifyOptions{DNSName: h, Roots: f.Pool()}); err != nil {
			t.Errorf("%s: %v", h, err)
		}
	}
	if _, err := f.Leaf.Verify(x509.VerifyOptions{DNSName: "example.com", Roots: f.Pool()}); err == nil {
		t.Error("the certificate is good for example.com")
	}

	// A real handshake, trusting the CA file alone.
	ln, err := tls.Listen("tcp", "127.0.0.1:0", f.Config)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	pemCA, err := os.ReadFile(f.CA)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pemCA) {
		t.Fatal("no certificate in ca.pem")
	}
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: roots})
	if err != nil {
		t.Fatalf("handshake trusting ca.pem: %v", err)
	}
	if got := c.ConnectionState().PeerCertificates[0]; !bytes.Equal(got.Raw, f.Leaf.Raw) {
		t.Error("the server sent another certificate")
	}
	c.Close()
	if c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: x509.NewCertPool()}); err == nil {
		c.Close()
		t.Error("a handshake trusting nothing succeeded")
	}

	before := readCADir(t, dir)
	g, err := TestCA(dir, "127.0.0.1", "[::1]:443", "LOCALHOST")
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range readCADir(t, dir) {
		if !bytes.Equal(b, before[name]) {
			t.Errorf("%s was made anew", name)
		}
	}
	if g.SPKIHash() != f.SPKIHash() || len(f.SPKIHash()) != 44 {
		t.Errorf("SPKI hash %q, then %q", f.SPKIHash(), g.SPKIHash())
	}
}

func TestTestCAMakesAnew(t *testing.T) {
	now := time.Now()
	other := t.TempDir()
	if _, err := testCA(other, now, nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		made     time.Time // when the first files were made
		change   func(t *testing.T, dir string)
		hosts    []string
		newCA    bool
		newCert  bool
		coverage string // a host the certificate must cover afterwards
	}{
		{name: "nothing changed", made: now, hosts: []string{"127.0.0.1:8443"}},
		{name: "another loopback address", made: now, hosts: []string{"127.0.0.5:8443"}, newCert: true, coverage: "127.0.0.5"},
		{name: "a .localhost name", made: now, hosts: []string{"tenant.localhost"}, newCert: true, coverage: "tenant.localhost"},
		{name: "server certificate about to expire", made: now.Add(-380 * 24 * time.Hour), newCert: true},
		{name: "CA about to expire", made: now.Add(-caLifetime + 10*24*time.Hour), newCA: true, newCert: true},
		{name: "server certificate of another CA", made: now, newCert: true, change: func(t *testing.T, dir string) {
			for _, name := range []string{ServerFile, ServerKeyFile} {
				copyFile(t, filepath.Join(other, name), filepath.Join(dir, name))
			}
		}},
		{name: "server key that is not the certificate's", made: now, newCert: true, change: func(t *testing.T, dir string) {
			copyFile(t, filepath.Join(dir, CAKeyFile), filepath.Join(dir, ServerKeyFile))
		}},
		{name: "server key missing", made: now, newCert: true, change: func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, ServerKeyFile)); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "CA file damaged", made: now, newCA: true, newCert: true, change: func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, CAFile), []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := testCA(dir, tt.made, nil); err != nil {
				t.Fatal(err)
			}
			if tt.change != nil {
				tt.change(t, dir)
			}
			before := readCADir(t, dir)
			f, err := testCA(dir, now, tt.hosts)
			if err != nil {
				t.Fatal(err)
			}
			after := readCADir(t, dir)
			if got := !bytes.Equal(before[CAFile], after[CAFile]); got != tt.newCA {
				t.Errorf("CA made anew: %v, want %v", got, tt.newCA)
			}
			if got := !bytes.Equal(before[ServerFile], after[ServerFile]); got != tt.newCert {
				t.Errorf("server certificate made anew: %v, want %v", got, tt.newCert)
			}
			// Whatever was made, the files go together and are good now.
			if _, err := tls.LoadX509KeyPair(f.Cert, f.Key); err != nil {
				t.Error(err)
			}
			hosts := DefaultTLSHosts
			if tt.coverage != "" {
				hosts = append(slices.Clone(hosts), tt.coverage)
			}
			if err := serverUsable(f.Leaf, f.CACert, hosts, now); err != nil {
				t.Errorf("the certificate is not usable: %v", err)
			}
			if err := caUsable(f.CACert, now); err != nil {
				t.Errorf("the CA is not usable: %v", err)
			}
		})
	}
}

func TestTestCASignsLoopbackOnly(t *testing.T) {
	for _, h := range []string{"example.com", "10.0.0.1:443", "0.0.0.0", "[::]:8443", "localhost.example.com"} {
		if _, err := TestCA(t.TempDir(), h); err == nil || !strings.Contains(err.Error(), "not a loopback name") {
			t.Errorf("%s: err = %v", h, err)
		}
	}
	// Its name constraints hold even for a certificate its key signs for
	// another name.
	f, err := TestCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ca, err := tls.LoadX509KeyPair(f.CA, f.CAKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"example.com", "192.0.2.1"} {
		c, err := newServerCert(ca, []string{h}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Leaf.Verify(x509.VerifyOptions{DNSName: h, Roots: f.Pool()})
		var inv x509.CertificateInvalidError
		if !errors.As(err, &inv) || inv.Reason != x509.CANotAuthorizedForThisName {
			t.Errorf("a certificate for %s verifies: %v", h, err)
		}
	}
	if ip := net.ParseIP("127.0.0.1"); !slices.ContainsFunc(f.CACert.PermittedIPRanges, func(n *net.IPNet) bool { return n.Contains(ip) }) {
		t.Errorf("permitted ranges %v", f.CACert.PermittedIPRanges)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
