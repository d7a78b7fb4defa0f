// Command hybridsync is the hybrid-identity sync console: `hybridsync serve`
// runs the web console; `migrate` brings the store's schema up to date; `config
// export` prints the active configuration as a settings file; `accounts`
// recovers accounts without the browser.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // the browser's time zone is shown even where the system has no zoneinfo
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if args := os.Args[1:]; len(args) > 0 && args[0] == "accounts" {
		// accounts reads a password from standard input, which run does not take.
		err = accountsCmd(ctx, args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	} else {
		err = run(ctx, args, os.Getenv, os.Stdout, os.Stderr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "hybridsync:", err)
		os.Exit(exitCode(err))
	}
}
