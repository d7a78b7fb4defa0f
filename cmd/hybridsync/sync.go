package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/hybridsync/hybridsync/engine/cycle"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/secret"
)

// syncOnce is `hybridsync sync`: one cycle through the same engine and job
// steps as the console, headless, with a summary on stdout. Its job shows in
// the console's history like any other.
func syncOnce(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs, getenv)
	var ec entraFlags
	ec.register(fs, getenv)
	full := fs.Bool("full", false, "a full import and full sync instead of a delta")
	dryRun := fs.Bool("dry-run", false, "export nothing: keep the pending exports for review, as staging mode does")
	dnsServer := fs.String("dns-server", getenv("HYBRIDSYNC_DNS_SERVER"), "find domain controllers through this DNS server `host:port` [HYBRIDSYNC_DNS_SERVER]")
	if err := fs.Parse(args); err != nil {
		return err
	}
	entraCfg, err := ec.config()
	if err != nil {
		return err
	}
	log, err := c.logger(stderr)
	if err != nil {
		return err
	}
	st, err := c.openStore(ctx, log, false)
	if err != nil {
		return err
	}
	defer st.Close()
	box, err := secret.Load(c.dataDir, getenv("HYBRIDSYNC_SECRET_KEY"))
	if err != nil {
		return err
	}
	runner := jobs.NewRunner(st, jobs.NewHub(), log, 1)
	runner.Register(cycle.New(cycle.Deps{Store: st, Box: box, Entra: entraCfg, Resolver: resolverAt(*dnsServer), Log: log}).Type())
	if n, err := runner.Recover(ctx); err != nil {
		return err
	} else if n > 0 {
		log.Warn("marked jobs interrupted by the last stop", "count", n)
	}
	id, err := runner.Start(ctx, jobs.Request{Kind: cycle.Kind, Params: cycle.Params{Full: *full, DryRun: *dryRun, Trigger: cycle.TriggerCLI}, By: "hybridsync sync"})
	if err != nil {
		return err
	}
	runner.Wait()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	runner.Shutdown(sctx)

	j, err := st.Job(sctx, id)
	if err != nil {
		return err
	}
	evs, err := st.Events(sctx, id, 0, 10_000)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sync cycle %d: %s\n", j.ID, j.Status)
	for _, s := range j.Steps {
		fmt.Fprintf(stdout, "  %-60s %s (%s)\n", s.Name, s.Status, s.FinishedAt.Sub(s.StartedAt).Round(time.Millisecond))
		for _, e := range evs {
			if e.Step == s.Position && e.Kind == "log" {
				fmt.Fprintf(stdout, "    %s%s\n", levelMark(e.Level), e.Message)
			}
		}
	}
	if j.Status != jobs.Succeeded {
		return fmt.Errorf("the cycle %s: %s", j.Status, j.Error)
	}
	return nil
}

func levelMark(level string) string {
	if level == "warn" {
		return "warning: "
	}
	return ""
}
