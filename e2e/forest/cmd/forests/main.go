// Command forests starts, stops and reports the two standard Samba AD test
// forests for a developer (scripts/forests.sh and `make forests` call it):
//
//	forests up [-rebuild]   restore (or provision + seed) and start both; print how to reach them
//	forests down            stop both
//	forests status          say which are running
//
// State lives in <module>/.cache/forests/run/<corp|fabrikam>; `up` starts from
// a fresh copy of the cached, seeded forests each time they are not running.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hybridsync/hybridsync/e2e/forest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "forests:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: forests up [-rebuild] | down | status")
	}
	cacheDir, err := forest.DefaultCacheDir()
	if err != nil {
		return err
	}
	runDir := filepath.Join(cacheDir, "run")
	specs := forest.Standard()
	existing := func() []*forest.Forest {
		var fs []*forest.Forest
		for _, s := range specs {
			fs = append(fs, forest.New(s, filepath.Join(runDir, s.DirName())))
		}
		return fs
	}
	switch args[0] {
	case "up":
		fl := flag.NewFlagSet("up", flag.ContinueOnError)
		fl.SetOutput(stderr)
		rebuild := fl.Bool("rebuild", false, "provision and seed afresh, replacing the cached tarballs")
		if err := fl.Parse(args[1:]); err != nil {
			return err
		}
		start := time.Now()
		installed, err := forest.Install(ctx)
		if err != nil {
			return err
		}
		if installed {
			fmt.Fprintf(stderr, "installed samba in %s\n", time.Since(start).Round(time.Second))
		}
		var todo []forest.Spec
		var up []*forest.Forest
		for _, f := range existing() {
			if f.Running() && !*rebuild {
				up = append(up, f)
			} else {
				if err := f.Stop(); err != nil {
					return err
				}
				todo = append(todo, f.Spec)
			}
		}
		if len(todo) > 0 {
			started, err := forest.UpAll(ctx, todo, runDir, forest.Options{
				CacheDir: cacheDir,
				Rebuild:  *rebuild,
				Logf: func(format string, a ...any) {
					fmt.Fprintf(stderr, format+"\n", a...)
				},
			})
			if err != nil {
				return err
			}
			up = append(up, started...)
		}
		fmt.Fprintf(stderr, "forests up in %s\n", time.Since(start).Round(100*time.Millisecond))
		for _, f := range up {
			describe(stdout, f)
		}
		fmt.Fprintln(stdout, "Point the console at them with `HYBRIDSYNC_DNS_SERVER=127.0.0.2:53 make run`: corp is then found through DNS;")
		fmt.Fprintln(stdout, "add fabrikam with its DC given as 127.0.0.3:636. Paste each forest's CA (above) into the CA certificate field.")
		fmt.Fprintln(stdout, "Stop them with `make forests-down` (or scripts/forests.sh down).")
		return nil
	case "down":
		var errs []error
		for _, f := range existing() {
			if pid, ok := f.PID(); ok {
				err := f.Stop()
				errs = append(errs, err)
				if err == nil {
					fmt.Fprintf(stdout, "%s: stopped (pid %d)\n", f.Name, pid)
				}
			} else {
				fmt.Fprintf(stdout, "%s: not running\n", f.Name)
			}
		}
		return errors.Join(errs...)
	case "status":
		for _, f := range existing() {
			if pid, ok := f.PID(); ok {
				fmt.Fprintf(stdout, "%s: running (pid %d) on %s, dir %s\n", f.Name, pid, f.IP, f.Dir)
			} else {
				fmt.Fprintf(stdout, "%s: not running\n", f.Name)
			}
		}
		return nil
	}
	return fmt.Errorf("unknown command %q (want up, down or status)", args[0])
}

func describe(w io.Writer, f *forest.Forest) {
	l := forest.LayoutOf(f)
	fmt.Fprintf(w, `
%s (%s)
  DC            %s = %s (DNS: %s:53 serves the zone)
  LDAPS         %s   StartTLS: %s   CA: %s
  base DN       %s
  admin         %s / %s   (Enterprise + Domain Admin)
  existing acct %s / %s   (plain user)
  nested admin  %s / %s   (Domain Admin via %q)
  UPN suffixes  %s (routable), %s (non-routable)
`, f.Name, f.NetBIOS, f.DCHostName, f.IP, f.IP, f.LDAPSURL(), f.LDAPURL(), f.CACertPEM, f.BaseDN,
		f.AdminUPN, f.AdminPassword, l.SvcSyncUPN, forest.SvcSyncPassword,
		l.NestedAdminUPN, forest.NestedAdminPassword, forest.Tier0AdminsName,
		f.Spec.RoutableSuffix, f.Spec.NonRoutableSuffix)
}
