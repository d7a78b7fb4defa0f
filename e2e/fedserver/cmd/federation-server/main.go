// Command federation-server is hybridsync's loopback stand-in for an AD FS
// farm and/or a PingFederate server (package e2e/fedserver), for the
// end-to-end tests and `make run`. It never listens beyond loopback.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/hybridsync/hybridsync/e2e/fedserver"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "federation-server:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("federation-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		listen       = fs.String("listen", "127.0.0.44:443", "loopback `address` to listen on")
		tlsCert      = fs.String("tls-cert", "", "HTTPS certificate `file` (PEM)")
		tlsKey       = fs.String("tls-key", "", "HTTPS key `file` (PEM)")
		signingDir   = fs.String("signing-dir", "", "`folder` of the token-signing key and certificate (created on first start)")
		signingCert  = fs.String("signing-cert", "", "token-signing certificate `file` (with -signing-key, instead of -signing-dir)")
		signingKey   = fs.String("signing-key", "", "token-signing RSA key `file`")
		adfs         = fs.String("adfs", "", "play AD FS with this federation service `name`, e.g. sts.corp.example.test")
		ping         = fs.String("ping", "", "play PingFederate on this `host`")
		pingNoSP     = fs.Bool("ping-no-sp-connection", false, "start with PingFederate's SP connection for urn:federation:MicrosoftOnline missing")
		pingEntityID = fs.String("ping-entity-id", "", "PingFederate's SAML entity `ID` (default https://<host>:<port>/idp)")
		issuer       = fs.String("issuer", "", "AD FS token issuer `override`, e.g. http://corp.example.com/adfs/services/trust/")
		rp           = fs.String("relying-party", "https://127.0.0.1:8443/login.srf", "`URL` that receives tokens (the tenant emulator's login.srf)")
		ldapURL      = fs.String("ldap", "ldaps://127.0.0.2:636", "the forest's LDAPS `URL`")
		ldapCA       = fs.String("ldap-ca", "", "PEM `file` of the CA of the forest's LDAPS certificate")
		baseDN       = fs.String("base-dn", "DC=corp,DC=example,DC=test", "`DN` under which users are found")
		anchor       = fs.String("source-anchor", fedserver.AnchorObjectGUID, "objectGUID or mS-DS-ConsistencyGuid")
		verbose      = fs.Bool("v", false, "log every request")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	host, port, err := net.SplitHostPort(*listen)
	if err != nil {
		return fmt.Errorf("-listen %q: %w", *listen, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-listen %q: loopback addresses only", *listen)
	}
	if *tlsCert == "" || *tlsKey == "" {
		return errors.New("give -tls-cert and -tls-key")
	}
	cert, err := tls.LoadX509KeyPair(*tlsCert, *tlsKey)
	if err != nil {
		return fmt.Errorf("loading the HTTPS certificate: %w", err)
	}
	cfg := fedserver.Config{
		ADFSName: *adfs, PingHost: *ping, PingNoSPConnection: *pingNoSP, PingEntityID: *pingEntityID,
		Issuer: *issuer, RelyingParty: *rp, LDAPURL: *ldapURL, BaseDN: *baseDN, SourceAnchor: *anchor,
		TLSCert: cert, Log: log,
	}
	if *ldapCA != "" {
		pem, err := os.ReadFile(*ldapCA)
		if err != nil {
			return fmt.Errorf("-ldap-ca: %w", err)
		}
		cfg.LDAPRootCAs = x509.NewCertPool()
		if !cfg.LDAPRootCAs.AppendCertsFromPEM(pem) {
			return fmt.Errorf("-ldap-ca: no certificate in %s", *ldapCA)
		}
	}
	name := *adfs
	if name == "" {
		name = *ping
	}
	switch {
	case *signingCert != "" || *signingKey != "":
		cfg.SigningKey, cfg.SigningCert, err = fedserver.LoadSigning(*signingCert, *signingKey)
	case *signingDir != "":
		cfg.SigningKey, cfg.SigningCert, err = fedserver.LoadOrCreateSigning(*signingDir, name)
	default:
		log.Warn("no -signing-dir: a new token-signing key for this run only")
	}
	if err != nil {
		return err
	}
	srv, err := fedserver.New(cfg)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", *listen, err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	var urls []string
	if *adfs != "" {
		urls = append(urls, "https://"+net.JoinHostPort(hostOnlyName(*adfs), port)+"/ (AD FS)")
	}
	if *ping != "" {
		urls = append(urls, "https://"+net.JoinHostPort(hostOnlyName(*ping), port)+"/ (PingFederate)")
	}
	fmt.Fprintf(stdout, "federation server: %s listening on %s, tokens to %s\n", strings.Join(urls, " "), l.Addr(), *rp)
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		log.Info("shutting down")
		if err := srv.Close(); err != nil {
			return err
		}
		return <-done
	}
}

func hostOnlyName(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}
