package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

func TestRun(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	names := []string{"sts.corp.example.test", "ping.corp.example.test"}
	tests := []struct {
		name    string
		before  func(dir string) // after a first run with names at now
		names   []string
		at      time.Time
		newCA   bool
		newCert bool
		output  string
	}{
		{name: "everything valid is reused", names: names, at: now.Add(24 * time.Hour), output: "reusing"},
		{name: "other names: a new server certificate", names: []string{"sts.corp.example.test"}, at: now, newCert: true, output: "made a new server certificate"},
		{name: "the PFX missing", before: func(dir string) { os.Remove(filepath.Join(dir, "server.pfx")) }, names: names, at: now, newCert: true},
		{name: "the key of another certificate", before: func(dir string) {
			os.WriteFile(filepath.Join(dir, "server.key"), mustRead(t, filepath.Join(dir, "ca-key.pem")), 0o600)
		}, names: names, at: now, newCert: true},
		{name: "the server certificate about to expire", names: names, at: now.Add(serverLife - 24*time.Hour), newCert: true},
		{name: "the CA about to expire", names: names, at: now.Add(caLife - serverLife), newCA: true, newCert: true, output: "made a new CA and server certificate"},
		{name: "the CA key missing", before: func(dir string) { os.Remove(filepath.Join(dir, "ca-key.pem")) }, names: names, at: now, newCA: true, newCert: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := run(append([]string{"-dir", dir}, names...), now, io.Discard, io.Discard); err != nil {
				t.Fatal(err)
			}
			check(t, dir, names, now)
			ca0, cert0 := mustRead(t, filepath.Join(dir, "ca.pem")), mustRead(t, filepath.Join(dir, "server.pem"))
			if tt.before != nil {
				tt.before(dir)
			}
			var out bytes.Buffer
			if err := run(append([]string{"-dir", dir}, tt.names...), tt.at, &out, io.Discard); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), tt.output) {
				t.Errorf("output %q, want it to contain %q", out.String(), tt.output)
			}
			check(t, dir, tt.names, tt.at)
			if got := !bytes.Equal(ca0, mustRead(t, filepath.Join(dir, "ca.pem"))); got != tt.newCA {
				t.Errorf("new CA: %v, want %v", got, tt.newCA)
			}
			if got := !bytes.Equal(cert0, mustRead(t, filepath.Join(dir, "server.pem"))); got != tt.newCert {
				t.Errorf("new server certificate: %v, want %v", got, tt.newCert)
			}
		})
	}
}

func TestRunUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"-dir", t.TempDir()}, {"sts.corp.example.test"}} {
		if err := run(args, time.Now(), io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q): no error", args)
		}
	}
}

// check verifies dir's files as a TLS client and the AD FS farm page would.
func check(t *testing.T, dir string, names []string, now time.Time) {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(mustRead(t, filepath.Join(dir, "ca.pem"))) {
		t.Fatal("no certificate in ca.pem")
	}
	for _, name := range names {
		if _, err := pair.Leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: name, CurrentTime: now}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if !slices.Equal(pair.Leaf.DNSNames, names) {
		t.Errorf("names %q, want %q", pair.Leaf.DNSNames, names)
	}
	if pair.Leaf.PublicKeyAlgorithm != x509.RSA {
		t.Errorf("key %v, want RSA", pair.Leaf.PublicKeyAlgorithm)
	}
	key, cert, err := pkcs12.Decode(mustRead(t, filepath.Join(dir, "server.pfx")), "")
	if err != nil {
		t.Fatalf("server.pfx: %v", err)
	}
	if !bytes.Equal(cert.Raw, pair.Leaf.Raw) || key == nil {
		t.Error("server.pfx does not hold server.pem and its key")
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
