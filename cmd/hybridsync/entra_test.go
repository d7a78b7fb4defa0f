package main

import (
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hybridsync/hybridsync/e2e/tenant"
	"github.com/hybridsync/hybridsync/engine/entra"
)

// tlsTenant serves the tenant emulator over HTTPS with a test CA and
// returns its base URL and the CA file.
func tlsTenant(t *testing.T) (base, caFile string) {
	t.Helper()
	tn, err := tenant.New(tenant.DefaultSeed(), tenant.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv, files, err := tenant.StartTLSServer(tn, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv.URL, files.CA
}

// --entra-ca is what lets the console sign in to an authority whose
// certificate the system does not trust.
func TestEntraCA(t *testing.T) {
	base, caFile := tlsTenant(t)
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		ca        string
		configErr string // from config()
		signInErr string // "" signs in
	}{
		{name: "the test CA", ca: caFile},
		{name: "the test CA through the environment", ca: "env:" + caFile},
		{name: "no CA", signInErr: "isn't trusted by this server"},
		{name: "a missing file", ca: filepath.Join(t.TempDir(), "missing.pem"), configErr: "--entra-ca: open"},
		{name: "not PEM", ca: notPEM, configErr: "--entra-ca: no PEM certificate in " + notPEM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{}
			args := []string{"--entra-authority", base + "/organizations", "--graph-url", base + "/v1.0", "--entra-client-id", tenant.ConnectClientID}
			if file, ok := strings.CutPrefix(tt.ca, "env:"); ok {
				vars["HYBRIDSYNC_ENTRA_CA"] = file
			} else if tt.ca != "" {
				args = append(args, "--entra-ca", tt.ca)
			}
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			var ec entraFlags
			ec.register(fs, env(vars))
			if err := fs.Parse(args); err != nil {
				t.Fatal(err)
			}
			cfg, err := ec.config()
			if tt.configErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.configErr) {
					t.Fatalf("config: %v, want %q", err, tt.configErr)
				}
				if _, err := ec.rootCAs(); err == nil {
					t.Error("rootCAs took the file config refused")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			roots, err := ec.rootCAs()
			if err != nil || (roots == nil) != (tt.ca == "") {
				t.Fatalf("rootCAs: %v, %v", roots, err)
			}
			// The password grant, then Graph (me, roles, the tenant).
			s, err := cfg.PasswordSignIn(context.Background(), "hybrid.admin@contoso.onmicrosoft.com", "Passw0rd!hybrid")
			switch {
			case tt.signInErr == "" && err != nil:
				t.Fatalf("sign-in: %v", err)
			case tt.signInErr == "" && s.Tenant.InitialDomain != "contoso.onmicrosoft.com":
				t.Errorf("signed in to %+v", s.Tenant)
			case tt.signInErr != "" && (err == nil || !strings.Contains(entra.Message(err), tt.signInErr)):
				t.Errorf("sign-in: %v, want %q", err, tt.signInErr)
			}
		})
	}
}
