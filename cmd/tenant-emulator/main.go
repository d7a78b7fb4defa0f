// Command tenant-emulator serves hybridsync's emulated cloud tenant (OIDC
// discovery, JWKS, the v2.0 token endpoint and a Microsoft Graph v1.0 subset)
// on a loopback address, seeded from an optional JSON file.
//
//	tenant-emulator [-addr 127.0.0.1:8443] [-tls-dir DIR] [-seed seed.json] [-state state.json] [-budget 3000] [-window 150s]
//
// With -tls-dir it serves HTTPS, as the real cloud does, with a server
// certificate from a test CA kept in DIR (ca.pem, ca-key.pem, server.pem,
// server-key.pem; made when missing, expired or not for -addr's host):
// clients trust DIR/ca.pem (hybridsync serve --entra-ca). Without it, plain
// HTTP, which Microsoft's own clients refuse.
//
// With -state the directory lives in a file: loaded at start when it exists
// (else seeded), written back after every write and on shutdown.
// HYBRIDSYNC_TENANT_ADDR, HYBRIDSYNC_TENANT_TLS_DIR, HYBRIDSYNC_TENANT_SEED and
// HYBRIDSYNC_TENANT_STATE stand in for the flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hybridsync/hybridsync/e2e/tenant"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "tenant-emulator:", err)
		os.Exit(1)
	}
}

// run serves the emulator until ctx ends. It prints "listening on
// http(s)://ADDR ..." once the listener is open, so callers that pass port 0
// can read the address, and with -tls-dir a line "test CA: FILE ..." after it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tenant-emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", envOr(getenv, "HYBRIDSYNC_TENANT_ADDR", "127.0.0.1:8443"), "loopback `address` to listen on")
	tlsDir := fs.String("tls-dir", getenv("HYBRIDSYNC_TENANT_TLS_DIR"), "serve HTTPS with the test CA in this `dir` (made when missing); default: plain HTTP")
	seedPath := fs.String("seed", getenv("HYBRIDSYNC_TENANT_SEED"), "seed `file` (JSON); default: a small built-in tenant")
	statePath := fs.String("state", getenv("HYBRIDSYNC_TENANT_STATE"), "state `file` (JSON) to load and keep the directory in; default: memory only")
	budget := fs.Int("budget", 0, "writes allowed per window per app (default 3000, or the seed's)")
	window := fs.Duration("window", 0, "write budget window (default 150s, or the seed's)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("invalid -addr %q: %w", *addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("-addr %q is not a loopback address", *addr)
	}
	var tlsFiles *tenant.TLSFiles
	if *tlsDir != "" {
		// Before the tenant: a bad directory is told without a state file
		// being touched.
		if tlsFiles, err = tenant.TestCA(*tlsDir, host); err != nil {
			return fmt.Errorf("-tls-dir: %w", err)
		}
	}
	seed := tenant.DefaultSeed()
	if *seedPath != "" {
		if seed, err = tenant.LoadSeed(*seedPath); err != nil {
			return err
		}
	}
	t, err := tenant.New(seed, tenant.Options{WriteBudget: *budget, WriteWindow: *window, StatePath: *statePath})
	if err != nil {
		return err
	}
	defer t.Close() // flushes the state file; errors are reported below on a clean shutdown
	log := slog.New(slog.NewTextHandler(stderr, nil))
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("unable to listen: %w", err)
	}
	srv := &http.Server{
		Handler:           logRequests(log, t),
		ReadHeaderTimeout: 10 * time.Second,
		// Handshakes refused by clients that don't trust the CA land here.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if tlsFiles != nil {
		scheme, srv.TLSConfig = "https", tlsFiles.Config
	}
	fmt.Fprintf(stdout, "listening on %s://%s (tenant %s, %s)\n", scheme, ln.Addr(), t.TenantID(), t.InitialDomain())
	if tlsFiles != nil {
		fmt.Fprintf(stdout, "test CA: %s (trust it: hybridsync serve --entra-ca %[1]s; in a browser, import it as an authority)\n", tlsFiles.CA)
	}
	errc := make(chan error, 1)
	go func() {
		if tlsFiles != nil {
			errc <- srv.ServeTLS(ln, "", "") // the certificate is in TLSConfig
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return t.Close()
}

func envOr(getenv func(string) string, k, def string) string {
	if v := getenv(k); v != "" {
		return v
	}
	return def
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) { s.status = code; s.ResponseWriter.WriteHeader(code) }

func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		next.ServeHTTP(sw, r)
		log.Info("request", "method", r.Method, "path", r.URL.Path, "status", sw.status, "took", time.Since(start))
	})
}
