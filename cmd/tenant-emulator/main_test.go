package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRunServesOnLoopback(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0"}, func(string) string { return "" }, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, pr)
	f := strings.Fields(line)
	if len(f) < 3 {
		t.Fatalf("banner %q", line)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(f[2] + "/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("discovery = %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestRunRefusesNonLoopback(t *testing.T) {
	err := run(context.Background(), []string{"-addr", "0.0.0.0:0"}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("err = %v", err)
	}
}

func TestRunKeepsState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	for round := range 2 {
		ctx, cancel := context.WithCancel(context.Background())
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-state", path}, func(string) string { return "" }, pw, io.Discard)
			pw.Close()
		}()
		line, err := bufio.NewReader(pr).ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		go io.Copy(io.Discard, pr)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil || !strings.Contains(string(b), "hybrid.admin@contoso.onmicrosoft.com") {
			t.Fatalf("round %d (%s): state = %.80q, %v", round, strings.TrimSpace(line), b, err)
		}
	}
}

// serveTLS runs the emulator with args until the test ends and returns the
// two lines it prints before serving over HTTPS.
func serveTLS(t *testing.T, args []string, getenv func(string) string) (banner, caLine string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, getenv, pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	br := bufio.NewReader(pr)
	banner, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("banner: %q, %v", banner, err)
	}
	caLine, err = br.ReadString('\n')
	if err != nil {
		t.Fatalf("CA line: %q, %v", caLine, err)
	}
	go io.Copy(io.Discard, pr)
	return strings.TrimSpace(banner), strings.TrimSpace(caLine)
}

func TestRunServesHTTPS(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tenant-ca") // made by the emulator
	noEnv := func(string) string { return "" }
	banner, caLine := serveTLS(t, []string{"-addr", "127.0.0.1:0", "-tls-dir", dir}, noEnv)
	f := strings.Fields(banner)
	if len(f) < 3 || f[0] != "listening" || !strings.HasPrefix(f[2], "https://127.0.0.1:") {
		t.Fatalf("banner %q", banner)
	}
	base := f[2]
	caFile := filepath.Join(dir, "ca.pem")
	if !strings.HasPrefix(caLine, "test CA: "+caFile+" ") {
		t.Errorf("CA line %q, want it to name %s", caLine, caFile)
	}
	pemCA, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"ca-key.pem", "server-key.pem"} {
		if fi, err := os.Stat(filepath.Join(dir, key)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, %v", key, fi, err)
		}
	}

	// A client that trusts ca.pem alone reads the discovery document, which
	// names https endpoints.
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pemCA) {
		t.Fatalf("no certificate in %s", caFile)
	}
	trusting := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	discovery := base + "/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration"
	resp, err := trusting.Get(discovery)
	if err != nil {
		t.Fatalf("a client trusting ca.pem: %v", err)
	}
	var doc struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
		JWKSURI       string `json:"jwks_uri"`
	}
	err = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("discovery: %d, %v", resp.StatusCode, err)
	}
	for _, u := range []string{doc.Issuer, doc.TokenEndpoint, doc.JWKSURI} {
		if !strings.HasPrefix(u, base+"/") {
			t.Errorf("discovery names %q, want it under %s", u, base)
		}
	}

	// A client with the system's roots refuses the certificate.
	resp, err = (&http.Client{Timeout: 5 * time.Second}).Get(discovery)
	if err == nil {
		resp.Body.Close()
		t.Fatal("a client with the system's roots trusted the emulator")
	}
	if !errors.As(err, new(x509.UnknownAuthorityError)) {
		t.Errorf("system roots: %v, want an unknown authority", err)
	}

	// A second emulator on the same directory (through the environment this
	// time) serves with the same CA.
	banner2, _ := serveTLS(t, []string{"-addr", "127.0.0.1:0"}, func(k string) string {
		if k == "HYBRIDSYNC_TENANT_TLS_DIR" {
			return dir
		}
		return ""
	})
	if again, err := os.ReadFile(caFile); err != nil || !bytes.Equal(again, pemCA) {
		t.Errorf("the second start made a new CA (%v)", err)
	}
	base2 := strings.Fields(banner2)[2]
	resp, err = trusting.Get(base2 + "/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatalf("the second emulator: %v", err)
	}
	resp.Body.Close()
}

func TestRunRefusesAnUnusableTLSDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-tls-dir", file}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-tls-dir") {
		t.Fatalf("err = %v", err)
	}
}
