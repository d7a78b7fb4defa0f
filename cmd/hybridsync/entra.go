package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/hybridsync/hybridsync/engine/entra"
)

// entraFlags say where Microsoft Entra ID and Graph are, and which
// application the console signs in as.
type entraFlags struct {
	authority, graphURL, clientID, clientSecret, caFile string
	interactive                                         bool
}

func (e *entraFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&e.authority, "entra-authority", envOr(getenv, "HYBRIDSYNC_ENTRA_AUTHORITY", entra.DefaultAuthority), "Microsoft Entra sign-in `authority` [HYBRIDSYNC_ENTRA_AUTHORITY]")
	fs.StringVar(&e.graphURL, "graph-url", envOr(getenv, "HYBRIDSYNC_GRAPH_URL", entra.DefaultGraphURL), "Microsoft Graph v1.0 root `URL` [HYBRIDSYNC_GRAPH_URL]")
	fs.StringVar(&e.clientID, "entra-client-id", getenv("HYBRIDSYNC_ENTRA_CLIENT_ID"), "application (client) `id` registered for hybridsync in the tenant (a public client, redirect URI <console>/setup/connect-entra/callback) [HYBRIDSYNC_ENTRA_CLIENT_ID]")
	fs.StringVar(&e.clientSecret, "entra-client-secret", getenv("HYBRIDSYNC_ENTRA_CLIENT_SECRET"), "its `secret`, only if the application is a confidential (web) one [HYBRIDSYNC_ENTRA_CLIENT_SECRET]")
	fs.StringVar(&e.caFile, "entra-ca", getenv("HYBRIDSYNC_ENTRA_CA"), "also trust the CA certificates in this PEM `file` for the sign-in service, Graph and the console's OpenID Connect sign-in provider (a TLS-inspecting proxy, the tenant emulator's test CA) [HYBRIDSYNC_ENTRA_CA]")
	fs.BoolVar(&e.interactive, "interactive-auth", getenv("HYBRIDSYNC_INTERACTIVE_AUTH") == "true", "sign in to Microsoft Entra ID through the browser only (MFA, smart cards, federated accounts), like the wizard's /InteractiveAuth switch [HYBRIDSYNC_INTERACTIVE_AUTH=true]")
}

func (e *entraFlags) config() (entra.Config, error) {
	for name, v := range map[string]string{"--entra-authority": e.authority, "--graph-url": e.graphURL} {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return entra.Config{}, fmt.Errorf("%s %q is not an http(s) URL", name, v)
		}
	}
	cfg := entra.Config{
		Authority: strings.TrimSuffix(e.authority, "/"), GraphURL: strings.TrimSuffix(e.graphURL, "/"),
		ClientID: e.clientID, ClientSecret: e.clientSecret, Interactive: e.interactive,
	}
	roots, err := e.rootCAs()
	if err != nil {
		return entra.Config{}, err
	}
	if roots != nil {
		cfg.HTTPClient = &http.Client{Transport: transportTrusting(roots), Timeout: 2 * time.Minute}
	}
	return cfg, nil
}

// rootCAs are the system's roots and the --entra-ca file's certificates, or
// nil without --entra-ca (the system's roots alone).
func (e *entraFlags) rootCAs() (*x509.CertPool, error) {
	if e.caFile == "" {
		return nil, nil
	}
	pool, err := rootsFrom(e.caFile)
	if err != nil {
		return nil, fmt.Errorf("--entra-ca: %w", err)
	}
	return pool, nil
}

// rootsFrom is the system's roots and the certificates of a PEM file, or nil
// for no file (the system's roots alone).
func rootsFrom(file string) (*x509.CertPool, error) {
	if file == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("no PEM certificate in " + file)
	}
	return pool, nil
}

// transportTrusting is the default transport (proxy settings, timeouts)
// with TLS 1.2 at least and roots.
func transportTrusting(roots *x509.CertPool) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}
	return tr
}
