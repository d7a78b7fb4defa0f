package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/hybridsync/hybridsync/e2e/tenant"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name    string
		state   string // the state file's contents; "" for none
		domains []string
		output  string
	}{
		{name: "no state file", domains: []string{"corp.example.com"}},
		{name: "a state file with the domain verified", state: `{"domains":[{"Name":"corp.example.com","Verified":true}]}`, domains: []string{"corp.example.com"}},
		{name: "a state file without it", state: `{"domains":[{"Name":"contoso.example.test","Verified":true}]}`, domains: []string{"corp.example.com"}, output: "missing corp.example.com\n"},
		{name: "a state file with it unverified", state: `{"domains":[{"Name":"corp.example.com","Verified":false}]}`, domains: []string{"corp.example.com"}, output: "missing corp.example.com\n"},
		{name: "a seed domain made verified", domains: []string{"northwind.example.test", "tailspin.example.test"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			out, state := filepath.Join(dir, "seed.json"), filepath.Join(dir, "state.json")
			if tt.state != "" {
				if err := os.WriteFile(state, []byte(tt.state), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var stdout bytes.Buffer
			if err := run(append([]string{"-out", out, "-state", state}, tt.domains...), &stdout, io.Discard); err != nil {
				t.Fatal(err)
			}
			if stdout.String() != tt.output {
				t.Errorf("output %q, want %q", stdout.String(), tt.output)
			}
			seed, err := tenant.LoadSeed(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range tt.domains {
				n := 0
				for _, d := range seed.Domains {
					if d.Name == name {
						n++
						if !d.Verified || d.Verifiable {
							t.Errorf("%s: verified %v, verifiable %v", name, d.Verified, d.Verifiable)
						}
					}
				}
				if n != 1 {
					t.Errorf("%s is %d times in the seed's domains", name, n)
				}
				for _, v := range seed.VerifiableDomains {
					if v == name {
						t.Errorf("%s is still a verifiable domain", name)
					}
				}
			}
			if len(seed.Admins) != len(tenant.DefaultSeed().Admins) {
				t.Errorf("%d admins, want the default seed's %d", len(seed.Admins), len(tenant.DefaultSeed().Admins))
			}
		})
	}
}

func TestRunBadState(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state.json")
	os.WriteFile(state, []byte("not json"), 0o600)
	if err := run([]string{"-out", filepath.Join(dir, "seed.json"), "-state", state, "corp.example.com"}, io.Discard, io.Discard); err == nil {
		t.Error("a state file that is not JSON: no error")
	}
}
