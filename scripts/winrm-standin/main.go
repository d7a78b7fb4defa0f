// Command winrm-standin is a STAND-IN for the WinRM (WS-Management) listener
// of a Windows server, for `make run`'s federation demo only: it is not
// WinRM and runs nothing. On each loopback address given it answers
// POST /wsman as a WinRM listener answers a request without credentials —
// 401 with "WWW-Authenticate: Negotiate" — which is all the console's
// "is WinRM on?" check of an AD FS server or Web Application Proxy looks at:
//
//	winrm-standin 127.0.0.42:5985 127.0.0.43:5985
//
// It prints "winrm-standin: listening on ADDR" for each address once it
// serves, and stops on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "winrm-standin:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, addrs []string, stdout, stderr io.Writer) error {
	if len(addrs) == 0 {
		return errors.New("usage: winrm-standin host:port...")
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for _, addr := range addrs {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return fmt.Errorf("%q: %w", addr, err)
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("%q: loopback addresses only", addr)
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("unable to listen on %s: %w", addr, err)
		}
		listeners = append(listeners, l)
	}
	srv := &http.Server{Handler: handler(log), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, len(listeners))
	for _, l := range listeners {
		go func() { errc <- srv.Serve(l) }()
		fmt.Fprintf(stdout, "winrm-standin: listening on %s (a stand-in, not WinRM)\n", l.Addr())
	}
	select {
	case err := <-errc:
		srv.Close()
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// handler answers POST /wsman as an unauthenticated request to a WinRM
// listener is answered; anything else is not found.
func handler(log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.Info("request", "method", r.Method, "path", r.URL.Path, "local", r.Context().Value(http.LocalAddrContextKey), "remote", r.RemoteAddr)
		if r.Method != http.MethodPost || r.URL.Path != "/wsman" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", "Negotiate")
		w.Header().Set("Server", "Microsoft-HTTPAPI/2.0")
		w.WriteHeader(http.StatusUnauthorized)
	})
}
