package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/hybridsync/hybridsync/engine/cycle"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/outcome"
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
	log, err := c.setUp(stderr, getenv)
	if err != nil {
		return err
	}
	st, err := c.openStore(ctx, log, false)
	if err != nil {
		return err
	}
	defer st.Close()
	box, err := c.loadBox(getenv, log)
	if err != nil {
		return err
	}
	runner := jobs.NewRunner(st, jobs.NewHub(), log, 1)
	runner.Register(cycle.New(cycle.Deps{Store: st, Box: box, Entra: entraCfg, Resolver: resolverAt(*dnsServer), Log: log, SizeMemory: c.sizeMemory}).Type())
	if n, err := runner.Recover(ctx); err != nil {
		return err
	} else if n > 0 {
		log.Warn("marked jobs interrupted by the last stop", "count", n)
	}
	if _, err := cycle.EndInterrupted(ctx, st); err != nil {
		return err
	}
	id, err := runner.Start(ctx, jobs.Request{Kind: cycle.Kind, Params: cycle.Params{Full: *full, DryRun: *dryRun, Trigger: cycle.TriggerCLI}, By: "hybridsync sync"})
	if err != nil {
		return err
	}
	runner.Wait()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	runner.Shutdown(sctx)

	rec, err := cycle.RecordOf(sctx, st, id)
	if err != nil {
		return err
	}
	if err := printSummary(stdout, rec); err != nil {
		return err
	}
	if j := rec.Job; j.Status != jobs.Succeeded {
		msg := "the cycle " + outcome.Label(j.Status)
		if j.Error != "" {
			msg += ": " + j.Error
		}
		return &outcomeError{status: j.Status, msg: msg}
	}
	return nil
}

// outcomeError is a cycle that did not simply succeed: the command exits
// with its outcome's code.
type outcomeError struct {
	status string
	msg    string
}

func (e *outcomeError) Error() string { return e.msg }

// Exit codes of hybridsync sync by the cycle's outcome (the usage text
// lists them); 1 is a failure, or anything else that went wrong.
var exitCodes = map[string]int{
	outcome.Succeeded:   0,
	outcome.Failed:      1,
	outcome.Warnings:    3,
	outcome.Errors:      4,
	outcome.Stopped:     5,
	outcome.Interrupted: 6,
}

// exitCode is the process's exit code for the error run returned.
func exitCode(err error) int {
	var oe *outcomeError
	if errors.As(err, &oe) {
		if code, ok := exitCodes[oe.status]; ok {
			return code
		}
	}
	return 1
}

// printSummary writes a cycle's run history: a line for the cycle with its
// outcome, a row per connector and step with its counts and duration, the
// steps' notes, and the warnings and errors it met, each once, with what to
// do.
func printSummary(w io.Writer, rec cycle.Record) error {
	j := rec.Job
	kind := "delta"
	if rec.Full() {
		kind = "full"
	}
	if rec.Params.DryRun {
		kind += ", dry run"
	}
	fmt.Fprintf(w, "sync cycle %d (%s): %s in %s\n", j.ID, kind, outcome.Label(j.Status), span(j.StartedAt, j.FinishedAt))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  CONNECTOR\tSTEP\tSTATUS\tDURATION\tPROCESSED\tADDS\tUPDATES\tDELETES\tMEMBERS\tERRORS")
	var notes []string
	for _, s := range rec.Steps {
		if !s.Recorded {
			fmt.Fprintf(tw, "  -\t%s\t%s\t\t\t\t\t\t\t\n", s.Name, s.Status)
			continue
		}
		conn := s.Connector
		if conn == "" {
			conn = "metaverse"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n", conn, s.Step, s.Status, span(s.StartedAt, s.FinishedAt),
			s.Processed, s.Adds, s.Updates, s.Deletes, s.Memberships, s.Errors)
		if s.Note != "" {
			notes = append(notes, fmt.Sprintf("  %s, %s: %s", conn, s.Step, s.Note))
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("unable to write the summary: %w", err)
	}
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	for _, p := range rec.Problems {
		level := "warning"
		if p.Level == outcome.LevelError {
			level = "error"
		}
		times := ""
		if p.Times > 1 {
			times = fmt.Sprintf(" (×%d)", p.Times)
		}
		fmt.Fprintf(w, "  %s: %s%s\n", level, p.Message, times)
		if p.Action != "" {
			fmt.Fprintf(w, "    what to do: %s\n", p.Action)
		}
	}
	if j.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", j.Error)
	}
	return nil
}

// span is a duration for the summary, "-" until both ends are known.
func span(a, b time.Time) string {
	if a.IsZero() || b.IsZero() {
		return "-"
	}
	return b.Sub(a).Round(time.Millisecond).String()
}
