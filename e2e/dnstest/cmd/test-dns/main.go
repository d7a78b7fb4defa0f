// Command test-dns runs an e2e/dnstest DNS server on loopback for `make run`
// and for trying the federation pages by hand:
//
//	test-dns [-listen 127.0.0.1:5353] [-a name=ip[,ip]]... [-cname name=target]... [-upstream host:port]...
//
// It prints "test-dns: listening on <addr>" once it serves, and stops on
// SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/hybridsync/hybridsync/e2e/dnstest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "test-dns:", err)
		os.Exit(1)
	}
}

type pair struct{ name, value string }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("test-dns", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:5353", "loopback `host:port` to serve on (UDP and TCP)")
	var as, cnames []pair
	var upstreams []string
	fs.Func("a", "an A/AAAA record `name=ip[,ip...]` (repeatable)", pairFlag(&as))
	fs.Func("cname", "a CNAME record `name=target` (repeatable)", pairFlag(&cnames))
	fs.Func("upstream", "a loopback DNS server `host:port` for the names not set here (repeatable, asked in order)", func(v string) error {
		upstreams = append(upstreams, v)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	s, err := dnstest.Start(*listen, upstreams...)
	if err != nil {
		return err
	}
	defer s.Close()
	for _, p := range as {
		if err := setA(s, p); err != nil {
			return err
		}
	}
	for _, p := range cnames {
		s.SetCNAME(p.name, p.value)
	}
	fmt.Fprintf(stdout, "test-dns: listening on %s\n", s.Addr())
	<-ctx.Done()
	return s.Close()
}

func setA(s *dnstest.Server, p pair) (err error) {
	// SetA panics on an address that doesn't parse; a flag deserves an error.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("-a %s=%s: %v", p.name, p.value, r)
		}
	}()
	s.SetA(p.name, strings.Split(p.value, ",")...)
	return nil
}

func pairFlag(dst *[]pair) func(string) error {
	return func(v string) error {
		name, value, ok := strings.Cut(v, "=")
		if !ok || strings.TrimSpace(name) == "" || strings.TrimSpace(value) == "" {
			return fmt.Errorf("%q is not name=value", v)
		}
		*dst = append(*dst, pair{strings.TrimSpace(name), strings.TrimSpace(value)})
		return nil
	}
}
