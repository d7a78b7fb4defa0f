// Command tenantseed writes the tenant emulator's built-in seed
// (tenant.DefaultSeed) as a JSON seed file with more verified domains, for
// `make run`'s federation demo, which federates corp's routable UPN suffix:
//
//	tenantseed -out seed.json [-state tenant-emulator.json] domain...
//
// The emulator reads its seed only when it has no state file yet. With
// -state, an existing state file that lacks one of the domains (verified) is
// reported on stdout, one line "missing DOMAIN" each, so that make run can
// say what to do; the state file is only read.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hybridsync/hybridsync/e2e/tenant"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "tenantseed:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("tenantseed", flag.ContinueOnError)
	fl.SetOutput(stderr)
	out := fl.String("out", "", "the seed `file` to write")
	state := fl.String("state", "", "the emulator's state `file`, to check for the domains")
	if err := fl.Parse(args); err != nil {
		return err
	}
	domains := fl.Args()
	if *out == "" || len(domains) == 0 {
		return errors.New("usage: tenantseed -out FILE [-state FILE] domain...")
	}
	seed := withVerified(tenant.DefaultSeed(), domains)
	if err := seed.Validate(); err != nil {
		return err
	}
	b, err := json.MarshalIndent(seed, "", "  ")
	if err != nil {
		return fmt.Errorf("unable to encode the seed: %w", err)
	}
	tmp := *out + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("unable to write the seed: %w", err)
	}
	if err := os.Rename(tmp, *out); err != nil {
		return fmt.Errorf("unable to write the seed: %w", err)
	}
	if *state == "" {
		return nil
	}
	missing, err := missingIn(*state, domains)
	if err != nil {
		return err
	}
	for _, d := range missing {
		fmt.Fprintf(stdout, "missing %s\n", d)
	}
	return nil
}

// withVerified adds domains to seed as verified ones, or marks them verified.
func withVerified(seed tenant.Seed, domains []string) tenant.Seed {
	seed.Domains = slices.Clone(seed.Domains)
	for _, name := range domains {
		i := slices.IndexFunc(seed.Domains, func(d tenant.SeedDomain) bool { return strings.EqualFold(d.Name, name) })
		if i < 0 {
			seed.Domains = append(seed.Domains, tenant.SeedDomain{Name: name, Verified: true})
			continue
		}
		seed.Domains[i].Verified, seed.Domains[i].Verifiable = true, false
	}
	seed.VerifiableDomains = slices.DeleteFunc(slices.Clone(seed.VerifiableDomains), func(v string) bool {
		return slices.ContainsFunc(domains, func(d string) bool { return strings.EqualFold(d, v) })
	})
	return seed
}

// stateDomains is the part of the emulator's state file this reads (see
// e2e/tenant's stateFile: its domains carry Go's field names).
type stateDomains struct {
	Domains []stateDomain `json:"domains"`
}

type stateDomain struct {
	Name     string
	Verified bool
}

// missingIn returns the domains the state file in path lacks, or has
// unverified; none when there is no state file yet.
func missingIn(path string, domains []string) ([]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("unable to read the state file: %w", err)
	}
	var s stateDomains
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("unable to read the state file %s: %w", filepath.Base(path), err)
	}
	var missing []string
	for _, name := range domains {
		if !slices.ContainsFunc(s.Domains, func(d stateDomain) bool { return d.Verified && strings.EqualFold(d.Name, name) }) {
			missing = append(missing, name)
		}
	}
	return missing, nil
}
