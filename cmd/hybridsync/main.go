// Command hybridsync is the hybrid-identity sync console: `hybridsync serve`
// runs the web console; `migrate` brings the store's schema up to date; `config
// export` prints the active configuration as a settings file.
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
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "hybridsync:", err)
		os.Exit(exitCode(err))
	}
}
